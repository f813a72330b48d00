"""Wall time of the data pipeline on a demo with several source videos: sequential vs ParallelRunner.

    python benchmarks/bench_parallel_videos.py [--sources 2] [--repeats 1] [--max-frames 40] [--size 128 64]
    make bench-parallel-videos [BENCH_ARGS="--sources 4 --repeats 3"]

A scratch copy of the project's conf (in a temporary folder, removed at the end) gets an
environment ``bench`` whose sources are the demo source clip with different start times (one Kedro
namespace each, see docs/scaling.md). A first, untimed sequential run renders the demo sample and
warms the caches; then each repeat times, in fresh processes as a user runs them,

    kedro run --pipelines=data --env=bench
    kedro run --pipelines=data --env=bench --runner=ParallelRunner

and checks that both runs give the same artifacts (the SHA-256s of the run manifest). Measure on a
quiet machine: other processes on the cores change both figures.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def scratch_project(folder: Path, sources: int, max_frames: int, size: list[int]) -> Path:
    root = folder / "project"
    root.mkdir()
    shutil.copy(ROOT / "pyproject.toml", root)
    shutil.copytree(ROOT / "conf", root / "conf", ignore=shutil.ignore_patterns("local"))
    (root / "conf/local").mkdir()
    (root / "conf/local/mlflow.yml").write_text(f"server:\n  mlflow_tracking_uri: sqlite:///{root / 'mlflow.db'}\n")
    (root / "conf/bench").mkdir()
    specs = [{"name": f"source{i}", "path": "demo:source", "start": round(0.4 * i, 3)} for i in range(sources)]
    (root / "conf/bench/parameters_ingest.yml").write_text(json.dumps(
        {"ingest": {"sources": specs, "max_frames": max_frames, "size": size}}, indent=1))  # JSON is YAML
    (root / "src").mkdir()
    return root


def kedro_run(root: Path, *args: str) -> tuple[float, dict[str, str]]:
    """Wall seconds of one `kedro run` and the SHA-256s of its manifest."""
    runs = root / "data/08_reporting/runs"
    before = set(runs.iterdir()) if runs.is_dir() else set()
    env = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "true"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "kedro", "run", "--pipelines=data", "--env=bench", *args],
                          cwd=root, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode:
        sys.exit(f"kedro run {' '.join(args)} failed:\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}")
    (run,) = set(runs.iterdir()) - before
    manifest = json.loads((run / "manifest_data.json").read_text())
    return seconds, {k: v["sha256"] for k, v in manifest["artifacts"].items()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sources", type=int, default=2, help="source videos (default: %(default)s)")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--max-frames", type=int, default=40, help="frames kept per video (default: %(default)s)")
    parser.add_argument("--size", type=int, nargs=2, default=[128, 64], metavar=("W", "H"))
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="v2v-bench-videos-") as folder:
        root = scratch_project(Path(folder), args.sources, args.max_frames, args.size)
        print(f"{args.sources} sources + target, {args.max_frames} frames each at {args.size[0]}x{args.size[1]}, "
              f"{os.cpu_count()} CPUs; warm-up run ...", flush=True)
        kedro_run(root)
        rows = []
        for i in range(args.repeats):
            seq, seq_hashes = kedro_run(root)
            par, par_hashes = kedro_run(root, "--runner=ParallelRunner")
            same = seq_hashes == par_hashes
            rows.append((seq, par))
            print(f"repeat {i + 1}: sequential {seq:.1f} s, ParallelRunner {par:.1f} s, same artifacts: {same}",
                  flush=True)
            if not same:
                sys.exit("ParallelRunner gave other artifacts than the sequential run")
        best_seq, best_par = min(r[0] for r in rows), min(r[1] for r in rows)
        print(f"best of {args.repeats}: sequential {best_seq:.1f} s, ParallelRunner {best_par:.1f} s "
              f"({best_seq / best_par:.2f}x)")


if __name__ == "__main__":
    main()
