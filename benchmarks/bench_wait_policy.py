"""Training beside a busy process: OpenMP's default wait policy against OMP_WAIT_POLICY=PASSIVE.

    .venv/bin/python benchmarks/bench_wait_policy.py                    # default recipe, 256x128, 2 rounds
    .venv/bin/python benchmarks/bench_wait_policy.py --rounds 3 --threads 1 2 --neighbour spin
    .venv/bin/python benchmarks/bench_wait_policy.py --quick            # smoke test: tiny network, seconds

Each measurement is a pair of processes started together: a *neighbour* that keeps the CPUs busy
(``torch``: a torch process doing matrix products on every CPU with its own default threads, as
another training or test run would; ``spin``: one pure-Python busy loop per CPU) and a *worker* that
trains the project's path (``benchmarks/_project.py``, ``--precision``) for ``--steps`` steps after
``--warmup`` steps and reports its steps per second of wall time. The worker's environment is set
before it imports torch (a fresh interpreter): ``OMP_WAIT_POLICY`` unset (libgomp's default: threads
spin a while before sleeping) or ``PASSIVE`` (they sleep at once). The neighbour keeps the caller's
environment, because a neighbour is someone else's process. Policies alternate within each round, so
a change in the load hits both alike; ``--quiet`` also measures the worker alone.

Prints a table (and writes benchmarks/results/wait-policy-<machine>.json and .md). The numbers
mean something only on a machine where nothing else runs besides the pair.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
POLICIES = ("default", "PASSIVE")


def say(line: str = "") -> None:
    print(line, flush=True)  # noqa: T201


def worker_env(policy: str, threads: int | None, base: dict[str, str] | None = None) -> dict[str, str]:
    """The worker's environment: ``OMP_WAIT_POLICY`` unset (default) or set, and its thread count."""
    env = dict(os.environ if base is None else base)
    env.pop("OMP_WAIT_POLICY", None)
    if policy != "default":
        env["OMP_WAIT_POLICY"] = policy
    if threads is not None:
        env["OMP_NUM_THREADS"] = str(threads)
    env.setdefault("KEDRO_DISABLE_TELEMETRY", "true")
    return env


