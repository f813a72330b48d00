"""Classical optical flow with OpenCV's Dense Inverse Search (DIS).

DIS (Kroeger et al., ECCV 2016) runs on grayscale images on the CPU, needs no weights and
is deterministic (the same frames give bit-identical flow, whatever ``cv2.setNumThreads``
says), which makes it the offline default of the project.

:func:`v2v_pipeline.flow.backends.compute_flow_pairs` is the entry point for every backend: it
returns, for frames ``0..N-1``, ``forward[i]`` (frame ``i`` -> ``i+1``) and ``backward[i]``
(frame ``i+1`` -> ``i``), both ``(N-1, H, W, 2)`` float32 ``(dx, dy)`` in pixels (see
``docs/architecture.md``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from v2v_pipeline.flow.base import FlowBackend, check_frames

__all__ = ["DIS_PRESETS", "DISFlow", "FlowBackend", "check_frames"]

DIS_PRESETS: dict[str, int] = {
    "ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
    "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
    "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM,
}


@dataclass
class DISFlow:
    """OpenCV DIS optical flow on grayscale frames.

    Args:
        preset: ``"ultrafast"``, ``"fast"`` or ``"medium"`` (OpenCV presets; medium is the
            most accurate, ultrafast about 3x quicker).
        variational_refinement_iters: iterations of the variational refinement that follows
            the patch search; ``None`` keeps the preset's value (0 for ultrafast, 5 otherwise),
            0 switches it off.
        finest_scale: override the finest pyramid level (0 = full resolution; presets use
            1 or 2); ``None`` keeps the preset's value.
    """

    preset: str = "medium"
    variational_refinement_iters: int | None = None
    finest_scale: int | None = None

    def __post_init__(self) -> None:
        if self.preset not in DIS_PRESETS:
            raise ValueError(f"unknown DIS preset {self.preset!r}; choose one of {sorted(DIS_PRESETS)}")

    def _create(self) -> cv2.DISOpticalFlow:
        dis = cv2.DISOpticalFlow_create(DIS_PRESETS[self.preset])
        if self.variational_refinement_iters is not None:
            dis.setVariationalRefinementIterations(int(self.variational_refinement_iters))
        if self.finest_scale is not None:
            dis.setFinestScale(int(self.finest_scale))
        return dis

    def flow_pairs(self, frames: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        h, w = check_frames(frames)
        gray = [cv2.cvtColor(np.ascontiguousarray(f), cv2.COLOR_RGB2GRAY) for f in frames]
        dis = self._create()  # fresh instance: no state carried over from other calls
        n = len(frames) - 1
        forward = np.empty((n, h, w, 2), np.float32)
        backward = np.empty((n, h, w, 2), np.float32)
        for i in range(n):
            forward[i] = dis.calc(gray[i], gray[i + 1], None)
            backward[i] = dis.calc(gray[i + 1], gray[i], None)
        return forward, backward
