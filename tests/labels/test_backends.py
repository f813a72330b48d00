"""Label backends: one registry behind one protocol, driven by label_video with the recorded geometry."""

from __future__ import annotations

import json
import typing

import cv2
import numpy as np
import pandas as pd
import pytest

from v2v_pipeline.config import parse
from v2v_pipeline.labels.backends import LABEL_BACKENDS, FileMaps, PoseMaps, VideoInput, label_backend
from v2v_pipeline.labels.config import LabelConfig, VideoLabelSource
from v2v_pipeline.labels.video import LabelMapsContent, label_video
from v2v_pipeline.video.geometry import VideoGeometry

from .conftest import frontal_person


def _input(n: int, source_size, size, fit="pad") -> VideoInput:
    frames = [np.zeros((size[1], size[0], 3), np.uint8)] * n
    index = pd.DataFrame({"frame": np.arange(n), "source_frame": np.arange(n), "fps": 10.0})
    return VideoInput("v", frames, index, n, VideoGeometry.of(source_size, size, fit))


def test_every_configurable_backend_is_registered():
    (choices,) = [typing.get_args(t) for n, t in typing.get_type_hints(VideoLabelSource).items() if n == "backend"]
    assert set(choices) == set(LABEL_BACKENDS)
    with pytest.raises(ValueError, match="unknown label backend 'openpse'.*openpose_json"):
        label_backend("openpse")


def test_openpose_keypoints_are_mapped_by_the_recorded_geometry(tmp_path):
    body = frontal_person()  # pixels of a 400 x 400 original frame
    for i in range(3):
        (tmp_path / f"v_{i:012d}_keypoints.json").write_text(json.dumps(
            {"people": [{"pose_keypoints_2d": body.ravel().tolist()}]}))
    cfg = parse(LabelConfig, {"videos": {"v": {"backend": "openpose_json", "path": str(tmp_path)}},
                              "smoothing": {"method": "none"}}, "label")
    data = _input(3, (400, 400), (128, 64))  # pad: scale 64/400, picture centred at x = 32..96
    labels = label_video(cfg, data)
    assert labels.backend == "openpose_json" and labels.size == (128, 64) and labels.detected.all()
    vis = body[:, 2] > 0
    s = 64 / 400
    np.testing.assert_allclose(labels.keypoints[0, vis, 0], body[vis, 0] * s + 32, atol=1e-4)
    np.testing.assert_allclose(labels.keypoints[0, vis, 1], body[vis, 1] * s, atol=1e-4)
    assert isinstance(labels.maps, PoseMaps)


def test_label_map_files_are_fitted_like_the_frames(tmp_path):
    for i in range(2):  # 4:3 index maps (class 3 everywhere) of the original frames
        cv2.imwrite(str(tmp_path / f"frame{i:06d}.png"), np.full((60, 80), 3, np.uint8))
    cfg = parse(LabelConfig, {"videos": {"v": {"backend": "label_maps", "path": str(tmp_path), "keypoints": "none"}}},
                "label")
    labels = label_video(cfg, _input(2, (80, 60), (128, 64)))
    assert labels.keypoints is None and isinstance(labels.maps, FileMaps) and labels.maps.fit == "pad"
    label = LabelMapsContent(cfg, [labels], {"v": np.arange(2)}).render_one(labels, 0)
    assert label.shape == (64, 128, 3)
    box = VideoGeometry.of((80, 60), (128, 64), "pad").content_box  # picture inside, class 0 in the borders
    assert (label[:, box[0]:box[2]] == 3).all() and (label[:, : box[0]] == 0).all()
