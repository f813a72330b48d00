"""Label-map targets are first-class: the maps stay the training input while keypoints, person and
face boxes come from OpenPose JSON (here) or the keypoint detector on the video's own frames."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pandas as pd
import pytest

from v2v_pipeline.config import parse
from v2v_pipeline.labels.backends import FileMaps, VideoInput
from v2v_pipeline.labels.config import LabelConfig
from v2v_pipeline.labels.video import LabelMapsContent, frames_table, label_video
from v2v_pipeline.video.geometry import VideoGeometry

from tests.labels.conftest import frontal_person


def _input(n, source_size, size) -> VideoInput:
    frames = [np.zeros((size[1], size[0], 3), np.uint8)] * n
    index = pd.DataFrame({"frame": np.arange(n), "source_frame": np.arange(n), "fps": 10.0})
    return VideoInput("v", frames, index, n, VideoGeometry.of(source_size, size, "pad"))


def test_label_maps_with_openpose_keypoints_give_maps_and_boxes(tmp_path):
    maps, js = tmp_path / "maps", tmp_path / "json"
    maps.mkdir(), js.mkdir()
    body = frontal_person()  # pixels of a 400 x 400 original frame
    for i in range(3):
        cv2.imwrite(str(maps / f"frame{i:06d}.png"), np.full((400, 400, 3), 40 * (i + 1), np.uint8))
        (js / f"v_{i:012d}_keypoints.json").write_text(json.dumps(
            {"people": [{"pose_keypoints_2d": body.reshape(-1).tolist()}]}))
    cfg = parse(LabelConfig, {"videos": {"v": {"backend": "label_maps", "path": str(maps),
                                               "keypoints": "openpose_json", "keypoints_path": str(js)}},
                              "smoothing": {"method": "none"}}, "label")
    labels = label_video(cfg, _input(3, (400, 400), (128, 64)))
    assert labels.backend == "label_maps" and isinstance(labels.maps, FileMaps)
    vis = body[:, 2] > 0
    np.testing.assert_allclose(labels.keypoints[1, vis, 0], body[vis, 0] * 64 / 400 + 32, atol=1e-4)
    # the training input is the published map (grey level of file 1), not a re-rendered skeleton
    label = LabelMapsContent(cfg, [labels], {"v": np.arange(3)}).render_one(labels, 1)
    assert (label[:, 40:90] == 80).all()
    table = frames_table(labels, np.arange(3), cfg.person_box_margin)
    assert table.found.all()
    assert np.isfinite(table[["person_x0", "person_y0", "person_x1", "person_y1"]].to_numpy()).all()
    assert np.isfinite(table[["face_x0", "face_y0", "face_x1", "face_y1"]].to_numpy()).all()


def test_label_maps_with_openpose_keypoints_need_their_folder(tmp_path):
    with pytest.raises(ValueError, match="keypoints_path"):
        parse(LabelConfig, {"videos": {"v": {"backend": "label_maps", "path": str(tmp_path),
                                             "keypoints": "openpose_json"}}}, "label")
