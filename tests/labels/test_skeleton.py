import numpy as np
import pytest

from v2v_pipeline.labels import skeleton as sk

from .conftest import frontal_person

J = sk.BODY_25_INDEX


def mediapipe_frontal() -> np.ndarray:
    """33 MediaPipe landmarks (x, y, z, visibility) of a person facing the camera: the
    person's left side is on the image's right (larger x)."""
    lm = np.zeros((33, 4), np.float32)
    lm[:, 3] = 0.95
    left_x, right_x = 120.0, 80.0
    pos = {
        "nose": (100, 40), "left_eye": (105, 35), "right_eye": (95, 35), "left_ear": (110, 38),
        "right_ear": (90, 38), "left_shoulder": (left_x, 70), "right_shoulder": (right_x, 70),
        "left_elbow": (130, 100), "right_elbow": (70, 100), "left_wrist": (135, 130),
        "right_wrist": (65, 130), "left_hip": (112, 140), "right_hip": (88, 140),
        "left_knee": (114, 185), "right_knee": (86, 185), "left_ankle": (115, 230),
        "right_ankle": (85, 230), "left_heel": (113, 236), "right_heel": (87, 236),
        "left_foot_index": (123, 240), "right_foot_index": (77, 240),
    }  # fmt: skip
    for name, (x, y) in pos.items():
        lm[sk.MEDIAPIPE_POSE.index(name), :2] = (x, y)
    return lm


def test_mediapipe_mapping_keeps_the_persons_left_and_right():
    lm = mediapipe_frontal()
    body = sk.mediapipe_to_body25(lm)
    assert body.shape == (25, 3)
    # every right joint is on the image's left of its left counterpart (person faces camera)
    for name in ("Shoulder", "Elbow", "Wrist", "Hip", "Knee", "Ankle", "Eye", "Ear", "BigToe", "SmallToe", "Heel"):
        assert body[J["R" + name], 0] < body[J["L" + name], 0], name
    np.testing.assert_allclose(body[J["RShoulder"], :2], (80, 70))
    np.testing.assert_allclose(body[J["LWrist"], :2], (135, 130))
    np.testing.assert_allclose(body[J["Neck"], :2], (100, 70))  # shoulder midpoint
    np.testing.assert_allclose(body[J["MidHip"], :2], (100, 140))  # hip midpoint
    np.testing.assert_allclose(body[J["LBigToe"], :2], (123, 240))  # foot_index
    np.testing.assert_allclose(body[J["RHeel"], :2], (87, 236))
    # small toe between toe tip and heel
    np.testing.assert_allclose(
        body[J["LSmallToe"], :2],
        np.array([123, 240]) + sk.SMALL_TOE_TO_HEEL * np.array([113 - 123, 236 - 240]),
        rtol=1e-6,
    )
    np.testing.assert_allclose(body[:, 2], 0.95)


def test_mediapipe_visibility_becomes_confidence_and_gates_missing_joints():
    lm = mediapipe_frontal()
    lm[sk.MEDIAPIPE_POSE.index("left_shoulder"), 3] = 0.2
    lm[sk.MEDIAPIPE_POSE.index("right_knee"), 3] = 0.7
    body = sk.mediapipe_to_body25(lm, min_visibility=0.5)
    assert body[J["LShoulder"], 2] == 0 and np.all(body[J["LShoulder"]] == 0)
    assert body[J["Neck"], 2] == 0  # derived from a missing shoulder
    assert body[J["RKnee"], 2] == pytest.approx(0.7)
    assert body[J["MidHip"], 2] == pytest.approx(0.95)
    # batched input works the same
    batch = sk.mediapipe_to_body25(np.stack([lm, lm]), 0.5)
    np.testing.assert_array_equal(batch[1], body)


def test_mediapipe_mapping_rejects_wrong_shapes():
    with pytest.raises(ValueError, match="33"):
        sk.mediapipe_to_body25(np.zeros((25, 4)))


def test_body25_coco18_round_trip():
    body = frontal_person()
    coco = sk.body25_to_coco18(body)
    assert coco.shape == (18, 3)
    assert [sk.COCO_18[i] for i in range(18)] == [sk.BODY_25[i] for i in sk.BODY25_TO_COCO18]
    back = sk.coco18_to_body25(coco)
    shared = list(sk.BODY25_TO_COCO18)
    np.testing.assert_array_equal(back[shared], body[shared])
    np.testing.assert_allclose(back[J["MidHip"], :2], (body[J["RHip"], :2] + body[J["LHip"], :2]) / 2)
    feet = [J[n] for n in ("LBigToe", "LSmallToe", "LHeel", "RBigToe", "RSmallToe", "RHeel")]
    assert np.all(back[feet] == 0)
    np.testing.assert_array_equal(sk.body25_to_coco18(back), coco)


def test_body23_layout_matches_edn_map():
    body = frontal_person()
    b23 = sk.body25_to_body23(body)
    # EDN's map_25_to_23 index list
    np.testing.assert_array_equal(
        b23, body[[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 22, 23, 12, 13, 14, 19, 20, 0, 15, 17, 16, 18]]
    )


def test_flip_left_right():
    body = frontal_person()
    swapped = sk.flip_left_right(body)
    np.testing.assert_array_equal(swapped[J["RShoulder"]], body[J["LShoulder"]])
    np.testing.assert_array_equal(swapped[J["Nose"]], body[J["Nose"]])
    np.testing.assert_array_equal(sk.flip_left_right(swapped), body)
    mirrored = sk.flip_left_right(body, width=200)
    # a mirrored image of a frontal person is again a frontal person: right stays on the left
    assert mirrored[J["RShoulder"], 0] == pytest.approx(199 - body[J["LShoulder"], 0])
    assert mirrored[J["RShoulder"], 0] < mirrored[J["LShoulder"], 0]


def test_face70_from_mediapipe_mesh():
    rng = np.random.default_rng(0)
    mesh = np.concatenate([rng.uniform(0, 100, (468, 2)), np.ones((468, 1))], 1).astype(np.float32)
    face = sk.mediapipe_face_to_face70(mesh)
    assert face.shape == (70, 3)
    np.testing.assert_array_equal(face[30], mesh[4])  # nose tip
    np.testing.assert_allclose(
        face[68, :2], mesh[[33, 160, 158, 133, 153, 144], :2].mean(0), rtol=1e-5
    )  # pupil = eye centre
    refined = np.concatenate([mesh, np.full((10, 3), 7.0, np.float32)])
    assert sk.mediapipe_face_to_face70(refined)[69, 0] == 7.0  # iris landmark 473


def test_keypoint_table_round_trip():
    kp = np.stack([frontal_person(), frontal_person(offset=(5, 0))])
    kp[1, J["LWrist"]] = 0
    table = sk.keypoints_to_table(kp, video="clip", person=0)
    assert list(table.columns) == list(sk.TABLE_COLUMNS)
    assert len(table) == 2 * 25
    assert table.loc[(table.frame == 1) & (table.joint == "RShoulder"), "x"].item() == kp[1, J["RShoulder"], 0]
    np.testing.assert_array_equal(sk.table_to_keypoints(table), kp)
    np.testing.assert_array_equal(sk.table_to_keypoints(table[table.confidence > 0], num_frames=2), kp)
    with pytest.raises(ValueError, match="lacks columns"):
        sk.table_to_keypoints(table.drop(columns="x"))
