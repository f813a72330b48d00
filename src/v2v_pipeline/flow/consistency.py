"""Forward-backward consistency: which pixels have a trustworthy flow.

Convention (``docs/architecture.md``): for pair *i*, ``forward[i]`` maps frame *i* to *i+1*,
``backward[i]`` maps frame *i+1* to *i*, and ``valid[i]`` marks the pixels **of frame i+1**
whose content is also visible in frame *i*. Those are the pixels where
``warp_image(frames[i], backward[i])`` reproduces frame *i+1*, i.e. where warping losses and
warping-error metrics may be evaluated.

For a pixel ``x`` of frame *i+1*, ``b = backward[i](x)`` points to ``x + b`` in frame *i*;
following the forward flow from there, ``f = forward[i](x + b)`` (the forward flow *warped by
the backward flow*), must come back to ``x``: ``b + f ~ 0``. The test of Sundaram, Brox and
Keutzer (ECCV 2010) accepts the pixel when

    |b + f|^2 < alpha * (|b|^2 + |f|^2) + beta,       alpha = 0.01, beta = 0.5 px^2,

and additionally we require ``x + b`` to land inside frame *i*. Pixels of frame *i+1* that
were hidden in frame *i* (disocclusions) fail the test because the forward flow at ``x + b``
belongs to the occluding surface.
"""

from __future__ import annotations

import numpy as np

from v2v_pipeline.flow.warp import warp_image


def flow_consistency(
    flow: np.ndarray, reverse: np.ndarray, alpha: float = 0.01, beta: float = 0.5
) -> tuple[np.ndarray, np.ndarray]:
    """Consistency of one ``(H, W, 2)`` ``flow`` (image A -> B) with ``reverse`` (B -> A).

    Returns ``(valid, confidence)`` on the pixels of image A: ``valid`` is bool ``(H, W)``;
    ``confidence`` is float32 in ``[0, 1]``, ``1 - err / bound`` clipped (1 = perfect
    round trip, 0 wherever ``valid`` is False).
    """
    if flow.shape != reverse.shape or flow.ndim != 3 or flow.shape[2] != 2:
        raise ValueError(f"expected two (H, W, 2) flows, got {flow.shape} and {reverse.shape}")
    h, w = flow.shape[:2]
    flow = flow.astype(np.float32, copy=False)
    back = warp_image(reverse.astype(np.float32, copy=False), flow)  # reverse at x + flow(x)
    err = np.sum((flow + back) ** 2, axis=-1)
    bound = alpha * (np.sum(flow**2, axis=-1) + np.sum(back**2, axis=-1)) + beta
    ratio = err / bound
    xs = np.arange(w, dtype=np.float32)[None, :] + flow[..., 0]
    ys = np.arange(h, dtype=np.float32)[:, None] + flow[..., 1]
    inside = (xs >= 0) & (xs <= w - 1) & (ys >= 0) & (ys <= h - 1)
    valid = (ratio < 1.0) & inside
    confidence = np.where(inside, np.clip(1.0 - ratio, 0.0, 1.0), 0.0).astype(np.float32)
    return valid, confidence


def consistency_mask(
    forward: np.ndarray, backward: np.ndarray, alpha: float = 0.01, beta: float = 0.5
) -> tuple[np.ndarray, np.ndarray]:
    """``valid[i]`` and ``confidence[i]`` on the pixels of frame *i+1* for each pair.

    Args:
        forward, backward: ``(N-1, H, W, 2)`` (or a single ``(H, W, 2)``) pair flows as
            returned by :func:`~v2v_pipeline.flow.dis.compute_flow_pairs`.
        alpha, beta: Sundaram et al. thresholds (relative, and absolute in px^2).

    Returns:
        ``valid`` bool and ``confidence`` float32 in ``[0, 1]``, shape ``(N-1, H, W)``
        (``(H, W)`` for single flows).
    """
    if forward.shape != backward.shape:
        raise ValueError(f"forward {forward.shape} and backward {backward.shape} differ")
    if forward.ndim == 3:
        return flow_consistency(backward, forward, alpha, beta)
    results = [flow_consistency(b, f, alpha, beta) for f, b in zip(forward, backward, strict=True)]
    return np.stack([r[0] for r in results]), np.stack([r[1] for r in results])
