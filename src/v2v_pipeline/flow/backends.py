"""The one flow backend factory: a backend by name (``dis`` or ``raft``), or from the ``flow`` config."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import numpy as np

from v2v_pipeline.flow.base import FlowBackend
from v2v_pipeline.flow.config import FlowConfig
from v2v_pipeline.flow.dis import DISFlow

log = logging.getLogger(__name__)


def make_backend(name: str, **options) -> FlowBackend:
    """Build a backend by name: ``"dis"`` (options of :class:`~v2v_pipeline.flow.dis.DISFlow`) or ``"raft"``
    (options of :meth:`v2v_pipeline.flow.raft.RAFTFlow.from_weights`, ``weights_path`` required)."""
    if name == "dis":
        return DISFlow(**options)
    if name == "raft":
        from v2v_pipeline.flow.raft import RAFTFlow  # torch-only import kept lazy

        return RAFTFlow.from_weights(**options)
    raise ValueError(f"unknown flow backend {name!r}; choose 'dis' or 'raft'")


def backend_factory(cfg: FlowConfig) -> Callable[[], FlowBackend]:
    """A function giving the configured backend for each chunk of frames: a fresh DIS (stateless), or one
    RAFT model loaded now, so a missing weights file or GPU fails before any work."""
    if cfg.backend == "raft":
        model = make_backend("raft", **cfg.backend_options())
        log.info("optical flow: RAFT-%s from %s on %s", cfg.raft.variant, cfg.raft.weights, model.device)
        return lambda: model
    log.info("optical flow: classical OpenCV DIS (preset %s), the offline default. For RAFT, put torchvision "
             "RAFT weights at flow.raft.weights and set flow.backend: raft", cfg.dis_preset)
    return lambda: make_backend("dis", **cfg.backend_options())


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
