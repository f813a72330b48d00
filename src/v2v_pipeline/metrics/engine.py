"""The evaluation engine: metric objects with ``reset`` / ``update`` / ``compute`` and an :class:`Evaluator`.

Every place that scores generated frames against real ones uses these objects, so the
numbers of the trainer's validation and of the ``evaluate`` pipeline cannot drift apart:

* :class:`Evaluator` runs a list of metrics over a stream of :class:`Frame` s (segment by
  segment: ``start_segment`` resets temporal state) and collects one row per frame plus
  the set-level values (FID, KID, detection rates) of ``compute``;
* :func:`score_frames` is the short form for a clip in memory (the trainer's validation):
  mean SSIM / PSNR (frame and person box) and warping errors.

Metric names, directions and units are those of :mod:`.registry`. No Kedro, no report code.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import pandas as pd
import torch

from v2v_pipeline.boxes import Box, clip_box

from .fid import fid_from_features, fid_sample_warning, kid_from_features
from .image import images_to_tensor, psnr, ssim
from .pose import PoseDistance, pose_distance
from .temporal import tof, warp_error, warp_l1_255

BODY_25_JOINTS = 25
FACE_JOINTS = (0, 15, 16, 17, 18)  # BODY_25 nose, right / left eye, right / left ear: the face's landmarks


@dataclass
class Frame:
    """One evaluated frame: generated and real RGB uint8 images of one size, and what metrics may need."""

    generated: np.ndarray
    real: np.ndarray
    box: Box | None = None  # person box in these images' pixels
    prev_generated: np.ndarray | None = None  # the previous frame of the same segment (None at its start)
    prev_real: np.ndarray | None = None
    flow: np.ndarray | None = None  # backward flow (H, W, 2) from this frame to the previous one
    valid: np.ndarray | None = None  # bool (H, W): pixels where that flow is reliable
    reference_pose: np.ndarray | None = None  # (25, 3) input keypoints in these pixels
    face_box: Box | None = None  # face box in these pixels (face-crop SSIM / PSNR: the EDN face GAN's region)

    def __post_init__(self) -> None:
        if self.generated.shape != self.real.shape:
            raise ValueError(f"generated {self.generated.shape} and real {self.real.shape} frames differ in size")


class Metric(Protocol):
    """A metric: ``update`` gives the per-frame values (a dict, maybe empty), ``compute`` the set-level ones."""

    def reset(self) -> None: ...

    def update(self, frame: Frame) -> dict[str, float]: ...

    def compute(self) -> dict[str, float]: ...


# --------------------------------------------------------------------------- per-frame metrics
def box_scores(image: np.ndarray, real: np.ndarray, box: Box | None, name: str, *,
               crop: bool = True) -> dict[str, float]:
    """``ssim_<name>`` and ``psnr_<name>`` inside ``box``; NaN without a box or when it lies outside the frame.

    ``crop``: SSIM of the cropped images (NaN for a crop under the 11x11 window); otherwise the SSIM map
    of the whole frame averaged over the box, which also scores boxes of a few pixels (a face at 256x128).
    PSNR is always that of the crops."""
    if box is None:
        return {f"ssim_{name}": np.nan, f"psnr_{name}": np.nan}
    x0, y0, x1, y1 = clip_box(box, (real.shape[1], real.shape[0]))
    if not (x1 > x0 and y1 > y0):
        return {f"ssim_{name}": np.nan, f"psnr_{name}": np.nan}
    region = (slice(y0, y1), slice(x0, x1))
    if crop:
        value = ssim(image, real, box=(x0, y0, x1, y1))
    else:
        mask = np.zeros(real.shape[:2], bool)
        mask[region] = True
        value = ssim(image, real, mask=mask)
    return {f"ssim_{name}": value, f"psnr_{name}": psnr(image[region], real[region])}


def image_scores(image: np.ndarray, real: np.ndarray, box: Box | None) -> dict[str, float]:
    """SSIM and PSNR of ``image`` against ``real`` on the whole frame and inside ``box`` (NaN without one)."""
    return {"ssim": ssim(image, real), "psnr": psnr(image, real), **box_scores(image, real, box, "person")}


class _Stateless:
    def reset(self) -> None:
        pass

    def compute(self) -> dict[str, float]:
        return {}


class ImageQuality(_Stateless):
    """``ssim``, ``psnr``, ``ssim_person``, ``psnr_person`` of the generated frame, and ``ssim_face``,
    ``psnr_face`` for a frame with a face box."""

    def update(self, frame: Frame) -> dict[str, float]:
        scores = image_scores(frame.generated, frame.real, frame.box)
        if frame.face_box is not None:
            scores.update(box_scores(frame.generated, frame.real, frame.face_box, "face", crop=False))
        return scores


class Baseline(_Stateless):
    """The same scores for a fixed image (the mean training frame) as ``baseline_*``."""

    def __init__(self, image: np.ndarray) -> None:
        self.image = image

    def update(self, frame: Frame) -> dict[str, float]:
        return {f"baseline_{k}": v for k, v in image_scores(self.image, frame.real, frame.box).items()}


class Lpips(_Stateless):
    """``lpips`` with a loaded :class:`~v2v_pipeline.metrics.lpips.LPIPS` network."""

    def __init__(self, model: torch.nn.Module) -> None:
        self.model = model
        self.device = next(model.parameters()).device

    @torch.no_grad()
    def update(self, frame: Frame) -> dict[str, float]:
        a, b = images_to_tensor(frame.generated, self.device), images_to_tensor(frame.real, self.device)
        return {"lpips": float(self.model(a, b)[0])}


class Warping(_Stateless):
    """``warp_error`` (Lai et al.) and ``warp_l1_255`` with the real flow, and both on the real pair (``*_real``)."""

    names = ("warp_error", "warp_l1_255")

    def __init__(self, real_floor: bool = True) -> None:
        self.real_floor = real_floor

    def update(self, frame: Frame) -> dict[str, float]:
        cols = [*self.names, *(f"{n}_real" for n in self.names if self.real_floor)]
        if frame.prev_generated is None or frame.flow is None:
            return dict.fromkeys(cols, math.nan)
        flow, valid = [frame.flow], None if frame.valid is None else [frame.valid]
        out = {}
        for suffix, pair in (("", [frame.prev_generated, frame.generated]), ("_real", [frame.prev_real, frame.real])):
            if suffix and not self.real_floor:
                continue
            out[f"warp_error{suffix}"] = warp_error(pair, flow, valid).mean
            out[f"warp_l1_255{suffix}"] = warp_l1_255(pair, flow, valid).mean
        return out


class Tof(_Stateless):
    """TecoGAN's ``tof`` of the generated pair against the real pair."""

    def update(self, frame: Frame) -> dict[str, float]:
        if frame.prev_generated is None or frame.prev_real is None:
            return {"tof": math.nan}
        return {"tof": tof([frame.prev_generated, frame.generated], [frame.prev_real, frame.real], cut=0).mean}


