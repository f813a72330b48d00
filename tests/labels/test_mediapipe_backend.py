import numpy as np
import pytest

from v2v_pipeline.labels import skeleton as sk
from v2v_pipeline.labels.mediapipe_backend import Detection, MediaPipeBackend, _assign_hands, _uncrop

from .conftest import DATA, decode_video, frontal_person, require

J = sk.BODY_25_INDEX


class ScriptedBackend(MediaPipeBackend):
    """The real guard logic with scripted detector answers (full-frame coordinates).

    ``video[t]`` is what the video-mode model returns at frame t, ``roi[t]`` what the
    still-image model finds inside the crop around the previous position (None: nothing).
    """

    def __init__(self, video, roi, **cfg):
        super().__init__(**cfg)
        self.video, self.roi, self.t, self.roi_calls = video, roi, -1, []

    def _detect(self, image, static):
        if not static:
            self.t += 1
            kp = self.video[self.t]
            return None if kp is None else Detection(kp.copy(), mask=np.ones(image.shape[:2], np.float32))
        self.roi_calls.append(self.t)
        kp = self.roi[self.t]
        if kp is None:
            return None
        x0, y0, _, _ = self._roi(self.frame_shape)
        local = kp.copy()
        local[:, :2] -= (x0, y0)
        return Detection(local, mask=np.ones(image.shape[:2], np.float32))

    def process_frame(self, frame):
        self.frame_shape = frame.shape
        return super().process_frame(frame)


def person_at(x: float) -> np.ndarray:
    return frontal_person(offset=(x - 100, 20))


def scenario():
    a = [person_at(100 + 2 * t) for t in range(12)]  # A walks slowly
    b = person_at(450)  # B stands far away
    video = a[:5] + [b] * 7  # at frame 5 MediaPipe's tracker jumps to B and stays there
    roi = [None] * 5 + [a[5], a[6], None, a[8], None, None, None]  # A occluded at 7, gone after 8
    return a, b, video, roi


def test_identity_guard_keeps_the_person_with_roi_redetection():
    a, b, video, roi = scenario()
    frames = [np.zeros((300, 600, 3), np.uint8)] * 12
    with ScriptedBackend(video, roi, max_jump=0.25, reacquire_after=2) as be:
        seq = be.process(frames)
    assert list(seq.found) == [True] * 7 + [False, True, False, False, True]
    assert list(np.flatnonzero(seq.redetected)) == [5, 6, 8]
    for t in (5, 6, 8):
        np.testing.assert_allclose(seq.keypoints[t], a[t], atol=1e-4)  # back in frame coordinates
    # after 2 missed frames (9, 10) the far-away person is accepted (re-acquisition)
    np.testing.assert_allclose(seq.keypoints[11], b)
    assert seq.masks.shape == (12, 300, 600) and seq.masks[5].max() == 255 and seq.masks[7].max() == 0
    # the ROI mask is pasted into the crop only
    assert 0 < (seq.masks[5] > 0).mean() < 1


def test_without_guard_the_switch_goes_through():
    a, b, video, roi = scenario()
    with ScriptedBackend(video, roi, identity_guard=False) as be:
        seq = be.process([np.zeros((300, 600, 3), np.uint8)] * 12)
    assert seq.found.all() and not seq.redetected.any() and be.roi_calls == []
    np.testing.assert_allclose(seq.keypoints[6], b)


def test_small_moves_do_not_trigger_redetection():
    a, _, _, _ = scenario()
    with ScriptedBackend(a, [None] * 12) as be:
        seq = be.process([np.zeros((300, 600, 3), np.uint8)] * 12)
    assert seq.found.all() and be.roi_calls == []


def test_hands_are_assigned_to_the_nearest_wrist():
    body = frontal_person()
    hands = np.zeros((2, 21, 3), np.float32)
    hands[0, :, :2], hands[0, :, 2] = body[J["RWrist"], :2] + 3, 1  # "left" slot holds the right hand
    out = _assign_hands(hands, body)
    assert out[1, 0, 2] == 1 and out[0, 0, 2] == 0


def test_rejects_non_rgb_frames():
    with MediaPipeBackend() as be, pytest.raises(ValueError, match="RGB uint8"):
        be.process_frame(np.zeros((10, 10), np.uint8))


