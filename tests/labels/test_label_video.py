"""Label-pipeline glue: tables, channel options, archive dispatch."""

from __future__ import annotations

import numpy as np
import pandas as pd

from v2v_pipeline.labels.video import (
    VideoLabels,
    add_label,
    frames_table,
    keypoints_from_table,
    keypoints_table,
    render_label,
)
from v2v_pipeline.params import RenderParams
from v2v_pipeline.storage import Archive, ArchiveWriter


def _person(size=(128, 64)) -> np.ndarray:
    kp = np.zeros((25, 3), np.float32)
    # nose, neck, shoulders, elbows, wrists, mid-hip, hips, knees, ankles of an upright person
    pts = {0: (64, 8), 1: (64, 16), 2: (56, 16), 3: (52, 26), 4: (50, 34), 5: (72, 16), 6: (76, 26), 7: (78, 34),
           8: (64, 36), 9: (58, 36), 10: (58, 48), 11: (58, 60), 12: (70, 36), 13: (70, 48), 14: (70, 60)}
    for j, (x, y) in pts.items():
        kp[j] = (x, y, 0.9)
    return kp


def test_limb_channels_are_added_and_stored_as_npy(tmp_path):
    rgb = render_label(_person(), (128, 64), RenderParams())
    multi = render_label(_person(), (128, 64), RenderParams(limb_channels=True))
    assert rgb.shape == (64, 128, 3) and multi.shape[:2] == (64, 128) and multi.shape[2] > 10
    np.testing.assert_array_equal(multi[..., :3], rgb)
    assert multi[..., 3:].max() == 255 and (multi[..., 3:].reshape(-1, multi.shape[2] - 3).max(0) > 0).sum() >= 8
    with ArchiveWriter(tmp_path / "a.zip") as w:
        add_label(w, "v/000000", rgb)
        add_label(w, "v/000001", multi)
    a = Archive(tmp_path / "a.zip")
    assert a.members["v/000000"].endswith(".png") and a.members["v/000001"].endswith(".npy")
    np.testing.assert_array_equal(a.read("v/000001"), multi)


def test_tables_round_trip_and_flag_frames_without_a_person():
    kp = np.stack([_person(), np.zeros((25, 3), np.float32), _person()])
    status = np.array(["found", "missing", "interpolated"])
    labels = VideoLabels("v", "mediapipe", (128, 64), kp, np.array([True, False, False]), status)
    frames = frames_table(labels, np.array([10, 11, 12]), margin=0.1)
    assert frames.found.tolist() == [True, False, True]
    assert frames.interpolated.tolist() == [False, False, True]
    assert np.isnan(frames.loc[1, "person_x0"]) and frames.loc[0, "person_x0"] < 50 < frames.loc[0, "person_x1"]
    table = keypoints_table(labels, np.array([10, 11, 12]))
    assert set(table.frame) == {10, 12}  # no rows for the frame without a person
    back = keypoints_from_table(table, "v", np.array([10, 11, 12]))
    np.testing.assert_allclose(back[0], kp[0])
    assert (back[1] == 0).all()
    assert isinstance(table, pd.DataFrame) and list(table.columns) == ["video", "frame", "person", "joint", "x", "y",
                                                                       "confidence"]
