// face_dlib.cpp — data/face_detect.h over dlib 19.24 (Debian's libdlib-dev): the HOG frontal
// face detector (built into dlib, no model file) and the 68-point shape predictor. The only
// C++ in faceswarm; dlib's headers are heavy, so this stays one translation unit and every
// dlib exception is turned into an error text here.
#include "data/face_detect.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <exception>
#include <new>
#include <vector>

#include <dlib/image_processing.h>
#include <dlib/image_processing/frontal_face_detector.h>
#include <dlib/image_transforms.h>

struct fs_face_detector {
    dlib::frontal_face_detector detector;
    dlib::shape_predictor predictor;
    dlib::array2d<unsigned char> grey, scaled; // reused between frames
    double detect_s = 0, landmarks_s = 0;      // time spent, for bench extract
};

static double now_s() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

static void say(char *err, size_t errlen, const char *fmt, const char *a, const char *b) {
    if (err && errlen) std::snprintf(err, errlen, fmt, a, b);
}

extern "C" int fs_face_detector_open(fs_face_detector **out, const char *model, char *err, size_t errlen) {
    *out = nullptr;
    fs_face_detector *d = new (std::nothrow) fs_face_detector;
    if (!d) {
        say(err, errlen, "out of memory creating the face detector%s%s", "", "");
        return -1;
    }
    try {
        d->detector = dlib::get_frontal_face_detector();
        dlib::deserialize(model) >> d->predictor;
    } catch (const std::exception &x) {
        say(err, errlen,
            "%s: cannot load the landmark model: %s\n  hint: it is dlib's "
            "shape_predictor_68_face_landmarks.dat (apt-get install libdlib-data), or pass --landmarks PATH",
            model, x.what());
        delete d;
        return -1;
    }
    if (d->predictor.num_parts() != FS_FACE_POINTS) {
        char n[32];
        std::snprintf(n, sizeof n, "%lu", (unsigned long)d->predictor.num_parts());
        say(err, errlen,
            "%s: the landmark model has %s points; expected 68\n  hint: use dlib's "
            "shape_predictor_68_face_landmarks.dat",
            model, n);
        delete d;
        return -1;
    }
    *out = d;
    return 0;
}

// Luminance in integers (ITU-R 601 weights), the same on every machine.
static void to_grey(const uint8_t *rgb, int w, int h, dlib::array2d<unsigned char> &g) {
    g.set_size(h, w);
    for (int y = 0; y < h; y++) {
        const uint8_t *p = rgb + (size_t)y * w * 3;
        for (int x = 0; x < w; x++, p += 3) g[y][x] = (unsigned char)((77 * p[0] + 150 * p[1] + 29 * p[2] + 128) >> 8);
    }
}

static bool larger_first(const fs_face_found &a, const fs_face_found &b) {
    double aa = (double)(a.box[2] - a.box[0]) * (a.box[3] - a.box[1]);
    double ba = (double)(b.box[2] - b.box[0]) * (b.box[3] - b.box[1]);
    if (aa != ba) return aa > ba;
    if (a.box[0] != b.box[0]) return a.box[0] < b.box[0];
    return a.box[1] < b.box[1];
}

static int detect(fs_face_detector *d, const uint8_t *rgb, int w, int h, int min_face, fs_face_found *out, int max) {
    double t0 = now_s();
    to_grey(rgb, w, h, d->grey);
    // The scale at which a min_face face fills the detector's window.
    double s = (double)FS_FACE_WINDOW / (min_face > 0 ? min_face : FS_FACE_WINDOW);
    std::vector<dlib::rect_detection> dets;
    if (std::fabs(s - 1.0) < 1e-9) {
        d->detector(d->grey, dets);
    } else {
        long sw = std::max(1L, std::lround(w * s)), sh = std::max(1L, std::lround(h * s));
        d->scaled.set_size(sh, sw);
        dlib::resize_image(d->grey, d->scaled);
        d->detector(d->scaled, dets);
    }
    double t1 = now_s();
    d->detect_s += t1 - t0;
    std::vector<fs_face_found> found;
    for (const dlib::rect_detection &r : dets) {
        double sx = (double)w / (s == 1.0 ? w : d->scaled.nc()), sy = (double)h / (s == 1.0 ? h : d->scaled.nr());
        dlib::rectangle box(std::lround(r.rect.left() * sx), std::lround(r.rect.top() * sy),
                            std::lround(r.rect.right() * sx), std::lround(r.rect.bottom() * sy));
        if (box.width() < (unsigned long)min_face) continue;
        fs_face_found f;
        f.box[0] = (float)box.left(), f.box[1] = (float)box.top();
        f.box[2] = (float)box.right(), f.box[3] = (float)box.bottom();
        f.score = r.detection_confidence;
        dlib::full_object_detection shape = d->predictor(d->grey, box);
        for (int i = 0; i < FS_FACE_POINTS; i++)
            f.pts[i][0] = (float)shape.part(i).x(), f.pts[i][1] = (float)shape.part(i).y();
        found.push_back(f);
    }
    d->landmarks_s += now_s() - t1;
    std::stable_sort(found.begin(), found.end(), larger_first);
    for (size_t i = 0; i < found.size() && (int)i < max; i++) out[i] = found[i];
    return (int)found.size();
}

extern "C" int fs_face_detect(fs_face_detector *d, const uint8_t *rgb, int w, int h, int min_face, fs_face_found *out,
                              int max, char *err, size_t errlen) {
    try {
        return detect(d, rgb, w, h, min_face, out, max);
    } catch (const std::exception &x) {
        char size[64];
        std::snprintf(size, sizeof size, "%dx%d", w, h);
        say(err, errlen, "face detection failed on a %s image: %s\n  hint: this is a bug; report it with the input",
            size, x.what());
        return -1;
    }
}

extern "C" void fs_face_detector_times(const fs_face_detector *d, double *detect_s, double *landmarks_s) {
    *detect_s = d->detect_s, *landmarks_s = d->landmarks_s;
}

extern "C" void fs_face_detector_close(fs_face_detector *d) { delete d; }
