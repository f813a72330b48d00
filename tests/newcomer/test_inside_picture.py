"""A letterboxed target: the normalized (transferred) source poses stay inside its content box."""

from __future__ import annotations

import numpy as np

from tests.pose.synthetic import SOURCE_CAMERA, TARGET_CAMERA, depth_track
from v2v_pipeline.pose import PoseNormConfig, normalize_poses
from v2v_pipeline.pose.video import NormalizeConfig
from v2v_pipeline.video.geometry import VideoGeometry


def _walk_out():
    d = depth_track()
    t = np.arange(len(d))
    source = SOURCE_CAMERA.render(d, np.linspace(300, 1000, len(d)), seed=1)  # walks right, out of the picture
    target = TARGET_CAMERA.render(d, 512 + 40 * np.cos(t / 7), seed=2)
    return source, target


def _inside(kp: np.ndarray, box) -> np.ndarray:
    vis = kp[..., 2] > 0
    x, y = kp[..., 0][vis], kp[..., 1][vis]
    return (x >= box[0]) & (x <= box[2] - 1) & (y >= box[1]) & (y <= box[3] - 1)


def test_letterboxed_target_keeps_the_transferred_person_in_its_picture():
    # a 1000x1002 video padded into 1024x512: the picture is the middle half, black borders left and right
    geometry = VideoGeometry.of((1000, 1002), (1024, 512), "pad")
    box = geometry.content_box
    assert box[0] > 200 and box[2] < 800  # really letterboxed
    source, target = _walk_out()
    assert _inside(target, box).all()  # the target person is in the picture
    outside = {mode: normalize_poses(source, target, PoseNormConfig(x_mode=mode, inside_picture=False),
                                     target_box=box) for mode in ("keep", "recenter")}
    for mode, res in outside.items():  # without the box constraint the skeleton ends up in the border
        assert not _inside(res.keypoints, box).all(), mode
    defaults = NormalizeConfig()  # the normalize section's defaults
    assert defaults.x_mode == "recenter" and defaults.inside_picture
    res = normalize_poses(source, target, defaults, target_box=box)
    assert _inside(res.keypoints, box).all()
    # only shifted, not scaled: the body size is the EDN normalization's
    bone = lambda kp: np.linalg.norm(kp[:, 3, :2] - kp[:, 4, :2], axis=1)  # noqa: E731
    unclamped = normalize_poses(source, target, PoseNormConfig(inside_picture=False, median_window=1))
    clamped = normalize_poses(source, target, PoseNormConfig(median_window=1), target_box=box)
    np.testing.assert_allclose(bone(clamped.keypoints), bone(unclamped.keypoints))


def test_a_body_larger_than_the_box_is_centred():
    source, target = _walk_out()
    box = (0, 0, 1024, 100)  # far shorter than the person
    res = normalize_poses(source, target, PoseNormConfig(median_window=1), target_box=box)
    ys = res.keypoints[..., 1]
    np.testing.assert_allclose((ys.min(axis=1) + ys.max(axis=1)) / 2, (0 + 99) / 2, atol=1e-6)


def test_frames_already_inside_are_not_moved():
    source, target = _walk_out()
    box = (0, 0, 1024, 512)
    free = normalize_poses(source, target, PoseNormConfig(median_window=1, inside_picture=False))
    inside = _inside(free.keypoints, box).reshape(-1)
    vis = free.keypoints[..., 2] > 0
    per_frame = np.zeros(vis.shape, bool)
    per_frame[vis] = inside
    whole = per_frame.sum(axis=1) == vis.sum(axis=1)
    assert whole.any()
    res = normalize_poses(source, target, PoseNormConfig(median_window=1), target_box=box)
    np.testing.assert_allclose(res.keypoints[whole], free.keypoints[whole])
