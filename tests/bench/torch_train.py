#!/usr/bin/env python3
"""torch_train.py CONFIG [--batch B] [--threads T] [--steps N] [--warmup W] [--mode eager|compile]
                 [--expect-params N] [--profile] | CONFIG --print-layers

faceswarm's training step of a model.arch "original" config (faceswap's "original": one shared
encoder, one decoder per identity; trainer/arch_original.c) in PyTorch on the CPU, as the
reference of `faceswarm bench train --torch`: the same layers, widths, kernel sizes, strides,
TensorFlow "same" padding (the extra row bottom/right, as faceswarm's convs), LeakyReLU slope,
faceswarm's pixel-shuffle channel order, sigmoid outputs; the encoder runs on all identities'
samples at once, decoder i on its slice. Loss per identity as trainer/loss.c: loss_mse * MSE +
loss_dssim * DSSIM ((1 - mean SSIM) / 2 over every valid 11x11 Gaussian (sigma 1.5) window of
every channel, C1 = 0.01^2, C2 = 0.03^2) + loss_l1 * L1, summed over identities; Adam (lr 1e-4,
betas 0.9/0.999, eps 1e-7, as `bench train`). NCHW; fp32, or with train.precision bf16 PyTorch's
own mixed precision (the forward and the loss under torch.autocast("cpu", torch.bfloat16): convs
and matmuls in bf16, fp32 weights and Adam, as faceswap's mixed precision). Random uint8 faces, the target the
input (as `bench train`), converted to floats each step.

--print-layers needs no torch: it prints the model's layer table (name, kind, output HxWxC,
parameters) in the columns of `faceswarm model`, from the same layer list the torch model is
built from, so tests can compare the two without PyTorch.

Otherwise it times --steps steps after --warmup (default 2) and prints one JSON line:
{"kind":"torch_train","mode","precision","images_per_s","cpu_images_per_s" (process CPU time / threads),"step_ms","forward_ms","backward_ms","optimizer_ms",
"steps","warmup","threads","batch_per_identity","identities","params","torch","loss0","loss1"}.
Exit 2: bad config or options; 3: the parameter count differs from --expect-params; 4: the
mode failed (e.g. torch.compile without a working C++ toolchain); the reason on stderr."""
import argparse
import contextlib
import json
import math
import sys
import time

# faceswarm's defaults of the keys read here (`faceswarm model --help-config`)
DEFAULTS = {
    "model.arch": "original", "model.resolution": 64, "model.identities": ["A", "B"],
    "model.encoder_filters": [128, 256, 512, 1024], "model.encoder_kernel": 5, "model.dense": 1024,
    "model.bottleneck_filters": 1024, "model.encoder_upscale": [512], "model.decoder_filters": [256, 128, 64],
    "model.upscale_kernel": 3, "model.output_kernel": 5, "model.leaky_alpha": 0.1,
    "train.batch_per_identity": 16, "train.loss_mse": 1.0, "train.loss_dssim": 1.0, "train.loss_l1": 0.0,
}
DSSIM_WIN, SSIM_SIGMA, SSIM_C1, SSIM_C2 = 11, 1.5, 0.01**2, 0.03**2


def die(code, msg):
    print(f"torch_train: {msg}", file=sys.stderr)
    sys.exit(code)


def scalar(text):
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    for conv in (int, float):
        try:
            return conv(text)
        except ValueError:
            pass
    return text


def load_config(path):
    """The section.key values of a faceswarm config: the block-mapping YAML its configs use
    (top-level sections, indented `key: value`, flow lists, # comments); defaults for the rest."""
    cfg, section = dict(DEFAULTS), None
    try:
        lines = open(path, encoding="utf-8").read().splitlines()
    except OSError as e:
        die(2, f"{path}: cannot read the config ({e.strerror})")
    for n, raw in enumerate(lines, 1):
        line = raw.split(" #")[0].rstrip() if not raw.lstrip().startswith("#") else ""
        if not line.strip():
            continue
        key, sep, value = line.strip().partition(":")
        if not sep:
            die(2, f"{path}:{n}: expected 'key: value', got {raw.strip()!r}")
        if not raw[0].isspace():
            section = key
            continue
        value = value.strip()
        if value.startswith("["):
            if not value.endswith("]"):
                die(2, f"{path}:{n}: {section}.{key}: a list must close on its line (got {value!r})")
            value = [scalar(v) for v in value[1:-1].split(",") if v.strip()]
        else:
            value = scalar(value)
        cfg[f"{section}.{key}"] = value
    if cfg["model.arch"] != "original":
        die(2, f"{path}: model.arch = {cfg['model.arch']!r}; this script builds 'original' only")
    return cfg


