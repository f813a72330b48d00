"""The data contract shared by the pipelines: table columns, archive member names, resizing rules.

One place for the names and conventions that several pipelines read and write (see
``docs/architecture.md``), so they cannot drift apart.
"""

from __future__ import annotations

import cv2
import numpy as np
import pandas as pd

FACE_BOX = ["face_x0", "face_y0", "face_x1", "face_y1"]
PERSON_BOX = ["person_x0", "person_y0", "person_x1", "person_y1"]
BOX_COLUMNS = FACE_BOX + PERSON_BOX
"""Per-frame boxes in ``label_frames`` / ``dataset_frames``: pixels, ``x1``/``y1`` exclusive, NaN when absent."""


def frame_member(kind: str, frame: int) -> str:
    """Member of the dataset archive: ``label/000012``, ``image/...``, ``flow/...``, ``valid/...``."""
    return f"{kind}/{int(frame):06d}"


def target_video(frame_index: pd.DataFrame) -> str:
    """Name of the target video in ``frame_index``."""
    target = frame_index.loc[frame_index["role"] == "target", "video"]
    if target.empty:
        raise ValueError("frame_index has no target video; run the ingest pipeline first")
    return str(target.iloc[0])


def resize_image(img: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize to ``size=(width, height)`` (area when shrinking), keeping every channel."""
    if (img.shape[1], img.shape[0]) == tuple(size):
        return img
    interp = cv2.INTER_AREA if img.shape[1] > size[0] else cv2.INTER_LINEAR
    out = cv2.resize(img, tuple(int(v) for v in size), interpolation=interp)
    return out.reshape(size[1], size[0], *img.shape[2:])


def resize_flow(flow: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize an ``(H, W, 2)`` flow and scale its vectors with the image."""
    h, w = flow.shape[:2]
    if (w, h) == tuple(size):
        return flow
    return resize_image(flow.astype(np.float32), size) * np.array([size[0] / w, size[1] / h], np.float32)


def resize_valid(valid: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize a validity mask (bool or 0/255); a pixel stays valid only if everything under it was."""
    if (valid.shape[1], valid.shape[0]) == tuple(size):
        return valid > 0 if valid.dtype != bool else valid
    return resize_image((valid > 0).astype(np.uint8) * 255, size) > 254
