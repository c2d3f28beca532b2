/* check_footage.c — checks an extract output against the footage it came from.
 *
 *   check_footage OUT.h5 SOURCE_INDEX VIDEO TRUTH PHOTO FACE_FRAMES
 *
 * For the faces of source SOURCE_INDEX (VIDEO, made by make_video from PHOTO, whose
 * photo-to-frame matrices are in TRUTH; FACE_FRAMES of its frames show the face):
 *  1. the face is found in at least 95% of the frames that show it;
 *  2. the aligned landmarks of the same face agree across frames: a face's mean distance
 *     from the per-point median over all frames is under 1% of S for the median face and
 *     under 2.5% of S for every face (the footage is the photo under a similarity, so the
 *     alignment must undo it up to the landmark fit's own jitter, which has outliers);
 *  3. the /frames matrix maps the aligned face back onto the frame: its inverse takes the
 *     stored landmarks onto the landmarks dlib finds in that decoded frame within 1 px, and
 *     onto the photo's landmarks carried by the true motion within 3 px on average; the
 *     aligned face warped back by the inverse matches the frame inside the landmark hull
 *     (mean absolute difference under 6 of 255: two bilinear resamplings);
 *  4. /frames/time is index / 25 (make_video writes 25 frames/s). */
#include <hdf5.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/align.h"
#include "data/face_detect.h"
#include "data/image.h"
#include "data/video.h"
#include "tests/check.h"

#ifndef FS_DLIB_LANDMARKS
#define FS_DLIB_LANDMARKS "/usr/share/dlib/shape_predictor_68_face_landmarks.dat"
#endif

typedef struct out_file {
    long n;
    int S;
    uint8_t *faces, *masks;
    float *lm;      /* [n][68][2] */
    int32_t *src;   /* [n] */
    int64_t *index; /* [n] */
    double *time;   /* [n] */
    double *matrix; /* [n][2][3] */
} out_file;