def same_pad(h, k, s):
    """TensorFlow "same" as faceswarm (kernels/ops.h): (out, pad_before, pad_after)."""
    out = (h + s - 1) // s
    total = max((out - 1) * s + k - h, 0)
    return out, total // 2, total - total // 2


def layers(cfg):
    """The layer list in faceswarm's node order: dicts name, kind, h, w, c, params, and for
    convs k, s, cin, act; for dense cin, act; for slice the identity index."""
    res, cin = cfg["model.resolution"], 3
    L = [dict(name="input", kind="input", h=res, w=res, c=3, params=0)]
    h, k, a = res, cfg["model.encoder_kernel"], "leaky"

    def conv(name, cout, k, s, act):
        nonlocal h, cin
        out, p0, p1 = same_pad(h, k, s)
        L.append(dict(name=name, kind="conv", h=out, w=out, c=cout, params=k * k * cin * cout + cout, k=k, s=s,
                      cin=cin, pad=(p0, p1), act=act))
        h, cin = out, cout

    def upscale(net, i, f):
        nonlocal h, cin
        conv(f"{net}.upscale{i}.conv", 4 * f, cfg["model.upscale_kernel"], 1, "leaky")
        h, cin = 2 * h, f
        L.append(dict(name=f"{net}.upscale{i}.shuffle", kind="pixshuf", h=h, w=h, c=f, params=0))

    for i, f in enumerate(cfg["model.encoder_filters"], 1):
        conv(f"encoder.conv{i}", f, k, 2, a)
    side, flat = h, h * h * cin
    L.append(dict(name="encoder.flatten", kind="reshape", h=1, w=1, c=flat, params=0))
    d1, bn = cfg["model.dense"], cfg["model.bottleneck_filters"]
    L.append(dict(name="encoder.dense1", kind="dense", h=1, w=1, c=d1, params=flat * d1 + d1, cin=flat, act=None))
    d2 = side * side * bn
    L.append(dict(name="encoder.dense2", kind="dense", h=1, w=1, c=d2, params=d1 * d2 + d2, cin=d1, act=None))
    L.append(dict(name="encoder.reshape", kind="reshape", h=side, w=side, c=bn, params=0))
    h, cin = side, bn
    for i, f in enumerate(cfg["model.encoder_upscale"], 1):
        upscale("encoder", i, f)
    eh, ecin = h, cin
    for ident, name in enumerate(cfg["model.identities"]):
        net = f"decoder_{name}"
        h, cin = eh, ecin
        L.append(dict(name=f"{net}.in", kind="slice", h=h, w=h, c=cin, params=0, index=ident))
        for i, f in enumerate(cfg["model.decoder_filters"], 1):
            upscale(net, i, f)
        conv(f"{net}.output", 3, cfg["model.output_kernel"], 1, "sigmoid")
    return L


def print_layers(L):
    print(f"{'node':<40} {'kind':<8} {'output (HxWxC)':<16} {'parameters':>14}")
    for x in L:
        print(f"{x['name']:<40} {x['kind']:<8} {x['h']}x{x['w']}x{x['c']:<10} {x['params']:>14,}")
    print(f"total parameters: {sum(x['params'] for x in L):,}")


