"""Pose distance and person box on hand-made keypoints."""

import math

import numpy as np
import pytest

from v2v_pipeline.metrics import person_box_from_keypoints, pose_distance


def test_pose_distance_3_4_5():
    j = 5
    ref = np.zeros((4, j, 3))
    ref[..., 0] = np.arange(j) * 10 + 100
    ref[..., 1] = 200
    ref[..., 2] = 0.9
    pred = ref.copy()
    pred[..., 0] += 3
    pred[..., 1] += 4  # every joint off by (3, 4): 5 px
    pred[0, 1, :2] += 1000
    pred[0, 1, 2] = 0.05  # ... except a low-confidence joint, ignored at min_conf 0.1
    ref[0, 2, 2] = 0.0  # and a joint missing in the reference
    pred[2, :, 2] = 0.0  # no pose detected on generated frame 2
    ref[3, :, 2] = 0.0  # no reference pose in frame 3: not counted in the detection rate
    res = pose_distance(pred, ref, min_conf=0.1)
    np.testing.assert_allclose(res.per_frame[:2], [5.0, 5.0])
    assert math.isnan(res.per_frame[2]) and math.isnan(res.per_frame[3])
    np.testing.assert_array_equal(res.n_joints, [3, 5, 0, 0])
    assert res.mean == pytest.approx(5.0)
    assert res.detection_rate == pytest.approx(2 / 3)
    # with a lower threshold the far-off joint counts (joints 0, 1, 3, 4); the reference joint
    # with confidence 0 never does
    low = pose_distance(pred, ref, min_conf=0.01)
    assert low.per_frame[0] == pytest.approx((3 * 5 + math.hypot(1003, 1004)) / 4)


def test_pose_distance_single_frame_and_validation():
    kp = np.array([[10.0, 10.0, 1.0], [20.0, 20.0, 1.0]])
    res = pose_distance(kp + [6.0, 8.0, 0.0], kp)
    assert res.per_frame.shape == (1,) and res.mean == pytest.approx(10.0)
    assert res.detection_rate == 1.0
    with pytest.raises(ValueError, match="equal shape"):
        pose_distance(np.zeros((2, 3, 3)), np.zeros((2, 4, 3)))


def test_person_box_from_keypoints():
    kp = np.array([[10.0, 20.0, 1.0], [30.5, 60.2, 0.8], [500.0, 500.0, 0.0], [0.0, 0.0, 0.05]])
    assert person_box_from_keypoints(kp, margin=5, image_size=(100, 50)) == (5, 15, 36, 50)
    assert person_box_from_keypoints(kp, margin=0, image_size=(100, 100)) == (10, 20, 31, 61)
    assert person_box_from_keypoints(kp, margin=50, image_size=(100, 100)) == (0, 0, 81, 100)
    assert person_box_from_keypoints(np.zeros((25, 3)), margin=5, image_size=(10, 10)) is None
