/* test_nccl_plan.c — nccl_plan: the buckets the NCCL all-reduce launches, and after which
 * ready_from, follow the MPI backend's rule (comms/allreduce.h), written out here again
 * independently: bucket k = [max(0, n-(k+1)B), n-kB), B = min(bucket_bytes/4, 2^28),
 * launched in the order 0, 1, 2, ... as soon as ready_from <= its start. Host only. */
#include <stdio.h>
#include <string.h>

#include "comms/nccl/nccl_plan.h"

#include "tests/check.h"

/* The reference rule, in its own words. */
static size_t ref_floats(size_t bucket_bytes) {
    size_t b = bucket_bytes / 4;
    return b > ((size_t)1 << 28) ? (size_t)1 << 28 : b;
}
static size_t ref_lo(size_t n, size_t b, int k) { return n > (size_t)(k + 1) * b ? n - (size_t)(k + 1) * b : 0; }
static size_t ref_hi(size_t n, size_t b, int k) { return n - (size_t)k * b; }

/* Slices tile [0, n) exactly, from the end, each of B floats except possibly the last. */
static void check_slices(size_t n, size_t bucket_bytes) {
    fs_nccl_plan p;
    fs_error e = {0};
    CHECK(fs_nccl_plan_init(&p, n, bucket_bytes, &e) == 0, "n=%zu bytes=%zu: %s", n, bucket_bytes, e.msg);
    size_t b = ref_floats(bucket_bytes), covered = 0;
    CHECK(p.bucket == b, "n=%zu bytes=%zu: bucket %zu floats, expected %zu", n, bucket_bytes, p.bucket, b);
    CHECK(p.nbuckets == (int)((n + b - 1) / b), "n=%zu B=%zu: %d buckets, expected %zu", n, b, p.nbuckets,
          (n + b - 1) / b);
    for (int k = 0; k < p.nbuckets; k++) {
        size_t lo = fs_nccl_plan_lo(&p, k), hi = fs_nccl_plan_hi(&p, k);
        CHECK(lo == ref_lo(n, b, k) && hi == ref_hi(n, b, k), "n=%zu B=%zu bucket %d: [%zu, %zu), expected [%zu, %zu)",
              n, b, k, lo, hi, ref_lo(n, b, k), ref_hi(n, b, k));
        covered += hi - lo;
    }
    CHECK(covered == n, "n=%zu B=%zu: buckets cover %zu floats", n, b, covered);
}

/* A backward pass: ready_from falls from n to 0 in random steps (repeats allowed). At each
 * call the plan must launch exactly the buckets whose start the pass has reached, in order,
 * and none twice; after ready(0), all of them. */
static void check_launch_order(size_t n, size_t bucket_bytes, uint64_t seed) {
    fs_nccl_plan p;
    fs_error e = {0};
    if (fs_nccl_plan_init(&p, n, bucket_bytes, &e)) return;
    size_t b = ref_floats(bucket_bytes), from = n;
    fs_rng rng;
    fs_rng_init(&rng, seed, n, bucket_bytes);
    int launched = 0, calls = 0;
    while (from > 0) {
        size_t step = fs_rng_below(&rng, (uint32_t)(n / 4 + 2));
        from = step >= from ? 0 : from - step;
        int upto = fs_nccl_plan_ready(&p, launched, from);
        int want = 0; /* buckets whose start the pass has reached */
        while (want < p.nbuckets && from <= ref_lo(n, b, want)) want++;
        CHECK(upto == want, "n=%zu B=%zu call %d ready_from=%zu: launched up to %d, expected %d", n, b, calls, from,
              upto, want);
        CHECK(upto >= launched, "n=%zu: launched count went back from %d to %d", n, launched, upto);
        launched = upto;
        calls++;
    }
    CHECK(launched == p.nbuckets, "n=%zu B=%zu: after ready(0) %d of %d buckets launched", n, b, launched, p.nbuckets);
    CHECK(fs_nccl_plan_ready(&p, launched, 0) == launched, "n=%zu: a repeated ready(0) launched more", n);
}

static void check_errors(void) {
    fs_nccl_plan p;
    fs_error e = {0};
    int rc = fs_nccl_plan_init(&p, 100, 3, &e);
    CHECK(rc == FS_EXIT_BADINPUT, "bucket of 3 bytes: code %d, expected %d", rc, FS_EXIT_BADINPUT);
    CHECK(strstr(e.msg, "comms.bucket_mb") && strstr(e.msg, "hint:"), "bucket of 3 bytes: message '%s'", e.msg);
    CHECK(fs_nccl_plan_init(&p, 0, 4, &e) == 0 && p.nbuckets == 0, "n=0: %d buckets", p.nbuckets);
    CHECK(fs_nccl_plan_ready(&p, 0, 0) == 0, "n=0: ready(0) launched something");
}

int main(void) {
    static const size_t ns[] = {1, 2, 7, 1000, 1001, 65536, 1000003, 82062470};
    static const size_t bytes[] = {4, 6, 12, 4000, 262144, 25u << 20, (size_t)5 << 30};
    for (size_t i = 0; i < FS_ARRAY_LEN(ns); i++)
        for (size_t j = 0; j < FS_ARRAY_LEN(bytes); j++) {
            if (ns[i] / (bytes[j] / 4) > 200000) continue; /* keep the walk short */
            check_slices(ns[i], bytes[j]);
            for (uint64_t s = 0; s < 4; s++) check_launch_order(ns[i], bytes[j], s);
        }
    check_errors();
    /* The 2^28-float cap: a 5 GiB bucket holds 2^28 floats, so 82M floats take 1 bucket
     * and 2^29 + 5 floats take 3. */
    fs_nccl_plan p;
    CHECK(fs_nccl_plan_init(&p, ((size_t)1 << 29) + 5, (size_t)5 << 30, NULL) == 0 && p.nbuckets == 3,
          "cap: %d buckets for 2^29+5 floats", p.nbuckets);
    if (failures) {
        printf("nccl_plan: %d check(s) failed\n", failures);
        return 1;
    }
    printf("nccl_plan: ok (bucket slices and launch order match the MPI backend's rule)\n");
    return 0;
}
