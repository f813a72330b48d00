"""The procedural dancer: determinism, ground truth consistent with the pixels, motion."""

from __future__ import annotations

import numpy as np
import pytest

from v2v_pipeline.demo import BODY_25, DEFAULT_STAGING, MOTIONS, Staging, iter_dancer, render_dancer
from v2v_pipeline.demo._motion import ANKLE_HEIGHT

J = {name: i for i, name in enumerate(BODY_25)}
LIMBS = [("RShoulder", "RElbow"), ("RElbow", "RWrist"), ("LShoulder", "LElbow"),
         ("LElbow", "LWrist"), ("RHip", "RKnee"), ("RKnee", "RAnkle"), ("LHip", "LKnee"),
         ("LKnee", "LAnkle"), ("Neck", "MidHip")]


@pytest.fixture(scope="module")
def clips():
    return {m: render_dancer(seed=5, n_frames=40, size=(256, 128), fps=10.0, motion=m)
            for m in MOTIONS}


def test_shapes_and_dtypes(clips):
    for clip in clips.values():
        assert clip.frames.shape == (40, 128, 256, 3) and clip.frames.dtype == np.uint8
        assert clip.keypoints.shape == (40, 25, 3) and clip.keypoints.dtype == np.float32
        assert clip.joints.shape == (40, 25, 2) and clip.joints3d.shape == (40, 25, 3)
        assert clip.background.shape == (128, 256, 3)
        assert set(np.unique(clip.keypoints[..., 2])) <= {0.0, 1.0}


def test_same_seed_same_pixels_other_seed_differs(clips):
    again = render_dancer(seed=5, n_frames=40, size=(256, 128), fps=10.0, motion="dance")
    np.testing.assert_array_equal(again.frames, clips["dance"].frames)
    np.testing.assert_array_equal(again.keypoints, clips["dance"].keypoints)
    other = render_dancer(seed=6, n_frames=40, size=(256, 128), fps=10.0, motion="dance")
    assert np.abs(other.frames.astype(int) - clips["dance"].frames).mean() > 5
    assert np.abs(other.joints - clips["dance"].joints).mean() > 2


def test_iter_dancer_yields_the_same_frames(clips):
    for i, (frame, kp) in enumerate(iter_dancer(5, 40, (256, 128), 10.0, "walk")):
        np.testing.assert_array_equal(frame, clips["walk"].frames[i])
        np.testing.assert_array_equal(kp, clips["walk"].keypoints[i])


def test_keypoints_inside_frame_and_openpose_missing_convention(clips):
    for clip in clips.values():
        kp = clip.keypoints
        vis = kp[..., 2] > 0
        assert vis.mean() > 0.8  # most joints are visible
        assert vis[:, [J["Neck"], J["MidHip"], J["RHip"], J["LHip"]]].all()
        x, y = kp[..., 0][vis], kp[..., 1][vis]
        assert x.min() >= 0 and x.max() <= 255 and y.min() >= 0 and y.max() <= 127
        assert (kp[~vis] == 0).all()  # hidden joints are (0, 0, 0) as OpenPose writes them
        np.testing.assert_allclose(kp[..., :2][vis], clip.joints[vis], atol=1e-4)


def test_keypoints_lie_on_the_drawn_figure(clips):
    """Mid-limb points between visible joints are covered by the person, not the room."""
    for clip in clips.values():
        covered, total = 0, 0
        for frame, kp in zip(clip.frames, clip.keypoints):
            for a, b in LIMBS:
                if kp[J[a], 2] > 0 and kp[J[b], 2] > 0:
                    x, y = np.round((kp[J[a], :2] + kp[J[b], :2]) / 2).astype(int)
                    diff = np.abs(frame[y, x].astype(int) - clip.background[y, x]).sum()
                    covered += diff > 30
                    total += 1
        assert total > 200 and covered / total > 0.97, (covered, total)


