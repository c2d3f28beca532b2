#!/usr/bin/env python3
"""check_output.py MODE NAME FILE RC — one benchmark's stdout against the harness's promises
(core/bench.h, docs/bench.md). MODE json: every line is a JSON object of the one schema
(header first, then table/row/note lines, summary last; a row holds exactly its table's
columns, scalars only; the exit status RC is 1 exactly when "wrong" > 0). MODE table: '#'
header lines (version and commit, then the command line), column headings and a units row
of the same width just before the first row, rows indented two spaces, '# wrong N' last.
Prints every failure and exits 1 if any."""
import json
import re
import sys

KINDS = {"header", "table", "row", "note", "summary"}
OWN = {"kind", "bench", "table"}
mode, name, path, rc = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
lines = open(path, encoding="utf-8").read().splitlines()
bad = []


def fail(msg):
    bad.append(msg)


def check_json():
    objs = []
    for i, line in enumerate(lines, 1):
        try:
            o = json.loads(line)
        except ValueError as e:
            fail(f"line {i} is not JSON ({e}): {line[:120]}")
            continue
        if not isinstance(o, dict):
            fail(f"line {i} is not a JSON object: {line[:120]}")
            continue
        if o.get("kind") not in KINDS or o.get("bench") != name:
            fail(f"line {i}: kind {o.get('kind')!r} (expected one of {sorted(KINDS)}), bench {o.get('bench')!r}")
        objs.append(o)
    if not objs:
        return fail("no output")
    head, last = objs[0], objs[-1]
    if head.get("kind") != "header":
        fail(f"the first line is a {head.get('kind')!r}, not the header")
    for key in ("version", "commit", "command", "notes"):
        if key not in head:
            fail(f"the header lacks {key!r}")
    if not str(head.get("command", "")).startswith("faceswarm bench " + name):
        fail(f"the header's command is {head.get('command')!r}")
    if not all(isinstance(n, str) for n in head.get("notes", [None])):
        fail("the header's notes are not a list of strings")
    if last.get("kind") != "summary" or not isinstance(last.get("wrong"), int) or last.get("wrong") < 0:
        fail(f"the last line is not a summary with a wrong count: {last}")
    kinds = [o.get("kind") for o in objs]
    if kinds.count("header") != 1 or kinds.count("summary") != 1:
        fail(f"{kinds.count('header')} header and {kinds.count('summary')} summary lines, expected one each")
    cols, table, rows = None, None, 0
    for o in objs:
        k = o.get("kind")
        if k == "table":
            table, keys = o.get("table"), [c.get("key") for c in o.get("columns", [])]
            if not isinstance(table, str) or not keys or OWN & set(keys) or len(set(keys)) != len(keys):
                fail(f"table line with a bad name or columns: {o}")
            if not all(isinstance(c.get("unit"), str) for c in o.get("columns", [])):
                fail(f"table {table!r}: a column without a unit string")
            cols = set(keys)
        elif k == "row":
            rows += 1
            if cols is None:
                fail(f"a row before any table line: {o}")
                continue
            if o.get("table") != table or set(o) - OWN != cols:
                fail(f"row of table {o.get('table')!r} does not hold exactly the columns of {table!r}: "
                     f"extra {sorted(set(o) - OWN - cols)}, missing {sorted(cols - set(o))}")
            if any(isinstance(v, (dict, list)) for v in o.values()):
                fail(f"row with a nested value: {o}")
        elif k == "note" and not isinstance(o.get("text"), str):
            fail(f"note without text: {o}")
    if rows == 0:
        fail("no rows")
    wrong = last.get("wrong") if isinstance(last.get("wrong"), int) else -1
    if rc != (1 if wrong > 0 else 0):
        fail(f"exit status {rc} with wrong {wrong} (expected {1 if wrong > 0 else 0})")


def check_table():
    if len(lines) < 5:
        return fail(f"only {len(lines)} lines")
    if not re.fullmatch(r"# faceswarm \S+ \(commit \S+\) bench " + re.escape(name), lines[0]):
        fail(f"first line {lines[0]!r} is not '# faceswarm VERSION (commit C) bench {name}'")
    if not lines[1].startswith("# command: faceswarm bench " + name):
        fail(f"second line {lines[1]!r} is not the command line")
    first = next((i for i, l in enumerate(lines) if not l.startswith("#")), None)
    if first is None or first < 4:
        return fail(f"no row after the header (first non-'#' line: {first})")
    heads, units = lines[first - 2], lines[first - 1]
    if not re.fullmatch(r"#( +(\([^()]*\))?)+", units):
        fail(f"the line before the first row is not a units row: {units!r}")
    if len(heads) != len(units) or len(heads.split()) < 2:
        fail(f"headings {heads!r} and units {units!r} are not a fixed-width pair")
    for l in lines[first:]:
        if not l.startswith("#") and not l.startswith("  "):
            fail(f"row not indented two spaces: {l!r}")
    m = re.fullmatch(r"# wrong (\d+)( \(.*\))?", lines[-1])
    if not m:
        return fail(f"last line {lines[-1]!r} is not '# wrong N'")
    if rc != (1 if int(m.group(1)) else 0):
        fail(f"exit status {rc} with wrong {m.group(1)}")


check_json() if mode == "json" else check_table()
for b in bad:
    print(f"FAIL: bench {name} ({mode}): {b}")
sys.exit(1 if bad else 0)
