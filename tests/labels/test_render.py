import math

import cv2
import numpy as np
import pytest

from v2v_pipeline.labels import render as R
from v2v_pipeline.labels import skeleton as sk
from v2v_pipeline.labels.overlap import foreground_mask

from .conftest import frontal_person

J = sk.BODY_25_INDEX
SIZE = (200, 256)


def _segment_points(a: np.ndarray, b: np.ndarray, n: int = 9) -> np.ndarray:
    t = np.linspace(0.25, 0.75, n)[:, None]
    return np.round(a[:2] + t * (b[:2] - a[:2])).astype(int)


@pytest.mark.parametrize("style", ["edn", "openpose"])
def test_limbs_are_drawn_and_empty_space_stays_background(style):
    body = frontal_person()
    label = R.render_pose(body, SIZE, style=style)
    assert label.shape == (256, 200, 3) and label.dtype == np.uint8
    fg = foreground_mask(label)
    for a, b in [
        ("RShoulder", "RElbow"),
        ("LElbow", "LWrist"),
        ("RHip", "RKnee"),
        ("LKnee", "LAnkle"),
        ("Neck", "Nose"),
    ]:
        pts = _segment_points(body[J[a]], body[J[b]])
        assert fg[pts[:, 1], pts[:, 0]].all(), f"{a}-{b} not drawn"
    # far from every joint nothing is drawn
    assert not fg[:, :40].any() and not fg[:, 165:].any() and not fg[:20].any()
    assert (label[~fg] >= 255 - 40).all()


def test_missing_joint_removes_its_limbs_only():
    body = frontal_person()
    elbow, wrist = body[J["LElbow"]].copy(), body[J["LWrist"]]
    body[J["LElbow"]] = 0
    fg = foreground_mask(R.render_pose(body, SIZE))
    assert not fg[95:106, 125:136].any(), "nothing at the missing elbow"
    upper = _segment_points(body[J["LShoulder"]], elbow)[-4:]  # shoulder->elbow near the elbow
    lower = _segment_points(elbow, wrist)  # elbow->wrist
    assert not fg[upper[:, 1], upper[:, 0]].any() and not fg[lower[:, 1], lower[:, 0]].any()
    pts = _segment_points(body[J["RShoulder"]], body[J["RElbow"]])
    assert fg[pts[:, 1], pts[:, 0]].all()
    assert not foreground_mask(R.render_pose(np.zeros((25, 3)), SIZE)).any()


def test_edn_limb_colour_is_alpha_blended_on_white():
    body = frontal_person(scale=2.0)
    label = R.render_pose(body, (400, 512))
    mid = np.round((body[J["RKnee"], :2] + body[J["RAnkle"], :2]) / 2).astype(int)
    # EDN: RKnee->RAnkle takes RKnee's colour (BODY_23 joint 9), blended 0.6 over white
    expected = 0.4 * 255 + 0.6 * np.array(sk.EDN_BODY_23_COLORS[9])
    np.testing.assert_allclose(label[mid[1], mid[0]], expected, atol=2)


def test_background_colour_and_stroke_scaling():
    body = frontal_person()
    black = R.render_pose(body, SIZE, background=(0, 0, 0))
    assert (black[:, :30] == 0).all()
    small = foreground_mask(R.render_pose(body, SIZE)).sum()
    big = foreground_mask(R.render_pose(frontal_person(scale=2.0), (400, 512))).sum()
    assert 3.0 < big / small < 5.0  # strokes scale with the image: area ~ 4x


