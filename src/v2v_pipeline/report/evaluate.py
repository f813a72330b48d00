"""The ``evaluate`` pipeline's steps as library functions (the Kedro nodes only parse and call these).

1. :func:`generation_content` - generate every frame of the evaluated split once, into an archive;
2. :func:`evaluate_archive` - load the metric networks (:func:`load_metric_models`), score the
   archive against the dataset with :func:`~v2v_pipeline.report.evaluation.evaluate_segments`,
   summarise (per-frame table, JSON report, MLflow metrics);
3. :func:`evaluation_video` - label | generated | real strips;
4. :func:`evaluation_report` - the HTML report and its figures.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from v2v_pipeline.inference import FrameGenerator, mlflow_run_id, pick_device
from v2v_pipeline.metrics import load_inception_or_none, load_lpips_or_none
from v2v_pipeline.params import EvaluateParams
from v2v_pipeline.schema import FACE_BOX
from v2v_pipeline.storage import Archive
from v2v_pipeline.tracking import as_mlflow_metrics, set_tags
from v2v_pipeline.video.geometry import video_geometry
from v2v_pipeline.video.io import VideoContent

from .assemble import TransferInfo, build_report, sample_strips
from .compose import side_by_side
from .evaluation import (
    DatasetReader,
    MetricModels,
    evaluate_segments,
    make_pose_estimator,
    mean_frame,
    reference_keypoints,
    split_segments,
    summary_metrics,
)
from .generation import Clip, GeneratedFramesContent, LazyFrames, model_summary, resolve_model, training_history
from .html import HtmlReport
from .plots import metrics_over_time, training_curves

log = logging.getLogger(__name__)


def json_safe(obj: Any) -> Any:
    """NaN / inf as strings (JSON has neither), recursively through dicts, lists and tuples."""
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_safe(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return str(obj)
    return obj


def as_float(v: Any) -> float:
    """``float(v)``, NaN for what is not a number (the JSON report's "nan" strings come back as NaN)."""
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def target_rows(frame_index: pd.DataFrame) -> pd.DataFrame:
    return frame_index[frame_index.role == "target"]


def archive_segments(meta: dict) -> list[np.ndarray]:
    """Frame numbers per segment from an evaluation archive's ``meta``."""
    return [np.arange(start, start + length, dtype=np.int64) for start, length in meta["segments"]]


def archive_frames(archive: Archive):
    """``frame -> generated image`` of an evaluation archive."""
    return lambda f: archive.read(f"output/{int(f):06d}")


# --------------------------------------------------------------------------- 1. generation
def generation_content(p: EvaluateParams, latest_model: Path | None, dataset_archive: Archive,
                       dataset_frames: pd.DataFrame, dataset_manifest: dict) -> GeneratedFramesContent:
    """Every frame of the evaluated split generated from its label (temporal state reset at each gap)."""
    model = resolve_model(p.model, latest_model)
    trained_on = model.get("dataset_sha256")
    if trained_on and trained_on != dataset_manifest.get("sha256"):
        log.warning("evaluate: the model was trained on dataset %s but the current dataset is %s; its '%s' split "
                    "may overlap the model's training frames", trained_on[:12], dataset_manifest.get("sha256", "?")[:12],
                    p.split)
        set_tags({"eval.dataset_mismatch": "true"})
    generator = FrameGenerator(model, p.device, p.precision)
    info = model_summary(model, p.model, latest_model if p.model == "latest" else None)
    segments = split_segments(dataset_frames, p.split, p.max_frames)
    reader = DatasetReader(dataset_archive)  # labels at the stored size; the generator resizes them
    table = dataset_frames.set_index("frame")
    faces = generator.face_generator is not None and p.faces and set(FACE_BOX) <= set(table.columns)

    def clips():
        for seg in segments:
            boxes = table.loc[seg, FACE_BOX].to_numpy(np.float64) if faces else None
            yield Clip([f"{f:06d}" for f in seg], LazyFrames(reader.label, seg), boxes)

    n = sum(len(s) for s in segments)
    log.info("evaluate: %s model (step %d) on %d '%s' frames in %d segment(s)", info["family"], info["step"], n,
             p.split, len(segments))
    run_id = mlflow_run_id(p.model)
    set_tags({"eval.model": info["path"] or p.model, "eval.model_family": info["family"],
              "eval.model_step": info["step"], "eval.split": p.split, **({"eval.model_run_id": run_id} if run_id else {})})
    meta = {"model": info, "split": p.split, "segments": [[int(s[0]), len(s)] for s in segments]}
    history = training_history(model, p.model)
    if history is not None:  # for the report's training curves: this model's, not the newest training run's
        meta["training_history"] = {c: [as_float(v) for v in history[c]] for c in history.columns}
    return GeneratedFramesContent(generator, clips, batch_size=p.batch_size, meta=meta, metric_prefix="eval/generation",
                                  total=n)


# --------------------------------------------------------------------------- 2. metrics
def load_metric_models(p: EvaluateParams, device) -> tuple[MetricModels, dict[str, str]]:
    """Load the optional metric networks; a missing weight file skips its metric with a note and a status."""
    models = MetricModels(pose_real_reference=p.pose.real_reference, pose_min_confidence=p.pose.min_confidence)
    status: dict[str, str] = {}
    for name, enabled, load, files in (
        ("lpips", p.lpips.enabled, lambda: load_lpips_or_none(p.lpips.backbone, p.lpips.lin, p.lpips.net, device),
         [p.lpips.backbone, p.lpips.lin]),
        ("fid", p.fid.enabled, lambda: load_inception_or_none(p.fid.inception, device), [p.fid.inception]),
    ):
        net = load() if enabled else None
        if net is None:
            missing = [f for f in files if not Path(f).is_file()]
            reason = ("disabled in parameters_evaluate.yml" if not enabled else
                      f"no weights at {', '.join(missing)} (parameters_evaluate.yml and docs/metrics.md say how to "
                      "export them)" if missing else
                      f"the weights in {', '.join(files)} could not be loaded (see the log)")
            what = "FID and KID" if name == "fid" else name.upper()
            models.notes.append(f"{what} skipped: {reason}")
            status[name] = "skipped: " + reason
        else:
            setattr(models, "lpips" if name == "lpips" else "inception", net)
            status[name] = "computed"
    if not p.pose.enabled:
        models.notes.append("pose distance skipped: disabled in parameters_evaluate.yml")
        status["pose"] = "skipped: disabled"
        return models, status
    try:
        models.pose = make_pose_estimator(p.pose.backend, p.pose.model_complexity)
        status["pose"] = f"computed ({p.pose.backend})"
    except Exception as e:  # noqa: BLE001 - the labeler is optional for evaluation
        log.warning("pose distance skipped: the %s labeler is not usable (%s)", p.pose.backend, e)
        models.notes.append(f"pose distance skipped: {p.pose.backend} labeler not usable ({e})")
        status["pose"] = f"skipped: {e}"
    return models, status


def _reference(models: MetricModels, status: dict, keypoints: pd.DataFrame, video_metadata: pd.DataFrame,
               frame_index: pd.DataFrame, size: tuple[int, int]) -> dict[int, np.ndarray] | None:
    """Input keypoints of the target at the evaluation size (None, with a note, when there are none)."""
    if models.pose is None:
        return None
    video = str(target_rows(frame_index).video.iloc[0])
    fw, fh = video_geometry(video_metadata, video).size  # keypoints are in stored-frame pixels
    reference = reference_keypoints(keypoints, video, (size[0] / fw, size[1] / fh))
    if not reference:
        models.pose = None
        models.notes.append(f"pose distance skipped: the keypoint table has no rows of '{video}'")
        status["pose"] = "skipped: no input keypoints"
        return None
    return reference


def evaluate_archive(p: EvaluateParams, evaluation_frames: Archive, dataset_archive: Archive,
                     dataset_frames: pd.DataFrame, keypoints: pd.DataFrame, video_metadata: pd.DataFrame,
                     frame_index: pd.DataFrame) -> tuple[pd.DataFrame, dict, dict]:
    """Per-frame metrics table, the JSON summary report and the summary's MLflow metrics (``eval/...``)."""
    meta = evaluation_frames.read("meta")
    segments = archive_segments(meta)
    size = tuple(meta["model"]["size"])
    reader = DatasetReader(dataset_archive, size)
    stored = reader.stored_size(int(segments[0][0]))
    train = dataset_frames.loc[dataset_frames.split == "train", "frame"].to_numpy()
    baseline = mean_frame(reader.image, train, p.baseline_frames) if len(train) else None
    models, status = load_metric_models(p, pick_device(p.device))
    reference = _reference(models, status, keypoints, video_metadata, frame_index, size)
    if baseline is None:
        models.notes.append("baseline skipped: the dataset has no training frames")
    result = evaluate_segments(segments, archive_frames(evaluation_frames), reader, dataset_frames,
                               baseline=baseline, models=models, reference=reference,
                               box_scale=(size[0] / stored[0], size[1] / stored[1]))
    summary = summary_metrics(result)
    for note in result.notes:
        log.info("evaluate: %s", note)
    s = lambda k: summary.get(f"eval/{k}", math.nan)  # noqa: E731
    log.info("evaluate: SSIM %.4f (person %.4f) vs mean-frame baseline %.4f (person %.4f); PSNR %.2f dB; "
             "warping error %.3g (real frames %.3g)", s("ssim_mean"), s("ssim_person_mean"), s("baseline_ssim_mean"),
             s("baseline_ssim_person_mean"), s("psnr_mean"), s("warp_error_mean"), s("warp_error_real_mean"))
    set_tags({f"eval.{k}": v for k, v in status.items()})
    finite = {k: v for k, v in summary.items() if v is not None and math.isfinite(v)}
    report = {"metrics": summary, "notes": result.notes, "metric_status": status, "model": meta["model"],
              "split": meta["split"], "segments": meta["segments"]}
    return result.per_frame, json_safe(report), as_mlflow_metrics(finite)


# --------------------------------------------------------------------------- 3. video, 4. report
def evaluation_video(evaluation_frames: Archive, dataset_archive: Archive, frame_index: pd.DataFrame) -> VideoContent:
    """label | generated | real for every evaluated frame, at the model's size (streamed)."""
    meta = evaluation_frames.read("meta")
    size = tuple(meta["model"]["size"])
    reader = DatasetReader(dataset_archive, size)
    frames = np.concatenate(archive_segments(meta))
    generated = archive_frames(evaluation_frames)

    def strips():
        for f in frames:
            yield side_by_side([reader.label(f), generated(f), reader.image(f)], size[1], ["label", "generated", "real"])

    return VideoContent(strips, float(target_rows(frame_index).fps.iloc[0]))


def evaluation_report(p: EvaluateParams, per_frame: pd.DataFrame, summary: dict, evaluation_frames: Archive,
                      dataset_archive: Archive, video: Path, transfer_frames: Path | None,
                      transfer_video: Path | None, transfer_side_by_side: Path | None) -> tuple[HtmlReport, Figure, Figure]:
    """The HTML report (with the newest transfer videos when they exist) and its two figures."""
    meta = evaluation_frames.read("meta")
    reader = DatasetReader(dataset_archive, tuple(meta["model"]["size"]))
    history = pd.DataFrame(meta["training_history"]) if meta.get("training_history") else None
    transfer = None
    if transfer_video is not None or transfer_side_by_side is not None:
        tmeta = Archive(transfer_frames).read("meta") if transfer_frames is not None else {}
        transfer = TransferInfo(transfer_video, transfer_side_by_side, tmeta)
    frames = np.concatenate(archive_segments(meta))
    fig_metrics, fig_training = metrics_over_time(per_frame), training_curves(history)
    report = build_report(p.report_title, summary={k: as_float(v) for k, v in summary["metrics"].items()},
                          per_frame=per_frame, notes=summary.get("notes", []), model=meta["model"], split=meta["split"],
                          samples=sample_strips(frames, archive_frames(evaluation_frames), reader, p.report_samples),
                          metrics_figure=fig_metrics, training_figure=fig_training, evaluation_video=Path(video),
                          transfer=transfer)
    return report, fig_metrics, fig_training
