"""The one boxes module: keypoint extents, person and face-box geometry, table boxes."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from v2v_pipeline.boxes import (
    box_from_row,
    clip_box,
    keypoint_extent,
    person_box,
    scale_box_columns,
    square_box,
    visible,
)


def _kp():
    return np.array([[10.2, 20.7, 0.9], [30.5, 5.1, 0.2], [np.nan, 1.0, 0.9], [100.0, 100.0, 0.0]])


def test_visibility_and_extent():
    np.testing.assert_array_equal(visible(_kp()), [True, True, False, False])  # NaN and confidence 0 are out
    np.testing.assert_array_equal(visible(_kp(), min_conf=0.5), [True, False, False, False])
    assert keypoint_extent(_kp()) == (10.2, 5.1, 30.5, 20.7)
    assert keypoint_extent(_kp(), min_conf=0.5) == (10.2, 20.7, 10.2, 20.7)
    assert keypoint_extent(np.zeros((25, 3))) is None
    with pytest.raises(ValueError, match=r"\(J, 3\)"):
        keypoint_extent(np.zeros((25, 2)))


def test_person_box_grows_rounds_outward_and_clamps():
    assert person_box(_kp(), margin=2, image_size=(64, 48), min_conf=0.1) == (8, 3, 33, 23)
    assert person_box(_kp(), margin=50, image_size=(64, 48)) == (0, 0, 64, 48)
    assert person_box(np.zeros((3, 3)), 2, (64, 48)) is None


def test_square_box_is_inside_the_image():
    assert square_box((5, 5), 20, (64, 48)) == (0, 0, 20, 20)  # shifted in, not shrunk
    assert square_box((60, 40), 4, (64, 48)) == (48, 32, 64, 48)  # at least min_size 16
    assert square_box((30, 20), 100, (64, 48)) == (6, 0, 54, 48)  # at most the image


def test_table_boxes():
    row = {"person_x0": 1.5, "person_y0": 2.2, "person_x1": 10.1, "person_y1": 8.0}
    assert box_from_row(row, "person") == (1, 2, 11, 8)
    assert box_from_row(row, "person", (2.0, 0.5)) == (3, 1, 21, 4)
    assert box_from_row({**row, "person_x1": math.nan}, "person") is None
    assert box_from_row({**row, "person_x1": 1.0}, "person") is None  # empty
    assert clip_box((-3, 2, 70, 50), (64, 48)) == (0, 2, 64, 48)
    table = pd.DataFrame({"face_x0": [10.0], "face_y1": [20.0], "other": [1.0]})
    scaled = scale_box_columns(table, (100, 50), (50, 100), ["face_x0", "face_y1"])
    assert scaled.iloc[0].tolist() == [5.0, 40.0, 1.0] and table.face_x0.iloc[0] == 10.0  # a copy
    assert scale_box_columns(table, (100, 50), None, ["face_x0"]) is table
