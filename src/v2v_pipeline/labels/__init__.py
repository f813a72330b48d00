"""Pose labels: keypoint backends, tracking, smoothing and EDN-style label-map rendering.

Plain NumPy / pandas functions (no Kedro). Keypoints are ``(J, 3)`` ``x, y, confidence``
arrays in pixels (confidence 0 = missing) in OpenPose BODY_25 order (:mod:`.skeleton`).

* :mod:`.video` - whole-video labeling (:func:`~.video.label_videos`), tables, label-map archives
* :mod:`.backends` - the label backends, one registry behind one protocol
* :mod:`.config` - :class:`~.config.LabelConfig`, the ``label`` parameter section
* :mod:`.mediapipe_backend` - MediaPipe Pose/Holistic over RGB frames (+ identity guard)
* :mod:`.precomputed` - label-map folders and OpenPose JSON files
* :mod:`.densepose_backend` - DensePose IUV images and label channels (detectron2 optional)
* :mod:`.tracking` - follow one person among several candidates per frame
* :mod:`.smoothing` - gap filling, One-Euro / Savitzky-Golay / median smoothing, frame flags
* :mod:`.render` - EDN label maps, limb masks, face boxes, contact sheets
* :mod:`.overlap` - agreement of two label maps (geometry and colour-aware)
"""

from .densepose_backend import DensePoseBackend, iuv_to_label
from .mediapipe_backend import MediaPipeBackend, MediaPipeConfig, PoseSequence
from .overlap import limb_overlap, skeleton_overlap
from .precomputed import match_label_files, read_label_map, read_openpose_folder, read_openpose_json
from .render import EDN_CANVAS, contact_sheet, face_box, render_limb_masks, render_pose, render_sequence
from .skeleton import BODY_25, body25_to_coco18, coco18_to_body25, mediapipe_to_body25
from .smoothing import clean_sequence, interpolate_gaps, smooth
from .tracking import track_person

__all__ = [
    "BODY_25", "EDN_CANVAS", "DensePoseBackend", "MediaPipeBackend", "MediaPipeConfig", "PoseSequence",
    "body25_to_coco18", "clean_sequence", "coco18_to_body25", "contact_sheet", "face_box", "interpolate_gaps",
    "iuv_to_label", "limb_overlap", "match_label_files", "mediapipe_to_body25", "read_label_map",
    "read_openpose_folder", "read_openpose_json", "render_limb_masks", "render_pose", "render_sequence",
    "skeleton_overlap", "smooth", "track_person",
]  # fmt: skip
