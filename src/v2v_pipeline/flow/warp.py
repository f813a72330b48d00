"""Backward warping with a dense optical flow field.

Convention used everywhere in the project: a flow field ``flow`` of shape
``(H, W, 2)`` (numpy) or ``(N, 2, H, W)`` (torch) holds ``(dx, dy)`` in pixels.
``warp(image, flow)`` samples ``image`` at ``x + flow(x)``, so to bring frame
``t-1`` onto frame ``t`` you pass the flow *from t to t-1* (the backward flow).
"""

from __future__ import annotations

import cv2
import numpy as np
import torch
import torch.nn.functional as F

_GRID_CACHE: dict[tuple, torch.Tensor] = {}


def _base_grid(h: int, w: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    key = (h, w, device, dtype)
    grid = _GRID_CACHE.get(key)
    if grid is None:
        ys, xs = torch.meshgrid(
            torch.arange(h, device=device, dtype=dtype),
            torch.arange(w, device=device, dtype=dtype),
            indexing="ij",
        )
        grid = torch.stack((xs, ys), dim=0)[None]  # 1, 2, H, W
        if len(_GRID_CACHE) > 16:
            _GRID_CACHE.clear()
        _GRID_CACHE[key] = grid
    return grid


def warp(x: torch.Tensor, flow: torch.Tensor, padding_mode: str = "border") -> torch.Tensor:
    """Sample ``x`` (N, C, H, W) at ``p + flow(p)``; ``flow`` is (N, 2, H, W) in pixels.

    Zero flow returns ``x`` unchanged (up to float rounding).
    """
    if x.shape[-2:] != flow.shape[-2:]:
        raise ValueError(f"warp: image {tuple(x.shape)} and flow {tuple(flow.shape)} differ in size")
    n, _, h, w = x.shape
    flow = flow.float()  # float16 cannot hold pixel positions exactly beyond 2048 px
    coords = _base_grid(h, w, flow.device, flow.dtype) + flow
    # normalise to [-1, 1] with align_corners=True: pixel centres at the ends
    gx = coords[:, 0] * (2.0 / max(w - 1, 1)) - 1.0
    gy = coords[:, 1] * (2.0 / max(h - 1, 1)) - 1.0
    grid = torch.stack((gx, gy), dim=-1)
    return F.grid_sample(
        x, grid.to(x.dtype), mode="bilinear", padding_mode=padding_mode, align_corners=True
    )


def warp_image(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """Numpy/OpenCV twin of :func:`warp` for one ``(H, W[, C])`` image and ``(H, W, 2)`` flow."""
    h, w = flow.shape[:2]
    if image.shape[:2] != (h, w):
        raise ValueError(f"warp_image: image {image.shape} and flow {flow.shape} differ in size")
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    map_x = xs + flow[..., 0].astype(np.float32)
    map_y = ys + flow[..., 1].astype(np.float32)
    out = cv2.remap(image, map_x, map_y, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return out.reshape(image.shape)  # cv2 drops a trailing channel axis of size 1


def chain_backward_flows(flows, valids=None) -> tuple[np.ndarray, np.ndarray]:
    """The backward flow from frame ``t`` to frame ``t-k`` chained from ``k`` one-step backward flows.

    ``flows[0]`` is the flow ``t -> t-1`` (``(H, W, 2)``, pixels), ``flows[1]`` ``t-1 -> t-2`` and so
    on; ``valids[i]`` (bool ``(H, W)``, optional) marks the pixels of the frame ``flows[i]`` starts in
    where that flow is reliable. Each step is sampled (bilinear) where the chain has arrived:
    ``F_{t->t-2}(x) = F_{t->t-1}(x) + F_{t-1->t-2}(x + F_{t->t-1}(x))``. A pixel of the result is
    valid when every step is valid along its chain (fully valid neighbourhood) and the chain stays
    inside the frame. Returns ``(flow float32 (H, W, 2), valid bool (H, W))``.
    """
    if len(flows) < 1:
        raise ValueError("chain_backward_flows needs at least one flow")
    if valids is not None and len(valids) != len(flows):
        raise ValueError(f"chain_backward_flows: {len(flows)} flows but {len(valids)} valid masks")
    h, w = flows[0].shape[:2]
    acc = np.asarray(flows[0], np.float32).copy()
    valid = np.ones((h, w), bool) if valids is None else np.asarray(valids[0], bool).copy()
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))

    def inside(f: np.ndarray) -> np.ndarray:
        x, y = xs + f[..., 0], ys + f[..., 1]
        return (x >= 0) & (x <= w - 1) & (y >= 0) & (y <= h - 1)

    for i in range(1, len(flows)):
        valid &= inside(acc)
        if valids is not None:
            valid &= warp_image(np.asarray(valids[i], np.float32), acc) > 0.999
        acc = acc + warp_image(np.asarray(flows[i], np.float32), acc)
    valid &= inside(acc)
    return acc, valid