static void *read_all(hid_t f, const char *name, hid_t type, size_t item, long *n) {
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    if (d < 0) {
        fprintf(stderr, "FAIL: %s missing\n", name);
        exit(1);
    }
    hid_t sp = H5Dget_space(d);
    hsize_t dims[4];
    H5Sget_simple_extent_dims(sp, dims, NULL);
    *n = (long)dims[0];
    void *buf = malloc(item * (size_t)(*n ? *n : 1));
    if (H5Dread(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) {
        fprintf(stderr, "FAIL: reading %s\n", name);
        exit(1);
    }
    H5Sclose(sp);
    H5Dclose(d);
    return buf;
}

static void load(const char *path, out_file *o) {
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) {
        fprintf(stderr, "FAIL: cannot open %s\n", path);
        exit(1);
    }
    long n;
    hid_t d = H5Dopen2(f, "/faces", H5P_DEFAULT), sp = H5Dget_space(d);
    hsize_t dims[4];
    H5Sget_simple_extent_dims(sp, dims, NULL);
    o->S = (int)dims[1];
    H5Sclose(sp), H5Dclose(d);
    size_t px = (size_t)o->S * o->S;
    o->faces = read_all(f, "/faces", H5T_NATIVE_UINT8, px * 3, &o->n);
    o->masks = read_all(f, "/masks", H5T_NATIVE_UINT8, px, &n);
    o->lm = read_all(f, "/landmarks", H5T_NATIVE_FLOAT, 68 * 2 * sizeof(float), &n);
    o->src = read_all(f, "/frames/source", H5T_NATIVE_INT32, sizeof(int32_t), &n);
    o->index = read_all(f, "/frames/index", H5T_NATIVE_INT64, sizeof(int64_t), &n);
    o->time = read_all(f, "/frames/time", H5T_NATIVE_DOUBLE, sizeof(double), &n);
    o->matrix = read_all(f, "/frames/matrix", H5T_NATIVE_DOUBLE, 6 * sizeof(double), &n);
    H5Fclose(f);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int cmp_float(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return x < y ? -1 : x > y;
}

/* 2. Mean distance of each face's aligned landmarks from the per-point median. */
static void check_agreement(const out_file *o, const long *mine, long m) {
    float *col = malloc(sizeof(float) * (size_t)m), med[68][2];
    for (int p = 0; p < 68; p++)
        for (int k = 0; k < 2; k++) {
            for (long i = 0; i < m; i++) col[i] = o->lm[(mine[i] * 68 + p) * 2 + k];
            qsort(col, (size_t)m, sizeof *col, cmp_float);
            med[p][k] = col[m / 2];
        }
    double *dist = malloc(sizeof(double) * (size_t)m), worst = 0;
    for (long i = 0; i < m; i++) {
        double sum = 0;
        for (int p = 0; p < 68; p++)
            sum += hypot(o->lm[(mine[i] * 68 + p) * 2] - med[p][0], o->lm[(mine[i] * 68 + p) * 2 + 1] - med[p][1]);
        dist[i] = sum / 68;
        worst = fmax(worst, dist[i]);
        if (getenv("CHECK_VERBOSE"))
            printf("  face %ld frame %ld: %.2f px\n", mine[i], (long)o->index[mine[i]], dist[i]);
    }
    qsort(dist, (size_t)m, sizeof *dist, cmp_double);
    double typical = dist[m / 2];
    printf("agreement: mean landmark distance from the per-point median: median face %.2f px (limit %.2f), worst "
           "%.2f px (limit %.2f), S=%d\n",
           typical, 0.01 * o->S, worst, 0.025 * o->S, o->S);
    CHECK(typical < 0.01 * o->S, "aligned landmarks disagree across frames: median face %.2f px", typical);
    CHECK(worst < 0.025 * o->S, "aligned landmarks disagree across frames: worst face %.2f px", worst);
    free(dist);
    free(col);
}

typedef struct footage {
    fs_face_detector *det;
    fs_face_found photo_face;
    double (*truth)[2][3]; /* [frames] */
    long frames;
} footage;

/* 3. for face i (frame rgb w x h): the inverse matrix against dlib on the frame, the truth,
 * and the face put back. */
static void check_round_trip(const out_file *o, long i, const footage *ft, const uint8_t *rgb, int w, int h,
                             double *truth_err) {
    double M[2][3], inv[2][3];
    memcpy(M, o->matrix + i * 6, sizeof M);
    CHECK(fs_align_invert(M, inv) == 0, "face %ld: singular matrix", i);
    float back[68][2], truth[68][2];
    fs_align_apply(inv, (const float(*)[2])(o->lm + i * 136), back, 68);
    fs_face_found f;
    char err[512];
    int n = fs_face_detect(ft->det, rgb, w, h, 80, &f, 1, err, sizeof err);
    CHECK(n >= 1, "face %ld: dlib finds no face in its frame", i);
    double worst = 0, sum = 0;
    long k = o->index[i];
    fs_align_apply(ft->truth[k], (const float(*)[2])ft->photo_face.pts, truth, 68);
    for (int p = 0; p < 68 && n >= 1; p++) {
        worst = fmax(worst, hypot(back[p][0] - f.pts[p][0], back[p][1] - f.pts[p][1]));
        sum += hypot(back[p][0] - truth[p][0], back[p][1] - truth[p][1]);
    }
    CHECK(worst <= 1.0, "face %ld (frame %ld): landmarks mapped back are %.3f px off the frame's", i, k, worst);
    *truth_err = sum / 68;
    /* The face put back: compare with the frame inside the hull. */
    size_t px = (size_t)o->S * o->S;
    uint8_t *put = malloc((size_t)w * h * 3), *mask = o->masks + px * i;
    fs_align_warp(o->faces + px * 3 * i, o->S, o->S, inv, put, w, h);
    double diff = 0;
    long cnt = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int fx = (int)lround(M[0][0] * x + M[0][1] * y + M[0][2]),
                fy = (int)lround(M[1][0] * x + M[1][1] * y + M[1][2]);
            if (fx < 1 || fy < 1 || fx >= o->S - 1 || fy >= o->S - 1 || !mask[(size_t)fy * o->S + fx]) continue;
            for (int c = 0; c < 3; c++)
                diff += abs(put[((size_t)y * w + x) * 3 + c] - rgb[((size_t)y * w + x) * 3 + c]);
            cnt += 3;
        }
    CHECK(cnt > 0 && diff / cnt < 6.0, "face %ld: put back it differs from the frame by %.2f on average", i,
          cnt ? diff / cnt : -1.0);
    free(put);
}