def build(torch, cfg, L):
    """The torch modules: the encoder (Sequential) and one decoder per identity."""
    nn, F = torch.nn, torch.nn.functional
    alpha = float(cfg["model.leaky_alpha"])

    class SameConv(nn.Module):
        def __init__(self, x):
            super().__init__()
            p0, p1 = x["pad"]
            self.pad = None if p0 == p1 else (p0, p1, p0, p1)  # F.pad: left, right, top, bottom
            self.conv = nn.Conv2d(x["cin"], x["c"], x["k"], x["s"], padding=p0 if p0 == p1 else 0)
            nn.init.kaiming_uniform_(self.conv.weight, a=0.0, nonlinearity="relu")  # He-uniform
            nn.init.zeros_(self.conv.bias)
            self.act = x["act"]

        def forward(self, v):
            if self.pad:
                v = F.pad(v, self.pad)
            v = self.conv(v)
            return F.leaky_relu(v, alpha) if self.act == "leaky" else torch.sigmoid(v)

    class Shuffle(nn.Module):
        """faceswarm's order: y[2i+a, 2j+b, ch] = x[i, j, (2a+b) C + ch] (nn.PixelShuffle's
        channel index is ch 4 + 2a + b)."""

        def forward(self, v):
            n, c4, h, w = v.shape
            c = c4 // 4
            return v.view(n, 2, 2, c, h, w).permute(0, 3, 4, 1, 5, 2).reshape(n, c, 2 * h, 2 * w)

    class Reshape(nn.Module):
        def __init__(self, x):
            super().__init__()
            self.shape = (x["c"], x["h"], x["w"])

        def forward(self, v):  # flatten (1x1xC) to [n, C]; the others to [n, C, H, W]
            return v.reshape(v.shape[0], -1) if self.shape[1:] == (1, 1) else v.reshape(v.shape[0], *self.shape)

    def module(x):
        if x["kind"] == "conv":
            return SameConv(x)
        if x["kind"] == "pixshuf":
            return Shuffle()
        if x["kind"] == "reshape":
            return Reshape(x)
        if x["kind"] == "dense":
            m = nn.Linear(x["cin"], x["c"])
            nn.init.kaiming_uniform_(m.weight, a=0.0, nonlinearity="relu")
            nn.init.zeros_(m.bias)
            return m
        raise ValueError(x["kind"])

    enc, decs = [], []
    for x in L[1:]:
        if x["kind"] == "slice":
            decs.append([])
        elif decs:
            decs[-1].append(module(x))
        else:
            enc.append(module(x))
    # flatten: NCHW order instead of faceswarm's NHWC; the same floats, the same dense GEMM
    return nn.Sequential(*enc), nn.ModuleList(nn.Sequential(*d) for d in decs)


