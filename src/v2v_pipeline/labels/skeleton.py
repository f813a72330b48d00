"""Joint layouts, limb pairs and colours, and conversions between pose formats.

Every keypoint array in the project is ``(J, 3)`` (or ``(T, J, 3)``) with columns
``x, y, confidence`` in pixels of the stored frame; confidence 0 means *missing*.
The canonical layout is OpenPose BODY_25. "Right" always means the *person's* right
(OpenPose and MediaPipe agree on this), so for a person facing the camera the right
shoulder appears on the image's left.

Layouts and palettes here:

* ``BODY_25``: OpenPose's default body model; ``BODY_25_PAIRS`` / ``BODY_25_COLORS`` are
  the limb pairs and RGB colours OpenPose itself uses when it renders BODY_25.
* ``COCO_18``: OpenPose's older COCO model (``pose_keypoints_2d`` with 54 numbers).
* ``BODY_23``: the experimental OpenPose model the Everybody Dance Now (EDN) authors
  used for their published label maps; ``EDN_BODY_23_PAIRS`` / ``EDN_BODY_23_COLORS`` are
  the pairs and colours of EDN's ``renderpose23`` (``data_prep/renderopenpose.py``).
  EDN lists its colours for an OpenCV BGR canvas; they are stored here as RGB.
* MediaPipe Pose's 33 landmarks, mapped to BODY_25 by :func:`mediapipe_to_body25`.
* Face: OpenPose face-70 (dlib-68 + 2 pupils); :data:`MEDIAPIPE_FACE_TO_FACE70` gives an
  approximate correspondence from MediaPipe's 468 (478 refined) face-mesh points.
* Hands: OpenPose hand-21 and MediaPipe hand-21 share the same joint order.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# --------------------------------------------------------------------------- BODY_25
BODY_25: tuple[str, ...] = (
    "Nose", "Neck", "RShoulder", "RElbow", "RWrist", "LShoulder", "LElbow", "LWrist",
    "MidHip", "RHip", "RKnee", "RAnkle", "LHip", "LKnee", "LAnkle", "REye", "LEye",
    "REar", "LEar", "LBigToe", "LSmallToe", "LHeel", "RBigToe", "RSmallToe", "RHeel",
)  # fmt: skip
BODY_25_INDEX: dict[str, int] = {name: i for i, name in enumerate(BODY_25)}

#: Limb pairs in OpenPose's render order (``POSE_BODY_25_PAIRS_RENDER``).
BODY_25_PAIRS: tuple[tuple[int, int], ...] = (
    (1, 8), (1, 2), (1, 5), (2, 3), (3, 4), (5, 6), (6, 7), (8, 9), (9, 10), (10, 11),
    (8, 12), (12, 13), (13, 14), (1, 0), (0, 15), (15, 17), (0, 16), (16, 18),
    (14, 19), (19, 20), (14, 21), (11, 22), (22, 23), (11, 24),
)  # fmt: skip

#: Per-joint RGB colours of OpenPose's BODY_25 renderer; a limb takes its second joint's colour.
BODY_25_COLORS: tuple[tuple[int, int, int], ...] = (
    (255, 0, 85), (255, 0, 0), (255, 85, 0), (255, 170, 0), (255, 255, 0), (170, 255, 0),
    (85, 255, 0), (0, 255, 0), (255, 0, 0), (0, 255, 85), (0, 255, 170), (0, 255, 255),
    (0, 170, 255), (0, 85, 255), (0, 0, 255), (255, 0, 170), (170, 0, 255), (255, 0, 255),
    (85, 0, 255), (0, 0, 255), (0, 0, 255), (0, 0, 255), (0, 255, 255), (0, 255, 255),
    (0, 255, 255),
)  # fmt: skip

#: Index permutation that swaps the person's left and right joints (BODY_25).
BODY_25_FLIP: tuple[int, ...] = tuple(
    BODY_25_INDEX[{"L": "R", "R": "L"}[n[0]] + n[1:]] if n[0] in "LR" else i for i, n in enumerate(BODY_25)
)

# --------------------------------------------------------------------------- COCO_18
COCO_18: tuple[str, ...] = (
    "Nose", "Neck", "RShoulder", "RElbow", "RWrist", "LShoulder", "LElbow", "LWrist",
    "RHip", "RKnee", "RAnkle", "LHip", "LKnee", "LAnkle", "REye", "LEye", "REar", "LEar",
)  # fmt: skip
#: ``coco18[i] = body25[BODY25_TO_COCO18[i]]``
BODY25_TO_COCO18: tuple[int, ...] = tuple(BODY_25_INDEX[n] for n in COCO_18)

# --------------------------------------------------------------------------- BODY_23 (EDN)
BODY_23: tuple[str, ...] = (
    "Neck", "RShoulder", "RElbow", "RWrist", "LShoulder", "LElbow", "LWrist", "MidHip",
    "RHip", "RKnee", "RAnkle", "RBigToe", "RSmallToe", "LHip", "LKnee", "LAnkle",
    "LBigToe", "LSmallToe", "Nose", "REye", "REar", "LEye", "LEar",
)  # fmt: skip
#: ``body23[i] = body25[BODY25_TO_BODY23[i]]`` (EDN's ``map_25_to_23``; heels are dropped).
BODY25_TO_BODY23: tuple[int, ...] = tuple(BODY_25_INDEX[n] for n in BODY_23)

EDN_BODY_23_PAIRS: tuple[tuple[int, int], ...] = (
    (0, 1), (1, 2), (2, 3), (0, 4), (4, 5), (5, 6), (0, 7), (7, 8), (8, 9), (9, 10),
    (10, 11), (10, 12), (7, 13), (13, 14), (14, 15), (15, 16), (15, 17), (0, 18),
    (18, 19), (19, 20), (18, 21), (21, 22),
)  # fmt: skip


def _bgr_to_rgb(colors: tuple) -> tuple[tuple[float, float, float], ...]:
    return tuple((c[2], c[1], c[0]) for c in colors)


#: Per-joint colours of EDN's ``renderpose23`` (RGB); a limb takes its *first* joint's colour.
EDN_BODY_23_COLORS = _bgr_to_rgb((
    (255, 0, 0), (255, 55, 0), (255, 110, 0), (255, 165, 0), (255, 215, 0), (255, 235, 0),
    (255, 255, 0), (255, 0, 0), (175, 255, 0), (85, 255, 0), (0, 255, 0), (0, 255, 85),
    (0, 255, 170), (25, 25, 128), (0, 85, 255), (0, 170, 255), (0, 212.5, 255), (0, 255, 255),
    (255, 0, 0), (255, 0, 255), (238, 130, 238), (138, 43, 226), (75, 0, 130),
))  # fmt: skip

# --------------------------------------------------------------------------- hands and face
#: Hand limbs (OpenPose / MediaPipe hand-21 order) in EDN's drawing order: each finger's
#: chain from its base, then wrist -> finger base.
HAND_PAIRS: tuple[tuple[int, int], ...] = tuple(
    p for f in range(5) for p in [(4 * f + k, 4 * f + k + 1) for k in (1, 2, 3)] + [(0, 4 * f + 1)]
)
#: Per-joint hand colours of EDN's ``renderhand`` (RGB); a limb takes its second joint's colour.
EDN_HAND_COLORS = _bgr_to_rgb((
    (230, 53, 40), (231, 115, 64), (233, 136, 31), (213, 160, 13), (217, 200, 19),
    (170, 210, 35), (139, 228, 48), (83, 214, 45), (77, 192, 46), (83, 213, 133),
    (82, 223, 190), (80, 184, 197), (78, 140, 189), (86, 112, 208), (83, 73, 217),
    (123, 46, 183), (189, 102, 255), (218, 83, 232), (229, 65, 189), (236, 61, 141),
    (255, 102, 145),
))  # fmt: skip
#: The 8 face-70 points EDN draws by default (nose bridge, nose tip, chin, jaw ends,
#: under the nose, both pupils).
EDN_FACE_POINTS: tuple[int, ...] = (27, 30, 8, 0, 16, 33, 68, 69)

#: Approximate face-70 -> MediaPipe face-mesh index (dlib-68 order, then right/left pupil;
#: the pupils use the refined iris centres 468/473 when present, else the eye centres).
MEDIAPIPE_FACE_TO_FACE70: tuple[int, ...] = (
    127, 234, 93, 132, 58, 136, 150, 176, 152, 400, 379, 365, 288, 361, 323, 454, 356,  # jaw
    70, 63, 105, 66, 107, 336, 296, 334, 293, 300,  # brows (right, left)
    168, 197, 5, 4, 75, 97, 2, 326, 305,  # nose bridge, nose bottom
    33, 160, 158, 133, 153, 144, 362, 385, 387, 263, 373, 380,  # eyes (right, left)
    61, 39, 37, 0, 267, 269, 291, 405, 314, 17, 84, 181,  # outer lips
    78, 82, 13, 312, 308, 317, 14, 87,  # inner lips
    468, 473,  # pupils
)  # fmt: skip

# --------------------------------------------------------------------------- MediaPipe Pose
MEDIAPIPE_POSE: tuple[str, ...] = (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye",
    "right_eye_outer", "left_ear", "right_ear", "mouth_left", "mouth_right",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist",
    "right_wrist", "left_pinky", "right_pinky", "left_index", "right_index", "left_thumb",
    "right_thumb", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle",
    "right_ankle", "left_heel", "right_heel", "left_foot_index", "right_foot_index",
)  # fmt: skip
_MP = {n: i for i, n in enumerate(MEDIAPIPE_POSE)}

#: BODY_25 joints taken directly from one MediaPipe landmark. Big toes use ``foot_index``
#: (MediaPipe's toe tip); small toes are derived in :func:`mediapipe_to_body25`.
MEDIAPIPE_DIRECT: dict[str, str] = {
    "Nose": "nose", "RShoulder": "right_shoulder", "RElbow": "right_elbow",
    "RWrist": "right_wrist", "LShoulder": "left_shoulder", "LElbow": "left_elbow",
    "LWrist": "left_wrist", "RHip": "right_hip", "RKnee": "right_knee",
    "RAnkle": "right_ankle", "LHip": "left_hip", "LKnee": "left_knee",
    "LAnkle": "left_ankle", "REye": "right_eye", "LEye": "left_eye", "REar": "right_ear",
    "LEar": "left_ear", "LBigToe": "left_foot_index", "LHeel": "left_heel",
    "RBigToe": "right_foot_index", "RHeel": "right_heel",
}  # fmt: skip

#: Where a small toe is placed: this fraction of the way from the toe tip to the heel.
SMALL_TOE_TO_HEEL = 0.2


def check_keypoints(kp: np.ndarray, joints: int, what: str) -> np.ndarray:
    """``kp`` as float32 after checking that its shape is ``(..., joints, 3)``."""
    kp = np.asarray(kp, dtype=np.float32)
    if kp.shape[-2:] != (joints, 3):
        raise ValueError(f"{what}: expected keypoints of shape (..., {joints}, 3), got {kp.shape}")
    return kp


def _midpoint(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Midpoint of two (..., 3) joints; confidence min(a, b), missing if either is."""
    conf = np.minimum(a[..., 2], b[..., 2])
    out = np.concatenate([(a[..., :2] + b[..., :2]) / 2, conf[..., None]], axis=-1)
    out[conf <= 0] = 0
    return out