def test_keypoint_colours_follow_the_clothes(clips):
    """Forearms are skin coloured, thighs trouser coloured (before shading)."""
    clip = clips["dance"]
    skin, trousers = np.array(clip.appearance.skin), np.array(clip.appearance.trousers)
    for limb, colour in ((("RElbow", "RWrist"), skin), (("LHip", "LKnee"), trousers)):
        ratios = []
        for frame, kp in zip(clip.frames, clip.keypoints):
            a, b = J[limb[0]], J[limb[1]]
            if kp[a, 2] > 0 and kp[b, 2] > 0:
                x, y = np.round(0.4 * kp[a, :2] + 0.6 * kp[b, :2]).astype(int)
                px = frame[y, x].astype(float) + 1
                ratios.append(np.corrcoef(px, colour + 1)[0, 1])
        assert np.median(ratios) > 0.9


def test_feet_stay_on_the_floor_and_follow_the_camera(clips):
    for clip in clips.values():
        ankles = clip.joints3d[:, [J["RAnkle"], J["LAnkle"]]]
        # one foot is always planted at ankle height; the other never goes below it
        np.testing.assert_allclose(ankles[..., 1].min(1), ANKLE_HEIGHT, atol=1e-4)
        # its image row is where a pinhole camera puts a floor point at that depth
        low = ankles[np.arange(len(ankles)), ankles[..., 1].argmin(1)]
        cam = clip.camera
        row = cam.c[1] + cam.f * (cam.height - ANKLE_HEIGHT) / low[:, 2]
        joints = clip.joints[:, [J["RAnkle"], J["LAnkle"]]]
        np.testing.assert_allclose(joints[np.arange(len(low)), ankles[..., 1].argmin(1), 1], row,
                                   atol=1e-3)


def _person_height(clip) -> np.ndarray:
    """Pixel distance from the nose to the lower ankle, per frame."""
    j = clip.joints
    return j[:, [J["RAnkle"], J["LAnkle"]], 1].max(1) - j[:, J["Nose"], 1]


def test_stagings_differ_in_scale_and_the_walker_approaches():
    dance = render_dancer(1, 30, (256, 128), 3.0, "dance")
    walk = render_dancer(1, 30, (256, 128), 3.0, "walk")
    h_dance, h_walk = _person_height(dance), _person_height(walk)
    assert np.median(h_walk) < 0.8 * np.median(h_dance)
    assert h_walk[-5:].mean() > 1.2 * h_walk[:5].mean()  # walks towards the camera
    z = dance.joints3d[:, J["MidHip"], 2]
    assert z.max() - z.min() > 0.3  # the dancer drifts in depth too
    assert DEFAULT_STAGING["walk"].distance > DEFAULT_STAGING["dance"].distance


def test_motion_is_smooth_and_not_a_loop():
    clip = render_dancer(2, 150, (128, 64), 15.0, "dance")
    j3 = clip.joints3d.astype(float)
    step = np.linalg.norm(np.diff(j3, axis=0), axis=-1)  # metres per frame
    assert step.max() < 0.45  # no teleporting joints (hands move fastest)
    assert np.median(step) > 0.005  # and the figure does move
    # not a loop: for no time shift does the pose sequence repeat itself (a periodic
    # motion would come back to within millimetres at its period)
    pose = j3[:, :15] - j3[:, [J["MidHip"]]]  # relative to the pelvis
    gaps = [np.abs(pose[lag:] - pose[:-lag]).mean() for lag in range(8, 75)]
    assert min(gaps) > 0.015


def test_staging_changes_the_framing():
    near = render_dancer(0, 2, (128, 64), 10.0, "dance", staging=Staging(distance=3.0, travel=0.0))
    far = render_dancer(0, 2, (128, 64), 10.0, "dance", staging=Staging(distance=6.0, travel=0.0))
    assert _person_height(far).mean() < 0.6 * _person_height(near).mean()


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match="dance"):
        render_dancer(0, 2, motion="ballet")
    with pytest.raises(ValueError, match="n_frames"):
        render_dancer(0, 0)
    with pytest.raises(ValueError, match="size"):
        render_dancer(0, 1, size=(16, 8))
    with pytest.raises(ValueError, match="closer than"):
        Staging(distance=1.0)


def test_body25_order_is_the_projects():
    from v2v_pipeline.labels.skeleton import BODY_25 as PROJECT_BODY_25

    assert BODY_25 == PROJECT_BODY_25
