"""Shared fixtures of the labeling tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.conftest import SHARED_DATA, shared_file

DATA = SHARED_DATA


def require(path: Path) -> Path:
    """Skip the calling test when a file under ../shared/data is absent."""
    return shared_file(*path.relative_to(SHARED_DATA).parts)


def decode_video(path: Path, size: tuple[int, int] | None = None, stop: int | None = None) -> list[np.ndarray]:
    """The first ``stop`` (default: all) frames of a video as RGB uint8, optionally resized by the decoder."""
    av = pytest.importorskip("av")
    kw = {} if size is None else {"width": size[0], "height": size[1]}
    frames = []
    with av.open(str(path)) as container:
        for f in container.decode(video=0):
            if stop is not None and len(frames) == stop:
                break
            frames.append(f.to_ndarray(format="rgb24", **kw))
    return frames


def frontal_person(scale: float = 1.0, offset: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """A synthetic BODY_25 skeleton facing the camera (person's right on the image's left)."""
    pts = {
        "Nose": (100, 40), "Neck": (100, 70), "RShoulder": (80, 70), "RElbow": (70, 100),
        "RWrist": (65, 130), "LShoulder": (120, 70), "LElbow": (130, 100), "LWrist": (135, 130),
        "MidHip": (100, 140), "RHip": (88, 140), "RKnee": (86, 185), "RAnkle": (85, 230),
        "LHip": (112, 140), "LKnee": (114, 185), "LAnkle": (115, 230), "REye": (95, 35),
        "LEye": (105, 35), "REar": (90, 38), "LEar": (110, 38), "LBigToe": (122, 238),
        "LSmallToe": (126, 236), "LHeel": (113, 235), "RBigToe": (78, 238), "RSmallToe": (74, 236),
        "RHeel": (87, 235),
    }  # fmt: skip
    from v2v_pipeline.labels.skeleton import BODY_25

    kp = np.array([[*pts[n], 0.9] for n in BODY_25], np.float32)
    kp[:, :2] = kp[:, :2] * scale + np.array(offset, np.float32)
    return kp