def dssim(torch, p, t, win):
    """(1 - mean SSIM) / 2 over every valid win x win Gaussian window of every channel."""
    F = torch.nn.functional
    c = p.shape[1]
    i = torch.arange(win, dtype=p.dtype) - (win - 1) / 2.0
    g = torch.exp(-i * i / (2 * SSIM_SIGMA * SSIM_SIGMA))
    g = g / g.sum()
    gh, gv = g.view(1, 1, 1, win).repeat(c, 1, 1, 1), g.view(1, 1, win, 1).repeat(c, 1, 1, 1)

    def blur(v):  # separable, valid, per channel
        return F.conv2d(F.conv2d(v, gh, groups=c), gv, groups=c)

    mx, my = blur(p), blur(t)
    sx, sy, sxy = blur(p * p) - mx * mx, blur(t * t) - my * my, blur(p * t) - mx * my
    ssim = ((2 * mx * my + SSIM_C1) * (2 * sxy + SSIM_C2)) / ((mx * mx + my * my + SSIM_C1) * (sx + sy + SSIM_C2))
    return (1 - ssim.mean()) / 2


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("config")
    ap.add_argument("--print-layers", action="store_true")
    ap.add_argument("--batch", type=int, default=0, help="per identity (default: train.batch_per_identity)")
    ap.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (default: torch's)")
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--mode", default="eager", choices=["eager", "compile"])
    ap.add_argument("--expect-params", type=int, default=0)
    ap.add_argument("--profile", action="store_true", help="torch.profiler's op table of one step on stderr")
    a = ap.parse_args()
    cfg = load_config(a.config)
    L = layers(cfg)
    if a.print_layers:
        print_layers(L)
        return 0
    if a.steps < 1 or a.warmup < 0 or a.batch < 0 or a.threads < 0:
        die(2, "--steps must be >= 1 and --warmup, --batch, --threads >= 0")
    import torch

    if a.threads:
        torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    enc, decs = build(torch, cfg, L)
    params = sum(p.numel() for p in enc.parameters()) + sum(p.numel() for p in decs.parameters())
    spec = sum(x["params"] for x in L)
    if params != spec or (a.expect_params and params != a.expect_params):
        die(3, f"{a.config}: the torch model has {params:,} parameters, the layer list {spec:,}, faceswarm "
               f"{a.expect_params:,}")
    B, nid, res = a.batch or cfg["train.batch_per_identity"], len(decs), cfg["model.resolution"]
    wm, wd, wl = (float(cfg[k]) for k in ("train.loss_mse", "train.loss_dssim", "train.loss_l1"))
    opt = torch.optim.Adam(list(enc.parameters()) + list(decs.parameters()), lr=1e-4, betas=(0.9, 0.999), eps=1e-7)
    gen = torch.Generator().manual_seed(1)
    faces = torch.randint(0, 256, (nid * B, 3, res, res), dtype=torch.uint8, generator=gen)

    def loss_of(x, tgt):
        z = enc(x)
        total = 0
        for i, d in enumerate(decs):
            p, t = d(z[i * B:(i + 1) * B]), tgt[i * B:(i + 1) * B]
            if wm > 0:
                total = total + wm * torch.mean((p - t) ** 2)
            if wd > 0:
                total = total + wd * dssim(torch, p, t, DSSIM_WIN)
            if wl > 0:
                total = total + wl * torch.mean(torch.abs(p - t))
        return total

    fn = loss_of
    prec = cfg.get("train.precision", "fp32")
    if prec not in ("fp32", "bf16"):
        die(2, f"{a.config}: train.precision = {prec!r}; expected fp32 or bf16")
    mixed = (lambda: torch.autocast("cpu", dtype=torch.bfloat16)) if prec == "bf16" else contextlib.nullcontext
    if a.mode == "compile":
        fn = torch.compile(loss_of)
    split = [0.0, 0.0, 0.0]

    def step(timed):
        t0 = time.perf_counter()
        x = faces.float() / 255.0  # the input and the target (bench train: the same faces)
        opt.zero_grad(set_to_none=False)
        with mixed():
            loss = fn(x, x)
        t1 = time.perf_counter()
        loss.backward()
        t2 = time.perf_counter()
        opt.step()
        t3 = time.perf_counter()
        if timed:
            split[0] += t1 - t0
            split[1] += t2 - t1
            split[2] += t3 - t2
        return float(loss.detach())

    try:
        losses = [step(False) for _ in range(max(a.warmup, 1 if a.mode == "compile" else 0))]
    except Exception as e:  # torch.compile's toolchain errors surface at the first call
        die(4, f"mode {a.mode} failed: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}")
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(a.steps):
        losses.append(step(True))
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    if a.profile:
        from torch.profiler import ProfilerActivity, profile

        with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
            step(False)
        print(prof.key_averages(group_by_input_shape=True).table(sort_by="self_cpu_time_total", row_limit=25), file=sys.stderr)
    ms = [1e3 * s / a.steps for s in split]
    print(json.dumps({"kind": "torch_train", "mode": a.mode, "precision": prec, "images_per_s": nid * B * a.steps / dt,
                      "cpu_images_per_s": nid * B * a.steps * torch.get_num_threads() / cpu,
                      "step_ms": 1e3 * dt / a.steps, "forward_ms": ms[0], "backward_ms": ms[1],
                      "optimizer_ms": ms[2], "steps": a.steps, "warmup": a.warmup,
                      "threads": torch.get_num_threads(), "batch_per_identity": B, "identities": nid,
                      "params": params, "torch": torch.__version__, "loss0": losses[0],
                      "loss1": losses[-1] if math.isfinite(losses[-1]) else None}, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
