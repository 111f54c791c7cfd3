#!/usr/bin/env python3
"""
PyTorch peer of the Spleeter U-Net, for the one-call GPU check (scripts/gpu/run.sh, issue 14).

It is a hardware reference, never the product's runtime: it reads the weights of the very ONNX
files that the product runs (the initializers, through the `onnx` package), builds the same network
as src/core/onnx/spleeter-unet.ts in torch (MODEL-FORMATS A5: 6 x [pad(1,2) Conv 5x5/2 -> BN ->
act], the raw conv outputs as skips, 6 x [ConvTranspose 5x5/2 cropped [1:-2] -> act -> BN], head
Conv 4x4 dilation 2 pad 3, sigmoid x input), and

1. checks it against onnxruntime (Python, CPU) on one segment: torch fp32 on the CPU must match
   within the network's own float32 noise floor (onnxruntime on x against x + 1 ulp), and the
   device runs (fp32, bf16, fp16) are reported against the same reference;
2. times batched inference on the device per dtype and batch size (CUDA events, after warm-up)
   and reports segments/s and the realtime factor (one segment = 512 frames x 1024 samples at
   44.1 kHz = 11.89 s of audio, which needs one network call per instrument).

Everything goes to one JSON document (--out, else stdout). Each configuration and each
measurement is guarded: an error is recorded and the rest goes on. --time-budget bounds the run.

Usage: torch_peer.py --model 2stems=DIR [--model 4stems=DIR] [--device cuda|cpu]
                     [--batches 1,8,32] [--dtypes fp32,bf16,fp16] [--segment FILE.f32]
                     [--time-budget 150] [--check-only] [--out peer.json]
"""
import argparse
import json
import math
import os
import sys
import time
import traceback

BN_EPSILON = 1e-3
LEAKY_ALPHA = 0.2


def segment_seconds(T):
    """Audio seconds in one segment of T frames (hop 1024 at 44.1 kHz): 11.89 s for T = 512."""
    return T * 1024 / 44100.0


def snr_db(ref, x):
    """10 log10(sum ref^2 / sum (ref - x)^2) in float64; inf when equal, -inf/NaN never hidden."""
    import numpy as np

    r = np.asarray(ref, dtype=np.float64).ravel()
    d = r - np.asarray(x, dtype=np.float64).ravel()
    num = float(np.dot(r, r))
    den = float(np.dot(d, d))
    if not math.isfinite(num) or not math.isfinite(den):
        return None
    if den == 0.0:
        return math.inf
    if num == 0.0:
        return -math.inf
    return 10.0 * math.log10(num / den)


def json_number(v):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    if isinstance(v, float) and math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return round(v, 3) if isinstance(v, float) else v


# ---------------------------------------------------------------------------------------------
# Reading the ONNX file: weights in graph order, resolving fp16 storage (initializer -> Cast).
# ---------------------------------------------------------------------------------------------


