/* infer.c — see infer.h. */
#include "trainer/infer.h"

#include <stdlib.h>
#include <string.h>

#include "trainer/checkpoint.h"
#include "trainer/preview.h"

int fs_infer_load(fs_infer *j, const char *ckpt, fs_error *e) {
    fs_ckpt_meta m;
    j->ckpt = ckpt;
    int rc = fs_ckpt_read(ckpt, 0, &m, NULL, NULL, NULL, NULL, e);
    if (rc) return rc;
    float *params = fs_malloc(sizeof(float) * (size_t)m.n_params);
    fs_ckpt_meta_free(&m);
    fs_ckpt_sums sums;
    rc = fs_ckpt_read(ckpt, m.n_params, &m, params, NULL, NULL, &sums, e);
    if (!rc) j->ckpt_version = m.version, snprintf(j->params_sum, sizeof j->params_sum, "%s", sums.params);
    if (!rc) rc = fs_config_load_string(&j->cfg, m.config_text, ckpt, e);
    for (int i = 0; !rc && i < j->cfg.model.n_identities; i++)
        fs_ckpt_consent_of(m.consent_text, j->cfg.model.identities[i], j->consent[i], sizeof j->consent[i]);
    if (!rc) rc = fs_model_build(&j->model, &j->cfg, e);
    if (!rc && (long)j->model.n_params != m.n_params)
        rc = fs_errorf(e, FS_EXIT_BADINPUT, "%s: its config builds %zu parameters, the file holds %ld", ckpt,
                       j->model.n_params, m.n_params);
    if (!rc) {
        fs_model_alloc(&j->model, fs_backend_cpu(), 1);
        j->model.be->upload(j->model.params, params, sizeof(float) * j->model.n_params);
    }
    if (m.config_text) fs_ckpt_meta_free(&m);
    free(params);
    return rc;
}

int fs_infer_identity(const fs_infer *m, const char *opt, const char *name, fs_error *e) {
    const fs_config *c = &m->cfg;
    for (int i = 0; i < c->model.n_identities; i++)
        if (!strcmp(c->model.identities[i], name)) return i;
    char list[512] = "";
    for (int i = 0; i < c->model.n_identities; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "", c->model.identities[i]);
    fs_errorf(e, FS_EXIT_BADINPUT,
              "%s '%s': the checkpoint's model has no such identity (it has %s)\n  hint: "
              "faceswarm checkpoint inspect %s lists model.identities",
              opt, name, list, m->ckpt);
    return -1;
}

const char *fs_infer_consent_label(const fs_infer *m) {
    return fs_consent_label(m->cfg.data.require_consent, m->ckpt_version >= 2);
}

void fs_infer_provenance(const fs_infer *j, fs_provenance *p) {
    p->run = j->cfg.run.dir, p->checkpoint = j->ckpt, p->checkpoint_checksum = j->params_sum;
    p->n_identities = j->cfg.model.n_identities < FS_XMP_MAX_IDS ? j->cfg.model.n_identities : FS_XMP_MAX_IDS;
    for (int i = 0; i < p->n_identities; i++) {
        p->identity[i] = j->cfg.model.identities[i];
        /* the chain: the dataset's reference; older checkpoints: what training checked */
        p->consent[i] = j->consent[i][0] ? j->consent[i] : fs_infer_consent_label(j);
    }
}

void fs_infer_free(fs_infer *m) { fs_model_free(&m->model); }