def mediapipe_to_body25(landmarks: np.ndarray, min_visibility: float = 0.5) -> np.ndarray:
    """Map MediaPipe Pose landmarks to BODY_25.

    Args:
        landmarks: ``(..., 33, 3)`` (or ``(..., 33, 4)`` with a ``z`` column that is ignored)
            holding ``x, y`` in pixels and MediaPipe's ``visibility`` as the last column.
        min_visibility: joints with a visibility below this are marked missing (confidence 0).

    Returns:
        ``(..., 25, 3)`` float32 keypoints; confidence is the visibility. Neck and MidHip are the
        shoulder and hip midpoints and small toes sit :data:`SMALL_TOE_TO_HEEL` of the way from
        the toe tip to the heel; derived joints get the smaller confidence of their sources.
    """
    lm = np.asarray(landmarks, dtype=np.float32)
    if lm.shape[-2] != 33 or lm.shape[-1] not in (3, 4):
        raise ValueError(f"expected MediaPipe landmarks of shape (..., 33, 3|4), got {lm.shape}")
    lm = np.concatenate([lm[..., :2], lm[..., -1:]], axis=-1)
    lm[lm[..., 2] < min_visibility] = 0
    out = np.zeros(lm.shape[:-2] + (25, 3), np.float32)
    for name, mp_name in MEDIAPIPE_DIRECT.items():
        out[..., BODY_25_INDEX[name], :] = lm[..., _MP[mp_name], :]
    out[..., BODY_25_INDEX["Neck"], :] = _midpoint(lm[..., _MP["left_shoulder"], :], lm[..., _MP["right_shoulder"], :])
    out[..., BODY_25_INDEX["MidHip"], :] = _midpoint(lm[..., _MP["left_hip"], :], lm[..., _MP["right_hip"], :])
    for side in ("left", "right"):
        toe, heel = lm[..., _MP[f"{side}_foot_index"], :], lm[..., _MP[f"{side}_heel"], :]
        conf = np.minimum(toe[..., 2], heel[..., 2])
        small = np.concatenate([toe[..., :2] + SMALL_TOE_TO_HEEL * (heel[..., :2] - toe[..., :2]), conf[..., None]], -1)
        small[conf <= 0] = 0
        out[..., BODY_25_INDEX[f"{side[0].upper()}SmallToe"], :] = small
    return out


