#!/usr/bin/env python3
"""gpu_check_report.py --out FILE --mode gpu|emulated --ctest-log LOG --ctest-rc RC
                       --kbench JSONL [--torch JSONL] [--fact key=value ...]

scripts/gpu-check's report: one Markdown file with a readable table (every layer and pass of
fs_kbench in each precision it ran, fp32 and bf16: faceswarm's time, TFLOP/s and fraction of
the precision's computed peak; for fp32 rows PyTorch's time and TFLOP/s (it times fp32, TF32
off), and the ratio torch ms / faceswarm ms, > 1 when faceswarm is faster) followed by a
```json block holding all of it (the ctest summary, the kbench header and rows, the torch
rows). Also prints the table. Exits 1 when the report would be empty or inconsistent
(no kbench rows, a row without its time)."""
import argparse
import json
import re
import sys


def read_jsonl(path):
    out = []
    if not path:
        return out
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if line:
                    out.append(json.loads(line))
    except FileNotFoundError:
        pass
    return out


def ctest_summary(path, rc):
    text = open(path, encoding="utf-8", errors="replace").read() if path else ""
    m = re.search(r"(\d+)% tests passed, (\d+) tests failed out of (\d+)", text)
    failed = re.findall(r"^\s*\d+ - (\S+) \(", text.split("The following tests FAILED:")[-1], re.M) \
        if "The following tests FAILED:" in text else []
    ran_on = sorted(set(re.findall(r"^(?:\d+: )?(\w+): (ran on GPU .*|ran emulated \(no GPU\))", text, re.M)))
    return {"rc": rc, "passed": int(m.group(3)) - int(m.group(2)) if m else None,
            "failed": int(m.group(2)) if m else None, "total": int(m.group(3)) if m else None,
            "failed_tests": failed, "ran_on": [f"{t}: {w}" for t, w in ran_on]}


