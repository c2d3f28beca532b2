#!/usr/bin/env python3
"""test_gpu_check_report.py — gpucheck_report: tests/bench/gpu_check_report.py on made-up
fs_kbench and torch_layers.py output (PyTorch is not on CI's machine, so the side-by-side
path is checked here): the ratio is torch ms / faceswarm ms, a layer PyTorch did not time
has no ratio, a bf16 row is not compared with PyTorch's fp32 time, the json block parses back
with every row, the table has one line per row, and a row without a time makes the report
fail (exit 1)."""
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
bad = []


def row(layer, p, ms, op="conv", prec="fp32"):
    return {"kind": "row", "bench": "kbench", "table": "layers", "model": "original-64", "layer": layer,
            "pass": p, "op": op, "precision": prec, "n": 2, "h": 8, "w": 8, "cin": 4, "cout": 6, "k": 3, "stride": 1, "count": 1,
            "gflop": 0.5, "reps": 3, "ms": ms, "tflops": None if ms is None else 0.5 / ms / 1e3,
            "peak_frac": None if ms is None else 0.5 / ms / 1e3 / 60.0}


def run(rows, torch_rows, d):
    kb, tj, out = os.path.join(d, "kb.jsonl"), os.path.join(d, "t.jsonl"), os.path.join(d, "r.md")
    with open(kb, "w") as f:
        f.write(json.dumps({"kind": "header", "bench": "kbench", "backend": "cuda: test", "peak": "computed"}) + "\n")
        for r in rows:
            f.write(json.dumps(r) + "\n")
        f.write(json.dumps({"kind": "summary", "bench": "kbench", "wrong": 0, "tflops_all": 1.0}) + "\n")
    with open(tj, "w") as f:
        for r in torch_rows:
            f.write(json.dumps(r) + "\n")
        f.write(json.dumps({"kind": "torch", "version": "0.test", "device": "cuda", "gpu": "G", "cudnn": 1}) + "\n")
    p = subprocess.run([sys.executable, os.path.join(HERE, "gpu_check_report.py"), "--out", out, "--mode", "gpu",
                        "--kbench", kb, "--torch", tj, "--fact", "host=h"], capture_output=True, text=True)
    text = open(out).read() if os.path.exists(out) else ""
    return p.returncode, text


with tempfile.TemporaryDirectory() as d:
    rows = [row("enc.conv1", "fwd", 2.0), row("enc.conv1", "bwd_data", 4.0), row("enc.dense1", "fwd", 1.0, "dense"),
            row("enc.conv1", "fwd", 1.0, "conv", "bf16")]
    torch_rows = [{"model": "original-64", "layer": "enc.conv1", "pass": "fwd", "ms": 3.0, "tflops": 0.1, "reps": 2},
                  {"model": "original-64", "layer": "enc.conv1", "pass": "bwd_data", "ms": 2.0, "tflops": 0.2,
                   "reps": 2}]
    rc, text = run(rows, torch_rows, d)
    if rc != 0:
        bad.append(f"a complete report exited {rc}")
    data = json.loads(text.split("```json\n", 1)[1].rsplit("\n```", 1)[0])
    ratios = [m["ratio_torch_over_faceswarm"] for m in data["layers"]]
    if ratios != [1.5, 0.5, None, None]:
        bad.append(f"ratios {ratios}, want [1.5, 0.5, None, None] (torch ms / faceswarm ms; none without torch "
                   "or for bf16)")
    table = [line for line in text.splitlines() if line.startswith("| original-64 |")]
    if len(table) != 4:
        bad.append(f"{len(table)} table lines, want 4")
    if "PyTorch 0.test" not in text or "- precision: bf16, fp32" not in text or "| bf16 |" not in text:
        bad.append("the report names neither the PyTorch version nor both precisions")
    rc, text = run(rows + [row("enc.conv2", "fwd", None)], torch_rows, d)
    if rc != 1 or "enc.conv2 fwd: no time" not in text:
        bad.append(f"a row without a time: exit {rc} (want 1) and no problem named")

for b in bad:
    print("FAIL", b)
print("gpucheck_report:", "FAILED" if bad else "ratios, table, json block and the missing-time failure are right")
sys.exit(1 if bad else 0)