def mediapipe_face_to_face70(mesh: np.ndarray) -> np.ndarray:
    """Approximate OpenPose face-70 points from a MediaPipe face mesh ``(468|478, 3)`` (x, y, conf).

    Without refined iris landmarks (468 points) the pupils are the eye-contour centres.
    """
    mesh = np.asarray(mesh, dtype=np.float32)
    if mesh.ndim != 2 or mesh.shape[0] not in (468, 478) or mesh.shape[1] != 3:
        raise ValueError(f"expected a face mesh of shape (468|478, 3), got {mesh.shape}")
    if mesh.shape[0] == 468:  # no iris: pupils from the eye contours
        eyes = [mesh[list(MEDIAPIPE_FACE_TO_FACE70[36:42])], mesh[list(MEDIAPIPE_FACE_TO_FACE70[42:48])]]
        mesh = np.concatenate([mesh, np.zeros((10, 3), np.float32)])
        mesh[468], mesh[473] = eyes[0].mean(0), eyes[1].mean(0)
    return mesh[list(MEDIAPIPE_FACE_TO_FACE70)].copy()


# --------------------------------------------------------------------------- conversions
def body25_to_coco18(kp: np.ndarray) -> np.ndarray:
    """``(..., 25, 3)`` -> ``(..., 18, 3)``; drops MidHip and the feet."""
    return check_keypoints(kp, 25, "body25_to_coco18")[..., list(BODY25_TO_COCO18), :].copy()