def read_unet_onnx(path):
    """Returns dict(meta, layout, F, T, enc, enc_bn, dec, dec_bn, head) with float32 numpy arrays."""
    import numpy as np
    import onnx
    from onnx import numpy_helper

    model = onnx.load(path)
    g = model.graph
    meta = {p.key: p.value for p in model.metadata_props}
    inits = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    producers = {}
    for n in g.node:
        for o in n.output:
            producers[o] = n

    def value(name):
        if name in inits:
            return inits[name].astype(np.float32)
        n = producers.get(name)
        if n is not None and n.op_type in ("Cast", "Identity") and n.input[0] in inits:
            return inits[n.input[0]].astype(np.float32)
        raise ValueError(f"{os.path.basename(path)}: '{name}' is not a weight initializer")

    convs, deconvs, bns = [], [], []
    for n in g.node:
        if n.op_type == "Conv":
            attrs = {a.name: list(a.ints) for a in n.attribute}
            convs.append(
                {
                    "W": value(n.input[1]),
                    "B": value(n.input[2]) if len(n.input) > 2 and n.input[2] else None,
                    "strides": attrs.get("strides", [1, 1]),
                    "pads": attrs.get("pads", [0, 0, 0, 0]),
                    "dilations": attrs.get("dilations", [1, 1]),
                }
            )
        elif n.op_type == "ConvTranspose":
            deconvs.append(
                {"W": value(n.input[1]), "B": value(n.input[2]) if len(n.input) > 2 and n.input[2] else None}
            )
        elif n.op_type == "BatchNormalization":
            eps = next((a.f for a in n.attribute if a.name == "epsilon"), 1e-5)
            bns.append({k: value(n.input[i + 1]) for i, k in enumerate(("gamma", "beta", "mean", "var"))})
            bns[-1]["eps"] = eps
        elif n.op_type in ("ConvInteger", "DynamicQuantizeLinear"):
            raise ValueError(f"{os.path.basename(path)}: int8 models are not supported by the peer")
    if len(convs) != 7 or len(deconvs) != 6 or len(bns) != 11:
        raise ValueError(
            f"{os.path.basename(path)}: expected 7 Conv, 6 ConvTranspose, 11 BatchNormalization; "
            f"found {len(convs)}, {len(deconvs)}, {len(bns)}"
        )
    shape = [d.dim_value or d.dim_param for d in g.input[0].type.tensor_type.shape.dim]
    layout = meta.get("layout") or ("CSTF" if shape[0] == 2 else "SCTF")
    ops = {n.op_type for n in g.node}
    default_conv, default_deconv = ("elu", "elu") if "Elu" in ops else ("leaky_relu", "relu")
    return {
        "path": path,
        "input_name": g.input[0].name,
        "meta": meta,
        "layout": layout,
        "T": int(meta.get("T") or shape[2]),
        "F": int(meta.get("F") or shape[3]),
        "architecture": meta.get("architecture", "unet"),
        "conv_activation": meta.get("conv_activation", default_conv),
        "deconv_activation": meta.get("deconv_activation", default_deconv),
        "enc": convs[:6],
        "head": convs[6],
        "enc_bn": bns[:5],
        "dec": deconvs,
        "dec_bn": bns[5:],
    }


def read_model_dir(model_dir):
    """Instrument files of a Spleeter ONNX model directory (spleeter.json, fp32 files)."""
    manifest_path = os.path.join(model_dir, "spleeter.json")
    if os.path.exists(manifest_path):
        with open(manifest_path) as f:
            manifest = json.load(f)
        instruments = manifest["instruments"]
        files = (manifest.get("files") or {}).get("fp32") or {}
        paths = [os.path.join(model_dir, files.get(i, f"{i}.onnx")) for i in instruments]
    else:
        names = sorted(n for n in os.listdir(model_dir) if n.endswith(".onnx") and n.count(".") == 1)
        instruments = [n[:-5] for n in names]
        paths = [os.path.join(model_dir, n) for n in names]
    if not paths:
        raise ValueError(f"{model_dir}: no ONNX files")
    return instruments, paths


# ---------------------------------------------------------------------------------------------
# The torch network
# ---------------------------------------------------------------------------------------------


