#!/usr/bin/env python3
"""torch_layers.py --shapes FILE [--device cuda|cpu] [--reps N] [--min-time S]

The layers of fs_kbench (`fs_kbench --list --json [--tiny]` writes FILE: one "row" line per
layer and pass) through PyTorch, as a reference for scripts/gpu-check: conv2d fwd
(torch.nn.functional.conv2d), bwd_data (torch.nn.grad.conv2d_input) and bwd_filter
(torch.nn.grad.conv2d_weight), dense fwd (linear), bwd_data (dy @ W) and bwd_filter
(dy^T @ x); cuDNN / cuBLAS on a GPU, timed with CUDA events (perf_counter on the CPU).

FP32 as fs_kbench times it: TF32 is switched off for cuDNN and matmul (PyTorch's cuDNN
default would use TF32 tensor cores), cudnn.benchmark picks each layer's fastest algorithm
first. Padding: symmetric (k-1)//2, which gives the output size of TensorFlow's "same" that
faceswarm uses (its extra bottom/right pad row for even sizes at stride 2 changes no FLOP
count). Layout NCHW (PyTorch's default; faceswarm is NHWC).

Prints one JSON object per line: {"model","layer","pass","ms","tflops","reps"}, then
{"kind":"torch","version","device","cudnn",...} last."""
import argparse
import json
import sys
import time


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shapes", required=True)
    ap.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    ap.add_argument("--reps", type=int, default=0, help="timed repetitions (default auto, ~--min-time s)")
    ap.add_argument("--min-time", type=float, default=0.1)
    a = ap.parse_args()
    import torch
    import torch.nn.functional as F

    if a.device == "cuda" and not torch.cuda.is_available():
        print("torch_layers: torch.cuda.is_available() is False", file=sys.stderr)
        return 2
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.benchmark = True
    dev = torch.device(a.device)

    layers = {}
    for line in open(a.shapes, encoding="utf-8"):
        o = json.loads(line)
        if o.get("kind") == "row":
            layers.setdefault((o["model"], o["layer"]), o)

    def sync():
        if a.device == "cuda":
            torch.cuda.synchronize()

    def timed(fn):
        fn()  # warm-up (and cudnn.benchmark's algorithm search)
        sync()
        t0 = time.perf_counter()
        fn()
        sync()
        once = time.perf_counter() - t0
        reps = a.reps or int(min(200, max(1, a.min_time / max(once, 1e-7))))
        if a.device == "cuda":
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            for _ in range(reps):
                fn()
            end.record()
            end.synchronize()
            return start.elapsed_time(end) / reps, reps
        t0 = time.perf_counter()
        for _ in range(reps):
            fn()
        return (time.perf_counter() - t0) * 1e3 / reps, reps

    g = torch.Generator(device="cpu").manual_seed(17)

    def rand(*shape, scale=1.0):
        return ((torch.rand(*shape, generator=g) * 2 - 1) * scale).to(dev)

    for (model, name), L in layers.items():
        n, h, w, cin, cout, k, s = (L[key] for key in ("n", "h", "w", "cin", "cout", "k", "stride"))
        gflop = L["gflop"]
        if L["op"] == "dense":
            x, W, b, dy = rand(n, cin), rand(cout, cin, scale=0.05), rand(cout, scale=0.1), rand(n, cout)
            passes = {"fwd": lambda: F.linear(x, W, b), "bwd_data": lambda: dy @ W,
                      "bwd_filter": lambda: dy.t() @ x}
        else:
            p = (k - 1) // 2
            x, W, b = rand(n, cin, h, w), rand(cout, cin, k, k, scale=0.05), rand(cout, scale=0.1)
            ho, wo = (h + s - 1) // s, (w + s - 1) // s
            dy = rand(n, cout, ho, wo)
            passes = {"fwd": lambda: F.conv2d(x, W, b, stride=s, padding=p),
                      "bwd_data": lambda: torch.nn.grad.conv2d_input(x.shape, W, dy, stride=s, padding=p),
                      "bwd_filter": lambda: torch.nn.grad.conv2d_weight(x, W.shape, dy, stride=s, padding=p)}
        for pname, fn in passes.items():
            with torch.no_grad():
                ms, reps = timed(fn)
            print(json.dumps({"model": model, "layer": name, "pass": pname, "ms": ms,
                              "tflops": gflop / ms / 1e3 if ms > 0 else None, "reps": reps}))
        del x, W, b, dy
    info = {"kind": "torch", "version": torch.__version__, "device": a.device,
            "cudnn": torch.backends.cudnn.version() if a.device == "cuda" else None,
            "gpu": torch.cuda.get_device_name(0) if a.device == "cuda" else None,
            "threads": torch.get_num_threads(), "tf32": False}
    print(json.dumps(info))
    return 0


if __name__ == "__main__":
    sys.exit(main())