static void load_truth(const char *path, footage *ft) {
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "FAIL: %s missing\n", path);
        exit(1);
    }
    ft->truth = malloc(sizeof *ft->truth * 100000);
    long k;
    double *m;
    while (m = &ft->truth[ft->frames][0][0],
           fscanf(f, "%ld %lf %lf %lf %lf %lf %lf", &k, m, m + 1, m + 2, m + 3, m + 4, m + 5) == 7)
        ft->frames++;
    fclose(f);
}

int main(int argc, char **argv) {
    if (argc != 7) {
        fprintf(stderr, "usage: check_footage OUT.h5 SOURCE VIDEO TRUTH PHOTO FACE_FRAMES\n");
        return 2;
    }
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    out_file o;
    load(argv[1], &o);
    int source = atoi(argv[2]);
    long face_frames = atol(argv[6]);
    footage ft = {0};
    char err[512];
    load_truth(argv[4], &ft);
    uint8_t *photo;
    int pw, ph;
    fs_error e = {0};
    CHECK(fs_image_read(argv[5], &photo, &pw, &ph, &e) == 0, "%s", e.msg);
    CHECK(fs_face_detector_open(&ft.det, FS_DLIB_LANDMARKS, err, sizeof err) == 0, "%s", err);
    CHECK(fs_face_detect(ft.det, photo, pw, ph, 80, &ft.photo_face, 1, err, sizeof err) >= 1, "no face in the photo");
    long *mine = malloc(sizeof(long) * (size_t)(o.n ? o.n : 1)), m = 0;
    for (long i = 0; i < o.n; i++)
        if (o.src[i] == source) mine[m++] = i;
    printf("source %d: %ld faces in %ld frames showing a face\n", source, m, face_frames);
    CHECK(m >= 0.95 * face_frames, "found the face in %ld of %ld frames (< 95%%)", m, face_frames);
    if (m >= 3) check_agreement(&o, mine, m);
    /* Every frame of the video, decoded again; the faces of every 4th are checked in depth. */
    fs_video *v;
    CHECK(fs_video_open(&v, argv[3], &e) == 0, "%s", e.msg);
    const uint8_t *rgb;
    long idx, j = 0;
    double t, truth_sum = 0;
    int checked = 0;
    while (j < m && fs_video_next(v, &rgb, &idx, &t, &e) == 1) {
        if (o.index[mine[j]] != idx) continue;
        int w, h;
        fs_video_frame_size(v, &w, &h);
        CHECK(fabs(o.time[mine[j]] - idx / 25.0) < 1e-6, "face %ld: time %g for frame %ld", mine[j], o.time[mine[j]],
              idx);
        if (j % 4 == 0) {
            double te;
            check_round_trip(&o, mine[j], &ft, rgb, w, h, &te);
            truth_sum += te, checked++;
        }
        j++;
    }
    fs_video_close(v);
    CHECK(checked > 0 && truth_sum / checked < 3.0, "landmarks mapped back are %.2f px from the true motion's",
          checked ? truth_sum / checked : -1.0);
    printf("round trip: %d faces checked; mean distance from the true motion's landmarks %.2f px\n", checked,
           checked ? truth_sum / checked : -1.0);
    fs_face_detector_close(ft.det);
    if (!failures) printf("check_footage: ok\n");
    return failures ? 1 : 0;
}
