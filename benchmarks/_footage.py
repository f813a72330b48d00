"""The real footage the benchmarks time on when ../shared/data is present (read in place, never copied)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from v2v_pipeline.video.io import fit_to_size, iter_frames

SUBJECT4 = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "edn_subject4" / "target_train.mp4"


def subject4_frames(n: int, size: tuple[int, int]) -> list[np.ndarray] | None:
    """The first ``n`` frames of the EDN subject-4 video at ``size`` (RGB uint8); None when it is absent."""
    if not SUBJECT4.is_file():
        return None
    frames = []
    for frame in iter_frames(SUBJECT4):
        frames.append(fit_to_size(frame.image, size))
        if len(frames) == n:
            break
    return frames
