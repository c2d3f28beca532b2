#!/usr/bin/env python3
"""fsverify.py - an independent reader of faceswarm's files, written from docs/checkpoint.md
and docs/data.md alone (h5py + numpy; no faceswarm code). It checks what those pages say a
reader checks:

  checkpoint: the seal (user block text, CRC-32C of the seal lines and of every byte after the
              user block, the file's size), format and version, meta_checksum over the
              canonical text, each dataset's checksum attribute against its stored bytes;
  faces:      format and version, the attribute checksum over the canonical text (attributes,
              items with the checksum of their /checksums dataset, extras), every face's,
              mask's and landmark row's checksum, every extra dataset's checksum.

Usage: fsverify.py checkpoint|faces FILE...   Prints one line per file; exit 0 when every
file verifies, 1 when one does not (the line says which check), 2 on a usage error.
       fsverify.py edit-checkpoint|edit-faces FILE ATTRIBUTE VALUE   Sets a root attribute
and rewrites the checksums (and a checkpoint's seal) as those pages say a writer does: what
faceswarm reads back shows that the pages specify the format completely.
If the docs and faceswarm disagree, this reader and faceswarm disagree: the test that runs it
(tests/independent/independent.sh) fails."""
import sys

import h5py
import numpy as np

M64 = (1 << 64) - 1


# ---------------------------------------------------------------- fs_checksum64 (docs/checkpoint.md)
def mix64(x):  # splitmix64's finaliser
    x = (x + 0x9E3779B97F4A7C15) & M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & M64
    return x ^ (x >> 31)


def hash3(a, b, c):
    return mix64(mix64(mix64(a) ^ b) ^ c)


def checksum64(data):
    """Four interleaved 64-bit lanes over 8-byte little-endian words (h = (h ^ w) * FNV prime;
    h ^= h >> 29), FNV-1a over the tail, mixed with splitmix64 together with len. The lanes run
    as numpy uint64 vectors (wrapping multiplication), one 32-byte block a turn."""
    data = bytes(data)
    n = len(data)
    blocks = n // 32
    h = np.array([0x243F6A8885A308D3, 0x13198A2E03707344, 0xA4093822299F31D0, 0x082EFA98EC4E6C89], dtype=np.uint64)
    if blocks:
        w = np.frombuffer(data, dtype="<u8", count=blocks * 4).reshape(blocks, 4)
        prime, s29 = np.uint64(0x100000001B3), np.uint64(29)
        with np.errstate(over="ignore"):
            for row in w:
                h = (h ^ row) * prime
                h ^= h >> s29
    tail = 0xCBF29CE484222325
    for b in data[blocks * 32 :]:
        tail = ((tail ^ b) * 0x100000001B3) & M64
    h = [int(v) for v in h]
    return hash3(hash3(h[0], h[1], h[2]), h[3] ^ tail, n)


def hex16(v):
    return "%016x" % v


# ---------------------------------------------------------------- CRC-32C (Castagnoli, reflected)
def _crc_table():
    t = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        t.append(c)
    return t


CRC_TABLE = _crc_table()


def crc32c(data, crc=0):
    crc ^= 0xFFFFFFFF
    t = CRC_TABLE
    for b in data:
        crc = (crc >> 8) ^ t[(crc ^ b) & 0xFF]
    return crc ^ 0xFFFFFFFF


# ---------------------------------------------------------------- canonical attribute text
def attr_value(f, name):
    """('s', utf-8 bytes) or ('i', decimal bytes); anything else is not allowed."""
    a = f.attrs.get_id(name)
    v = f.attrs[name]
    cls = a.get_type().get_class()
    if cls == h5py.h5t.STRING:
        if isinstance(v, np.ndarray):
            v = v.item() if v.shape == () else v[0]
        if isinstance(v, bytes):
            raw = v.split(b"\0", 1)[0]
        else:
            raw = str(v).encode("utf-8")
        return "s", raw
    if cls == h5py.h5t.INTEGER:
        return "i", str(int(np.asarray(v).item())).encode()
    raise ValueError("attribute %r is neither a string nor an integer" % name)


