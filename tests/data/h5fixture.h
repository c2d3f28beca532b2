/* h5fixture.h — writes HDF5 files the way other tools do (any dataset path, type, shape,
 * chunking, gzip) with the HDF5 C API, for the foreign-layout and bad-file tests. */
#ifndef FACESWARM_TESTS_DATA_H5FIXTURE_H
#define FACESWARM_TESTS_DATA_H5FIXTURE_H

#include <hdf5.h>

#include "tests/data/testutil.h"

typedef struct fixture {
    const char *dataset; /* e.g. "/faces", "/images/train" (groups are created) */
    hid_t type;          /* H5T_NATIVE_UINT8, H5T_NATIVE_FLOAT, ... (memory and file type) */
    int rank;
    hsize_t dims[4];
    const void *data;      /* may be NULL when a dimension is 0 */
    int gzip;              /* deflate level, 0 = none (contiguous) */
    int schema;            /* 1 = format/version/identity/consent/source attributes */
    const char *skip_attr; /* with schema: leave this attribute out */
    int version;           /* with schema: the version written (0 = 1) */
} fixture;

static inline void fx_attr(hid_t file, const char *name, const char *value) {
    hid_t t = H5Tcopy(H5T_C_S1), sp = H5Screate(H5S_SCALAR);
    H5Tset_size(t, strlen(value) + 1);
    hid_t a = H5Acreate2(file, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a, t, value);
    H5Aclose(a), H5Sclose(sp), H5Tclose(t);
}

static inline void fx_write(const char *path, const fixture *fx) {
    hid_t file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE), dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    if (fx->gzip) {
        hsize_t chunk[4];
        for (int i = 0; i < fx->rank; i++) chunk[i] = fx->dims[i] ? fx->dims[i] : 1;
        chunk[0] = 2;
        H5Pset_chunk(dcpl, fx->rank, chunk);
        H5Pset_shuffle(dcpl);
        H5Pset_deflate(dcpl, (unsigned)fx->gzip);
    }
    hid_t sp = H5Screate_simple(fx->rank, fx->dims, NULL);
    hid_t d = H5Dcreate2(file, fx->dataset, fx->type, sp, lcpl, dcpl, H5P_DEFAULT);
    if (file < 0 || d < 0 || (fx->data && H5Dwrite(d, fx->type, H5S_ALL, H5S_ALL, H5P_DEFAULT, fx->data) < 0)) {
        fprintf(stderr, "fixture %s: HDF5 write failed\n", path);
        exit(1);
    }
    if (fx->schema) {
        const char *names[] = {"format", "identity", "consent", "source"};
        const char *values[] = {"faceswarm.faces", "X", "test consent", "h5fixture"};
        for (int i = 0; i < 4; i++)
            if (!fx->skip_attr || strcmp(fx->skip_attr, names[i])) fx_attr(file, names[i], values[i]);
        int v = fx->version ? fx->version : 1;
        hid_t s1 = H5Screate(H5S_SCALAR), a = H5Acreate2(file, "version", H5T_STD_I32LE, s1, H5P_DEFAULT, H5P_DEFAULT);
        H5Awrite(a, H5T_NATIVE_INT, &v);
        H5Aclose(a), H5Sclose(s1);
    }
    H5Dclose(d), H5Sclose(sp), H5Pclose(dcpl), H5Pclose(lcpl), H5Fclose(file);
}

#endif