def coco18_to_body25(kp: np.ndarray) -> np.ndarray:
    """``(..., 18, 3)`` -> ``(..., 25, 3)``; MidHip is the hip midpoint, feet are missing."""
    kp = check_keypoints(kp, 18, "coco18_to_body25")
    out = np.zeros(kp.shape[:-2] + (25, 3), np.float32)
    out[..., list(BODY25_TO_COCO18), :] = kp
    out[..., BODY_25_INDEX["MidHip"], :] = _midpoint(
        out[..., BODY_25_INDEX["RHip"], :], out[..., BODY_25_INDEX["LHip"], :]
    )
    return out


def body25_to_body23(kp: np.ndarray) -> np.ndarray:
    """``(..., 25, 3)`` -> EDN's ``(..., 23, 3)`` layout (heels dropped)."""
    return check_keypoints(kp, 25, "body25_to_body23")[..., list(BODY25_TO_BODY23), :].copy()


def flip_left_right(kp: np.ndarray, width: float | None = None) -> np.ndarray:
    """Swap the person's left and right BODY_25 joints.

    With ``width`` the image is also mirrored (``x -> width - 1 - x``), which is what a
    horizontal flip of the frame does to its keypoints; without it only the labels swap.
    """
    out = check_keypoints(kp, 25, "flip_left_right")[..., list(BODY_25_FLIP), :].copy()
    if width is not None:
        present = out[..., 2] > 0
        out[..., 0] = np.where(present, width - 1 - out[..., 0], 0)
    return out


