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

from .assemble import StrideRows, TransferInfo, build_report, sample_strips
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
from .gallery import gallery_strips, worst_frames
from .generation import Clip, GeneratedFramesContent, LazyFrames, model_summary, resolve_model, training_history
from .html import HtmlReport
from .plots import metrics_over_time, training_curves
from .strides import evaluate_stride, extra_strides, stride_key, stride_segments, stride_summary, stride_table
from .verdict import stride_flags

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


def regenerated(meta: dict, stride: int) -> bool:
    """Whether the archive holds frames generated on the labels subsampled by ``stride`` (temporal models)."""
    return stride != 1 and meta.get("strides", {}).get(str(stride)) == "generated"


def archive_frames(archive: Archive, stride: int = 1):
    """``frame -> generated image`` of an evaluation archive (at ``stride``: the frames regenerated on the
    subsampled labels when the archive has them, else the stride-1 frames)."""
    if regenerated(archive.read("meta"), stride):
        return lambda f: archive.read(f"output/{stride_key(stride, f)}")
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

    # fast motion: a temporal model runs again on every stride's subsampled labels (its previous-frame input is
    # then the frame `stride` back); pix2pixHD has no state, so its stride frames are the stride-1 frames
    regenerate = [] if generator.batchable else extra_strides(p.strides)
    runs = [(1, segments)] + [(k, stride_segments(segments, k)) for k in regenerate]

    def clips():
        for stride, segs in runs:
            for seg in segs:
                boxes = table.loc[seg, FACE_BOX].to_numpy(np.float64) if faces else None
                yield Clip([stride_key(stride, f) for f in seg], LazyFrames(reader.label, seg), boxes)

    n = sum(len(s) for _, segs in runs for s in segs)
    log.info("evaluate: %s model (step %d) on %d '%s' frames in %d segment(s)", info["family"], info["step"], n,
             p.split, len(segments))
    run_id = mlflow_run_id(p.model)
    set_tags({"eval.model": info["path"] or p.model, "eval.model_family": info["family"],
              "eval.model_step": info["step"], "eval.split": p.split, **({"eval.model_run_id": run_id} if run_id else {})})
    meta = {"model": info, "split": p.split, "segments": [[int(s[0]), len(s)] for s in segments],
            "strides": {str(k): "generated" if k in regenerate else "reused" for k in extra_strides(p.strides)}}
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
                     frame_index: pd.DataFrame) -> tuple[pd.DataFrame, dict, dict, pd.DataFrame]:
    """Per-frame metrics table, the JSON summary report, the summary's MLflow metrics (``eval/...``) and
    the per-frame table of the subsampled splits (``evaluate.strides`` other than 1; column ``stride``)."""
    meta = evaluation_frames.read("meta")
    segments = archive_segments(meta)
    size = tuple(meta["model"]["size"])
    reader = DatasetReader(dataset_archive, size)
    stored = reader.stored_size(int(segments[0][0]))
    box_scale = (size[0] / stored[0], size[1] / stored[1])
    train = dataset_frames.loc[dataset_frames.split == "train", "frame"].to_numpy()
    baseline = mean_frame(reader.image, train, p.baseline_frames) if len(train) else None
    models, status = load_metric_models(p, pick_device(p.device))
    reference = _reference(models, status, keypoints, video_metadata, frame_index, size)
    if baseline is None:
        models.notes.append("baseline skipped: the dataset has no training frames")
    result = evaluate_segments(segments, archive_frames(evaluation_frames), reader, dataset_frames,
                               baseline=baseline, models=models, reference=reference, box_scale=box_scale)
    summary = summary_metrics(result)
    strided = [evaluate_stride(k, segments, archive_frames(evaluation_frames, k), reader, dataset_frames,
                               regenerated=regenerated(meta, k), base=result.per_frame, models=models,
                               reference=reference, box_scale=box_scale)
               for k in extra_strides(p.strides)]
    stride_frames = pd.concat(strided, ignore_index=True) if strided else empty_stride_table()
    summary.update(stride_summary(stride_frames))
    for note in result.notes:
        log.info("evaluate: %s", note)
    s = lambda k: summary.get(f"eval/{k}", math.nan)  # noqa: E731
    log.info("evaluate: SSIM %.4f (person %.4f) vs mean-frame baseline %.4f (person %.4f); PSNR %.2f dB; "
             "warping error %.3g (real frames %.3g)", s("ssim_mean"), s("ssim_person_mean"), s("baseline_ssim_mean"),
             s("baseline_ssim_person_mean"), s("psnr_mean"), s("warp_error_mean"), s("warp_error_real_mean"))
    for k in extra_strides(p.strides):
        log.info("evaluate: stride %d (%s): SSIM person %.4f, pose distance %.3g, tOF %.3g, warping error %.3g",
                 k, "regenerated" if regenerated(meta, k) else "stride-1 frames", s(f"stride{k}/ssim_person_mean"),
                 s(f"stride{k}/pose_distance_mean"), s(f"stride{k}/tof_mean"), s(f"stride{k}/warp_error_mean"))
    set_tags({f"eval.{k}": v for k, v in status.items()})
    finite = {k: v for k, v in summary.items() if v is not None and math.isfinite(v)}
    report = {"metrics": summary, "notes": result.notes, "metric_status": status, "model": meta["model"],
              "split": meta["split"], "segments": meta["segments"], "strides": [1, *extra_strides(p.strides)],
              "stride_frames": meta.get("strides", {})}
    return result.per_frame, json_safe(report), as_mlflow_metrics(finite), stride_frames


