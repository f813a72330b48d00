"""Self-reconstruction evaluation: generated test frames against the real ones, frame by frame.

The target's held-out frames are split into *segments* of consecutive frame numbers (a
temporal model is reset at every gap). For each frame: SSIM and PSNR on the whole frame and
inside the person box, the same for the mean-training-frame baseline, optionally LPIPS, the
pose distance of a labeler run on the generated frame (and on the real frame, the labeler's
own error floor) to the input keypoints; for each consecutive pair inside a segment: the
warping error of the generated pair with the dataset's real flow and validity mask (and of
the real pair: the floor that flow errors alone give) and tOF. FID is computed over the set.

Everything is streamed: one frame (and its predecessor) is in memory at a time, plus the
per-frame numbers and, for FID, 2048 floats per frame.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import pandas as pd
import torch

from v2v_pipeline.metrics import (
    LPIPS,
    Box,
    InceptionFeatureExtractor,
    PoseDistance,
    fid_from_features,
    images_to_tensor,
    pose_distance,
    psnr,
    ssim,
    tof,
    warping_error,
)
from v2v_pipeline.progress import progress
from v2v_pipeline.schema import frame_member, resize_flow, resize_image, resize_valid
from v2v_pipeline.storage import Archive

log = logging.getLogger(__name__)

BODY_25_JOINTS = 25

HIGHER_IS_BETTER = {"ssim", "psnr", "ssim_person", "psnr_person", "pose_detection_rate"}
"""Metric stems where a larger value is better (everything else: smaller is better)."""


# --------------------------------------------------------------------------- data access
class DatasetReader:
    """Label, image, backward flow and validity mask of a target frame in the dataset archive.

    With ``size=(width, height)`` different from the stored size everything is resized on
    read (flows are scaled with the image, masks keep only fully valid pixels), so metrics
    are computed at the model's resolution.
    """

    def __init__(self, archive: Archive, size: tuple[int, int] | None = None):
        self.archive = archive
        self.size = None if size is None else (int(size[0]), int(size[1]))

    def _read(self, kind: str, frame: int) -> np.ndarray:
        return self.archive.read(frame_member(kind, frame))

    def stored_size(self, frame: int) -> tuple[int, int]:
        h, w = self._read("image", frame).shape[:2]
        return w, h

    def _fit(self, img: np.ndarray) -> np.ndarray:
        if self.size is None or (img.shape[1], img.shape[0]) == self.size:
            return img
        return resize_image(img, self.size)

    def label(self, frame: int) -> np.ndarray:
        return self._fit(self._read("label", frame))

    def image(self, frame: int) -> np.ndarray:
        return self._fit(self._read("image", frame))

    def flow(self, frame: int) -> np.ndarray:
        """Backward flow ``(H, W, 2)`` float32 from ``frame`` to ``frame - 1`` (pixels)."""
        flow = self._read("flow", frame).astype(np.float32)
        return flow if self.size is None else resize_flow(flow, self.size)

    def valid(self, frame: int) -> np.ndarray:
        """Bool ``(H, W)``: pixels of ``frame`` where the flow to ``frame - 1`` is reliable."""
        valid = self._read("valid", frame)
        return valid > 127 if self.size is None else resize_valid(valid, self.size)


def split_segments(frames: pd.DataFrame, split: str = "test", max_frames: int | None = None) -> list[np.ndarray]:
    """Frame numbers of ``split`` in runs of consecutive numbers (the first ``max_frames`` only)."""
    numbers = np.sort(frames.loc[frames["split"] == split, "frame"].to_numpy(np.int64))
    if max_frames is not None:
        numbers = numbers[:max_frames]
    if len(numbers) == 0:
        have = ", ".join(f"{k} {v}" for k, v in frames["split"].value_counts().sort_index().items())
        raise ValueError(f"the dataset has no '{split}' frames ({have}); rebuild it with a {split} fraction "
                         "(ingest.split) or evaluate another split (evaluate.split)")
    breaks = np.flatnonzero(np.diff(numbers) != 1) + 1
    return np.split(numbers, breaks)


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


def box_from_row(row: Mapping[str, float], prefix: str, scale: tuple[float, float] = (1.0, 1.0)) -> Box | None:
    """``(x0, y0, x1, y1)`` integer box (outward-rounded) from ``<prefix>_x0`` ... columns; None if NaN."""
    vals = [row.get(f"{prefix}_{c}", math.nan) for c in ("x0", "y0", "x1", "y1")]
    if not all(v is not None and np.isfinite(v) for v in vals):
        return None
    x0, y0, x1, y1 = vals[0] * scale[0], vals[1] * scale[1], vals[2] * scale[0], vals[3] * scale[1]
    if x1 <= x0 or y1 <= y0:
        return None
    return int(math.floor(x0)), int(math.floor(y0)), int(math.ceil(x1)), int(math.ceil(y1))


def reference_keypoints(table: pd.DataFrame, video: str, scale: tuple[float, float] = (1.0, 1.0)) -> dict[int, np.ndarray]:
    """BODY_25 ``(25, 3)`` keypoints per frame of ``video`` (lowest person id) from a tidy keypoint table.

    Joints may be integers 0..24 or BODY_25 names; other joints (face, hands) are ignored.
    Coordinates are multiplied by ``scale = (sx, sy)`` (frame pixels -> evaluation pixels).
    """
    from v2v_pipeline.labels.skeleton import BODY_25

    rows = table[table["video"].astype(str) == video]
    if rows.empty:
        return {}
    rows = rows[rows["person"] == rows["person"].min()]
    joint = rows["joint"]
    if pd.api.types.is_numeric_dtype(joint):
        idx = joint.to_numpy(np.int64)
    else:
        names = {n: i for i, n in enumerate(BODY_25)}
        idx = joint.astype(str).map(lambda n: names.get(n, -1)).to_numpy(np.int64)
    keep = (idx >= 0) & (idx < BODY_25_JOINTS)
    rows, idx = rows[keep], idx[keep]
    out: dict[int, np.ndarray] = {}
    xyc = rows[["x", "y", "confidence"]].to_numpy(np.float32) * np.array([scale[0], scale[1], 1], np.float32)
    for f, j, v in zip(rows["frame"].to_numpy(np.int64), idx, xyc, strict=True):
        kp = out.setdefault(int(f), np.zeros((BODY_25_JOINTS, 3), np.float32))
        kp[j] = v
    return out


# --------------------------------------------------------------------------- pose labeler
class PoseEstimator(Protocol):
    """A labeler for the pose-distance metric: ``(H, W, 3)`` RGB -> ``(25, 3)`` (zeros if nobody found)."""

    def reset(self) -> None: ...

    def __call__(self, image: np.ndarray) -> np.ndarray: ...


class MediaPipePose:
    """:class:`PoseEstimator` on :class:`v2v_pipeline.labels.mediapipe_backend.MediaPipeBackend` (video mode)."""

    def __init__(self, model_complexity: int = 1):
        from v2v_pipeline.labels.mediapipe_backend import MediaPipeBackend

        self.backend = MediaPipeBackend(model_complexity=model_complexity, enable_segmentation=False)

    def reset(self) -> None:
        self.backend.reset()

    def __call__(self, image: np.ndarray) -> np.ndarray:
        det = self.backend.process_frame(np.ascontiguousarray(image))
        return np.zeros((BODY_25_JOINTS, 3), np.float32) if det is None else np.asarray(det.body, np.float32)

    def close(self) -> None:
        self.backend.close()


def make_pose_estimator(backend: str = "mediapipe", model_complexity: int = 1) -> Callable[[], PoseEstimator]:
    """A factory of pose estimators (one per frame stream); raises with the reason when unusable."""
    if backend != "mediapipe":
        raise ValueError(f"unknown pose backend {backend!r}; available: mediapipe")
    probe = MediaPipePose(model_complexity)  # fail now (import, graph, model file) rather than in the middle
    try:
        probe(np.zeros((64, 64, 3), np.uint8))
    finally:
        probe.close()
    return lambda: MediaPipePose(model_complexity)


# --------------------------------------------------------------------------- evaluation
@dataclass
class MetricModels:
    """Optional networks; ``None`` skips that metric (its columns are absent from the table)."""

    lpips: LPIPS | None = None
    inception: InceptionFeatureExtractor | None = None
    pose: Callable[[], PoseEstimator] | None = None
    pose_real_reference: bool = True
    pose_min_confidence: float = 0.3
    notes: list[str] = field(default_factory=list)  # why a metric was skipped


@dataclass
class EvaluationResult:
    per_frame: pd.DataFrame  # one row per evaluated frame
    fid: float | None = None
    pose: PoseDistance | None = None
    pose_real: PoseDistance | None = None
    notes: list[str] = field(default_factory=list)


@torch.no_grad()
def evaluate_segments(
    segments: Sequence[np.ndarray],
    generated: Callable[[int], np.ndarray],
    data: DatasetReader,
    frames: pd.DataFrame,
    *,
    baseline: np.ndarray | None = None,
    models: MetricModels | None = None,
    reference: Mapping[int, np.ndarray] | None = None,
    box_scale: tuple[float, float] = (1.0, 1.0),
) -> EvaluationResult:
    """Per-frame metrics of ``generated(frame)`` against ``data.image(frame)`` over ``segments``.

    ``frames`` is the dataset's frame table (``frame``, ``time``, ``person_*`` boxes in stored
    pixels, multiplied by ``box_scale``); ``baseline`` a fixed image scored like a model
    output; ``reference`` the input keypoints per frame (evaluation pixels) for pose distance.
    """
    models = models or MetricModels()
    table = frames.set_index("frame")
    device = next(models.lpips.parameters()).device if models.lpips is not None else None
    rows: list[dict] = []
    feats_gen: list[np.ndarray] = []
    feats_real: list[np.ndarray] = []
    kp_gen: list[np.ndarray] = []
    kp_real: list[np.ndarray] = []
    kp_ref: list[np.ndarray] = []
    use_pose = models.pose is not None and reference is not None
    est_gen = models.pose() if use_pose else None
    est_real = models.pose() if use_pose and models.pose_real_reference else None
    total = sum(len(s) for s in segments)
    with progress(total=total, desc="evaluate", unit="frame", leave=False) as bar:
        for s, segment in enumerate(segments):
            for est in (est_gen, est_real):
                if est is not None:
                    est.reset()
            prev_gen = prev_real = None
            for f in segment:
                f = int(f)
                gen, real = generated(f), data.image(f)
                if gen.shape != real.shape:
                    raise ValueError(f"frame {f}: generated {gen.shape} and real {real.shape} differ in size")
                info = table.loc[f]
                row: dict = {"frame": f, "segment": s, "time": float(info.get("time", np.nan))}
                box = box_from_row(info, "person", box_scale)
                row.update(image_scores(gen, real, box))
                if baseline is not None:
                    row.update({f"baseline_{k}": v for k, v in image_scores(baseline, real, box).items()})
                if models.lpips is not None:
                    row["lpips"] = float(models.lpips(images_to_tensor(gen, device), images_to_tensor(real, device))[0])
                if prev_gen is not None:
                    flow, valid = [data.flow(f)], [data.valid(f)]
                    row["warp_error"] = warping_error([prev_gen, gen], flow, valid).mean
                    row["warp_error_real"] = warping_error([prev_real, real], flow, valid).mean
                    row["tof"] = tof([prev_gen, gen], [prev_real, real], cut=0).mean
                else:
                    row["warp_error"] = row["warp_error_real"] = row["tof"] = np.nan
                if models.inception is not None:
                    feats_gen.append(models.inception.extract([gen], batch_size=1)[0])
                    feats_real.append(models.inception.extract([real], batch_size=1)[0])
                if use_pose:
                    ref = reference.get(f, np.zeros((BODY_25_JOINTS, 3), np.float32))
                    kp_ref.append(ref)
                    kp_gen.append(est_gen(gen))
                    d = pose_distance(kp_gen[-1], ref, models.pose_min_confidence)
                    row["pose_distance"], row["pose_joints"] = float(d.per_frame[0]), int(d.n_joints[0])
                    if est_real is not None:
                        kp_real.append(est_real(real))
                        row["pose_distance_real"] = float(pose_distance(kp_real[-1], ref, models.pose_min_confidence).per_frame[0])
                rows.append(row)
                prev_gen, prev_real = gen, real
                bar.update(1)
    result = EvaluationResult(pd.DataFrame(rows), notes=list(models.notes))
    if models.inception is not None:
        if len(feats_gen) >= 2:
            result.fid = fid_from_features(np.stack(feats_gen), np.stack(feats_real))
        else:
            result.notes.append("FID skipped: it needs at least 2 frames")
    if use_pose and kp_ref:
        result.pose = pose_distance(np.stack(kp_gen), np.stack(kp_ref), models.pose_min_confidence)
        if kp_real:
            result.pose_real = pose_distance(np.stack(kp_real), np.stack(kp_ref), models.pose_min_confidence)
    return result


def image_scores(image: np.ndarray, real: np.ndarray, box: Box | None) -> dict[str, float]:
    scores = {"ssim": ssim(image, real), "psnr": psnr(image, real)}
    if box is None:
        scores["ssim_person"] = scores["psnr_person"] = np.nan
    else:
        x0, y0, x1, y1 = box
        h, w = real.shape[:2]
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
        scores["ssim_person"] = ssim(image, real, box=(x0, y0, x1, y1))
        crop = (slice(y0, y1), slice(x0, x1))
        scores["psnr_person"] = psnr(image[crop], real[crop]) if x1 > x0 and y1 > y0 else np.nan
    return scores


# --------------------------------------------------------------------------- summary
SUMMARY_COLUMNS = ("ssim", "psnr", "ssim_person", "psnr_person", "lpips", "warp_error", "warp_error_real", "tof",
                   "pose_distance", "pose_distance_real", "baseline_ssim", "baseline_psnr", "baseline_ssim_person",
                   "baseline_psnr_person")


def _mean(values: pd.Series) -> float:
    """Mean of the finite values (an exact copy's PSNR is inf; it is left out of the mean and counted apart)."""
    v = values.astype(np.float64).to_numpy()
    v = v[np.isfinite(v)]
    return float(v.mean()) if v.size else math.nan


def summary_metrics(result: EvaluationResult, prefix: str = "eval/") -> dict[str, float]:
    """Flat summary: ``<prefix><column>_mean`` / ``_median`` for each metric column, plus FID, pose rates, counts.

    PSNR means are over finite values; ``<prefix>psnr_inf_frames`` counts exact copies.
    """
    df = result.per_frame
    out: dict[str, float] = {f"{prefix}frames": float(len(df)), f"{prefix}segments": float(df["segment"].nunique())}
    for col in SUMMARY_COLUMNS:
        if col in df:
            out[f"{prefix}{col}_mean"] = _mean(df[col])
            finite = df[col].astype(np.float64)
            finite = finite[np.isfinite(finite)]
            out[f"{prefix}{col}_median"] = float(finite.median()) if len(finite) else math.nan
    if "psnr" in df:
        out[f"{prefix}psnr_inf_frames"] = float(np.isinf(df["psnr"].astype(np.float64)).sum())
    if result.fid is not None:
        out[f"{prefix}fid"] = result.fid
    if result.pose is not None:
        out[f"{prefix}pose_detection_rate"] = result.pose.detection_rate
    if result.pose_real is not None:
        out[f"{prefix}pose_detection_rate_real"] = result.pose_real.detection_rate
    return out


def comparison_table(summary: Mapping[str, float], prefix: str = "eval/") -> pd.DataFrame:
    """Rows per metric: model, mean-frame baseline and real-frames reference (where they apply)."""
    names = {
        "ssim": "SSIM (whole frame)", "ssim_person": "SSIM (person box)", "psnr": "PSNR dB (whole frame)",
        "psnr_person": "PSNR dB (person box)", "lpips": "LPIPS", "fid": "FID",
        "warp_error": "warping error (0..255)", "tof": "tOF (px)", "pose_distance": "pose distance (px)",
        "pose_detection_rate": "pose detection rate",
    }  # fmt: skip
    rows = []
    for stem, label in names.items():
        model = summary.get(f"{prefix}{stem}_mean", summary.get(f"{prefix}{stem}"))
        if model is None:
            continue
        baseline = summary.get(f"{prefix}baseline_{stem}_mean")
        real = summary.get(f"{prefix}{stem}_real_mean", summary.get(f"{prefix}{stem}_real"))
        better = "higher" if stem in HIGHER_IS_BETTER else "lower"
        rows.append({"metric": label, "model": model, "baseline (mean frame)": baseline,
                     "real frames (floor)": real, "better": better})
    return pd.DataFrame(rows)