class PoseEstimator(Protocol):
    """A labeler for the pose-distance metric: ``(H, W, 3)`` RGB -> ``(25, 3)`` (zeros if nobody found)."""

    def reset(self) -> None: ...

    def __call__(self, image: np.ndarray) -> np.ndarray: ...


class Pose:
    """``pose_distance`` (EDN) of a labeler run on the generated frame to the input pose, per frame;
    ``pose_distance_real`` of the labeler on the real frame (its own floor); detection rates for the set."""

    def __init__(self, estimator: Callable[[], PoseEstimator], min_confidence: float = 0.3,
                 real_reference: bool = True) -> None:
        self.min_confidence = min_confidence
        self.gen = estimator()
        self.real = estimator() if real_reference else None
        self.kp_gen: list[np.ndarray] = []
        self.kp_real: list[np.ndarray] = []
        self.kp_ref: list[np.ndarray] = []

    def reset(self) -> None:
        for est in (self.gen, self.real):
            if est is not None:
                est.reset()

    def update(self, frame: Frame) -> dict[str, float]:
        ref = frame.reference_pose
        ref = np.zeros((BODY_25_JOINTS, 3), np.float32) if ref is None else ref
        self.kp_ref.append(ref)
        self.kp_gen.append(self.gen(frame.generated))
        d = pose_distance(self.kp_gen[-1], ref, self.min_confidence)
        face = list(FACE_JOINTS)
        out = {"pose_distance": float(d.per_frame[0]), "pose_joints": int(d.n_joints[0]),
               "pose_distance_face": float(pose_distance(self.kp_gen[-1][face], ref[face],
                                                         self.min_confidence).per_frame[0])}
        if self.real is not None:
            self.kp_real.append(self.real(frame.real))
            out["pose_distance_real"] = float(pose_distance(self.kp_real[-1], ref, self.min_confidence).per_frame[0])
        return out

    def results(self) -> tuple[PoseDistance | None, PoseDistance | None]:
        """Pose distance over the set of the generated frames and of the real frames (None without frames)."""
        if not self.kp_ref:
            return None, None
        ref = np.stack(self.kp_ref)
        gen = pose_distance(np.stack(self.kp_gen), ref, self.min_confidence)
        real = pose_distance(np.stack(self.kp_real), ref, self.min_confidence) if self.kp_real else None
        return gen, real

    def compute(self) -> dict[str, float]:
        gen, real = self.results()
        out = {} if gen is None else {"pose_detection_rate": gen.detection_rate}
        if real is not None:
            out["pose_detection_rate_real"] = real.detection_rate
        return out


