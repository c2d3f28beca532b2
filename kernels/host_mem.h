/* host_mem.h — how much host memory this process can still allocate, for the mem_available
 * op of the CPU backends and of the CUDA emulator (whose "device" is host memory). Inline:
 * the two backends live in different libraries. */
#ifndef FACESWARM_HOST_MEM_H
#define FACESWARM_HOST_MEM_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"

/* A "<name>: <n> kB" line of a /proc file (/proc/meminfo, /proc/self/status) in bytes, 0 if
 * absent. */
static inline size_t fs_proc_kb_bytes(const char *path, const char *name) {
    FILE *f = fopen(path, "r");
    char line[256];
    size_t len = strlen(name), kb = 0;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, name, len) && line[len] == ':') kb = (size_t)strtoull(line + len + 1, NULL, 10);
    if (f) fclose(f);
    return kb * 1024;
}

/* The first number in a file (a cgroup's limit or usage), or 0: absent, or "max". */
static inline size_t fs_file_number_(const char *path) {
    FILE *f = fopen(path, "r");
    char text[64] = "";
    if (f && !fgets(text, sizeof text, f)) text[0] = 0;
    if (f) fclose(f);
    return text[0] >= '0' && text[0] <= '9' ? (size_t)strtoull(text, NULL, 10) : 0;
}

/* This process's cgroup directory under /sys/fs/cgroup (v2: the "0::" line; v1: the memory
 * controller's line), or 0 when it has none. */
static inline int fs_cgroup_dir_(char *out, size_t len) {
    FILE *f = fopen("/proc/self/cgroup", "r");
    char line[1024];
    int found = 0;
    while (f && !found && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        char *path = strchr(line, ':') ? strchr(strchr(line, ':') + 1, ':') : NULL;
        if (!path) continue;
        if (!strncmp(line, "0::", 3)) found = snprintf(out, len, "/sys/fs/cgroup%s", path + 1) > 0;
        else if (strstr(line, ":memory:")) found = snprintf(out, len, "/sys/fs/cgroup/memory%s", path + 1) > 0;
    }
    if (f) fclose(f);
    return found;
}

static inline size_t fs_host_mem_available(void) {
    size_t avail = fs_proc_kb_bytes("/proc/meminfo", "MemAvailable"), limit = 0, usage = 0;
    char dir[900], path[1024];
    if (fs_cgroup_dir_(dir, sizeof dir)) {
        snprintf(path, sizeof path, "%s/memory.max", dir); /* v2 */
        if ((limit = fs_file_number_(path))) {
            snprintf(path, sizeof path, "%s/memory.current", dir);
            usage = fs_file_number_(path);
        } else { /* v1; "no limit" reads as a huge number there */
            snprintf(path, sizeof path, "%s/memory.limit_in_bytes", dir);
            limit = fs_file_number_(path);
            snprintf(path, sizeof path, "%s/memory.usage_in_bytes", dir);
            usage = fs_file_number_(path);
        }
    }
    if (limit) avail = FS_MIN(avail, limit > usage ? limit - usage : 0);
    return avail;
}

#endif
