"""How close a training step comes to what this CPU's convolutions can do: GFLOP/s of a whole step against one
large convolution.

The step's floating-point operations are counted by torch's own ``torch.utils.flop_counter.FlopCounterMode`` on
the plain baseline (``_baseline.py``: the same networks and losses as the project, eager fp32); the baseline
(fp32) and the project path (``--precision``, default ``auto``) are timed interleaved, in chunks, on the same
samples; the reference is a 3x3 convolution of 256 to 256 channels at 64x32, batch 4, forward and backward (the
shape of the generator's residual blocks, large enough for oneDNN to reach its full speed) in fp32 and in the
project's precision. ``efficiency`` = a step's GFLOP/s over the reference's in the same precision: how much of
the CPU's convolution speed the step gets; the ratio the project could reach at the baseline's efficiency is
printed next to the one it has. The project's own step is counted too: all of its arithmetic at the reference's
speed is the fastest it could be, which bounds its ratio over the baseline. ``--per-layer`` times every
convolution of the project's step alone (recorded at the ATen level, so ``NearestUpConv2d``'s 2x2 convolutions
count as what they are), in fp32 against the project's precision, or for ``--precision fp32`` contiguous against
channels-last, with each one's fp32 GFLOP/s against the reference's.

    .venv/bin/python benchmarks/step_flops.py                      # default recipe, 256x128
    .venv/bin/python benchmarks/step_flops.py --precision fp32 --per-layer
    .venv/bin/python benchmarks/step_flops.py --recipe pix2pixhd_faithful --steps 20

Writes ``benchmarks/results/step-flops-<recipe>-<precision>-<machine>.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch.utils._python_dispatch import TorchDispatchMode  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from _baseline import PlainTrainer  # noqa: E402
from _data import sample_order, synthetic_clip  # noqa: E402
from _project import make_project_trainer, resolved_precision  # noqa: E402
from _recipes import NAMES, quick, recipe  # noqa: E402
from bench_suite import RESULTS, machine_info, machine_line, result_name, write_results  # noqa: E402


def best_time(run, repeats: int, warmup: int = 2) -> float:
    """The fastest of ``repeats`` calls of ``run`` after ``warmup`` untimed ones (oneDNN primitives)."""
    for _ in range(warmup):
        run()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - t0)
    return best


def reference_conv(dtype: torch.dtype, repeats: int, small: bool) -> dict[str, float]:
    """GFLOP/s of one 3x3 convolution forward + backward (input and weight gradients)."""
    ch, (h, w), n = (32, (16, 32), 2) if small else (256, (32, 64), 4)
    x = torch.randn(n, ch, h, w, dtype=dtype, requires_grad=True)
    conv = torch.nn.Conv2d(ch, ch, 3, padding=1).to(dtype)

    def run() -> None:
        conv(x).float().sum().backward()

    with FlopCounterMode(display=False) as counter:
        run()
    best = best_time(run, repeats, warmup=3)
    return {"shape": f"{ch}->{ch} 3x3 at {w}x{h}, batch {n}", "gflop": counter.get_total_flops() / 1e9,
            "gflop_per_s": counter.get_total_flops() / best / 1e9}


class _ConvRecorder(TorchDispatchMode):
    """Every convolution a step runs (at the ATen level, so the project's own layers count too), with whether
    its backward needs the input's and the weight's gradients."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: dict[tuple, int] = {}

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if func is torch.ops.aten.convolution.default:
            x, w = args[0], args[1]
            grad = torch.is_grad_enabled()
            stride, padding, dilation, transposed, output_padding, groups = args[3:9]
            key = (tuple(x.shape), tuple(w.shape), args[2] is not None, tuple(stride), tuple(padding),
                   tuple(dilation), bool(transposed), tuple(output_padding), int(groups),
                   grad and x.requires_grad, grad and w.requires_grad)
            self.seen[key] = self.seen.get(key, 0) + 1
        return func(*args, **(kwargs or {}))


def per_layer(shapes: dict[tuple, int], dtype: torch.dtype, repeats: int = 5) -> list[dict[str, Any]]:
    """Forward + backward time of each convolution alone, weighted by its calls per step: fp32 against ``dtype``
    (contiguous both), or, for fp32, contiguous against channels-last."""
    alt_fmt = torch.channels_last if dtype == torch.float32 else torch.contiguous_format
    rows = []
    for key, calls in shapes.items():
        xs, ws, has_bias, stride, padding, dilation, transposed, out_pad, groups, grad_in, grad_w = key
        out: dict[str, float] = {}
        for name, dt, fmt in (("fp32", torch.float32, torch.contiguous_format), ("alt", dtype, alt_fmt)):
            x = torch.randn(xs, dtype=dt).contiguous(memory_format=fmt).requires_grad_(grad_in)
            w = (0.05 * torch.randn(ws, dtype=dt)).contiguous(memory_format=fmt).requires_grad_(grad_w)
            b = torch.zeros(ws[1] * groups if transposed else ws[0], dtype=dt, requires_grad=grad_w) if has_bias else None

            def run() -> None:
                y = torch.ops.aten.convolution(x, w, b, stride, padding, dilation, transposed, out_pad, groups)
                if grad_in or grad_w:
                    y.float().sum().backward()

            out[name] = best_time(run, repeats)
            if name == "fp32":
                with FlopCounterMode(display=False) as counter:
                    run()
                gflop = counter.get_total_flops() / 1e9
        k = "x".join(str(v) for v in ws[2:])
        cin, cout = (ws[0], ws[1] * groups) if transposed else (ws[1] * groups, ws[0])
        grads = "" if grad_in and grad_w else " (forward only)" if not (grad_in or grad_w) else \
            " (no input grad)" if grad_w else " (no weight grad)"
        rows.append({"conv": f"{cin}->{cout} {k}{' transposed' if transposed else ''} s{stride[0]} at "
                             f"{xs[3]}x{xs[2]} batch {xs[0]}{grads}",
                     "calls": calls, "fp32_ms": 1000 * out["fp32"] * calls, "alt_ms": 1000 * out["alt"] * calls,
                     "speedup": out["fp32"] / out["alt"], "fp32_gflop_per_s": gflop / out["fp32"]})
    rows.sort(key=lambda r: r["fp32_ms"], reverse=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--recipe", default="default", choices=list(NAMES))
    ap.add_argument("--size", default="256x128")
    ap.add_argument("--precision", default="auto", help="the project path's precision")
    ap.add_argument("--steps", type=int, default=30, help="timed steps per path (after one untimed chunk)")
    ap.add_argument("--chunk", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="smoke test: tiny networks at 64x32, a few steps")
    ap.add_argument("--per-layer", action="store_true",
                    help="also time every convolution of the project's step alone: fp32 against the project's precision "
                         "(fp32: contiguous against channels-last)")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    size = (64, 32) if args.quick else tuple(int(v) for v in args.size.lower().split("x"))
    steps, chunk = (4, 2) if args.quick else (args.steps, args.chunk)
    train = quick(recipe(args.recipe)) if args.quick else recipe(args.recipe)
    clip = synthetic_clip(max(24, int(train["sequence_length"]) + 8), size, 0)
    precision = resolved_precision("cpu", args.precision)
    paths: dict[str, Any] = {"baseline fp32": PlainTrainer(train, clip, 0),
                             f"project {precision}": make_project_trainer(train, clip, args.precision, "cpu", 0)}
    order = sample_order(paths["baseline fp32"].n_samples, steps + chunk, int(train["batch_size"]), 0)
    paths["baseline fp32"].step(order[0])
    with FlopCounterMode(display=False) as counter:
        paths["baseline fp32"].step(order[1])
    gflop = counter.get_total_flops() / 1e9
    project = paths[f"project {precision}"]
    project.step(order[0])  # outside the counter: a first step may build caches
    with FlopCounterMode(display=False) as counter, _ConvRecorder() as convs:  # the same step: its convolutions
        project.step(order[1])
    project_gflop = counter.get_total_flops() / 1e9  # the arithmetic the project's step really does
    times: dict[str, list[float]] = {k: [] for k in paths}
    for c, first in enumerate(range(0, steps + chunk, chunk)):
        for k in (list(paths) if c % 2 == 0 else list(paths)[::-1]):
            t0 = time.perf_counter()
            for idx in order[first : first + chunk]:
                paths[k].step(idx)
            if c:  # the first chunk is warm-up
                times[k].append((time.perf_counter() - t0) / len(order[first : first + chunk]))
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision, torch.float32)
    refs = {"fp32": reference_conv(torch.float32, 10, args.quick)}
    if dtype != torch.float32:
        refs[precision] = reference_conv(dtype, 10, args.quick)
    layers = []
    if args.per_layer:
        layers = per_layer(convs.seen, dtype)
    rows = []
    for k, ts in times.items():
        prec = "fp32" if k.startswith("baseline") else precision
        best, med = min(ts), float(np.median(ts))
        rows.append({"path": k, "precision": prec, "s_per_step": best, "s_per_step_median": med,
                     "gflop_per_s": gflop / best, "efficiency": gflop / best / refs[prec]["gflop_per_s"]})
    base, proj = rows[0], rows[1]
    ratio = base["s_per_step"] / proj["s_per_step"]
    at_base_eff = base["efficiency"] * refs[proj["precision"]]["gflop_per_s"] / base["gflop_per_s"]
    # the fastest the project's step could be: all of its arithmetic at the reference convolution's speed
    floor_s = project_gflop / refs[proj["precision"]]["gflop_per_s"]
    ceiling = base["s_per_step"] / floor_s
    info = machine_info("cpu")
    res = {"machine": info, "recipe": args.recipe, "size": list(size), "quick": args.quick,
           "gflop_per_step": gflop, "project_gflop_per_step": project_gflop, "rows": rows, "reference_conv": refs,
           "ratio_vs_baseline": ratio, "ratio_at_baseline_efficiency": at_base_eff,
           "project_floor_s_per_step": floor_s, "ratio_ceiling": ceiling, "per_layer": layers}
    md = [f"# Training step against the CPU's convolution speed ({info['cpu_model']})", "",
          f"- recipe `{args.recipe}` at {size[0]}x{size[1]}, {gflop:.1f} GFLOP per step (torch's FlopCounterMode on "
          f"the plain baseline); {steps} timed steps per path, interleaved in chunks of {chunk}, best chunk",
          machine_line(info), "",
          "| path | precision | ms per step (best / median) | GFLOP/s | of the reference convolution |",
          "|---|---|---|---|---|"]
    for r in rows:
        md.append(f"| {r['path']} | {r['precision']} | {1000 * r['s_per_step']:.0f} / "
                  f"{1000 * r['s_per_step_median']:.0f} | {r['gflop_per_s']:.0f} | {100 * r['efficiency']:.0f}% |")
    md += ["", "| reference convolution (forward + backward) | precision | GFLOP/s |", "|---|---|---|"]
    md += [f"| {r['shape']} | {p} | {r['gflop_per_s']:.0f} |" for p, r in refs.items()]
    md += ["", f"Project vs baseline: **{ratio:.2f}x**; at the baseline's efficiency the project's precision would "
           f"give {at_base_eff:.2f}x.",
           "", f"The project's step itself does {project_gflop:.1f} GFLOP (the GFLOP/s above count the baseline's "
           f"{gflop:.1f}); all of it at the reference convolution's {precision} speed would take "
           f"{1000 * floor_s:.0f} ms a step: **at most {ceiling:.2f}x** the baseline with this arithmetic."]
    if layers:
        alt = "fp32 channels-last" if dtype == torch.float32 else precision
        f32, low = sum(r["fp32_ms"] for r in layers), sum(r["alt_ms"] for r in layers)
        ref32 = refs["fp32"]["gflop_per_s"]
        md += ["", f"Each convolution of one project step alone, forward + backward, times its calls per step, fp32 "
               f"contiguous against {alt} (sum: {f32:.0f} ms against {low:.0f} ms, {f32 / low:.2f}x); `of ref.`: its "
               "fp32 GFLOP/s against the reference convolution's:", "",
               f"| convolution | calls | fp32 ms | of ref. | {alt} ms | speed-up |", "|---|---|---|---|---|---|"]
        md += [f"| {r['conv']} | {r['calls']} | {r['fp32_ms']:.1f} | {100 * r['fp32_gflop_per_s'] / ref32:.0f}% | "
               f"{r['alt_ms']:.1f} | {r['speedup']:.2f}x |" for r in layers]
    write_results(args.out, f"step-flops-{args.recipe}-{precision}-{result_name(info)}" + ("-quick" if args.quick else ""), res,
                  "\n".join(md))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
