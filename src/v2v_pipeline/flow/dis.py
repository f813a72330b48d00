"""Classical optical flow with OpenCV's Dense Inverse Search (DIS), and the pair driver.

DIS (Kroeger et al., ECCV 2016) runs on grayscale images on the CPU, needs no weights and
is deterministic (the same frames give bit-identical flow, whatever ``cv2.setNumThreads``
says), which makes it the offline default of the project.

:func:`compute_flow_pairs` is the entry point for every backend: it returns, for frames
``0..N-1``, ``forward[i]`` (frame ``i`` -> ``i+1``) and ``backward[i]`` (frame ``i+1`` -> ``i``),
both ``(N-1, H, W, 2)`` float32 ``(dx, dy)`` in pixels (see ``docs/architecture.md``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import cv2
import numpy as np

DIS_PRESETS: dict[str, int] = {
    "ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
    "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
    "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM,
}


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


def make_backend(name: str, **options) -> FlowBackend:
    """Build a backend by name: ``"dis"`` (options of :class:`DISFlow`) or ``"raft"``
    (options of :meth:`v2v_pipeline.flow.raft.RAFTFlow.from_weights`, ``weights_path`` required)."""
    if name == "dis":
        return DISFlow(**options)
    if name == "raft":
        from v2v_pipeline.flow.raft import RAFTFlow  # torch-only import kept lazy

        return RAFTFlow.from_weights(**options)
    raise ValueError(f"unknown flow backend {name!r}; choose 'dis' or 'raft'")


def compute_flow_pairs(
    frames: Sequence[np.ndarray], backend: str | FlowBackend = "dis", **options
) -> tuple[np.ndarray, np.ndarray]:
    """Forward and backward flow between consecutive frames.

    Args:
        frames: ``N >= 2`` RGB uint8 images ``(H, W, 3)`` of one size.
        backend: a :class:`FlowBackend` instance, or a name for :func:`make_backend`
            (``options`` are passed to it).

    Returns:
        ``forward, backward``, each ``(N-1, H, W, 2)`` float32: ``forward[i]`` maps frame ``i``
        to ``i+1``, ``backward[i]`` maps frame ``i+1`` to ``i``, so
        ``warp_image(frames[i], backward[i]) ~ frames[i+1]``.

    For long videos call it on chunks that overlap by one frame; the result holds
    ``16 * (N-1) * H * W`` bytes (2 MiB per pair at 512x256).
    """
    if isinstance(backend, str):
        backend = make_backend(backend, **options)
    elif options:
        raise TypeError(f"options {sorted(options)} are only accepted with a backend name")
    forward, backward = backend.flow_pairs(frames)
    return forward, backward
