"""Optical-flow throughput per backend at 512x256.

Run from the project root:  .venv/bin/python benchmarks/bench_flow.py [--pairs 20] [--threads 2]

One "pair" is forward + backward flow between two consecutive frames (what
``compute_flow_pairs`` produces per pair). Frames are the first ones of the EDN test
footage when ``../shared/data`` is present, else a synthetic moving texture. RAFT runs with
RANDOM weights (no pretrained weights offline): its timing is real (the cost does not
depend on the weights), its flow is not.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch
from torchvision.models.optical_flow import raft_large, raft_small

from v2v_pipeline.flow import DISFlow, compute_flow_pairs
from v2v_pipeline.flow.raft import RAFTFlow

from _footage import subject4_frames  # noqa: E402 (benchmarks/ is on sys.path when run as a script)

SIZE = (512, 256)


def load_frames(count: int) -> tuple[list[np.ndarray], str]:
    frames = subject4_frames(count, SIZE)
    if frames is not None and len(frames) == count:
        return frames, "EDN subject 4 (first frames)"
    rng = np.random.default_rng(0)
    base = cv2.GaussianBlur(rng.integers(0, 256, (SIZE[1], SIZE[0] + count * 3, 3), dtype=np.uint8), (0, 0), 2)
    return [np.ascontiguousarray(base[:, 3 * i : 3 * i + SIZE[0]]) for i in range(count)], "synthetic"


def time_backend(backend, frames: list[np.ndarray], repeats: int = 1) -> float:
    """Best-of-``repeats`` pairs per second (one warm-up call on two frames first)."""
    compute_flow_pairs(frames[:2], backend)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        compute_flow_pairs(frames, backend)
        best = min(best, time.perf_counter() - start)
    return (len(frames) - 1) / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=20, help="frame pairs for DIS")
    parser.add_argument("--raft-pairs", type=int, default=2, help="frame pairs for RAFT (slow on CPU)")
    parser.add_argument("--threads", type=int, default=2, help="torch and OpenCV threads")
    parser.add_argument("--device", default="cpu", help="device for RAFT (cpu or cuda)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cv2.setNumThreads(args.threads)

    frames, source = load_frames(max(args.pairs, args.raft_pairs) + 1)
    rows = []
    for preset in ("ultrafast", "fast", "medium"):
        rate = time_backend(DISFlow(preset), frames[: args.pairs + 1], repeats=3)
        rows.append((f"DIS {preset}", "cpu", args.pairs, rate, ""))
    with tempfile.TemporaryDirectory() as tmp:
        for name, builder in (("small", raft_small), ("large", raft_large)):
            path = Path(tmp) / f"raft_{name}_random.pth"
            torch.manual_seed(0)
            torch.save(builder(weights=None).state_dict(), path)
            backend = RAFTFlow.from_weights(path, name, device=args.device, batch_size=2, num_flow_updates=12)
            rate = time_backend(backend, frames[: args.raft_pairs + 1])
            rows.append((f"RAFT {name} (12 iters)", args.device, args.raft_pairs, rate, "RANDOM weights: timing only"))

    print(f"flow throughput at {SIZE[0]}x{SIZE[1]}, {args.threads} threads, frames: {source}")
    print(f"{'backend':<22} {'device':<7} {'pairs':>5} {'pairs/s':>9} {'ms/pair':>9}  note")
    for name, device, n, rate, note in rows:
        print(f"{name:<22} {device:<7} {n:>5} {rate:>9.2f} {1000 / rate:>9.1f}  {note}")


if __name__ == "__main__":
    main()