def test_face_and_hand_points():
    body = frontal_person()
    face = np.zeros((70, 3), np.float32)
    face[:, :2] = body[J["Nose"], :2] + np.array([[0.0, 8.0]])
    face[:, 2] = 0.9
    face[sk.EDN_FACE_POINTS[0], :2] = (100, 25)
    with_face = R.render_pose(body, SIZE, face=face)
    assert with_face[25, 100].max() < 60  # black face dot
    face[:, 2] = 0.1  # mean confidence under EDN's 0.2 -> face not drawn
    np.testing.assert_array_equal(R.render_pose(body, SIZE, face=face), R.render_pose(body, SIZE))
    hands = np.zeros((2, 21, 3), np.float32)
    hands[1, :, :2] = body[J["RWrist"], :2] + np.stack([np.zeros(21), np.linspace(0, 20, 21)], 1)
    hands[1, :, 2] = 0.8
    fg = foreground_mask(R.render_pose(body, SIZE, hands=hands))
    assert fg[145:150, 64:67].any() and not foreground_mask(R.render_pose(body, SIZE))[145:150, 64:67].any()


def _edn_reference(pose23: np.ndarray, face: np.ndarray, hands: np.ndarray) -> np.ndarray:
    """EDN's data_prep rendering written out literally (renderpose23, renderface_sparse,
    renderhand on a 1920x1080 BGR canvas, then PIL Lanczos to 1024x512)."""
    from PIL import Image

    colors = [tuple(c[::-1]) for c in sk.EDN_BODY_23_COLORS]  # back to BGR
    hand_colors = [tuple(c[::-1]) for c in sk.EDN_HAND_COLORS]
    canvas = np.full((1080, 1920, 3), 255, np.uint8)

    def limb(canvas, p, a, b, width, color):
        cur = canvas.copy()
        Y, X = [p[a, 0], p[b, 0]], [p[a, 1], p[b, 1]]
        length = ((X[0] - X[1]) ** 2 + (Y[0] - Y[1]) ** 2) ** 0.5
        angle = math.degrees(math.atan2(X[0] - X[1], Y[0] - Y[1]))
        poly = cv2.ellipse2Poly((int(np.mean(Y)), int(np.mean(X))), (int(length / 2), width), int(angle), 0, 360, 1)
        cv2.fillConvexPoly(cur, poly, color)
        return cv2.addWeighted(canvas, 0.4, cur, 0.6, 0)

    for i in range(23):
        if pose23[i, 2] > 0:
            cv2.circle(canvas, (int(pose23[i, 0]), int(pose23[i, 1])), 8, colors[i], thickness=-1)
    for a, b in sk.EDN_BODY_23_PAIRS:
        if pose23[a, 2] > 0 and pose23[b, 2] > 0:
            canvas = limb(canvas, pose23, a, b, 4, colors[a])
    if face[:, 2].sum() / 70 >= 0.2:
        for i in [27, 30, 8, 0, 16, 33, 68, 69]:
            if face[i, 2] > 0:
                cv2.circle(canvas, (int(face[i, 0]), int(face[i, 1])), 4, (0, 0, 0), thickness=-1)
    for hand in (hands[1], hands[0]):
        for i in range(21):
            if hand[i, 2] > 0.05:
                cv2.circle(canvas, (int(hand[i, 0]), int(hand[i, 1])), 3, hand_colors[i], thickness=-1)
        for line in [range(1, 5), range(5, 9), range(9, 13), range(13, 17), range(17, 21)]:
            for step in line:
                a, b = (step, step + 1) if step != line[-1] else (0, line[0])
                if hand[a, 2] > 0.05 and hand[b, 2] > 0.05:
                    canvas = limb(canvas, hand, a, b, 2, hand_colors[b])
    return np.asarray(Image.fromarray(canvas[:, :, ::-1]).resize((1024, 512), Image.Resampling.LANCZOS))


