/* submit.c — `faceswarm submit CONFIG`: one command from a config to a running Slurm job.
 *
 * It loads the config (plus --set), takes the job's shape from the config's slurm section
 * and the flags, renders slurm/faceswarm.sbatch by replacing @NAME@ placeholders, prepares
 * the run directory (job/config.yaml: the effective config; job/coordinator.keys: CURVE
 * keys, kept across resubmissions; job/faceswarm.sbatch: the rendered script), calls
 * `sbatch --parsable` and prints the job id and how to watch it. --dry-run prints the
 * script and writes nothing. Resubmitting the same run directory resumes it (the job runs
 * `faceswarm train --resume auto`). */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "comms/coord_keys.h"
#include "trainer/cli.h"
#include "core/common.h"
#include "trainer/config.h"
#include "trainer/model.h"

#define SUBMIT_MAX_SETS 64
#define SUBMIT_PORT_BASE 17000 /* coordinator port = base + job id % span */
#define SUBMIT_PORT_SPAN 10000

typedef struct submit_args {
    const char *config;
    const char *sets[SUBMIT_MAX_SETS];
    int n_sets;
    int nodes, gpus_per_node, tasks_per_node, cpus_per_task, signal_lead_s; /* -1 = from config */
    int min_nodes; /* --nodes MIN-MAX: MIN; --nodes N: N; -1 = from config */
    const char *time, *partition, *account, *job_name, *template_path, *faceswarm;
    int dry_run;
} submit_args;

/* The job, every value resolved and checked. */
typedef struct job_spec {
    int nodes, gpus_per_node, tasks_per_node, cpus_per_task, signal_lead_s;
    int min_nodes; /* 1 ..= nodes; < nodes: a node range */
    long time_s;   /* the time limit in seconds, -1 = UNLIMITED */
    char time[32], partition[64], account[64], job_name[64];
    char run_dir[FS_PATH_LEN], workdir[FS_PATH_LEN], faceswarm[FS_PATH_LEN];
} job_spec;

static void usage(FILE *f) {
    fprintf(f,
            "usage: faceswarm submit CONFIG [options]\n"
            "  Submits `faceswarm train CONFIG --resume auto` as a Slurm job: one rank per task, a\n"
            "  coordinator on the first node, checkpoint + requeue on the time-limit signal or\n"
            "  preemption. Values come from the config's slurm section; flags override them.\n"
            "  The job is frozen in RUN_DIR/job/config.yaml with every setting below:\n"
            "  `faceswarm submit RUN_DIR/job/config.yaml` submits it again and resumes the run\n"
            "  (a flag still overrides, with a notice). The job starts in the directory submit runs\n"
            "  in (slurm.workdir, frozen too): relative data paths are read from there.\n\n"
            "  -N, --nodes N|MIN-MAX     nodes (slurm.nodes; a range also slurm.min_nodes): with a range the\n"
            "                            job runs on what it gets, and a requeue after a lost node runs on\n"
            "                            fewer, keeping the global batch\n"
            "  -G, --gpus-per-node G     GPUs per node (slurm.gpus_per_node); 0 for a CPU run\n"
            "  -n, --tasks-per-node R    ranks per node (slurm.tasks_per_node; default: GPUs per node, or 1)\n"
            "  -c, --cpus-per-task C     CPU cores per rank (slurm.cpus_per_task)\n"
            "  -t, --time T              time limit: M, M:S, H:M:S, D-H, D-H:M, D-H:M:S (slurm.time)\n"
            "  -p, --partition P         partition (slurm.partition; \"\" = the cluster's default)\n"
            "  -A, --account A           account (slurm.account)\n"
            "      --signal-lead S       seconds before the limit that USR1 arrives (slurm.signal_lead_s)\n"
            "  -J, --job-name NAME       job name (slurm.job_name; default: faceswarm-<run directory name>)\n"
            "  -s, --set KEY=VALUE       override a config key, as for train (repeatable)\n"
            "      --template FILE       job script template (default: slurm/faceswarm.sbatch, installed in\n"
            "                            share/faceswarm or in the source tree; FACESWARM_DATA_DIR=DIR looks in DIR)\n"
            "      --faceswarm PATH      the binary the job runs (default: this one)\n"
            "      --dry-run             print the job script (stderr: which template); write and submit nothing\n"
            "  -h, --help                this help\n\n"
            "Watch a job: faceswarm status --run RUN_DIR;  its output: RUN_DIR/slurm-JOBID.out\n");
}

static int parse_int_opt(const char *name, const char *s, int lo, int hi, int *out) {
    fs_error e = {0};
    int rc = fs_parse_int(name, s, lo, hi, out, &e);
    if (rc) fprintf(stderr, "error: faceswarm submit: %s\n", e.msg);
    return rc;
}