def build_torch_unet(w):
    import torch
    import torch.nn.functional as Fn
    from torch import nn

    def activation(kind):
        if kind == "leaky_relu":
            return nn.LeakyReLU(LEAKY_ALPHA)
        if kind == "relu":
            return nn.ReLU()
        if kind == "elu":
            return nn.ELU(1.0)
        raise ValueError(f"unknown activation {kind}")

    def conv(c, padding=0):
        W = torch.from_numpy(c["W"].copy())
        m = nn.Conv2d(
            W.shape[1],
            W.shape[0],
            tuple(W.shape[2:]),
            stride=tuple(c["strides"]),
            dilation=tuple(c["dilations"]),
            padding=padding,
            bias=c["B"] is not None,
        )
        m.weight.data.copy_(W)
        if c["B"] is not None:
            m.bias.data.copy_(torch.from_numpy(c["B"].copy()))
        return m

    def deconv(c):
        W = torch.from_numpy(c["W"].copy())  # ONNX [in, out, kh, kw] = torch's layout
        m = nn.ConvTranspose2d(W.shape[0], W.shape[1], tuple(W.shape[2:]), stride=2, bias=c["B"] is not None)
        m.weight.data.copy_(W)
        if c["B"] is not None:
            m.bias.data.copy_(torch.from_numpy(c["B"].copy()))
        return m

    def bn(b):
        m = nn.BatchNorm2d(b["gamma"].shape[0], eps=b["eps"])
        m.weight.data.copy_(torch.from_numpy(b["gamma"].copy()))
        m.bias.data.copy_(torch.from_numpy(b["beta"].copy()))
        m.running_mean.copy_(torch.from_numpy(b["mean"].copy()))
        m.running_var.copy_(torch.from_numpy(b["var"].copy()))
        return m

    for c in w["enc"]:
        # ONNX pads [top, left, bottom, right]; the U-Net's "same" padding is (1, 2) per axis.
        if list(c["pads"]) != [1, 1, 2, 2] or list(c["strides"]) != [2, 2]:
            raise ValueError(f"unexpected encoder conv pads/strides {c['pads']} / {c['strides']}")
    hp = w["head"]["pads"]
    if hp[0] != hp[2] or hp[1] != hp[3]:
        raise ValueError(f"unexpected head pads {hp}")

    class SpleeterUnet(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = nn.ModuleList(conv(c) for c in w["enc"])
            self.enc_bn = nn.ModuleList(bn(b) for b in w["enc_bn"])
            self.dec = nn.ModuleList(deconv(c) for c in w["dec"])
            self.dec_bn = nn.ModuleList(bn(b) for b in w["dec_bn"])
            self.head = conv(w["head"], padding=(hp[0], hp[1]))
            self.act = activation(w["conv_activation"])
            self.dact = activation(w["deconv_activation"])
            self.mask = w["architecture"] == "unet"

        def forward(self, x):  # x: [S, 2, T, F]
            raw = []
            h = x
            for i, c in enumerate(self.enc):
                r = c(Fn.pad(h, (1, 2, 1, 2)))
                raw.append(r)
                if i < 5:
                    h = self.act(self.enc_bn[i](r))
            d = raw[5]
            for i, dc in enumerate(self.dec):
                u = dc(d)[:, :, 1:-2, 1:-2]
                b = self.dec_bn[i](self.dact(u))
                d = torch.cat([raw[4 - i], b], 1) if i < 5 else b
            y = self.head(d)
            return torch.sigmoid(y) * x if self.mask else y

    return SpleeterUnet().eval()


# ---------------------------------------------------------------------------------------------
# Inputs, reference, timing
# ---------------------------------------------------------------------------------------------


def make_segment(T, F, path=None):
    """One segment [1, 2, T, F] (SCTF): from the file the node check wrote, else seeded |noise|/f."""
    import numpy as np

    if path and os.path.exists(path):
        a = np.fromfile(path, dtype="<f4")
        if a.size == 2 * T * F:
            return a.reshape(2, 1, T, F).transpose(1, 0, 2, 3).copy(), "file"
    rng = np.random.default_rng(1234)
    tilt = 1.0 / np.sqrt(1.0 + np.arange(F, dtype=np.float32))
    x = np.abs(rng.standard_normal((1, 2, T, F)).astype(np.float32)) * tilt
    return x.astype(np.float32), "generated"


def to_file_layout(x_sctf, layout):
    return x_sctf.transpose(1, 0, 2, 3).copy() if layout == "CSTF" else x_sctf


def from_file_layout(y, layout):
    return y.transpose(1, 0, 2, 3) if layout == "CSTF" else y


def ort_cpu_run(w, x_sctf, threads):
    import onnxruntime as ort

    so = ort.SessionOptions()
    if threads:
        so.intra_op_num_threads = threads
    sess = ort.InferenceSession(w["path"], so, providers=["CPUExecutionProvider"])
    y = sess.run(None, {w["input_name"]: to_file_layout(x_sctf, w["layout"])})[0]
    return from_file_layout(y, w["layout"])


DTYPES = {"fp32": "float32", "bf16": "bfloat16", "fp16": "float16"}


def time_network(nets, x, device, iters_min, seconds_min):
    """Median time of one batch through all instrument networks (CUDA events, or the clock on CPU)."""
    import torch

    def once():
        for n in nets:
            n(x)

    with torch.inference_mode():
        for _ in range(3):
            once()
        if device == "cuda":
            torch.cuda.synchronize()
        samples = []
        total = 0.0
        while len(samples) < iters_min or total < seconds_min:
            if device == "cuda":
                start = torch.cuda.Event(enable_timing=True)
                end = torch.cuda.Event(enable_timing=True)
                start.record()
                once()
                end.record()
                end.synchronize()
                ms = start.elapsed_time(end)
            else:
                t0 = time.perf_counter()
                once()
                ms = (time.perf_counter() - t0) * 1000.0
            samples.append(ms)
            total += ms / 1000.0
            if len(samples) >= 200:
                break
    samples.sort()
    return samples[len(samples) // 2], len(samples)


def run_config(name, model_dir, args, deadline, log, out, flush):
    import numpy as np
    import torch

    out.update({"modelDir": model_dir, "errors": []})
    instruments, paths = read_model_dir(model_dir)
    out["instruments"] = instruments
    weights = [read_unet_onnx(p) for p in paths]
    w0 = weights[0]
    T, F = w0["T"], w0["F"]
    out.update(
        {
            "T": T,
            "F": F,
            "layout": w0["layout"],
            "architecture": w0["architecture"],
            "activations": [w0["conv_activation"], w0["deconv_activation"]],
            "parameters": int(
                sum(
                    a.size
                    for w in weights
                    for layer in w["enc"] + w["dec"] + [w["head"]]
                    for a in (layer["W"], layer["B"])
                    if a is not None
                )
            ),
        }
    )
    net_cpu = build_torch_unet(w0)
    x, source = make_segment(T, F, args.segment)
    out["segmentSource"] = source

    # 1. correctness against onnxruntime CPU (first instrument; all instruments share the code path)
    check = {"instrument": instruments[0]}
    try:
        ref = ort_cpu_run(w0, x, args.threads)
        x_ulp = np.nextafter(x, np.float32(np.inf)).astype(np.float32)
        check["ortCpuFloorSnrDb"] = snr_db(ref, ort_cpu_run(w0, x_ulp, args.threads))
        with torch.inference_mode():
            y_cpu = net_cpu(torch.from_numpy(x)).numpy()
        check["torchCpuFp32VsOrtSnrDb"] = snr_db(ref, y_cpu)
        floor = check["ortCpuFloorSnrDb"]
        s = check["torchCpuFp32VsOrtSnrDb"]
        # Two float32 implementations agree to about the floor; 6 dB of slack for summation order.
        check["ok"] = bool(s is not None and floor is not None and s >= min(floor, 100.0) - 6.0)
        if args.device != "cpu":
            check["deviceVsOrtSnrDb"] = {}
            for dt in args.dtypes:
                try:
                    tdt = getattr(torch, DTYPES[dt])
                    net = build_torch_unet(w0).to(args.device, dtype=tdt)
                    with torch.inference_mode():
                        y = net(torch.from_numpy(x).to(args.device, dtype=tdt)).float().cpu().numpy()
                    check["deviceVsOrtSnrDb"][dt] = snr_db(ref, y)
                    del net
                except Exception as e:  # noqa: BLE001 - recorded, the check goes on
                    check["deviceVsOrtSnrDb"][dt] = None
                    out["errors"].append(f"check {dt}: {e}")
    except Exception as e:  # noqa: BLE001
        check["ok"] = False
        check["error"] = f"{type(e).__name__}: {e}"
        log(traceback.format_exc())
    out["check"] = check
    flush()
    log(f"{name}: check {json.dumps({k: json_number(v) if not isinstance(v, dict) else v for k, v in check.items()})}")

    # 2. timing
    timings = []
    out["timings"] = timings
    for dt in [] if args.check_only else args.dtypes:
        tdt = getattr(torch, DTYPES[dt])
        try:
            nets = [build_torch_unet(w).to(args.device, dtype=tdt) for w in weights]
            channels_last = dt != "fp32"
            if channels_last:
                nets = [n.to(memory_format=torch.channels_last) for n in nets]
        except Exception as e:  # noqa: BLE001
            out["errors"].append(f"{dt}: {type(e).__name__}: {e}")
            continue
        for batch in args.batches:
            if time.monotonic() > deadline:
                out["errors"].append(f"time budget spent before {dt} batch {batch}")
                break
            entry = {"dtype": dt, "batch": batch, "channelsLast": channels_last}
            try:
                xb = torch.from_numpy(np.repeat(x, batch, axis=0)).to(args.device, dtype=tdt)
                # Different data per segment (never time on copies of one segment alone).
                xb = xb * (1.0 + 0.01 * torch.arange(batch, device=args.device, dtype=tdt).view(-1, 1, 1, 1))
                if channels_last:
                    xb = xb.contiguous(memory_format=torch.channels_last)
                if args.device == "cuda":
                    torch.cuda.reset_peak_memory_stats()
                ms, n = time_network(nets, xb, args.device, args.iters, args.seconds)
                seg_per_s = batch / (ms / 1000.0)
                entry.update(
                    {
                        "msPerBatch": ms,
                        "iterations": n,
                        "segmentsPerSecond": seg_per_s,
                        "realtimeFactor": seg_per_s * segment_seconds(T),
                    }
                )
                if args.device == "cuda":
                    entry["peakMemoryMiB"] = torch.cuda.max_memory_allocated() / 2**20
                del xb
            except Exception as e:  # noqa: BLE001
                entry["error"] = f"{type(e).__name__}: {str(e).splitlines()[0][:300]}"
                if args.device == "cuda":
                    torch.cuda.empty_cache()
            timings.append(entry)
            log(f"{name}: {json.dumps(entry)}")
            flush()
        del nets
        if args.device == "cuda":
            torch.cuda.empty_cache()
    ok = [t for t in timings if "realtimeFactor" in t]
    if ok:
        best = max(ok, key=lambda t: t["realtimeFactor"])
        out["best"] = best
        fp32 = [t for t in ok if t["dtype"] == "fp32"]
        if fp32:
            out["bestFp32"] = max(fp32, key=lambda t: t["realtimeFactor"])
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", action="append", default=[], help="NAME=DIR (repeatable)")
    p.add_argument("--device", default=None, help="cuda (default when available) or cpu")
    p.add_argument("--batches", default="1,8,32")
    p.add_argument("--dtypes", default="fp32,bf16,fp16")
    p.add_argument("--iters", type=int, default=10, help="minimum timed iterations")
    p.add_argument("--seconds", type=float, default=0.5, help="minimum timed seconds per point")
    p.add_argument("--threads", type=int, default=0, help="onnxruntime CPU threads (0 = default)")
    p.add_argument("--segment", default=None, help="one segment's magnitudes, float32 [2,1,T,F] (CSTF)")
    p.add_argument("--time-budget", type=float, default=150.0, help="seconds; timing stops when spent")
    p.add_argument("--check-only", action="store_true", help="the correctness check, no timing")
    p.add_argument("--out", default=None)
    args = p.parse_args(argv)
    args.batches = [int(b) for b in args.batches.split(",") if b]
    args.dtypes = [d for d in args.dtypes.split(",") if d]
    for d in args.dtypes:
        if d not in DTYPES:
            p.error(f"unknown dtype {d}")
    if not args.model:
        p.error("at least one --model NAME=DIR")

    started = time.monotonic()
    deadline = started + args.time_budget

    def log(m):
        sys.stderr.write(f"[peer] {m}\n")
        sys.stderr.flush()

    result = {"schema": "spleeter-torch-peer/1", "configs": {}, "errors": []}
    try:
        import numpy as np
        import onnx
        import torch

        result["versions"] = {"torch": torch.__version__, "onnx": onnx.__version__, "numpy": np.__version__}
        try:
            import onnxruntime

            result["versions"]["onnxruntime"] = onnxruntime.__version__
        except Exception as e:  # noqa: BLE001
            result["errors"].append(f"onnxruntime: {e}")
        if args.device is None:
            args.device = "cuda" if torch.cuda.is_available() else "cpu"
        result["device"] = args.device
        if args.device == "cuda":
            result["gpu"] = torch.cuda.get_device_name(0)
            torch.backends.cudnn.benchmark = True
            result["tf32"] = {
                "cudnn": torch.backends.cudnn.allow_tf32,
                "matmul": torch.backends.cuda.matmul.allow_tf32,
            }
        result["cpuThreads"] = torch.get_num_threads()
    except Exception as e:  # noqa: BLE001
        result["errors"].append(f"imports: {type(e).__name__}: {e}")
        args.model = []

    def clean(v):
        if isinstance(v, dict):
            return {k: clean(x) for k, x in v.items()}
        if isinstance(v, list):
            return [clean(x) for x in v]
        return json_number(v) if isinstance(v, float) else v

    def flush(final=False):
        """Writes what is measured so far (atomically): a run killed at its time limit keeps it."""
        result["seconds"] = time.monotonic() - started
        result["complete"] = final
        text = json.dumps(clean(result), indent=2)
        if args.out:
            tmp = args.out + ".tmp"
            with open(tmp, "w") as f:
                f.write(text + "\n")
            os.replace(tmp, args.out)
        elif final:
            sys.stdout.write(text + "\n")

    for spec in args.model:
        name, _, model_dir = spec.partition("=")
        try:
            result["configs"][name] = {}
            run_config(name, model_dir, args, deadline, log, result["configs"][name], flush)
        except Exception as e:  # noqa: BLE001
            result["configs"][name]["error"] = f"{type(e).__name__}: {e}"
            log(traceback.format_exc())
    flush(final=True)
    ok = all(isinstance(c, dict) and c.get("check", {}).get("ok") for c in result["configs"].values())
    return 0 if ok and result["configs"] else 1


if __name__ == "__main__":
    sys.exit(main())