class InceptionDistances:
    """``fid`` and ``kid`` (+ ``kid_std``) over the set, from one feature pass per frame; a note when N is small."""

    def __init__(self, extractor, kid_subsets: int = 100, kid_subset_size: int = 1000) -> None:
        self.extractor = extractor
        self.kid_subsets, self.kid_subset_size = kid_subsets, kid_subset_size
        self.gen: list[np.ndarray] = []
        self.real: list[np.ndarray] = []
        self.notes: list[str] = []

    def reset(self) -> None:
        pass

    def update(self, frame: Frame) -> dict[str, float]:
        self.gen.append(self.extractor.extract([frame.generated], batch_size=1)[0])
        self.real.append(self.extractor.extract([frame.real], batch_size=1)[0])
        return {}

    def compute(self) -> dict[str, float]:
        if len(self.gen) < 2:
            self.notes.append("FID and KID skipped: they need at least 2 frames")
            return {}
        gen, real = np.stack(self.gen), np.stack(self.real)
        warning = fid_sample_warning(len(gen), gen.shape[1])
        if warning:
            self.notes.append(warning)
        kid, kid_std = kid_from_features(gen, real, self.kid_subsets, self.kid_subset_size)
        return {"fid": fid_from_features(gen, real), "kid": kid, "kid_std": kid_std}


# --------------------------------------------------------------------------- the engine
@dataclass
class Evaluator:
    """Runs ``metrics`` over frames: ``start_segment()``, ``update(frame, **ids)`` per frame, then ``compute()``."""

    metrics: Sequence[Metric]
    rows: list[dict] = field(default_factory=list)

    def start_segment(self) -> None:
        for m in self.metrics:
            m.reset()

    def update(self, item: Frame, /, **ids) -> dict:
        """Score one frame; ``ids`` (frame number, segment ...) start its row. Returns the row."""
        row = dict(ids)
        for m in self.metrics:
            row.update(m.update(item))
        self.rows.append(row)
        return row

    def table(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows)

    def compute(self) -> dict[str, float]:
        """Set-level values of every metric (FID, KID, detection rates)."""
        out: dict[str, float] = {}
        for m in self.metrics:
            out.update(m.compute())
        return out

    @property
    def notes(self) -> list[str]:
        return [n for m in self.metrics for n in getattr(m, "notes", [])]


def finite_mean(values) -> float:
    """Mean ignoring NaN (``inf`` kept, e.g. an exact copy's PSNR); NaN when no value is finite."""
    v = np.asarray(values, np.float64)
    return float(np.nanmean(v)) if np.isfinite(v).any() else math.nan


def score_frames(generated: Sequence[np.ndarray], real: Sequence[np.ndarray],
                 boxes: Sequence[Box | None] | None = None, flows: Sequence[np.ndarray] | None = None,
                 valid: Sequence[np.ndarray] | None = None) -> dict[str, float]:
    """Mean scores of a clip of consecutive generated frames against the real ones (the trainer's validation).

    ``boxes``: person box per frame (None: no person-box scores); ``flows[i]`` / ``valid[i]``:
    backward flow and validity mask from frame ``i + 1`` to frame ``i`` (T - 1 of each) for the
    warping errors. Returns ``ssim``, ``psnr``, ``ssim_person``, ``psnr_person`` and, with
    flows, ``warp_error`` and ``warp_l1_255``: means over frames (pairs) by :func:`finite_mean`.
    """
    if len(generated) != len(real) or (boxes is not None and len(boxes) != len(real)):
        raise ValueError(f"score_frames: {len(generated)} generated, {len(real)} real frames and "
                         f"{'no' if boxes is None else len(boxes)} boxes; they must match")
    if flows is not None and len(flows) != len(real) - 1:
        raise ValueError(f"score_frames: need {len(real) - 1} flows (one per consecutive pair), got {len(flows)}")
    metrics: list[Metric] = [ImageQuality()]
    if flows is not None:
        metrics.append(Warping(real_floor=False))
    ev = Evaluator(metrics)
    for i, (g, r) in enumerate(zip(generated, real, strict=True)):
        ev.update(Frame(g, r, None if boxes is None else boxes[i],
                        prev_generated=generated[i - 1] if i else None, prev_real=real[i - 1] if i else None,
                        flow=flows[i - 1] if i and flows is not None else None,
                        valid=valid[i - 1] if i and valid is not None else None))
    table = ev.table()
    return {c: finite_mean(table[c]) for c in table.columns}


def mean_frame(read: Callable[[int], np.ndarray], frames: Sequence[int], max_frames: int = 200) -> np.ndarray:
    """The mean of up to ``max_frames`` evenly spaced frames (RGB uint8): the trivial baseline "model"."""
    frames = np.asarray(frames)
    if len(frames) == 0:
        raise ValueError("mean_frame: no frames to average (the dataset has no training frames)")
    pick = frames[np.unique(np.linspace(0, len(frames) - 1, min(max_frames, len(frames))).round().astype(int))]
    total = None
    for f in pick:
        img = read(int(f)).astype(np.float64)
        total = img if total is None else total + img
    return np.clip(np.round(total / len(pick)), 0, 255).astype(np.uint8)
