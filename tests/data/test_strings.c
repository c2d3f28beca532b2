/* test_strings.c — string attributes as other tools write them are read: variable-length
 * UTF-8 (h5py's f.attrs['format'] = 'faceswarm.faces'), fixed-length NUL-padded ASCII
 * (numpy bytes), fixed NUL-terminated; integers of any width (h5py writes int64). Attributes
 * a reader cannot take (several values, a float) are refused with code 2, naming the
 * attribute and what was found, and no message names a source file. */
#include <hdf5.h>

#include "data/dataset.h"
#include "tests/data/testutil.h"

enum { N = 3, S = 16 };
typedef enum { VLEN_UTF8, FIXED_NULLPAD, FIXED_NULLTERM } str_form;

static void attr_str(hid_t f, const char *name, const char *v, str_form form) {
    hid_t t = H5Tcopy(H5T_C_S1), sp = H5Screate(H5S_SCALAR);
    if (form == VLEN_UTF8) { /* exactly h5py's: H5Tcopy(H5T_C_S1), H5Tset_size(H5T_VARIABLE), UTF-8 */
        H5Tset_size(t, H5T_VARIABLE);
        H5Tset_cset(t, H5T_CSET_UTF8);
    } else {
        H5Tset_size(t, strlen(v) + (form == FIXED_NULLTERM));
        H5Tset_strpad(t, form == FIXED_NULLPAD ? H5T_STR_NULLPAD : H5T_STR_NULLTERM);
    }
    hid_t a = H5Acreate2(f, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a, t, form == VLEN_UTF8 ? (const void *)&v : (const void *)v);
    H5Aclose(a), H5Sclose(sp), H5Tclose(t);
}

static void write_file(const char *path, str_form form, const char *extra) {
    static uint8_t faces[N * S * S * 3];
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hsize_t dims[4] = {N, S, S, 3};
    hid_t sp = H5Screate_simple(4, dims, NULL);
    hid_t d = H5Dcreate2(f, "/faces", H5T_STD_U8LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dwrite(d, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, faces);
    H5Dclose(d), H5Sclose(sp);
    attr_str(f, "format", "faceswarm.faces", form);
    attr_str(f, "identity", "Jos\xc3\xa9", form);
    attr_str(f, "consent", "record 12", form);
    attr_str(f, "source", "h5py", form);
    long long one = 1;
    sp = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(f, "version", H5T_STD_I64LE, sp, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a, H5T_NATIVE_LLONG, &one);
    H5Aclose(a), H5Sclose(sp);
    if (extra && !strcmp(extra, "array")) { /* h5py: f.attrs['source'] = ['a', 'b'] */
        H5Adelete(f, "source");
        hsize_t two = 2;
        hid_t t = H5Tcopy(H5T_C_S1);
        H5Tset_size(t, H5T_VARIABLE);
        const char *v[2] = {"a", "b"};
        sp = H5Screate_simple(1, &two, NULL);
        a = H5Acreate2(f, "source", t, sp, H5P_DEFAULT, H5P_DEFAULT);
        H5Awrite(a, t, v);
        H5Aclose(a), H5Sclose(sp), H5Tclose(t);
    } else if (extra && !strcmp(extra, "float")) { /* h5py: f.attrs['consent'] = 1.5 */
        H5Adelete(f, "consent");
        double x = 1.5;
        sp = H5Screate(H5S_SCALAR);
        a = H5Acreate2(f, "consent", H5T_IEEE_F64LE, sp, H5P_DEFAULT, H5P_DEFAULT);
        H5Awrite(a, H5T_NATIVE_DOUBLE, &x);
        H5Aclose(a), H5Sclose(sp);
    }
    H5Fclose(f);
}

int main(void) {
    const char *d = test_dir("strings");
    char path[700];
    const char *forms[] = {"variable-length UTF-8", "fixed NUL-padded", "fixed NUL-terminated"};
    for (int k = 0; k < 3; k++) {
        snprintf(path, sizeof path, "%s/form%d.h5", d, k);
        write_file(path, (str_form)k, NULL);
        fs_faces *f = NULL;
        fs_error e = {0};
        CHECK(fs_faces_open(&f, path, NULL, &e) == 0, "%s: %s", forms[k], e.msg);
        if (!f) continue;
        CHECK(!strcmp(fs_faces_attr(f, "format"), "faceswarm.faces") && !strcmp(fs_faces_attr(f, "version"), "1") &&
                  !strcmp(fs_faces_attr(f, "identity"), "Jos\xc3\xa9") &&
                  !strcmp(fs_faces_attr(f, "consent"), "record 12") && !strcmp(fs_faces_attr(f, "source"), "h5py"),
              "%s: attributes read back as '%s' '%s' '%s'", forms[k], fs_faces_attr(f, "format"),
              fs_faces_attr(f, "identity"), fs_faces_attr(f, "consent"));
        fs_faces_close(f);
    }
    const char *bad[][3] = {{"array", "'source' holds 2 values", "expected one"},
                            {"float", "'consent' has HDF5 type class", "string or an integer"}};
    for (int k = 0; k < 2; k++) {
        snprintf(path, sizeof path, "%s/%s.h5", d, bad[k][0]);
        write_file(path, VLEN_UTF8, bad[k][0]);
        fs_faces *f = NULL;
        fs_error e = {0};
        int rc = fs_faces_open(&f, path, NULL, &e);
        CHECK(rc == FS_EXIT_BADINPUT && strstr(e.msg, bad[k][1]) && strstr(e.msg, bad[k][2]) &&
                  strstr(e.msg, "hint:") && !strstr(e.msg, ".c:"),
              "%s attribute: rc %d, message '%s'", bad[k][0], rc, e.msg);
        fs_faces_close(f);
    }
    return test_done("data_strings");
}
