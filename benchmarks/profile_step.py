"""Where the time goes: torch.profiler over project training steps and over generation, top ops by self CPU time.

    .venv/bin/python benchmarks/profile_step.py --recipe default --size 256x128 --precisions fp32 bf16

Training goes through the project adapter (benchmarks/_project.py); generation profiles the generator
itself (eager, no_grad) in each precision. Writes benchmarks/results/profile-<machine>.md.
"""

from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch  # noqa: E402
from torch.profiler import ProfilerActivity, profile  # noqa: E402

from _data import sample_order, synthetic_clip  # noqa: E402
from _project import make_project_trainer  # noqa: E402
from _recipes import recipe  # noqa: E402
from bench_suite import RESULTS, family_generator, machine_info, result_name  # noqa: E402


def top_table(prof, n: int) -> tuple[str, float]:
    events = [e for e in prof.key_averages() if e.self_cpu_time_total > 0]
    total = sum(e.self_cpu_time_total for e in events)
    events.sort(key=lambda e: e.self_cpu_time_total, reverse=True)
    lines = ["| op | self CPU ms | share | calls |", "|---|---|---|---|"]
    for e in events[:n]:
        lines.append(f"| `{e.key}` | {e.self_cpu_time_total / 1000:.1f} | {100 * e.self_cpu_time_total / total:.1f}% | "
                     f"{e.count} |")
    return "\n".join(lines), total / 1000


def profile_training(name: str, size, precision: str, steps: int, top: int, **over) -> str:
    train = recipe(name)
    clip = synthetic_clip(24, size)
    t = make_project_trainer(train, clip, precision, **over)
    order = sample_order(t.n_samples, steps + 2, int(train["batch_size"]), 0)
    for idx in order[:2]:
        t.step(idx)  # warm-up
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for idx in order[2:]:
            t.step(idx)
    table, total = top_table(prof, top)
    t.close()
    extra = "".join(f" {k}={v}" for k, v in over.items())
    return (f"### training `{name}` {size[0]}x{size[1]}, precision {precision} -> {t.precision}{extra}: "
            f"{steps} steps, {total / steps:.0f} ms of op self-time per step\n\n{table}\n")


def profile_generation(family: str, size, precision: str, frames: int, top: int, channels_last: bool = False) -> str:
    _, g = family_generator(family, size, tiny=False)
    g = copy.deepcopy(g).eval()
    labels = synthetic_clip(frames, size, 1).labels.float() / 127.5 - 1
    if channels_last:
        g = g.to(memory_format=torch.channels_last)
    dtype = {"fp32": None, "bf16": torch.bfloat16}[precision]

    def run():
        prev = None
        for i in range(frames):
            x = labels[i : i + 1]
            if channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            with torch.autocast("cpu", dtype=dtype or torch.bfloat16, enabled=dtype is not None):
                if family == "edn":
                    prev = g(x, prev, None).float()
                elif family == "pix2pixhd":
                    g(x)
                else:
                    g(torch.stack([x] * g.n_frames_G, 1), None if prev is None else torch.stack([prev] * (g.n_frames_G - 1), 1))
                    prev = x[:, :3]

    with torch.no_grad():
        run()
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            run()
    table, total = top_table(prof, top)
    return (f"### generation `{family}` {size[0]}x{size[1]}, {precision}{' channels_last' if channels_last else ''}: "
            f"{frames} frames, {total / frames:.0f} ms of op self-time per frame\n\n{table}\n")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--recipe", default="default")
    ap.add_argument("--size", default="256x128")
    ap.add_argument("--precisions", nargs="+", default=["fp32", "bf16"])
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--frames", type=int, default=10)
    ap.add_argument("--top", type=int, default=15)
    ap.add_argument("--families", nargs="*", default=["edn"])
    ap.add_argument("--threads", type=int, default=None, help="torch threads (1 on a busy machine)")
    ap.add_argument("--no-training", action="store_true")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    size = tuple(int(v) for v in args.size.split("x"))
    parts = [f"# Profiles on {machine_info('cpu')['cpu_model']} ({torch.get_num_threads()} threads, torch "
             f"{torch.__version__})\n"]
    for p in [] if args.no_training else args.precisions:
        parts.append(profile_training(args.recipe, size, p, args.steps, args.top))
        print(parts[-1], flush=True)  # noqa: T201
    for fam in args.families:
        for p in args.precisions:
            parts.append(profile_generation(fam, size, p, args.frames, args.top))
            print(parts[-1], flush=True)  # noqa: T201
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"profile-{result_name(machine_info('cpu'))}.md"
    out.write_text("\n".join(parts))
    print(f"wrote {out}")  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main())
