"""Side-by-side frames for videos and reports: panels scaled to one height, with captions."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

CAPTION_HEIGHT = 16


def fit_height(image: np.ndarray, height: int) -> np.ndarray:
    """``image`` scaled to ``height`` keeping its aspect ratio (gray images become RGB)."""
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    h, w = image.shape[:2]
    if h == height:
        return image
    width = max(1, round(w * height / h))
    interp = cv2.INTER_AREA if height < h else cv2.INTER_LINEAR
    return cv2.resize(image, (width, height), interpolation=interp)


def caption_bar(text: str, width: int, height: int = CAPTION_HEIGHT) -> np.ndarray:
    """A dark strip with ``text`` in white, ``(height, width, 3)``."""
    bar = np.full((height, width, 3), 32, np.uint8)
    scale = (height - 5) / 22
    text_width = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)[0][0]
    scale *= min(1.0, (width - 6) / max(text_width, 1))  # shrink to fit narrow panels
    cv2.putText(bar, text, (3, height - 4), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1, cv2.LINE_AA)
    return bar


def side_by_side(panels: Sequence[np.ndarray], height: int, captions: Sequence[str] | None = None,
                 gap: int = 2) -> np.ndarray:
    """Panels scaled to ``height`` and placed left to right with a ``gap``-pixel black gutter.

    With ``captions`` each panel gets a caption strip on top (the result is taller by
    :data:`CAPTION_HEIGHT`).
    """
    if not panels:
        raise ValueError("side_by_side needs at least one panel")
    if captions is not None and len(captions) != len(panels):
        raise ValueError(f"{len(panels)} panels but {len(captions)} captions")
    row = []
    for i, panel in enumerate(panels):
        panel = np.asarray(panel, np.uint8)
        if panel.ndim == 2:
            panel = np.repeat(panel[..., None], 3, axis=2)
        p = fit_height(panel[..., :3], height)  # label maps with extra (limb) channels show their RGB part
        if captions is not None:
            p = np.concatenate([caption_bar(captions[i], p.shape[1]), p], axis=0)
        if i:
            row.append(np.zeros((p.shape[0], gap, 3), np.uint8))
        row.append(p)
    return np.ascontiguousarray(np.concatenate(row, axis=1))


def error_map(generated: np.ndarray, real: np.ndarray, scale: float = 4.0) -> np.ndarray:
    """Per-pixel absolute error (mean over channels, times ``scale``) as a colour map (RGB uint8)."""
    err = np.abs(generated.astype(np.float32) - real.astype(np.float32)).mean(axis=-1) * scale
    heat = cv2.applyColorMap(np.clip(err, 0, 255).astype(np.uint8), cv2.COLORMAP_INFERNO)
    return cv2.cvtColor(heat, cv2.COLOR_BGR2RGB)