def fmt(v, spec):
    return "-" if v is None else format(v, spec)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--mode", required=True, choices=["gpu", "emulated"])
    ap.add_argument("--ctest-log")
    ap.add_argument("--ctest-rc", type=int)
    ap.add_argument("--kbench", required=True)
    ap.add_argument("--torch")
    ap.add_argument("--fact", action="append", default=[])
    a = ap.parse_args()

    kb = read_jsonl(a.kbench)
    header = next((o for o in kb if o.get("kind") == "header"), {})
    summary = next((o for o in kb if o.get("kind") == "summary"), {})
    rows = [o for o in kb if o.get("kind") == "row"]
    tor = read_jsonl(a.torch)
    tinfo = next((o for o in tor if o.get("kind") == "torch"), None)
    tmap = {(o["model"], o["layer"], o["pass"]): o for o in tor if "pass" in o}
    facts = dict(f.split("=", 1) for f in a.fact)
    ct = ctest_summary(a.ctest_log, a.ctest_rc) if a.ctest_log else None

    problems = []
    if not rows:
        problems.append("fs_kbench gave no rows")
    for r in rows:
        if r.get("ms") is None:
            problems.append(f"{r.get('model')} {r.get('layer')} {r.get('pass')}: no time")

    merged = []
    for r in rows:
        prec = r.get("precision", "fp32")
        t = tmap.get((r["model"], r["layer"], r["pass"])) if prec == "fp32" else None
        ratio = t["ms"] / r["ms"] if t and t.get("ms") and r.get("ms") else None
        merged.append({**{k: v for k, v in r.items() if k not in ("kind", "bench", "table")},
                       "torch_ms": t["ms"] if t else None, "torch_tflops": t["tflops"] if t else None,
                       "ratio_torch_over_faceswarm": ratio})

    lines = [f"# faceswarm gpu-check ({a.mode})", ""]
    for k, v in facts.items():
        lines.append(f"- {k}: {v}")
    lines.append(f"- backend: {header.get('backend', '?')}")
    lines.append(f"- peak (fp32): {header.get('peak', '?')}")
    lines.append(f"- peak (bf16): {header.get('peak_bf16', '?')}")
    precs = sorted(set(r.get("precision", "fp32") for r in rows))
    lines.append(f"- precision: {', '.join(precs) if precs else '?'} (bf16: conv/dense operands rounded to bf16, "
                 "fp32 sums, the tensor-core GEMM; activations stay fp32 in memory)")
    if tinfo:
        lines.append(f"- PyTorch {tinfo.get('version')} on {tinfo.get('device')}"
                     f"{' (' + str(tinfo.get('gpu')) + ', cuDNN ' + str(tinfo.get('cudnn')) + ')' if tinfo.get('gpu') else ''}"
                     ", TF32 off, cudnn.benchmark on")
    else:
        lines.append(f"- PyTorch: {facts.get('torch', 'not run')}")
    if ct:
        lines.append(f"- ctest -L cuda: {ct['passed']} of {ct['total']} passed (exit {ct['rc']})"
                     + (f"; FAILED: {', '.join(ct['failed_tests'])}" if ct["failed_tests"] else ""))
        for w in ct["ran_on"]:
            lines.append(f"  - {w}")
    if summary.get("tflops_all") is not None:
        lines.append(f"- faceswarm, all passes x count: {summary['tflops_all']:.3f} TFLOP/s"
                     + (f", {100 * summary['peak_frac_all']:.1f}% of the computed peak" if summary.get("peak_frac_all") else ""))
    if summary.get("tflops_all_bf16") is not None:
        lines.append(f"- faceswarm bf16, all passes x count: {summary['tflops_all_bf16']:.3f} TFLOP/s"
                     + (f", {100 * summary['peak_frac_all_bf16']:.1f}% of the computed dense bf16 peak"
                        if summary.get("peak_frac_all_bf16") else ""))
    lines += ["", "ratio = PyTorch ms / faceswarm ms (> 1: faceswarm faster)", "",
              "| model | layer | pass | precision | n | shape | GFLOP | faceswarm ms | TFLOP/s | peak | torch ms | torch TFLOP/s | ratio |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for m in merged:
        shape = (f"{m['cin']} -> {m['cout']}" if m["op"] == "dense" else
                 f"{m['h']}x{m['w']}x{m['cin']} -> {m['cout']} k{m['k']} s{m['stride']}")
        lines.append(f"| {m['model']} | {m['layer']} | {m['pass']} | {m.get('precision', 'fp32')} | {m['n']} | {shape} | {m['gflop']:.3f} | "
                     f"{fmt(m.get('ms'), '.3f')} | {fmt(m.get('tflops'), '.3f')} | "
                     f"{fmt(None if m.get('peak_frac') is None else 100 * m['peak_frac'], '.1f')}"
                     f"{'%' if m.get('peak_frac') is not None else ''} | {fmt(m['torch_ms'], '.3f')} | "
                     f"{fmt(m['torch_tflops'], '.3f')} | {fmt(m['ratio_torch_over_faceswarm'], '.2f')} |")
    if problems:
        lines += ["", "Problems:"] + [f"- {p}" for p in problems]
    data = {"mode": a.mode, "facts": facts, "ctest": ct, "kbench_header": header, "kbench_summary": summary,
            "torch": tinfo, "layers": merged,
            "problems": problems}
    layers = data.pop("layers")  # one line per layer, the rest indented
    body = json.dumps(data, indent=1)[:-2] + ',\n "layers": [\n  ' + ",\n  ".join(json.dumps(m) for m in layers) + "\n ]\n}"
    text = "\n".join(lines) + "\n\n```json\n" + body + "\n```\n"
    tmp = a.out + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    import os
    os.replace(tmp, a.out)
    print("\n".join(lines))
    # the report reads back: its json block parses and holds every row
    back = open(a.out, encoding="utf-8").read()
    parsed = json.loads(back.split("```json\n", 1)[1].rsplit("\n```", 1)[0])
    if len(parsed["layers"]) != len(rows):
        problems.append(f"the report's json block has {len(parsed['layers'])} layers, not {len(rows)}")
        print(problems[-1], file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
