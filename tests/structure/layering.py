#!/usr/bin/env python3
"""layering.py — the library layering of faceswarm, checked (tests/structure.cmake).

  layering.py includes SRC
      Every #include "folder/..." of a source under core/, kernels/, data/, comms/ names a
      folder that its own folder may use (ALLOWED_INCLUDES). In particular nothing outside
      trainer/ includes trainer/ (the grep of issue 13).

  layering.py symbols NM LIB=PATH ... [--one-way LIB:FROM:TO ...]
      For each static library, every undefined symbol is defined by the library itself, by a
      library it may depend on (LIB_DEPS, transitively), or by none of faceswarm's libraries
      (then it is a system library's: libc, HDF5, MPI, ...). A symbol defined by a library it
      must not depend on is a wrong-direction call and fails the check, naming the object
      that calls, the symbol and the library that defines it.
      --one-way LIB:FROM:TO: inside LIB, the objects whose name starts with FROM reference
      nothing defined by the objects whose name starts with TO (e.g. the coordinator's state
      never calls its poll loop).

Exit status 0 when the layering holds, 1 with one line per violation otherwise.
"""
import os
import re
import subprocess
import sys

# Direct dependencies of each library (fs_face: the C++ dlib wrapper, self-contained).
LIB_DEPS = {
    "fs_core": [],
    "fs_cuda_emu": ["fs_core"],
    "fs_cuda": ["fs_core"],
    "fs_kernels": ["fs_core", "fs_cuda_emu", "fs_cuda"],
    "fs_face": [],
    "fs_data": ["fs_core", "fs_face"],
    "fs_comms": ["fs_core"],
    "fs_nccl": ["fs_comms", "fs_kernels"],
    "fs_trainer": ["fs_kernels", "fs_data", "fs_comms", "fs_nccl"],
}

# Folders (first path component, or comms/nccl) each folder's sources may include from.
ALLOWED_INCLUDES = {
    "core": {"core"},
    "kernels": {"core", "kernels"},
    "data": {"core", "data"},
    "comms": {"core", "comms"},
    "comms/nccl": {"core", "comms", "comms/nccl", "kernels"},
}
PROJECT_FOLDERS = {"core", "kernels", "data", "comms", "trainer", "slurm", "tests"}
SOURCE_EXT = (".c", ".h", ".cu", ".cpp")


def closure(lib):
    seen, todo = set(), list(LIB_DEPS.get(lib, []))
    while todo:
        d = todo.pop()
        if d not in seen:
            seen.add(d)
            todo.extend(LIB_DEPS.get(d, []))
    return seen


def folder_of(rel):
    return "comms/nccl" if rel.startswith("comms/nccl/") else rel.split("/", 1)[0]


def check_includes(src):
    bad = []
    inc = re.compile(r'^\s*#\s*include\s*"([^"]+)"')
    for top in ALLOWED_INCLUDES:
        if "/" in top:
            continue
        for root, _, files in os.walk(os.path.join(src, top)):
            for name in sorted(files):
                if not name.endswith(SOURCE_EXT):
                    continue
                path = os.path.join(root, name)
                rel = os.path.relpath(path, src)
                allowed = ALLOWED_INCLUDES[folder_of(rel)]
                with open(path, encoding="utf-8", errors="replace") as f:
                    for n, line in enumerate(f, 1):
                        m = inc.match(line)
                        if not m or "/" not in m.group(1):
                            continue
                        target = m.group(1)
                        tfolder = folder_of(target)
                        if target.split("/", 1)[0] not in PROJECT_FOLDERS:
                            continue
                        if tfolder not in allowed:
                            bad.append(f"{rel}:{n}: includes \"{target}\"; {folder_of(rel)}/ may include only "
                                       f"from {', '.join(sorted(allowed))}")
    return bad


def nm_archive(nm, path):
    """{object: (defined set, undefined set)} of a static library."""
    out = subprocess.run([nm, "-A", "-g", path], check=True, capture_output=True, text=True).stdout
    objs = {}
    for line in out.splitlines():
        # "lib.a:obj.o: 0000000000000000 T name" or "lib.a:obj.o:                  U name"
        m = re.match(r"^(.*?):([^:]+):\s*(?:[0-9a-fA-F]+\s+)?([A-Za-z])\s+(\S+)$", line)
        if not m:
            continue
        obj, kind, sym = m.group(2), m.group(3), m.group(4)
        d, u = objs.setdefault(obj, (set(), set()))
        if kind in "Uwv":
            u.add(sym)
        else:
            d.add(sym)
    return objs


def check_symbols(nm, libs, one_way):
    data = {name: nm_archive(nm, path) for name, path in libs.items()}
    defined = {name: set().union(*(d for d, _ in objs.values())) if objs else set() for name, objs in data.items()}
    # A check that parsed nothing could not fail: every library defines something.
    bad = [f"{name}: no defined symbol read from {libs[name]} (nm output not understood?)"
           for name in data if not defined[name]]
    for name, objs in data.items():
        if name not in LIB_DEPS:
            bad.append(f"{name}: not in LIB_DEPS of {os.path.basename(__file__)} (add its allowed dependencies)")
            continue
        ok = {name} | closure(name)
        for obj, (_, undef) in sorted(objs.items()):
            for sym in sorted(undef):
                if any(sym in defined[o] for o in ok if o in defined):
                    continue
                wrong = [o for o in sorted(defined) if o not in ok and sym in defined[o]]
                if wrong:
                    bad.append(f"{name}: {obj} calls {sym}, defined by {', '.join(wrong)}; {name} may depend "
                               f"only on {', '.join(sorted(closure(name))) or 'system libraries'}")
    for rule in one_way:
        lib, frm, to = rule.split(":")
        if lib not in data:
            bad.append(f"--one-way {rule}: library {lib} not given")
            continue
        objs = data[lib]
        src = [o for o in objs if o.startswith(frm)]
        dst = [o for o in objs if o.startswith(to)]
        if not src or not dst:
            bad.append(f"--one-way {rule}: no object of {lib} starts with {frm if not src else to}")
            continue
        tdef = set().union(*(objs[o][0] for o in dst))
        for o in src:
            for sym in sorted(objs[o][1] & tdef):
                bad.append(f"{lib}: {o} calls {sym}, defined by {', '.join(dst)}: the dependency must be one-way "
                           f"({to}* -> {frm}*)")
    return bad


def main(argv):
    if len(argv) >= 2 and argv[0] == "includes":
        bad = check_includes(argv[1])
        what = "include"
    elif len(argv) >= 3 and argv[0] == "symbols":
        nm, libs, one_way, i = argv[1], {}, [], 2
        while i < len(argv):
            if argv[i] == "--one-way":
                one_way.append(argv[i + 1])
                i += 2
                continue
            name, path = argv[i].split("=", 1)
            libs[name] = path
            i += 1
        bad = check_symbols(nm, libs, one_way)
        what = "link"
    else:
        sys.stderr.write(__doc__)
        return 2
    for b in bad:
        print(b)
    print(f"{what} layering: {len(bad)} violation(s)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