def attr_lines(f, skip):
    out = b""
    for name in sorted(f.attrs.keys(), key=lambda s: s.encode("utf-8")):
        if name == skip:
            continue
        kind, val = attr_value(f, name)
        nb = name.encode("utf-8")
        out += b"%d:%s=%s:%d:%s\n" % (len(nb), nb, kind.encode(), len(val), val)
    return out


def type_code(dset):
    """A checkpoint's <class><type size> (docs/checkpoint.md): f, s or o; a variable-length
    string has size 0."""
    t = dset.id.get_type()
    cls = t.get_class()
    c = {h5py.h5t.FLOAT: "f", h5py.h5t.STRING: "s"}.get(cls, "o")
    size = 0 if (cls == h5py.h5t.STRING and t.is_variable_str()) else t.get_size()
    return c, size


def faces_type_code(dset):
    """A face file's <u|f|o><type size> (docs/data.md): u for any integer, f, o for the rest."""
    t = dset.id.get_type()
    return {h5py.h5t.FLOAT: "f", h5py.h5t.INTEGER: "u"}.get(t.get_class(), "o"), t.get_size()


def str_attr(obj, name):
    v = obj.attrs[name]
    if isinstance(v, np.ndarray):
        v = v.item() if v.shape == () else v[0]
    if isinstance(v, bytes):
        v = v.split(b"\0", 1)[0].decode("utf-8")
    return str(v)


def stored_bytes(dset):
    """The dataset's elements in row-major order as stored: numbers little-endian, fixed-length
    strings their bytes, a scalar fixed-length string its bytes including the NUL."""
    t = dset.id.get_type()
    if t.get_class() == h5py.h5t.STRING:
        if t.is_variable_str():
            vals = np.atleast_1d(dset[()])
            out = b""
            for v in vals:
                v = v if isinstance(v, bytes) else str(v).encode("utf-8")
                out += b"%d:%s\n" % (len(v), v)
            return out
        size = t.get_size()
        buf = np.empty(dset.shape, dtype="S%d" % size)
        dset.id.read(h5py.h5s.ALL, h5py.h5s.ALL, buf, mtype=t)
        # numpy's S dtype strips trailing NULs on item access, never in its buffer
        return buf.tobytes()
    a = dset[()]
    a = np.asarray(a)
    return a.astype(a.dtype.newbyteorder("<"), copy=False).tobytes()


# ---------------------------------------------------------------- checkpoint
def check_seal(path):
    """Returns None when the file carries no seal (superblock at 0), else raises on a bad one."""
    with open(path, "rb") as fh:
        data = fh.read()
    if data[:8] == b"\x89HDF\r\n\x1a\n":
        return "not sealed"
    block = data[:512]
    if len(data) < 512 or data[512:520] != b"\x89HDF\r\n\x1a\n":
        raise ValueError("no HDF5 superblock at 0 or 512")
    text = block.split(b"\0", 1)[0]
    if block[len(text) :] != b"\0" * (512 - len(text)):
        raise ValueError("seal: the user block's padding is not all NUL")
    lines = text.split(b"\n")
    if len(lines) != 4 or lines[0] != b"faceswarm seal 1" or lines[3] != b"":
        raise ValueError("seal: text %r is not the three lines of docs/checkpoint.md" % text)
    cov = lines[1].split(b" ")
    if len(cov) != 4 or cov[0] != b"covers" or cov[2] != b"crc32c":
        raise ValueError("seal: bad covers line %r" % lines[1])
    lo, hi = (int(x) for x in cov[1].split(b"-"))
    if lo != 512 or hi != len(data):
        raise ValueError("seal: covers %d-%d but the file has %d bytes" % (lo, hi, len(data)))
    want = int(lines[2].split(b" ")[1], 16)
    got = crc32c(lines[0] + b"\n" + lines[1] + b"\n")
    if not lines[2].startswith(b"seal_crc32c ") or got != want:
        raise ValueError("seal: seal_crc32c %08x, the lines give %08x" % (want, got))
    body = crc32c(data[512:])
    if body != int(cov[3], 16):
        raise ValueError("seal: bytes 512-%d have CRC-32C %08x, sealed with %s" % (len(data), body, cov[3].decode()))
    return "sealed"


