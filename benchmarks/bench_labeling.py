"""Labeling throughput (frames/s): MediaPipe pose with and without segmentation, in parallel chunks
(``label.workers``), and rendering.

Uses the edn_subject4 video from ../shared/data when present (or ``--video``), else synthetic frames
(MediaPipe then finds nobody, so its numbers are only a lower bound on the work). The chunked rows
say how far their labels are from one worker's. Example:

    .venv/bin/python benchmarks/bench_labeling.py --frames 200 --size 512x256 --workers 1 2
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from v2v_pipeline.labels import render as R
from v2v_pipeline.labels.chunks import label_in_chunks
from v2v_pipeline.labels.mediapipe_backend import MediaPipeBackend, MediaPipeConfig
from v2v_pipeline.video.io import fit_to_size, iter_frames

from _footage import subject4_frames  # noqa: E402 (benchmarks/ is on sys.path when run as a script)


def out(line: str) -> None:
    print(line, flush=True)  # noqa: T201


def load_frames(n: int, size: tuple[int, int], video: str | None = None) -> tuple[list[np.ndarray], str]:
    if video:
        frames = []
        for frame in iter_frames(video):
            frames.append(fit_to_size(frame.image, size))
            if len(frames) == n:
                break
        return frames, f"{os.path.basename(video)} ({len(frames)} frames)"
    frames = subject4_frames(n, size)
    if frames is not None:
        return frames, f"edn_subject4 ({len(frames)} frames)"
    rng = np.random.default_rng(0)
    base = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    return [np.roll(base, 3 * i, axis=1) for i in range(n)], f"synthetic ({n} frames, no person)"


def timed(fn, n: int) -> float:
    start = time.perf_counter()
    fn()
    return n / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--size", default="512x256", help="WIDTHxHEIGHT")
    parser.add_argument("--threads", type=int, default=1, help="OpenCV threads (MediaPipe manages its own)")
    parser.add_argument("--video", help="label this video instead of edn_subject4")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2],
                        help="label.workers values to time (pose + segmentation; 1 = sequential)")
    parser.add_argument("--seam-overlap", type=int, default=15, help="label.seam_overlap")
    args = parser.parse_args()
    size = tuple(int(v) for v in args.size.lower().split("x"))
    import cv2

    cv2.setNumThreads(args.threads)
    frames, source = load_frames(args.frames, size, args.video)
    n = len(frames)
    out(f"labeling throughput at {size[0]}x{size[1]} on {source}, {os.cpu_count()} CPU cores")
    rows = []
    for seg in (True, False):
        with MediaPipeBackend(enable_segmentation=seg) as backend:
            backend.process(frames[:5])  # model load and warm-up
            backend.reset()
            result = {}
            fps = timed(lambda: result.setdefault("seq", backend.process(frames)), n)
        rows.append((f"MediaPipe pose{' + segmentation' if seg else ''}", fps))
    chunked = {}
    for workers in args.workers:
        cfg = MediaPipeConfig()
        with MediaPipeBackend(cfg) as backend:  # model files into the page cache, as above
            backend.process(frames[:5])
        fps = timed(lambda w=workers, c=cfg: chunked.setdefault(w, label_in_chunks(
            frames, lambda: MediaPipeBackend(c), w, args.seam_overlap)), n)
        rows.append((f"MediaPipe pose + segmentation, label.workers {workers}", fps))
    notes = []
    if 1 in chunked:
        ref = chunked[1][0]
        for workers, (seq, report) in chunked.items():
            if workers == 1:
                continue
            both = (seq.keypoints[..., 2] > 0) & (ref.keypoints[..., 2] > 0)
            d = np.where(both, np.abs(seq.keypoints[..., :2] - ref.keypoints[..., :2]).max(-1), 0).max(1)
            masks = np.abs(seq.masks.astype(np.int16) - ref.masks).mean() if seq.masks is not None else float("nan")
            notes.append(f"label.workers {workers} vs 1: {report.workers} chunks, hand-overs at "
                         f"{sorted(report.handovers.values()) or '-'}, carried on at {report.carried_on or '-'}; "
                         f"frames found differ on {int((seq.found != ref.found).sum())}; largest joint difference "
                         f"per frame: mean {d.mean():.2f} px, 95th percentile {np.percentile(d, 95):.2f}, max "
                         f"{d.max():.1f}; person masks mean |diff| {masks:.2f} of 255")
    keypoints = result["seq"].keypoints
    if not result["seq"].found.any():  # synthetic frames: render a plausible skeleton instead
        keypoints = np.tile(
            np.array([[size[0] / 2, size[1] * (0.2 + 0.03 * j), 0.9] for j in range(25)], np.float32), (n, 1, 1)
        )
    render_cases = {
        "render EDN style (default, 2x supersampled)": {},
        "render EDN canvas 1920x1080 + Lanczos (exact EDN)": {
            "canvas_size": R.EDN_CANVAS,
            "supersample": None,
            "resample": "lanczos",
        },
        "render OpenPose BODY_25 style": {"style": "openpose"},
        "render limb masks (one-hot channels)": None,
    }
    for name, kw in render_cases.items():
        if kw is None:
            fn = lambda k: R.render_limb_masks(k, size)  # noqa: E731
        else:
            fn = lambda k, kw=kw: R.render_pose(k, size, **kw)  # noqa: E731
        rows.append((name, timed(lambda fn=fn: [fn(k) is None for k in keypoints], n)))  # results are discarded
    width = max(len(r[0]) for r in rows)
    out(f"{'stage'.ljust(width)} | frames/s")
    out(f"{'-' * width}-+---------")
    for name, fps in rows:
        out(f"{name.ljust(width)} | {fps:8.1f}")
    for note in notes:
        out(note)


if __name__ == "__main__":
    main()
