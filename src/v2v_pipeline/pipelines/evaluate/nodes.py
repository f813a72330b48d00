"""Thin Kedro nodes for evaluation; the work is in :mod:`v2v_pipeline.report` and :mod:`v2v_pipeline.metrics`."""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from v2v_pipeline.config import parse
from v2v_pipeline.datasets import ModelRef
from v2v_pipeline.inference import FrameGenerator, mlflow_run_id, pick_device
from v2v_pipeline.params import EvaluateParams
from v2v_pipeline.report import (
    Clip,
    DatasetReader,
    GeneratedFramesContent,
    HtmlReport,
    LazyFrames,
    MetricModels,
    TransferInfo,
    build_report,
    evaluate_segments,
    make_pose_estimator,
    mean_frame,
    metrics_over_time,
    model_summary,
    reference_keypoints,
    resolve_model,
    sample_strips,
    side_by_side,
    split_segments,
    summary_metrics,
    training_curves,
    training_history,
)
from v2v_pipeline.schema import FACE_BOX
from v2v_pipeline.storage import Archive
from v2v_pipeline.tracking import as_mlflow_metrics, set_tags
from v2v_pipeline.video.io import VideoContent

log = logging.getLogger(__name__)



def _target(frame_index: pd.DataFrame) -> pd.DataFrame:
    return frame_index[frame_index.role == "target"]


def generate_evaluation_frames(params: dict[str, Any], trained_model_ref: ModelRef, dataset_archive: Archive,
                               dataset_frames: pd.DataFrame, dataset_manifest: dict) -> GeneratedFramesContent:
    """Every frame of the evaluated split generated from its label (temporal state reset at each gap)."""
    p = parse(EvaluateParams, params, "evaluate")
    model = resolve_model(p.model, trained_model_ref.path)
    trained_on = model.get("dataset_sha256")
    if trained_on and trained_on != dataset_manifest.get("sha256"):
        log.warning("evaluate: the model was trained on dataset %s but the current dataset is %s; its '%s' split "
                    "may overlap the model's training frames", trained_on[:12], dataset_manifest.get("sha256", "?")[:12],
                    p.split)
        set_tags({"eval.dataset_mismatch": "true"})
    generator = FrameGenerator(model, p.device, p.precision)
    info = model_summary(model, p.model, trained_model_ref.path if p.model == "latest" else None)
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
    set_tags({"eval.model": info["path"] or p.model, "eval.model_family": info["family"],
              "eval.model_step": info["step"], "eval.split": p.split,
              **({"eval.model_run_id": mlflow_run_id(p.model)} if mlflow_run_id(p.model) else {})})
    meta = {"model": info, "split": p.split, "segments": [[int(s[0]), len(s)] for s in segments]}
    history = training_history(model, p.model)
    if history is not None:  # for the report's training curves: this model's, not the newest training run's
        meta["training_history"] = {c: [_float(v) for v in history[c]] for c in history.columns}
    return GeneratedFramesContent(generator, clips, batch_size=p.batch_size, meta=meta, metric_prefix="eval/generation",
                                  total=n)


def _segments(meta: dict) -> list[np.ndarray]:
    return [np.arange(start, start + length, dtype=np.int64) for start, length in meta["segments"]]


def _generated(archive: Archive):
    return lambda f: archive.read(f"output/{int(f):06d}")


def _metric_models(p: EvaluateParams, device) -> tuple[MetricModels, dict[str, str]]:
    """Load the optional metric networks; a missing weight file skips its metric with a note (and an MLflow tag)."""
    from v2v_pipeline.metrics import load_inception_or_none, load_lpips_or_none

    models, status = MetricModels(pose_real_reference=p.pose.real_reference,
                                  pose_min_confidence=p.pose.min_confidence), {}
    for name, enabled, load, files in (
        ("lpips", p.lpips.enabled, lambda: load_lpips_or_none(p.lpips.backbone, p.lpips.lin, p.lpips.net, device),
         [p.lpips.backbone, p.lpips.lin]),
        ("fid", p.fid.enabled, lambda: load_inception_or_none(p.fid.inception, device), [p.fid.inception]),
    ):
        net = load() if enabled else None
        if net is None:
            missing = [f for f in files if not Path(f).is_file()]
            reason = ("disabled in parameters_evaluate.yml" if not enabled else
                      f"no weights at {', '.join(missing)} (parameters_evaluate.yml says how to export them)" if missing
                      else f"the weights in {', '.join(files)} could not be loaded (see the log)")
            models.notes.append(f"{name.upper()} skipped: {reason}")
            status[name] = "skipped: " + reason
        else:
            setattr(models, "lpips" if name == "lpips" else "inception", net)
            status[name] = "computed"
    if p.pose.enabled:
        try:
            models.pose = make_pose_estimator(p.pose.backend, p.pose.model_complexity)
            status["pose"] = f"computed ({p.pose.backend})"
        except Exception as e:  # noqa: BLE001 - the labeler is optional for evaluation
            log.warning("pose distance skipped: the %s labeler is not usable (%s)", p.pose.backend, e)
            models.notes.append(f"pose distance skipped: {p.pose.backend} labeler not usable ({e})")
            status["pose"] = f"skipped: {e}"
    else:
        models.notes.append("pose distance skipped: disabled in parameters_evaluate.yml")
        status["pose"] = "skipped: disabled"
    return models, status