def test_reproduces_edn_rendering_exactly():
    pytest.importorskip("PIL")
    rng = np.random.default_rng(1)
    # keypoints on EDN's 1920x1080 canvas, at .5 so that float round trips cannot cross integers
    body25 = frontal_person(scale=3.5, offset=(600, 80))
    body25[:, :2] = np.floor(body25[:, :2]) + 0.5
    body25[J["LElbow"], 2] = 0  # one missing joint
    face = np.concatenate([body25[J["Nose"], :2] + rng.uniform(-20, 20, (70, 2)), np.full((70, 1), 0.5)], 1)
    face[:, :2] = np.floor(face[:, :2]) + 0.5
    hands = np.zeros((2, 21, 3))
    hands[1, :, :2] = np.floor(body25[J["RWrist"], :2] + rng.uniform(0, 40, (21, 2))) + 0.5
    hands[1, :, 2] = rng.uniform(0, 1, 21)
    reference = _edn_reference(sk.body25_to_body23(body25), face, hands)
    to_out = np.array([1024 / 1920, 512 / 1080, 1.0])
    ours = R.render_pose(body25 * to_out, (1024, 512), face * to_out, hands * to_out,
                         canvas_size=R.EDN_CANVAS, supersample=None, resample="lanczos")  # fmt: skip
    np.testing.assert_array_equal(ours, reference)
    # the fast default differs only in the anti-aliased fringes
    fast = R.render_pose(body25 * to_out, (1024, 512), face * to_out, hands * to_out, canvas_size=R.EDN_CANVAS)
    diff = np.abs(fast.astype(int) - reference).max(-1)
    assert (diff > 40).mean() < 0.002 and np.median(diff[foreground_mask(reference)]) < 12


def test_limb_masks_follow_the_skeleton():
    body = frontal_person()
    masks = R.render_limb_masks(body, SIZE)
    assert masks.shape == (len(R.EDN.pairs), 256, 200) and masks.dtype == np.float32
    assert 0 <= masks.min() and masks.max() <= 1
    k = R.EDN.pairs.index((8, 9))  # BODY_23 RHip -> RKnee
    pts = _segment_points(body[J["RHip"]], body[J["RKnee"]])
    assert (masks[k][pts[:, 1], pts[:, 0]] > 0.5).all()
    assert masks[k][:, 120:].max() == 0  # nothing on the left leg's side
    body[J["RKnee"]] = 0
    assert R.render_limb_masks(body, SIZE)[k].max() == 0
    cls, colors = R.limb_classes("edn")
    assert len(cls) == len(R.EDN.pairs) and len(colors) == len(set(colors))


def test_face_box_is_a_square_around_the_head():
    body = frontal_person(scale=2.0)  # nose at (200, 80), torso 140 px
    box = R.face_box(body, (400, 512))
    x0, y0, x1, y1 = box
    assert x1 - x0 == y1 - y0 == round(1.1 * 140)
    assert x0 < 200 < x1 and y0 < 80 < y1
    assert abs((x0 + x1) / 2 - 200) <= 1 and abs((y0 + y1) / 2 - 80) <= 1
    # clamped into the image near its border, size kept
    near = frontal_person(scale=2.0, offset=(-180, -70))
    x0, y0, x1, y1 = R.face_box(near, (400, 512))
    assert x0 == 0 and y0 == 0 and x1 - x0 == y1 - y0 == round(1.1 * 140)
    # no torso: from the head points; no head: None
    body[[J["Neck"], J["MidHip"]], 2] = 0
    x0, y0, x1, y1 = R.face_box(body, (400, 512))
    assert x1 - x0 == round(2.2 * 40)  # ears 40 px apart
    body[[J[n] for n in ("Nose", "REye", "LEye", "REar", "LEar")], 2] = 0
    assert R.face_box(body, (400, 512)) is None


def test_contact_sheet_layout():
    frames = [np.full((64, 32, 3), i * 20, np.uint8) for i in range(10)]
    labels = [R.render_pose(frontal_person(scale=0.25), (32, 64)) for _ in range(10)]
    sheet = R.contact_sheet(frames, labels, n=4, width=128)
    assert sheet.shape == (4 * 128, 128, 3)
    assert sheet[:, :64].std() > 0  # frames differ row to row
    with pytest.raises(ValueError, match="as many"):
        R.contact_sheet(frames, labels[:3])


def test_unknown_style_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown render style"):
        R.render_pose(frontal_person(), SIZE, style="vid2vid")