/* --nodes N or MIN-MAX (Slurm's -N). */
static int parse_nodes(const char *arg, submit_args *a) {
    const char *dash = strchr(arg, '-');
    if (!dash) {
        int rc = parse_int_opt("--nodes", arg, 1, 100000, &a->nodes);
        a->min_nodes = a->nodes;
        return rc;
    }
    char lo[32];
    snprintf(lo, sizeof lo, "%.*s", (int)FS_MIN((size_t)(dash - arg), sizeof lo - 1), arg);
    int rc = parse_int_opt("--nodes (the fewest)", lo, 1, 100000, &a->min_nodes);
    if (!rc) rc = parse_int_opt("--nodes (the most)", dash + 1, 1, 100000, &a->nodes);
    if (!rc && a->min_nodes > a->nodes) {
        fprintf(stderr,
                "error: faceswarm submit: --nodes %s: the fewest (%d) exceeds the most (%d); expected MIN-MAX with "
                "MIN <= MAX\n  hint: --nodes %d-%d\n",
                arg, a->min_nodes, a->nodes, a->nodes, a->min_nodes);
        rc = FS_EXIT_BADINPUT;
    }
    return rc;
}

enum { OPT_SIGNAL_LEAD = 256, OPT_TEMPLATE, OPT_FACESWARM, OPT_DRY_RUN };

static int parse_value(int c, const char *arg, submit_args *a) {
    switch (c) {
    case 'N': return parse_nodes(arg, a);
    case 'G': return parse_int_opt("--gpus-per-node", arg, 0, 64, &a->gpus_per_node);
    case 'n': return parse_int_opt("--tasks-per-node", arg, 1, 1024, &a->tasks_per_node);
    case 'c': return parse_int_opt("--cpus-per-task", arg, 1, 1024, &a->cpus_per_task);
    case OPT_SIGNAL_LEAD: return parse_int_opt("--signal-lead", arg, 0, 3600, &a->signal_lead_s);
    case 't': a->time = arg; return 0;
    case 'p': a->partition = arg; return 0;
    case 'A': a->account = arg; return 0;
    case 'J': a->job_name = arg; return 0;
    case OPT_TEMPLATE: a->template_path = arg; return 0;
    case OPT_FACESWARM: a->faceswarm = arg; return 0;
    case OPT_DRY_RUN: a->dry_run = 1; return 0;
    case 's':
        if (a->n_sets == SUBMIT_MAX_SETS) {
            fprintf(stderr,
                    "error: faceswarm submit: more than %d --set options\n"
                    "  hint: put the values in the config file\n",
                    SUBMIT_MAX_SETS);
            return FS_EXIT_BADINPUT;
        }
        a->sets[a->n_sets++] = arg;
        return 0;
    }
    fprintf(stderr, "  hint: faceswarm submit --help lists the options\n");
    return FS_EXIT_BADINPUT;
}

