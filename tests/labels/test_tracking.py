import numpy as np
import pytest

from v2v_pipeline.labels.tracking import person_size, torso_jump, track_person

from .conftest import frontal_person


def crossing_people(t_len: int = 40) -> tuple[list[np.ndarray], np.ndarray]:
    """A walks left->right, B right->left (a bit smaller and lower); they cross mid-clip.
    Candidates are shuffled per frame. Returns (candidates, A's x per frame)."""
    rng = np.random.default_rng(0)
    ax = np.linspace(20, 300, t_len)
    bx = np.linspace(300, 20, t_len)
    frames = []
    for t in range(t_len):
        a = frontal_person(offset=(ax[t] - 100, 0))
        b = frontal_person(scale=0.9, offset=(bx[t] - 90, 20))
        a[:, :2] += rng.normal(0, 1.0, (25, 2))
        b[:, :2] += rng.normal(0, 1.0, (25, 2))
        cands = [a, b]
        if rng.random() < 0.5:
            cands = cands[::-1]
        frames.append(np.stack(cands))
    return frames, ax


def centre_x(kp: np.ndarray) -> float:
    return float(kp[kp[:, 2] > 0, 0].mean())


def test_tracker_keeps_identity_through_a_crossing():
    frames, ax = crossing_people()
    track = track_person(frames, init="largest", max_jump=0.3)
    assert track.found.all()
    xs = np.array([centre_x(k) for k in track.keypoints])
    np.testing.assert_allclose(xs, ax, atol=6)  # always person A (B is on the other side after crossing)


def test_tracker_initial_choice():
    small = frontal_person(scale=0.5, offset=(150, 0))
    big = frontal_person(scale=1.2, offset=(-60, 0))
    frames = [np.stack([small, big])]
    assert track_person(frames, init="largest").index[0] == 1
    assert track_person(frames, init=0).index[0] == 0
    assert track_person(frames, init="center", image_size=(420, 300)).index[0] == 0
    with pytest.raises(ValueError, match="image_size"):
        track_person(frames, init="center")
    with pytest.raises(ValueError, match="nothing to track"):
        track_person([np.zeros((0, 25, 3))])


def test_tracker_drops_far_jumps_and_reacquires():
    a = frontal_person()
    other = frontal_person(offset=(400, 0))
    empty = np.zeros((0, 25, 3), np.float32)
    # A for 3 frames, then only somebody far away for 6 frames, then A again
    frames = [a[None]] * 3 + [other[None]] * 6 + [np.stack([other, a])] * 2
    track = track_person(frames, max_jump=0.3, reacquire_after=None)
    assert list(track.index) == [0, 0, 0, -1, -1, -1, -1, -1, -1, 1, 1]
    assert np.all(track.keypoints[3:9] == 0)
    # with reacquire_after, the far person is taken after 3 frames without a match
    track = track_person(frames[:9] + [empty], max_jump=0.3, reacquire_after=3)
    assert list(track.index) == [0, 0, 0, -1, -1, -1, 0, 0, 0, -1]


def test_torso_jump_flags_hips_on_a_neighbour():
    a = frontal_person()
    b = a.copy()
    b[[8, 9, 12], 0] += 60  # hips slid 60 px, head and arms stayed
    assert torso_jump(a, b) == pytest.approx(60)
    assert person_size(a) == pytest.approx(238 - 35)  # box height