# --------------------------------------------------------------------------- tidy tables
TABLE_COLUMNS = ("video", "frame", "person", "joint", "x", "y", "confidence")


def keypoints_to_table(
    keypoints: np.ndarray, video: str, person: int = 0, joint_names: tuple[str, ...] = BODY_25
) -> pd.DataFrame:
    """``(T, J, 3)`` keypoints of one person -> tidy table (one row per frame and joint)."""
    kp = check_keypoints(keypoints, len(joint_names), "keypoints_to_table")
    if kp.ndim != 3:
        raise ValueError(f"keypoints_to_table expects (T, J, 3) keypoints, got {kp.shape}")
    t, j = kp.shape[:2]
    return pd.DataFrame({
        "video": pd.Categorical([video] * (t * j)),
        "frame": np.repeat(np.arange(t, dtype=np.int32), j),
        "person": np.full(t * j, person, np.int16),
        "joint": pd.Categorical(np.tile(np.array(joint_names), t), categories=list(joint_names)),
        "x": kp[..., 0].ravel(), "y": kp[..., 1].ravel(), "confidence": kp[..., 2].ravel(),
    })  # fmt: skip


def table_to_keypoints(
    table: pd.DataFrame,
    num_frames: int | None = None,
    video: str | None = None,
    person: int = 0,
    joint_names: tuple[str, ...] = BODY_25,
) -> np.ndarray:
    """Inverse of :func:`keypoints_to_table` for one video and person; absent rows are missing joints."""
    missing = set(TABLE_COLUMNS) - set(table.columns)
    if missing:
        raise ValueError(f"keypoint table lacks columns {sorted(missing)}; expected {TABLE_COLUMNS}")
    rows = table[table["person"] == person]
    if video is not None:
        rows = rows[rows["video"] == video]
    elif rows["video"].nunique() > 1:
        raise ValueError(f"table holds several videos {sorted(rows['video'].unique())}; pass video=")
    index = {n: i for i, n in enumerate(joint_names)}
    unknown = set(rows["joint"].astype(str)) - set(index)
    if unknown:
        raise ValueError(f"unknown joint names {sorted(unknown)} for a {len(joint_names)}-joint layout")
    t = int(rows["frame"].max()) + 1 if num_frames is None and len(rows) else (num_frames or 0)
    out = np.zeros((t, len(joint_names), 3), np.float32)
    f = rows["frame"].to_numpy(int)
    j = rows["joint"].astype(str).map(index).to_numpy(int)
    out[f, j] = rows[["x", "y", "confidence"]].to_numpy(np.float32)
    return out