# ----------------------------------------------------------------------------- child processes
def run_worker(args: argparse.Namespace) -> int:
    """In the child: train and print one JSON line (torch is imported here, after the environment is set)."""
    sys.path.insert(0, str(HERE))
    import torch

    from _data import sample_order, synthetic_clip
    from _project import make_project_trainer
    from _recipes import quick, recipe

    if args.threads:  # the parent passes one value (``--threads N``); the option takes a list
        torch.set_num_threads(args.threads[0])
    train = recipe(args.recipe)
    if args.tiny:
        train = quick(train)
    size = tuple(int(v) for v in args.size.lower().split("x"))
    clip = synthetic_clip(max(24, int(train["sequence_length"]) + 8), size, 0)
    trainer = make_project_trainer(train, clip, args.precision, "cpu", 0)
    order = sample_order(trainer.n_samples, args.warmup + args.steps, int(train["batch_size"]), 0)
    for idx in order[: args.warmup]:
        trainer.step(idx)
    t0 = time.perf_counter()
    for idx in order[args.warmup :]:
        trainer.step(idx)
    wall = time.perf_counter() - t0
    trainer.close()
    print(json.dumps({"steps": args.steps, "wall_s": wall, "steps_per_s": args.steps / wall,  # noqa: T201
                      "threads": torch.get_num_threads(), "precision": trainer.precision,
                      "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "default")}), flush=True)
    return 0


def run_neighbour(kind: str, seconds: float) -> int:
    """In the child: keep every CPU busy for ``seconds`` (or until killed)."""
    end = time.monotonic() + seconds
    if kind == "spin":
        import multiprocessing as mp

        procs = [mp.Process(target=_spin, args=(end,)) for _ in range(os.cpu_count() or 1)]
        for p in procs:
            p.start()
        for p in procs:
            p.join()
        return 0
    import torch

    a = torch.randn(512, 512)
    while time.monotonic() < end:
        a = torch.tanh(a @ a)
    return 0


def _spin(end: float) -> None:
    x = 0
    while time.monotonic() < end:
        x += 1


# ----------------------------------------------------------------------------- the pairs
def measure(args: argparse.Namespace, policy: str, threads: int | None, neighbour: str | None) -> dict[str, Any]:
    """One worker run (with a neighbour started just before it, unless ``neighbour`` is None)."""
    me = [sys.executable, str(Path(__file__).resolve())]
    near = None
    if neighbour is not None:
        # its own process group, so that killing it also ends the spin loops it forked
        near = subprocess.Popen(me + ["--_neighbour", neighbour, "--_seconds", str(args.max_seconds)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        time.sleep(args.neighbour_head_start)
    cmd = me + ["--_worker", "--recipe", args.recipe, "--size", args.size, "--precision", args.precision,
                "--steps", str(args.steps), "--warmup", str(args.warmup)] + (["--tiny"] if args.tiny else []) \
        + (["--threads", str(threads)] if threads else [])
    try:
        proc = subprocess.run(cmd, env=worker_env(policy, threads), capture_output=True, text=True,
                              timeout=args.max_seconds)
    finally:
        if near is not None:
            try:
                os.killpg(near.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            near.wait()
    if proc.returncode != 0:
        raise SystemExit(f"worker failed ({policy}, threads {threads}):\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def markdown(res: dict[str, Any]) -> str:
    c = res["config"]
    lines = [f"# Training beside a busy process: OMP_WAIT_POLICY ({res['cpu']})", "",
             f"- recipe {c['recipe']} at {c['size']}{' (tiny network)' if c['tiny'] else ''}, precision "
             f"{c['precision']}, {c['steps']} timed steps after {c['warmup']}, {c['rounds']} round(s); "
             f"neighbour: {c['neighbour']}; wall clock", "",
             "| neighbour | torch threads | OMP_WAIT_POLICY | steps/s per round | median | vs default |",
             "|---|---|---|---|---|---|"]
    for row in res["rows"]:
        runs = ", ".join(f"{v:.3f}" for v in row["steps_per_s"])
        ratio = row.get("ratio_vs_default")
        lines.append(f"| {row['neighbour']} | {row['threads']} | {row['policy']} | {runs} | {row['median']:.3f} | "
                     f"{'' if ratio is None else f'{ratio:.2f}x'} |")
    lines += ["", "vs default: median steps/s over the median of the same neighbour and threads with the default "
                  "policy. Meaningful only when nothing else shares the machine.", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--recipe", default="default")
    ap.add_argument("--size", default=None, help="WIDTHxHEIGHT (default 256x128; --quick 64x32)")
    ap.add_argument("--precision", default="auto")
    ap.add_argument("--steps", type=int, default=None, help="timed steps per run (default 20; --quick 2)")
    ap.add_argument("--warmup", type=int, default=None, help="untimed steps first (default 3; --quick 1)")
    ap.add_argument("--rounds", type=int, default=None, help="rounds of (default, PASSIVE) (default 2; --quick 1)")
    ap.add_argument("--threads", type=int, nargs="+", default=None,
                    help="worker torch threads to try (default: torch's default, i.e. one per CPU)")
    ap.add_argument("--neighbour", choices=["torch", "spin"], default="torch")
    ap.add_argument("--quiet", action="store_true", help="also measure the worker with no neighbour")
    ap.add_argument("--quick", action="store_true", help="smoke test: tiny network, 64x32, a couple of steps")
    ap.add_argument("--max-seconds", type=float, default=1800.0, help="per worker run (the neighbour's life too)")
    ap.add_argument("--neighbour-head-start", type=float, default=1.0, help="seconds the neighbour runs first")
    ap.add_argument("--out", default=str(RESULTS))
    ap.add_argument("--tiny", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--_worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--_neighbour", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--_seconds", type=float, default=60.0, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args._neighbour:
        return run_neighbour(args._neighbour, args._seconds)
    q = args.quick
    args.size = args.size or ("64x32" if q else "256x128")
    args.steps = args.steps or (2 if q else 20)
    args.warmup = args.warmup if args.warmup is not None else (1 if q else 3)
    args.tiny = args.tiny or q
    if args._worker:
        return run_worker(args)
    rounds = args.rounds or (1 if q else 2)
    neighbours: list[str | None] = [args.neighbour] + ([None] if args.quiet else [])
    runs: dict[tuple, list[float]] = {}
    for r in range(rounds):
        for neighbour in neighbours:
            for threads in args.threads or [None]:
                # alternate which policy goes first, so that a drift in the load hits both alike
                for policy in (POLICIES if r % 2 == 0 else POLICIES[::-1]):
                    out = measure(args, policy, threads, neighbour)
                    key = (neighbour or "none", out["threads"], policy)
                    runs.setdefault(key, []).append(out["steps_per_s"])
                    say(f"round {r + 1}: neighbour {key[0]}, {key[1]} thread(s), {policy}: "
                        f"{out['steps_per_s']:.3f} steps/s ({out['precision']})")
    rows = []
    for (neighbour, threads, policy), v in runs.items():
        rows.append({"neighbour": neighbour, "threads": threads, "policy": policy, "steps_per_s": v,
                     "median": float(statistics.median(v))})
    for row in rows:
        ref = next((x for x in rows if (x["neighbour"], x["threads"], x["policy"]) ==
                    (row["neighbour"], row["threads"], "default")), None)
        if ref is not None and row["policy"] != "default":
            row["ratio_vs_default"] = row["median"] / ref["median"]
    sys.path.insert(0, str(HERE))
    from bench_suite import machine_info, result_name, write_results  # imports torch here, in the parent only

    info = machine_info("cpu")
    res = {"cpu": info["cpu_model"], "machine": info, "rows": rows,
           "config": {"recipe": args.recipe, "size": args.size, "precision": args.precision, "steps": args.steps,
                      "warmup": args.warmup, "rounds": rounds, "neighbour": args.neighbour, "tiny": args.tiny,
                      "threads": args.threads, "quick": q}}
    md = markdown(res)
    write_results(Path(args.out), f"wait-policy-{result_name(info)}" + ("-quick" if q else ""), res, md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
