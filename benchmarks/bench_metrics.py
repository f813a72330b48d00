"""Time the per-frame evaluation metrics on CPU and print sample values.

Uses the first frames of ../shared/data/edn_subject4/target_train.mp4 when present (real
footage, read in place), synthetic noise otherwise. LPIPS/Inception run with random
weights: the timings are real, their values are not.

    .venv/bin/python benchmarks/bench_metrics.py [--size 512 256] [--frames 12]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from v2v_pipeline.metrics import (
    LPIPS,
    InceptionFeatureExtractor,
    farneback_flow,
    images_to_tensor,
    psnr,
    ssim,
    ssim_torch,
    tof,
    warping_error,
)

from _footage import SUBJECT4, subject4_frames  # noqa: E402 (benchmarks/ is on sys.path when run as a script)



def load_frames(n: int, size: tuple[int, int]) -> tuple[list[np.ndarray], str]:
    frames = subject4_frames(n, size)
    if frames is not None:
        return frames, f"{SUBJECT4.name} (first {n} frames)"
    rng = np.random.default_rng(0)
    return [rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8) for _ in range(n)], "synthetic noise"


def timed(label: str, fn, reps: int) -> object:
    t = time.perf_counter()
    for _ in range(reps):
        out = fn()
    print(f"{label:<40s} {1000 * (time.perf_counter() - t) / reps:8.1f} ms")
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, nargs=2, default=[512, 256], metavar=("W", "H"))
    ap.add_argument("--frames", type=int, default=12)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    if args.frames < 6:
        ap.error("--frames must be at least 6 (tOF compares motion over interior frames)")
    torch.set_num_threads(args.threads)
    frames, src = load_frames(args.frames, tuple(args.size))
    a, b = frames[0], frames[1]
    print(f"data: {src}, size {args.size[0]}x{args.size[1]}, torch threads {args.threads}")
    print(f"consecutive real frames: SSIM {ssim(a, b):.4f}, PSNR {psnr(a, b):.2f} dB")

    timed("ssim (numpy/OpenCV, per frame)", lambda: ssim(a, b), 5)
    timed("psnr (per frame)", lambda: psnr(a, b), 5)
    n = min(8, len(frames) - 1)  # pairs of consecutive frames in one batch
    x, y = images_to_tensor(np.stack(frames[:n])), images_to_tensor(np.stack(frames[1 : n + 1]))
    with torch.no_grad():
        timed(f"ssim_torch (batch of {n}, float32)", lambda: ssim_torch(x, y), 3)
        lp = LPIPS("alex")
        timed(f"LPIPS alex (batch of {n})", lambda: lp(x, y), 3)
        inc = InceptionFeatureExtractor()
        timed(f"Inception pool3 (batch of {n})", lambda: inc(x), 1)
    flows = timed("Farneback flow (per pair)", lambda: farneback_flow(b, a), 3)
    print(f"  median |flow| between consecutive real frames: {np.median(np.linalg.norm(flows, axis=-1)):.2f} px")
    back = [farneback_flow(frames[i + 1], frames[i]) for i in range(len(frames) - 1)]
    we = timed("warping error (whole sequence)", lambda: warping_error(frames, back), 1)
    print(f"  warping error of real frames with Farneback backward flow: {we.mean:.2f} (0..255)")
    lagged = [frames[0], *frames[:-1]]  # a 'generated' video one frame late
    t = timed("tOF (whole sequence)", lambda: tof(lagged, frames), 1)
    print(f"  tOF of the one-frame-late copy vs real: {t.mean:.3f} px")


if __name__ == "__main__":
    main()