def empty_stride_table() -> pd.DataFrame:
    """The stride table when only stride 1 is evaluated (typed columns, so it saves as parquet)."""
    return pd.DataFrame({"stride": pd.Series(dtype="int64"), "frame": pd.Series(dtype="int64"),
                         "segment": pd.Series(dtype="int64")})


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
                      transfer_video: Path | None, transfer_side_by_side: Path | None,
                      stride_frames: pd.DataFrame | None = None) -> tuple[HtmlReport, Figure, Figure]:
    """The HTML report (with the newest transfer videos when they exist) and its two figures."""
    meta = evaluation_frames.read("meta")
    reader = DatasetReader(dataset_archive, tuple(meta["model"]["size"]))
    history = pd.DataFrame(meta["training_history"]) if meta.get("training_history") else None
    transfer = None
    if transfer_video is not None or transfer_side_by_side is not None:
        tmeta = Archive(transfer_frames).read("meta") if transfer_frames is not None else {}
        transfer = TransferInfo(transfer_video, transfer_side_by_side, tmeta)
    frames = np.concatenate(archive_segments(meta))
    metrics = {k: as_float(v) for k, v in summary["metrics"].items()}
    strides = summary.get("strides", [1])
    galleries = [gallery_strips(worst_frames(per_frame, p.worst_frames, p.worst_metric),
                                archive_frames(evaluation_frames), reader)]
    if stride_frames is not None and not stride_frames.empty:
        for k in extra_strides(strides):  # pix2pixHD's stride frames are its stride-1 frames: no second gallery
            if regenerated(meta, k):
                g = worst_frames(stride_frames[stride_frames.stride == k], p.worst_frames, p.worst_metric)
                g.title = f"stride {k}"
                galleries.append(gallery_strips(g, archive_frames(evaluation_frames, k), reader))
    galleries[0].title = "stride 1" if len(galleries) > 1 else ""
    fig_metrics, fig_training = metrics_over_time(per_frame), training_curves(history)
    report = build_report(p.report_title, summary=metrics, per_frame=per_frame, notes=summary.get("notes", []),
                          model=meta["model"], split=meta["split"],
                          samples=sample_strips(frames, archive_frames(evaluation_frames), reader, p.report_samples),
                          metrics_figure=fig_metrics, training_figure=fig_training, evaluation_video=Path(video),
                          transfer=transfer, worst=galleries if p.worst_frames else (),
                          strides=StrideRows(stride_table(metrics, strides), stride_flags(metrics, strides,
                                                                                          p.stride_tolerance),
                                             p.stride_tolerance) if len(strides) > 1 else None)
    return report, fig_metrics, fig_training