@pytest.mark.realdata
def test_mediapipe_on_real_frames_gives_body25_and_mask():
    pytest.importorskip("mediapipe")
    video = require(DATA / "edn_subject4" / "target_train.mp4")
    frames = decode_video(video, (512, 256), stop=8)
    with MediaPipeBackend() as be:
        seq = be.process(frames)
    assert seq.found.all() and seq.keypoints.shape == (8, 25, 3) and seq.frame_size == (512, 256)
    kp = seq.keypoints[-1]
    torso = [J["Neck"], J["MidHip"], J["RHip"], J["LHip"]]
    assert (kp[torso, 2] > 0.5).all()
    assert kp[J["Nose"], 1] < kp[J["Neck"], 1] < kp[J["MidHip"], 1] < kp[J["RAnkle"], 1]
    mask = seq.masks[-1]
    assert mask.shape == (256, 512) and mask.dtype == np.uint8
    assert (mask[kp[torso, 1].astype(int), kp[torso, 0].astype(int)] > 128).all()
    assert mask[:, :100].mean() < 10  # the person stands in the middle of the frame


@pytest.mark.realdata
def test_hand_crops_find_hands_near_the_wrists():
    pytest.importorskip("mediapipe")
    video = require(DATA / "edn_subject4" / "target_train.mp4")
    frames = decode_video(video, stop=400)[200::20]  # full 1024x512: hands are ~20 px wide
    with MediaPipeBackend(enable_segmentation=False, hands=True) as be:
        seq = be.process(frames)
    assert seq.hands.shape == (10, 2, 21, 3) and seq.face is None
    found = seq.hands[..., 0, 2] > 0  # (T, 2)
    assert found.mean() > 0.5
    for t, side in zip(*np.nonzero(found)):
        wrist = seq.keypoints[t, J["LWrist" if side == 0 else "RWrist"]]
        hand_wrist = seq.hands[t, side, 0]
        size = np.ptp(seq.keypoints[t, seq.keypoints[t, :, 2] > 0, 1])
        assert np.linalg.norm(hand_wrist[:2] - wrist[:2]) < 0.1 * size  # the hand belongs to that arm


def test_uncrop_maps_a_crop_detection_to_full_frame_pixels():
    body = frontal_person()
    body[J["LWrist"]] = 0  # a missing joint stays missing (not moved to the crop's corner)
    det = Detection(body.copy(), mask=np.ones((40, 30), np.float32))
    out = _uncrop(det, (10, 5, 40, 45), (60, 80))
    seen = body[:, 2] > 0
    assert np.allclose(out.body[seen, :2], body[seen, :2] + (10, 5)) and (out.body[~seen] == 0).all()
    assert out.mask.shape == (60, 80) and out.mask.sum() == 40 * 30 and out.mask[5:45, 10:40].all()
    assert np.allclose(det.body, body)  # the input detection is not modified


@pytest.mark.realdata
def test_letterboxed_small_person_is_found_upright_in_the_picture_box():
    """studio_walk (1000x1002) letterboxed into 512x256: the person is ~70 px tall. Over the
    whole frame MediaPipe found them upside down (nose below the hips) or not at all in the
    first second; on the picture inside the borders (what the label pipeline passes) it is right."""
    pytest.importorskip("mediapipe")
    from v2v_pipeline.video.io import content_box, fit_to_size

    video = require(DATA / "sources" / "studio_walk.mp4")
    frames = [fit_to_size(f, (512, 256), "pad") for f in decode_video(video, stop=50)[::2]]
    box = content_box((1000, 1002), (512, 256), "pad")
    assert box == (128, 0, 383, 256)
    with MediaPipeBackend(enable_segmentation=False) as be:
        seq = be.process(frames, keep_masks=False, crop=box)
    assert seq.frame_size == (512, 256) and seq.found.mean() >= 0.9, np.flatnonzero(~seq.found)
    kp = seq.keypoints[seq.found]
    nose, hip, ankle = kp[:, J["Nose"]], kp[:, J["MidHip"]], kp[:, J["RAnkle"]]
    ok = (nose[:, 2] > 0) & (hip[:, 2] > 0)
    assert (nose[ok, 1] < hip[ok, 1]).all(), "person found upside down"
    assert ((ankle[:, 2] == 0) | (ankle[:, 1] > hip[:, 1])).all()
    assert (kp[kp[..., 2] > 0][:, 0] >= box[0]).all()  # full-frame x coordinates


def test_masks_of_frames_without_a_person_are_full_frame_when_cropping():
    blank = np.zeros((64, 128, 3), np.uint8)  # nobody: every mask is the "no person" mask
    with MediaPipeBackend(enable_segmentation=True) as be:
        seq = be.process([blank, blank], keep_masks=True, crop=(32, 0, 96, 64))
    assert not seq.found.any()
    assert seq.masks.shape == (2, 64, 128) and seq.masks.max() == 0