/* Returns 0, FS_EXIT_BADINPUT, or -1 after --help. */
static int parse_args(int argc, char **argv, submit_args *a) {
    static const struct option opts[] = {{"nodes", required_argument, 0, 'N'},
                                         {"gpus-per-node", required_argument, 0, 'G'},
                                         {"tasks-per-node", required_argument, 0, 'n'},
                                         {"cpus-per-task", required_argument, 0, 'c'},
                                         {"time", required_argument, 0, 't'},
                                         {"partition", required_argument, 0, 'p'},
                                         {"account", required_argument, 0, 'A'},
                                         {"job-name", required_argument, 0, 'J'},
                                         {"set", required_argument, 0, 's'},
                                         {"signal-lead", required_argument, 0, OPT_SIGNAL_LEAD},
                                         {"template", required_argument, 0, OPT_TEMPLATE},
                                         {"faceswarm", required_argument, 0, OPT_FACESWARM},
                                         {"dry-run", no_argument, 0, OPT_DRY_RUN},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    memset(a, 0, sizeof *a);
    a->nodes = a->min_nodes = a->gpus_per_node = a->tasks_per_node = a->cpus_per_task = a->signal_lead_s = -1;
    optind = 1;
    int c, rc;
    while ((c = getopt_long(argc, argv, "N:G:n:c:t:p:A:J:s:h", opts, NULL)) != -1) {
        if (c == 'h') {
            usage(stdout);
            return -1;
        }
        if ((rc = parse_value(c, optarg, a)) != 0) return rc;
    }
    if (optind != argc - 1) {
        fprintf(stderr,
                "error: faceswarm submit: expected one CONFIG argument, got %d\n"
                "  hint: faceswarm submit configs/quickstart.yaml --nodes 2 --gpus-per-node 4\n",
                argc - optind);
        return FS_EXIT_BADINPUT;
    }
    a->config = argv[optind];
    return 0;
}

/* ---------------------------------------------------------------- checks */
/* Slurm's time formats: M, M:S, H:M:S, D-H, D-H:M, D-H:M:S, or UNLIMITED (-1). */
static int parse_time(const char *s, long *seconds, fs_error *e) {
    if (!strcmp(s, "UNLIMITED") || !strcmp(s, "INFINITE")) {
        *seconds = -1;
        return 0;
    }
    long days = 0, f[3];
    int n = 0, has_days = 0;
    const char *p = s;
    while (n < 3) {
        if (*p < '0' || *p > '9') break;
        char *end;
        long v = strtol(p, &end, 10);
        if (v > 1000000) break;
        p = end;
        if (*p == '-' && !has_days && n == 0) {
            has_days = 1, days = v, p++;
            continue;
        }
        f[n++] = v;
        if (*p != ':') break;
        p++;
    }
    static const long unit_plain[3][3] = {{60}, {60, 1}, {3600, 60, 1}};
    static const long unit_days[3][3] = {{3600}, {3600, 60}, {3600, 60, 1}};
    if (*p || n == 0 || (n == 3 && (f[1] > 59 || f[2] > 59)) || (n == 2 && f[1] > 59))
        return fs_errorf(e, FS_EXIT_BADINPUT,
                         "slurm.time '%s' is not a Slurm time limit; expected M, M:S, H:M:S, D-H, D-H:M or D-H:M:S\n"
                         "  hint: --time 24:00:00 (one day) or --time 2-00:00:00 (two days)",
                         s);
    const long *unit = has_days ? unit_days[n - 1] : unit_plain[n - 1];
    *seconds = days * 86400;
    for (int i = 0; i < n; i++) *seconds += f[i] * unit[i];
    if (*seconds <= 0)
        return fs_errorf(e, FS_EXIT_BADINPUT,
                         "slurm.time '%s' is zero; expected a positive time limit\n"
                         "  hint: --time 1:00:00",
                         s);
    return 0;
}

/* Values that land in #SBATCH lines and shell words: no quoting needed, nothing injected. */
static int check_word(const char *key, const char *v, int is_path, fs_error *e) {
    for (const char *p = v; *p; p++) {
        int ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                 strchr("_.+-", *p) || (is_path && strchr("/=,~@%", *p));
        if (!ok)
            return fs_errorf(e, FS_EXIT_BADINPUT,
                             "%s '%s' holds the character '%c'; expected letters, digits and _.+-%s\n"
                             "  hint: job scripts take it unquoted: rename it%s",
                             key, v, *p, is_path ? "/=,~@%" : "",
                             is_path ? " or use a symlink without such characters" : "");
    }
    return 0;
}

static int check_shape(const job_spec *j, const fs_config *cfg, fs_error *e) {
    int cuda = !strcmp(cfg->train.device, "cuda");
    if (cuda && j->gpus_per_node == 0)
        return fs_errorf(e, FS_EXIT_BADINPUT,
                         "train.device is cuda but the job asks for 0 GPUs per node\n"
                         "  hint: --gpus-per-node 4 (or --set train.device=cpu)");
    if (!cuda && j->gpus_per_node > 0)
        return fs_errorf(e, FS_EXIT_BADINPUT,
                         "train.device is %s but the job asks for %d GPU(s) per node (slurm.gpus_per_node)\n"
                         "  hint: for a CPU run pass --gpus-per-node 0 --tasks-per-node N; for GPUs --set "
                         "train.device=cuda",
                         cfg->train.device, j->gpus_per_node);
    if (j->time_s >= 0 && j->signal_lead_s >= j->time_s)
        return fs_errorf(e, FS_EXIT_BADINPUT,
                         "slurm.signal_lead_s %d is not shorter than the time limit %s (%ld s): USR1 would stop the "
                         "job at once\n  hint: lower --signal-lead or raise --time",
                         j->signal_lead_s, j->time, j->time_s);
    return 0;
}

/* ---------------------------------------------------------------- resolving the job */
static int pick(int flag, int from_config) { return flag >= 0 ? flag : from_config; }

/* Room kept after the run directory for the job's file names ("/job/coordinator.keys"). */
#define SUBMIT_NAME_ROOM 64

static int absolute_path(const char *key, const char *path, char *out, size_t n, fs_error *e) {
    char cwd[FS_PATH_LEN];
    int len;
    if (path[0] == '/' || !getcwd(cwd, sizeof cwd)) len = snprintf(out, n, "%s", path);
    else len = snprintf(out, n, "%s/%s", cwd, path[0] == '.' && path[1] == '/' ? path + 2 : path);
    if (len < 0 || (size_t)len + SUBMIT_NAME_ROOM >= n)
        return fs_errorf(e, FS_EXIT_BADINPUT,
                         "%s '%s' is too long as an absolute path (%d characters; at most %zu)\n"
                         "  hint: use a shorter path",
                         key, path, len, n - SUBMIT_NAME_ROOM - 1);
    while (len > 1 && out[len - 1] == '/') out[--len] = 0;
    return 0;
}

static int resolve_paths(const submit_args *a, const fs_config *cfg, job_spec *j, fs_error *e) {
    if (!cfg->run.dir[0])
        return fs_errorf(e, FS_EXIT_BADINPUT,
                         "run.dir is empty; a job needs a run directory\n"
                         "  hint: --set run.dir=runs/my-run");
    int rc = absolute_path("run.dir", cfg->run.dir, j->run_dir, sizeof j->run_dir, e);
    if (rc) return rc;
    if (cfg->slurm.workdir[0]) {
        if ((rc = absolute_path("slurm.workdir", cfg->slurm.workdir, j->workdir, sizeof j->workdir, e))) return rc;
        if (!fs_is_dir(j->workdir))
            return fs_errorf(e, FS_EXIT_BADINPUT,
                             "slurm.workdir %s is not a directory\n  hint: the job starts there "
                             "(relative data paths begin there); --set slurm.workdir=DIR",
                             j->workdir);
    } else if (!getcwd(j->workdir, sizeof j->workdir)) {
        return fs_errorf(e, FS_EXIT_FAIL, "getcwd failed: %s\n  hint: submit from an existing directory",
                         strerror(errno));
    }
    if (a->faceswarm) {
        if ((rc = absolute_path("--faceswarm", a->faceswarm, j->faceswarm, sizeof j->faceswarm, e))) return rc;
    } else {
        if (!fs_self_exe()[0])
            return fs_errorf(e, FS_EXIT_FAIL,
                             "readlink /proc/self/exe failed: %s\n"
                             "  hint: pass --faceswarm PATH",
                             strerror(errno));
        snprintf(j->faceswarm, sizeof j->faceswarm, "%s", fs_self_exe());
    }
    if (access(j->faceswarm, X_OK) != 0)
        return fs_errorf(e, FS_EXIT_BADINPUT,
                         "--faceswarm %s is not an executable file: %s\n"
                         "  hint: the job runs this binary on every node",
                         j->faceswarm, strerror(errno));
    if ((rc = check_word("run.dir", j->run_dir, 1, e)) ||
        (rc = check_word("the working directory", j->workdir, 1, e)) ||
        (rc = check_word("--faceswarm", j->faceswarm, 1, e)))
        return rc;
    return 0;
}

static int resolve_spec(const submit_args *a, const fs_config *cfg, job_spec *j, fs_error *e) {
    memset(j, 0, sizeof *j);
    j->nodes = pick(a->nodes, cfg->slurm.nodes);
    j->min_nodes = pick(a->min_nodes, cfg->slurm.min_nodes > 0 ? cfg->slurm.min_nodes : j->nodes);
    if (j->min_nodes > j->nodes)
        return fs_errorf(e, FS_EXIT_BADINPUT,
                         "slurm.min_nodes %d exceeds slurm.nodes %d; expected the fewest nodes <= the most\n"
                         "  hint: --nodes %d-%d, or --set slurm.min_nodes=0 for exactly %d",
                         j->min_nodes, j->nodes, FS_MIN(j->min_nodes, j->nodes), FS_MAX(j->min_nodes, j->nodes),
                         j->nodes);
    j->gpus_per_node = pick(a->gpus_per_node, cfg->slurm.gpus_per_node);
    j->tasks_per_node = pick(a->tasks_per_node, cfg->slurm.tasks_per_node > 0 ? cfg->slurm.tasks_per_node
                                                : j->gpus_per_node > 0        ? j->gpus_per_node
                                                                              : 1);
    j->cpus_per_task = pick(a->cpus_per_task, cfg->slurm.cpus_per_task);
    j->signal_lead_s = pick(a->signal_lead_s, cfg->slurm.signal_lead_s);
    snprintf(j->time, sizeof j->time, "%s", a->time ? a->time : cfg->slurm.time);
    snprintf(j->partition, sizeof j->partition, "%s", a->partition ? a->partition : cfg->slurm.partition);
    snprintf(j->account, sizeof j->account, "%s", a->account ? a->account : cfg->slurm.account);
    int rc;
    if ((rc = parse_time(j->time, &j->time_s, e)) || (rc = resolve_paths(a, cfg, j, e))) return rc;
    const char *base = strrchr(j->run_dir, '/');
    const char *name = a->job_name ? a->job_name : cfg->slurm.job_name;
    int len = snprintf(j->job_name, sizeof j->job_name, name[0] ? "%s" : "faceswarm-%s",
                       name[0] ? name : (base ? base + 1 : j->run_dir));
    if (len < 0 || (size_t)len >= sizeof j->job_name) j->job_name[sizeof j->job_name - 1] = 0; /* names may be cut */
    if ((rc = check_word("slurm.partition", j->partition, 0, e)) ||
        (rc = check_word("slurm.account", j->account, 0, e)) || (rc = check_word("--job-name", j->job_name, 0, e)))
        return rc;
    return check_shape(j, cfg, e);
}

/* The job's values go back into the config, so that job/config.yaml describes the job:
 * `faceswarm submit RUN/job/config.yaml` submits the same job again. */
static void apply_spec(const job_spec *j, fs_config *cfg) {
    cfg->slurm.nodes = j->nodes;
    cfg->slurm.min_nodes = j->min_nodes;
    cfg->slurm.gpus_per_node = j->gpus_per_node;
    cfg->slurm.tasks_per_node = j->tasks_per_node;
    cfg->slurm.cpus_per_task = j->cpus_per_task;
    cfg->slurm.signal_lead_s = j->signal_lead_s;
    snprintf(cfg->slurm.time, sizeof cfg->slurm.time, "%s", j->time);
    snprintf(cfg->slurm.partition, sizeof cfg->slurm.partition, "%s", j->partition);
    snprintf(cfg->slurm.account, sizeof cfg->slurm.account, "%s", j->account);
    snprintf(cfg->slurm.job_name, sizeof cfg->slurm.job_name, "%s", j->job_name);
    snprintf(cfg->slurm.workdir, sizeof cfg->slurm.workdir, "%s", j->workdir);
    snprintf(cfg->run.dir, sizeof cfg->run.dir, "%s", j->run_dir);
    /* resolve_paths left SUBMIT_NAME_ROOM characters free after run_dir */
    int len = snprintf(cfg->coordinator.keys, sizeof cfg->coordinator.keys, "%s/job/coordinator.keys", j->run_dir);
    if (len < 0 || (size_t)len >= sizeof cfg->coordinator.keys)
        fs_die(FS_EXIT_FAIL, "run.dir %s: path too long", j->run_dir);
}

static int load_config(const submit_args *a, fs_config *cfg, fs_error *e) {
    int rc = fs_config_load(cfg, a->config, e);
    for (int i = 0; !rc && i < a->n_sets; i++) rc = fs_config_set(cfg, a->sets[i], e);
    if (!rc) rc = fs_config_validate(cfg, e);
    fs_model m; /* the architecture's shape rules, before anything is queued */
    if (!rc && !(rc = fs_model_build(&m, cfg, e))) fs_model_free(&m);
    return rc;
}

/* ---------------------------------------------------------------- the template */
static int find_template(const char *given, char *out, size_t n, fs_error *e) {
    const char *env = getenv("FACESWARM_SBATCH_TEMPLATE");
    if (given || env) {
        snprintf(out, n, "%s", given ? given : env);
        if (fs_exists(out)) return 0;
        return fs_errorf(e, FS_EXIT_BADINPUT,
                         "job script template %s (%s) does not exist\n"
                         "  hint: it is slurm/faceswarm.sbatch in the source tree",
                         out, given ? "--template" : "FACESWARM_SBATCH_TEMPLATE");
    }
    /* Next to an installed binary, or in the source tree of the build (fs_data_file). */
    int rc = fs_data_file("slurm/faceswarm.sbatch", out, n, e);
    if (rc) fs_error_prefix(e, "no job script template: ");
    return rc;
}

typedef struct tvar {
    const char *name, *value;
} tvar;

typedef struct sbuf {
    char *p;
    size_t n, cap;
} sbuf;

static void sbuf_add(sbuf *s, const char *data, size_t len) {
    if (s->n + len + 1 > s->cap) {
        s->cap = (s->n + len + 1) * 2;
        s->p = fs_realloc(s->p, s->cap);
    }
    memcpy(s->p + s->n, data, len);
    s->n += len;
    s->p[s->n] = 0;
}

/* The length of the placeholder name at p (just after an '@'): [A-Z_]+ closed by '@'. */
static size_t placeholder_len(const char *p, const char *end) {
    size_t k = 0;
    while (p + k < end && ((p[k] >= 'A' && p[k] <= 'Z') || p[k] == '_')) k++;
    return k > 0 && p + k < end && p[k] == '@' ? k : 0;
}

/* Renders one line (without its newline) onto out. A line starting with #SBATCH whose
 * placeholders all render empty is left out: that is how an unset option disappears. */
static int render_line(const char *line, const char *end, const tvar *vars, int nv, sbuf *out, const char *where,
                       int lineno, fs_error *e) {
    size_t start = out->n;
    int n_ph = 0, n_set = 0;
    for (const char *p = line; p < end;) {
        size_t k = *p == '@' ? placeholder_len(p + 1, end) : 0;
        if (!k) {
            sbuf_add(out, p++, 1);
            continue;
        }
        int i = 0;
        while (i < nv && (strlen(vars[i].name) != k || strncmp(vars[i].name, p + 1, k))) i++;
        if (i == nv)
            return fs_errorf(e, FS_EXIT_BADINPUT,
                             "%s:%d: unknown placeholder @%.*s@\n"
                             "  hint: the template and this faceswarm do not match; use slurm/faceswarm.sbatch of this "
                             "version",
                             where, lineno, (int)k, p + 1);
        sbuf_add(out, vars[i].value, strlen(vars[i].value));
        n_ph++, n_set += vars[i].value[0] != 0;
        p += k + 2;
    }
    if (n_ph > 0 && n_set == 0 && !strncmp(line, "#SBATCH", 7)) out->n = start;
    else sbuf_add(out, "\n", 1);
    out->p[out->n] = 0;
    return 0;
}

static int render(const char *tmpl, const char *where, const tvar *vars, int nv, char **result, fs_error *e) {
    sbuf out = {0};
    sbuf_add(&out, "", 0);
    int lineno = 1;
    for (const char *line = tmpl; *line; lineno++) {
        const char *end = strchr(line, '\n');
        if (!end) end = line + strlen(line);
        int rc = render_line(line, end, vars, nv, &out, where, lineno, e);
        if (rc) {
            free(out.p);
            return rc;
        }
        line = *end ? end + 1 : end;
    }
    *result = out.p;
    return 0;
}

/* cfg_timeout_s: coordinator.timeout_s, the silence after which the job's coordinator names a rank. */
static int render_job(const job_spec *j, double cfg_timeout_s, const char *tmpl_path, char **script, fs_error *e) {
    char nodes[32], tasks[16], gpus[16], cpus[16], lead[16], base[16], span[16], timeout[32];
    if (j->min_nodes < j->nodes) snprintf(nodes, sizeof nodes, "%d-%d", j->min_nodes, j->nodes);
    else snprintf(nodes, sizeof nodes, "%d", j->nodes);
    snprintf(tasks, sizeof tasks, "%d", j->tasks_per_node);
    snprintf(gpus, sizeof gpus, "%.0d", j->gpus_per_node); /* "" for 0: no GPU line */
    snprintf(cpus, sizeof cpus, "%d", j->cpus_per_task);
    snprintf(lead, sizeof lead, "%d", j->signal_lead_s);
    snprintf(base, sizeof base, "%d", SUBMIT_PORT_BASE);
    snprintf(span, sizeof span, "%d", SUBMIT_PORT_SPAN);
    snprintf(timeout, sizeof timeout, "%g", cfg_timeout_s);
    /* With a node range, sbatch --ntasks-per-node fixes the task count at MIN nodes' worth and
     * Slurm allocates MIN nodes: the range asks for the CPUs per node instead, and srun in the
     * script starts TASKS_PER_NODE ranks on each node it got. */
    int range = j->min_nodes < j->nodes;
    char mincpus[32];
    snprintf(mincpus, sizeof mincpus, "%d", j->tasks_per_node * j->cpus_per_task);
    const tvar vars[] = {{"JOB_NAME", j->job_name},
                         {"NODES", nodes},
                         {"TASKS_PER_NODE", tasks},
                         {"GPUS_PER_NODE", gpus},
                         {"CPUS_PER_TASK", cpus},
                         {"TIME", j->time},
                         {"PARTITION", j->partition},
                         {"ACCOUNT", j->account},
                         {"SIGNAL_LEAD", lead},
                         {"WORKDIR", j->workdir},
                         {"RUN_DIR", j->run_dir},
                         {"FACESWARM", j->faceswarm},
                         {"PORT_BASE", base},
                         {"PORT_SPAN", span},
                         {"COORD_TIMEOUT", timeout},
                         {"EXACT_TASKS_PER_NODE", range ? "" : tasks},
                         {"RANGE_MINCPUS", range ? mincpus : ""}};
    char *tmpl = fs_read_file(tmpl_path, NULL, e);
    if (!tmpl) return e->code ? e->code : FS_EXIT_FAIL;
    int rc = render(tmpl, tmpl_path, vars, (int)FS_ARRAY_LEN(vars), script, e);
    free(tmpl);
    return rc;
}

/* ---------------------------------------------------------------- run directory, sbatch */
static int prepare_run_dir(const job_spec *j, const fs_config *cfg, const char *script, char *script_path, size_t n,
                           fs_error *e) {
    char dir[FS_PATH_LEN + 8], path[FS_PATH_LEN + 32];
    snprintf(dir, sizeof dir, "%s/job", j->run_dir);
    int rc = fs_mkdir_p(dir, e);
    if (rc) return rc;
    if (!fs_exists(cfg->coordinator.keys) && (rc = fs_coord_keys_generate(cfg->coordinator.keys, e))) return rc;
    char *yaml = fs_config_dump(cfg);
    snprintf(path, sizeof path, "%s/config.yaml", dir);
    rc = fs_write_file_atomic(path, yaml, strlen(yaml), e);
    free(yaml);
    if (rc) return rc;
    snprintf(script_path, n, "%s/faceswarm.sbatch", dir);
    return fs_write_file_atomic(script_path, script, strlen(script), e);
}

/* Runs `sbatch --parsable SCRIPT` and returns the job id it prints. */
static int run_sbatch(const char *script_path, char *job_id, size_t n, fs_error *e) {
    int fds[2];
    if (pipe(fds) != 0) return fs_errorf(e, FS_EXIT_FAIL, "pipe failed: %s", strerror(errno));
    pid_t pid = fork();
    if (pid < 0) return fs_errorf(e, FS_EXIT_FAIL, "fork failed: %s\n  hint: too many processes?", strerror(errno));
    if (pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]), close(fds[1]);
        execlp("sbatch", "sbatch", "--parsable", script_path, (char *)NULL);
        fprintf(stderr, "error: cannot run sbatch: %s\n", strerror(errno));
        _exit(127);
    }
    close(fds[1]);
    char out[256] = {0};
    size_t got = 0;
    ssize_t r;
    while (got < sizeof out - 1 && (r = read(fds[0], out + got, sizeof out - 1 - got)) > 0) got += (size_t)r;
    close(fds[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return fs_errorf(e, FS_EXIT_FAIL, "sbatch %s failed (status %d); its message is above\n  hint: %s", script_path,
                         WIFEXITED(status) ? WEXITSTATUS(status) : -1,
                         WIFEXITED(status) && WEXITSTATUS(status) == 127
                             ? "sbatch is not installed here: submit from a Slurm login node"
                             : "check --partition, --account, --time and the GPU count against `sinfo`");
    size_t len = strspn(out, "0123456789");
    if (len == 0 || len >= n)
        return fs_errorf(e, FS_EXIT_FAIL, "sbatch printed '%.*s'; expected a job id\n  hint: is sbatch Slurm's?",
                         (int)strcspn(out, "\n"), out);
    memcpy(job_id, out, len);
    job_id[len] = 0;
    return 0;
}

/* How to run this binary again: "faceswarm" when that name on PATH is this very file, else
 * its absolute path, so that the printed commands work as printed. */
static const char *self_command(void) {
    static char cmd[FS_PATH_LEN];
    snprintf(cmd, sizeof cmd, "%s", fs_self_exe()[0] ? fs_self_exe() : "faceswarm");
    const char *path = getenv("PATH");
    struct stat self, other;
    if (!path || stat(cmd, &self)) return cmd;
    for (const char *p = path; *p;) {
        size_t len = strcspn(p, ":");
        char cand[FS_PATH_LEN];
        int w = snprintf(cand, sizeof cand, "%.*s/faceswarm", (int)len, p);
        if (len && w > 0 && (size_t)w < sizeof cand && !stat(cand, &other) && other.st_dev == self.st_dev &&
            other.st_ino == self.st_ino)
            return "faceswarm";
        if (len && w > 0 && (size_t)w < sizeof cand && !stat(cand, &other))
            return cmd; /* PATH finds another one first */
        p += len + (p[len] == ':');
    }
    return cmd;
}

/* ---------------------------------------------------------------- resubmission */
/* Every setting a job is made of (config key, the flag that overrides it, whether it was
 * given, whether the previous job may lack it): a resubmission that changes one says so,
 * since a new world size or time limit is rarely what "submit the same job again" means.
 * Jobs frozen before tasks_per_node, job_name and workdir were kept have 0 or "" there. */
#define SUBMIT_SETTINGS(X)                                                                                             \
    X(INT, nodes, "--nodes", a->nodes >= 0, 0)                                                                         \
    X(INT, min_nodes, "--nodes", a->min_nodes >= 0, 1)                                                                 \
    X(INT, gpus_per_node, "--gpus-per-node", a->gpus_per_node >= 0, 0)                                                 \
    X(INT, tasks_per_node, "--tasks-per-node", a->tasks_per_node >= 0, 1)                                              \
    X(INT, cpus_per_task, "--cpus-per-task", a->cpus_per_task >= 0, 0)                                                 \
    X(STR, time, "--time", a->time != NULL, 0)                                                                         \
    X(STR, partition, "--partition", a->partition != NULL, 0)                                                          \
    X(STR, account, "--account", a->account != NULL, 0)                                                                \
    X(INT, signal_lead_s, "--signal-lead", a->signal_lead_s >= 0, 0)                                                   \
    X(STR, job_name, "--job-name", a->job_name != NULL, 1)                                                             \
    X(STR, workdir, "--set slurm.workdir", 0, 1)

static void notice_change(const char *key, const char *was, const char *now, const char *quote, const char *flag,
                          int given, const char *prev_path, const submit_args *a) {
    fprintf(stderr,
            "notice: faceswarm submit: slurm.%s was %s%s%s in this run's previous job (%s); this job has "
            "%s%s%s (from %s)\n",
            key, quote, was, quote, prev_path, quote, now, quote, given ? flag : a->config);
}

#define SUBMIT_COMPARE_INT(f, flag, given, may_lack)                                                                   \
    if (prev->slurm.f != cfg->slurm.f && !(may_lack && prev->slurm.f == 0)) {                                          \
        char was[16], now[16];                                                                                         \
        snprintf(was, sizeof was, "%d", prev->slurm.f), snprintf(now, sizeof now, "%d", cfg->slurm.f);                 \
        notice_change(#f, was, now, "", flag, given, path, a), changed++;                                              \
    }
#define SUBMIT_COMPARE_STR(f, flag, given, may_lack)                                                                   \
    if (strcmp(prev->slurm.f, cfg->slurm.f) && !(may_lack && !prev->slurm.f[0]))                                       \
        notice_change(#f, prev->slurm.f, cfg->slurm.f, "'", flag, given, path, a), changed++;
#define SUBMIT_COMPARE(kind, f, flag, given, may_lack) SUBMIT_COMPARE_##kind(f, flag, given, may_lack)

/* Compares the job about to be submitted (cfg, after apply_spec) with the run directory's
 * previous one (job/config.yaml), if any. */
static void compare_with_previous(const job_spec *j, const fs_config *cfg, const submit_args *a) {
    char path[FS_PATH_LEN + 32];
    snprintf(path, sizeof path, "%s/job/config.yaml", j->run_dir);
    if (!fs_exists(path)) return;
    static fs_config prev_cfg; /* large */
    fs_config *prev = &prev_cfg;
    fs_error e = {0};
    if (fs_config_load(prev, path, &e)) {
        fprintf(stderr, "warning: faceswarm submit: cannot read this run's previous job to compare: %s\n", e.msg);
        return;
    }
    int changed = 0;
    SUBMIT_SETTINGS(SUBMIT_COMPARE)
    if (changed)
        fprintf(stderr, "  hint: `%s submit %s` without options submits the previous job unchanged\n", self_command(),
                path);
}

static void print_submitted(const job_spec *j, const char *job_id) {
    const char *fs = self_command();
    if (j->min_nodes < j->nodes)
        printf("submitted job %s: %d-%d nodes x %d rank(s)", job_id, j->min_nodes, j->nodes, j->tasks_per_node);
    else printf("submitted job %s: %d node(s) x %d rank(s)", job_id, j->nodes, j->tasks_per_node);
    if (j->gpus_per_node) printf(", %d GPU(s) per node", j->gpus_per_node);
    printf(", time %s\n", j->time);
    printf("  run dir:  %s\n", j->run_dir);
    printf("  output:   %s/slurm-%s.out\n", j->run_dir, job_id);
    printf("  watch:    %s status --run %s\n", fs, j->run_dir);
    printf("  stop:     scancel --signal=USR1 --batch %s   (checkpoint, then requeue and resume)\n", job_id);
    printf("  resume:   %s submit %s/job/config.yaml   (the same job again, from its newest checkpoint)\n", fs,
           j->run_dir);
}

int cmd_submit(int argc, char **argv) {
    submit_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc) return rc < 0 ? FS_EXIT_OK : rc;
    static fs_config cfg; /* large */
    fs_error e = {0};
    job_spec j;
    char tmpl[FS_PATH_LEN], script_path[FS_PATH_LEN + 32], job_id[32];
    char *script = NULL;
    if ((rc = load_config(&a, &cfg, &e)) || (rc = resolve_spec(&a, &cfg, &j, &e)) ||
        (rc = find_template(a.template_path, tmpl, sizeof tmpl, &e)) ||
        (rc = render_job(&j, cfg.coordinator.timeout_s, tmpl, &script, &e)))
        goto fail;
    apply_spec(&j, &cfg);
    compare_with_previous(&j, &cfg, &a);
    if (a.dry_run) {
        fprintf(stderr, "faceswarm submit: dry run, nothing written or submitted; job script rendered from %s\n", tmpl);
        fputs(script, stdout);
        free(script);
        return FS_EXIT_OK;
    }
    if ((rc = prepare_run_dir(&j, &cfg, script, script_path, sizeof script_path, &e)) ||
        (rc = run_sbatch(script_path, job_id, sizeof job_id, &e)))
        goto fail;
    free(script);
    print_submitted(&j, job_id);
    return FS_EXIT_OK;
fail:
    free(script);
    fprintf(stderr, "error: faceswarm submit %s: %s\n", a.config, e.msg);
    return rc;
}