def verify_checkpoint(path):
    seal = check_seal(path)
    with h5py.File(path, "r") as f:
        if str_attr(f, "format") != "faceswarm.checkpoint":
            raise ValueError("format is %r" % str_attr(f, "format"))
        version = int(f.attrs["version"])
        if version != 2:
            raise ValueError("version %d (this reader knows 2)" % version)
        if seal == "sealed" and f.userblock_size != 512:
            raise ValueError("user block of %d bytes" % f.userblock_size)
        text = b"faceswarm.checkpoint meta\n" + attr_lines(f, "meta_checksum")
        for name in ("params", "adam_m", "adam_v", "config", "model"):
            d = f[name]
            c, size = type_code(d)
            text += b"/%s %s%d %d\n" % (name.encode(), c.encode(), size, d.size)
            text += attr_lines(d, None)
            stored = stored_bytes(d)
            got, want = hex16(checksum64(stored)), str_attr(d, "checksum")
            if got != want:
                raise ValueError("/%s: content checksum %s, its attribute says %s" % (name, got, want))
        got, want = hex16(checksum64(text)), str_attr(f, "meta_checksum")
        if got != want:
            raise ValueError("meta_checksum: the canonical text gives %s, the file says %s" % (got, want))
        n = int(f.attrs["n_params"])
        for name in ("params", "adam_m", "adam_v"):
            if f[name].shape != (n,) or f[name].dtype != np.dtype("<f4"):
                raise ValueError("/%s: shape %s dtype %s, n_params %d" % (name, f[name].shape, f[name].dtype, n))
        return "%s, %d params, step %d, meta %s" % (seal, n, int(f.attrs["step"]), want)


# ---------------------------------------------------------------- face dataset
def verify_faces(path):
    with h5py.File(path, "r") as f:
        if str_attr(f, "format") != "faceswarm.faces":
            raise ValueError("format is %r" % str_attr(f, "format"))
        if int(f.attrs["version"]) != 2:
            raise ValueError("version %d (this reader knows 2)" % int(f.attrs["version"]))
        for a in ("identity", "consent", "source"):
            if not str_attr(f, a):
                raise ValueError("attribute %s is empty" % a)
        text = b"faceswarm.faces attributes\n" + attr_lines(f, "checksum")
        n = f["faces"].shape[0]
        item_bytes = {}
        for item in ("faces", "masks", "landmarks"):
            if item not in f:
                continue
            d, sums = f[item], f["checksums/" + item]
            c, size = faces_type_code(d)
            dims = ",".join(str(x) for x in d.shape)
            text += b"/%s %s%d [%s] sums %s\n" % (
                item.encode(), c.encode(), size, dims.encode(), hex16(checksum64(stored_bytes(sums))).encode())
            if d.shape[0] != n or sums.shape != (n,):
                raise ValueError("/%s has %d rows and %d checksums; /faces has %d" % (item, d.shape[0], sums.shape[0], n))
            sv = sums[()]
            for i in range(n):
                row = np.ascontiguousarray(d[i])
                row = row.astype(row.dtype.newbyteorder("<"), copy=False).tobytes()
                if checksum64(row) != int(sv[i]):
                    raise ValueError("/%s[%d]: checksum %s, stored %s" % (item, i, hex16(checksum64(row)), hex16(int(sv[i]))))
            item_bytes[item] = d.size
        if "extras" in f.attrs:
            for line in str_attr(f, "extras").splitlines():
                name, want = line.split(" ")
                d = f[name]
                c, size = faces_type_code(d)
                dims = ",".join(str(x) for x in d.shape)
                text += b"%s %s%d [%s] extra\n" % (name.encode(), c.encode(), size, dims.encode())
                got = hex16(checksum64(stored_bytes(d)))
                if got != want:
                    raise ValueError("extra %s: checksum %s, extras says %s" % (name, got, want))
        got, want = hex16(checksum64(text)), str_attr(f, "checksum")
        if got != want:
            raise ValueError("attribute checksum: the canonical text gives %s, the file says %s" % (got, want))
        return "%d faces of %dx%d, items %s, checksum %s" % (
            n, f["faces"].shape[1], f["faces"].shape[2], ",".join(item_bytes), want)


