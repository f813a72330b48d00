"""Self-reconstruction evaluation: generated test frames against the real ones, frame by frame.

The target's held-out frames are split into *segments* of consecutive frame numbers (a
temporal model is reset at every gap). For each frame: SSIM and PSNR on the whole frame and
inside the person box, the same for the mean-training-frame baseline, optionally LPIPS, the
pose distance of a labeler run on the generated frame (and on the real frame, the labeler's
own error floor) to the input keypoints; for each consecutive pair inside a segment: the
warping error of the generated pair with the dataset's real flow and validity mask (and of
the real pair: the floor that flow errors alone give) and tOF. FID and KID are computed over the set.
The metrics themselves are the objects of :mod:`v2v_pipeline.metrics.engine` (shared with the
trainer's validation); their names and directions are in :mod:`v2v_pipeline.metrics.registry`.

Everything is streamed: one frame (and its predecessor) is in memory at a time, plus the
per-frame numbers and, for FID, 2048 floats per frame.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch

from v2v_pipeline.boxes import Box, box_from_row  # noqa: F401 - Box re-exported
from v2v_pipeline.flow.warp import chain_backward_flows
from v2v_pipeline.metrics import LPIPS, InceptionFeatureExtractor, PoseDistance
from v2v_pipeline.metrics import registry as metric_registry
from v2v_pipeline.metrics.engine import (
    BODY_25_JOINTS,
    Baseline,
    Evaluator,
    Frame,
    ImageQuality,
    InceptionDistances,
    Lpips,
    Metric,
    Pose,
    PoseEstimator,
    Tof,
    Warping,
    image_scores,  # noqa: F401 - re-exported
    mean_frame,  # noqa: F401 - re-exported
)
from v2v_pipeline.progress import progress
from v2v_pipeline.schema import frame_member, resize_flow, resize_image, resize_valid
from v2v_pipeline.storage import Archive

# Box, box_from_row, image_scores, mean_frame are re-exported: the trainer imports them from here (for now).

log = logging.getLogger(__name__)

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

    def backward(self, frame: int, earlier: int) -> tuple[np.ndarray, np.ndarray]:
        """Backward flow and validity from ``frame`` to ``earlier`` (< ``frame``): the stored flow for the
        previous frame, else the stored one-step flows chained (the pairs of a subsampled split)."""
        if earlier >= frame:
            raise ValueError(f"backward flow from frame {frame} to {earlier}: the second must be earlier")
        if earlier == frame - 1:
            return self.flow(frame), self.valid(frame)
        steps = range(frame, earlier, -1)
        return chain_backward_flows([self.flow(f) for f in steps], [self.valid(f) for f in steps])


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
    kid: float | None = None
    kid_std: float | None = None
    set_metrics: dict[str, float] = field(default_factory=dict)  # FID, KID, detection rates


def evaluation_metrics(models: MetricModels, baseline: np.ndarray | None, use_pose: bool) -> list[Metric]:
    """The metric objects of a self-reconstruction evaluation (the engine's, in a fixed column order)."""
    metrics: list[Metric] = [ImageQuality()]
    if baseline is not None:
        metrics.append(Baseline(baseline))
    if models.lpips is not None:
        metrics.append(Lpips(models.lpips))
    metrics += [Warping(real_floor=True), Tof()]
    if models.inception is not None:
        metrics.append(InceptionDistances(models.inception))
    if use_pose:
        metrics.append(Pose(models.pose, models.pose_min_confidence, models.pose_real_reference))
    return metrics


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
    metrics: Sequence[Metric] | None = None,
) -> EvaluationResult:
    """Per-frame metrics of ``generated(frame)`` against ``data.image(frame)`` over ``segments``.

    ``frames`` is the dataset's frame table (``frame``, ``time``, ``person_*`` boxes in stored
    pixels, multiplied by ``box_scale``); ``baseline`` a fixed image scored like a model
    output; ``reference`` the input keypoints per frame (evaluation pixels) for pose distance.
    The metrics are :mod:`v2v_pipeline.metrics.engine` objects run by its :class:`Evaluator`
    (``metrics`` replaces the default set). A segment need not be consecutive frames: the pairs of a
    subsampled segment (frames ``t - k`` and ``t``) get the stored flows chained over the k steps.
    """
    models = models or MetricModels()
    table = frames.set_index("frame")
    use_pose = models.pose is not None and reference is not None
    evaluator = Evaluator(list(metrics) if metrics is not None else evaluation_metrics(models, baseline, use_pose))
    with progress(total=sum(len(s) for s in segments), desc="evaluate", unit="frame", leave=False) as bar:
        for s, segment in enumerate(segments):
            evaluator.start_segment()
            prev_gen = prev_real = prev_f = None
            for f in (int(f) for f in segment):
                gen, real = generated(f), data.image(f)
                if gen.shape != real.shape:
                    raise ValueError(f"frame {f}: generated {gen.shape} and real {real.shape} differ in size")
                info = table.loc[f]
                flow, valid = data.backward(f, prev_f) if prev_f is not None else (None, None)
                evaluator.update(Frame(gen, real, box_from_row(info, "person", box_scale), prev_gen, prev_real,
                                       flow, valid, reference.get(f) if use_pose else None,
                                       box_from_row(info, "face", box_scale)),
                                 frame=f, segment=s, time=float(info.get("time", np.nan)))
                prev_gen, prev_real, prev_f = gen, real, f
                bar.update(1)
    set_metrics = evaluator.compute()
    result = EvaluationResult(evaluator.table(), notes=[*models.notes, *evaluator.notes], set_metrics=set_metrics,
                              fid=set_metrics.get("fid"), kid=set_metrics.get("kid"),
                              kid_std=set_metrics.get("kid_std"))
    for m in evaluator.metrics:
        if isinstance(m, Pose):
            result.pose, result.pose_real = m.results()
    return result


# --------------------------------------------------------------------------- summary
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
    for col in metric_registry.summary_columns(df.columns):
        out[f"{prefix}{col}_mean"] = _mean(df[col])
        finite = df[col].astype(np.float64)
        finite = finite[np.isfinite(finite)]
        out[f"{prefix}{col}_median"] = float(finite.median()) if len(finite) else math.nan
    if "psnr" in df:
        out[f"{prefix}psnr_inf_frames"] = float(np.isinf(df["psnr"].astype(np.float64)).sum())
    sets = dict(result.set_metrics)
    if result.fid is not None:
        sets["fid"] = result.fid
    if result.pose is not None:
        sets["pose_detection_rate"] = result.pose.detection_rate
    if result.pose_real is not None:
        sets["pose_detection_rate_real"] = result.pose_real.detection_rate
    out.update({f"{prefix}{k}": float(v) for k, v in sets.items()})
    return out


def comparison_table(summary: Mapping[str, float], prefix: str = "eval/") -> pd.DataFrame:
    """Rows per metric of the registry: model, mean-frame baseline and real-frames reference (where they apply)."""
    rows = []
    for m in metric_registry.METRICS.values():
        model = summary.get(f"{prefix}{m.summary_key}")
        if model is None or not m.in_table:
            continue
        baseline = summary.get(f"{prefix}baseline_{m.summary_key}")
        real = summary.get(f"{prefix}{m.name}_real_mean", summary.get(f"{prefix}{m.name}_real"))
        rows.append({"metric": m.label, "model": model, "baseline (mean frame)": baseline,
                     "real frames (floor)": real, "better": m.better})
    return pd.DataFrame(rows)
