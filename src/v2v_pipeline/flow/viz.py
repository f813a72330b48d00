"""Middlebury colour-wheel visualisation of optical flow (Baker et al., IJCV 2011).

Hue encodes direction and saturation the magnitude (white = no motion). With image axes
(y down) the wheel gives: right = red, down = yellow-orange, left = cyan-blue,
up = blue-violet.
"""

from __future__ import annotations

import numpy as np

# (length, constant channel, ramped channel, ramp rising?) of the wheel's six hue segments:
# red->yellow, yellow->green, green->cyan, cyan->blue, blue->magenta, magenta->red
_SEGMENTS = (
    (15, 0, 1, True),
    (6, 1, 0, False),
    (4, 1, 2, True),
    (11, 2, 1, False),
    (13, 2, 0, True),
    (6, 0, 2, False),
)


def make_colorwheel() -> np.ndarray:
    """The 55-entry Middlebury colour wheel as float ``(55, 3)`` RGB in ``[0, 255]``."""
    rows = []
    for n, const, ramped, rising in _SEGMENTS:
        seg = np.zeros((n, 3))
        ramp = np.floor(255 * np.arange(n) / n)
        seg[:, const] = 255
        seg[:, ramped] = ramp if rising else 255 - ramp
        rows.append(seg)
    return np.concatenate(rows)


def flow_to_color(flow: np.ndarray, max_flow: float | None = None) -> np.ndarray:
    """RGB uint8 ``(H, W, 3)`` image of a ``(H, W, 2)`` flow.

    Args:
        flow: ``(dx, dy)`` in pixels; non-finite values are drawn as zero flow.
        max_flow: magnitude drawn fully saturated; ``None`` uses the largest magnitude in
            ``flow`` (pass a fixed value to compare frames). Larger magnitudes are drawn
            with the saturated colour darkened to 75 %.
    """
    if flow.ndim != 3 or flow.shape[2] != 2:
        raise ValueError(f"flow_to_color expects an (H, W, 2) flow, got {flow.shape}")
    u, v = (np.nan_to_num(flow[..., k].astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0) for k in (0, 1))
    rad = np.sqrt(u**2 + v**2)
    scale = float(rad.max()) if max_flow is None else float(max_flow)
    scale = max(scale, 1e-9)
    u, v, rad = u / scale, v / scale, rad / scale
    wheel = make_colorwheel()
    ncols = wheel.shape[0]
    angle = np.arctan2(-v, -u) / np.pi  # in [-1, 1]
    fk = (angle + 1) / 2 * (ncols - 1)
    k0 = np.floor(fk).astype(int)
    k1 = (k0 + 1) % ncols
    f = (fk - k0)[..., None]
    col = ((1 - f) * wheel[k0] + f * wheel[k1]) / 255.0
    inside = (rad <= 1)[..., None]
    col = np.where(inside, 1 - rad[..., None] * (1 - col), col * 0.75)
    return np.floor(255 * col).astype(np.uint8)