def compute_evaluation(params: dict[str, Any], evaluation_frames: Archive, dataset_archive: Archive,
                       dataset_frames: pd.DataFrame, keypoints: pd.DataFrame, frames: Archive,
                       frame_index: pd.DataFrame) -> tuple[pd.DataFrame, dict, dict]:
    """Per-frame metrics table, summary (JSON) and the summary's MLflow metrics (``eval/...``)."""
    p = parse(EvaluateParams, params, "evaluate")
    meta = evaluation_frames.read("meta")
    segments = _segments(meta)
    size = tuple(meta["model"]["size"])
    reader = DatasetReader(dataset_archive, size)
    stored = reader.stored_size(int(segments[0][0]))
    box_scale = (size[0] / stored[0], size[1] / stored[1])
    train = dataset_frames.loc[dataset_frames.split == "train", "frame"].to_numpy()
    baseline = mean_frame(reader.image, train, p.baseline_frames) if len(train) else None
    models, status = _metric_models(p, pick_device(p.device))
    reference = None
    if models.pose is not None:
        video = str(_target(frame_index).video.iloc[0])
        fh, fw = frames.read(sorted(frames.keys(video + "/"))[0]).shape[:2]
        reference = reference_keypoints(keypoints, video, (size[0] / fw, size[1] / fh))
        if not reference:
            models.pose = None
            models.notes.append(f"pose distance skipped: the keypoint table has no rows of '{video}'")
            status["pose"] = "skipped: no input keypoints"
    if baseline is None:
        models.notes.append("baseline skipped: the dataset has no training frames")
    result = evaluate_segments(segments, _generated(evaluation_frames), reader, dataset_frames, baseline=baseline,
                               models=models, reference=reference, box_scale=box_scale)
    summary = summary_metrics(result)
    for note in result.notes:
        log.info("evaluate: %s", note)
    log.info("evaluate: SSIM %.4f (person %.4f) vs mean-frame baseline %.4f (person %.4f); PSNR %.2f dB; "
             "warping error %.2f (real frames %.2f)", summary.get("eval/ssim_mean", math.nan),
             summary.get("eval/ssim_person_mean", math.nan), summary.get("eval/baseline_ssim_mean", math.nan),
             summary.get("eval/baseline_ssim_person_mean", math.nan), summary.get("eval/psnr_mean", math.nan),
             summary.get("eval/warp_error_mean", math.nan), summary.get("eval/warp_error_real_mean", math.nan))
    set_tags({f"eval.{k}": v for k, v in status.items()})
    finite = {k: v for k, v in summary.items() if v is not None and math.isfinite(v)}
    report = {"metrics": summary, "notes": result.notes, "metric_status": status, "model": meta["model"],
              "split": meta["split"], "segments": meta["segments"]}
    return result.per_frame, _json_safe(report), as_mlflow_metrics(finite)


def _json_safe(obj: Any) -> Any:
    """NaN / inf as strings (JSON has neither)."""
    if isinstance(obj, dict):
        return {k: _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_json_safe(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return str(obj)
    return obj


def _float(v: Any) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def render_evaluation_video(evaluation_frames: Archive, dataset_archive: Archive,
                            frame_index: pd.DataFrame) -> VideoContent:
    """label | generated | real for every evaluated frame, at the model's size (streamed)."""
    meta = evaluation_frames.read("meta")
    size = tuple(meta["model"]["size"])
    reader = DatasetReader(dataset_archive, size)
    frames = np.concatenate(_segments(meta))
    generated = _generated(evaluation_frames)
    fps = float(_target(frame_index).fps.iloc[0])

    def strips():
        for f in frames:
            yield side_by_side([reader.label(f), generated(f), reader.image(f)], size[1],
                               ["label", "generated", "real"])

    return VideoContent(strips, fps)


def build_evaluation_report(params: dict[str, Any], per_frame: pd.DataFrame, summary: dict, evaluation_frames: Archive,
                            dataset_archive: Archive, evaluation_video: Path,
                            transfer_frames: Path | None, transfer_video: Path | None,
                            transfer_side_by_side: Path | None) -> tuple[HtmlReport, Figure, Figure]:
    """The HTML report (with the newest transfer videos when they exist) and its two figures."""
    p = parse(EvaluateParams, params, "evaluate")
    meta = evaluation_frames.read("meta")
    reader = DatasetReader(dataset_archive, tuple(meta["model"]["size"]))
    history = pd.DataFrame(meta["training_history"]) if meta.get("training_history") else None
    transfer = None
    if transfer_video is not None or transfer_side_by_side is not None:
        tmeta = Archive(transfer_frames).read("meta") if transfer_frames is not None else {}
        transfer = TransferInfo(transfer_video, transfer_side_by_side, tmeta)
    metrics = {k: _float(v) for k, v in summary["metrics"].items()}
    frames = np.concatenate(_segments(meta))
    fig_metrics, fig_training = metrics_over_time(per_frame), training_curves(history)
    report = build_report(p.report_title, summary=metrics, per_frame=per_frame, notes=summary.get("notes", []),
                          model=meta["model"], split=meta["split"],
                          samples=sample_strips(frames, _generated(evaluation_frames), reader, p.report_samples),
                          metrics_figure=fig_metrics, training_figure=fig_training,
                          evaluation_video=Path(evaluation_video), transfer=transfer)
    return report, fig_metrics, fig_training