# ---------------------------------------------------------------- writing, from the same pages
def set_attr(f, name, value):
    """An integer, or a string stored as the attribute already is (fixed or variable length)."""
    if name in f.attrs and f.attrs.get_id(name).get_type().get_class() == h5py.h5t.INTEGER:
        f.attrs.modify(name, np.int64(int(value)))
        return
    raw = value.encode("utf-8")
    if name in f.attrs and not f.attrs.get_id(name).get_type().is_variable_str():
        del f.attrs[name]
        f.attrs.create(name, np.bytes_(raw + b"\0"), dtype=h5py.string_dtype("utf-8", len(raw) + 1))
    else:
        f.attrs[name] = value


def reseal(path):
    """Writes the seal of docs/checkpoint.md over a file whose user block is 512 bytes."""
    with open(path, "r+b") as fh:
        data = fh.read()
        if data[512:520] != b"\x89HDF\r\n\x1a\n":
            raise ValueError("no user block of 512 bytes to seal")
        l1 = b"faceswarm seal 1\n"
        l2 = b"covers 512-%d crc32c %08x\n" % (len(data), crc32c(data[512:]))
        text = l1 + l2 + b"seal_crc32c %08x\n" % crc32c(l1 + l2)
        fh.seek(0)
        fh.write(text + b"\0" * (512 - len(text)))


def edit_checkpoint(path, name, value):
    """Sets a root attribute, recomputes meta_checksum from the canonical text, reseals."""
    with h5py.File(path, "r+") as f:
        set_attr(f, name, value)
        text = b"faceswarm.checkpoint meta\n" + attr_lines(f, "meta_checksum")
        for d in ("params", "adam_m", "adam_v", "config", "model"):
            c, size = type_code(f[d])
            text += b"/%s %s%d %d\n" % (d.encode(), c.encode(), size, f[d].size) + attr_lines(f[d], None)
        set_attr(f, "meta_checksum", hex16(checksum64(text)))
    reseal(path)


def edit_faces(path, name, value):
    """Sets a root attribute and recomputes the attribute checksum from the canonical text."""
    with h5py.File(path, "r+") as f:
        set_attr(f, name, value)
        text = b"faceswarm.faces attributes\n" + attr_lines(f, "checksum")
        for item in ("faces", "masks", "landmarks"):
            if item in f:
                c, size = faces_type_code(f[item])
                dims = ",".join(str(x) for x in f[item].shape).encode()
                sums = hex16(checksum64(stored_bytes(f["checksums/" + item]))).encode()
                text += b"/%s %s%d [%s] sums %s\n" % (item.encode(), c.encode(), size, dims, sums)
        if "extras" in f.attrs:
            for line in str_attr(f, "extras").splitlines():
                name = line.split(" ")[0]
                c, size = faces_type_code(f[name])
                dims = ",".join(str(x) for x in f[name].shape).encode()
                text += b"%s %s%d [%s] extra\n" % (name.encode(), c.encode(), size, dims)
        set_attr(f, "checksum", hex16(checksum64(text)))


def main(argv):
    if len(argv) == 5 and argv[1] in ("edit-checkpoint", "edit-faces"):
        (edit_checkpoint if argv[1] == "edit-checkpoint" else edit_faces)(argv[2], argv[3], argv[4])
        return 0
    if len(argv) < 3 or argv[1] not in ("checkpoint", "faces"):
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    fn = verify_checkpoint if argv[1] == "checkpoint" else verify_faces
    bad = 0
    for path in argv[2:]:
        try:
            print("ok   %s: %s" % (path, fn(path)))
        except (ValueError, KeyError, OSError) as ex:
            print("FAIL %s: %s" % (path, ex))
            bad = 1
    return bad


if __name__ == "__main__":
    sys.exit(main(sys.argv))
