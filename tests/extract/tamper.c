/* tamper.c — changes one stored value of an HDF5 file in place, as damage or an edit after
 * writing would: adds 1 to the first element of a numeric dataset (read and written back as
 * double, so any integer or float type), leaving everything else (and every checksum) as is.
 *
 *   tamper FILE.h5 DATASET
 *
 * Exit 0 when the value was changed, 1 otherwise (the dataset is missing, empty or not
 * numeric). */
#include <hdf5.h>
#include <stdio.h>

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: tamper FILE.h5 DATASET\n");
        return 1;
    }
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t f = H5Fopen(argv[1], H5F_ACC_RDWR, H5P_DEFAULT);
    hid_t d = f >= 0 ? H5Dopen2(f, argv[2], H5P_DEFAULT) : -1;
    hid_t sp = d >= 0 ? H5Dget_space(d) : -1, t = d >= 0 ? H5Dget_type(d) : -1;
    int rank = sp >= 0 ? H5Sget_simple_extent_ndims(sp) : -1, ok = 0;
    H5T_class_t cls = t >= 0 ? H5Tget_class(t) : H5T_NO_CLASS;
    if (rank >= 1 && rank <= 8 && H5Sget_simple_extent_npoints(sp) > 0 && (cls == H5T_INTEGER || cls == H5T_FLOAT)) {
        hsize_t off[8] = {0}, one[8] = {1, 1, 1, 1, 1, 1, 1, 1};
        double v = 0;
        hid_t msp = H5Screate_simple(rank, one, NULL);
        ok = H5Sselect_hyperslab(sp, H5S_SELECT_SET, off, NULL, one, NULL) >= 0 &&
             H5Dread(d, H5T_NATIVE_DOUBLE, msp, sp, H5P_DEFAULT, &v) >= 0 && (v += 1.0, 1) &&
             H5Dwrite(d, H5T_NATIVE_DOUBLE, msp, sp, H5P_DEFAULT, &v) >= 0;
        H5Sclose(msp);
    }
    if (t >= 0) H5Tclose(t);
    if (sp >= 0) H5Sclose(sp);
    if (d >= 0) H5Dclose(d);
    if (f >= 0 && H5Fclose(f) < 0) ok = 0;
    if (!ok) fprintf(stderr, "tamper: %s: cannot change the first element of %s\n", argv[1], argv[2]);
    return ok ? 0 : 1;
}
