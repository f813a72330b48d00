"""The flow backend protocol and the frame check every backend runs first (no backend imports)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class FlowBackend(Protocol):
    """Anything that turns a list of frames into ``(forward, backward)`` pair flows."""

    def flow_pairs(self, frames: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]: ...


def check_frames(frames: Sequence[np.ndarray]) -> tuple[int, int]:
    """Validate a frame sequence (>= 2 RGB uint8 ``(H, W, 3)`` images of one size); return ``(H, W)``."""
    if len(frames) < 2:
        raise ValueError(f"optical flow needs at least 2 frames, got {len(frames)}")
    h, w = frames[0].shape[:2]
    for i, f in enumerate(frames):
        if f.dtype != np.uint8 or f.ndim != 3 or f.shape[2] != 3:
            raise ValueError(f"frame {i}: expected an RGB uint8 (H, W, 3) image, got {f.dtype} {f.shape}")
        if f.shape[:2] != (h, w):
            raise ValueError(
                f"frame {i} is {f.shape[1]}x{f.shape[0]} but frame 0 is {w}x{h}; resize all "
                "frames to one size before computing flow"
            )
    return h, w
