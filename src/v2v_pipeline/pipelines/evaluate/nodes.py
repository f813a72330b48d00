"""Thin Kedro nodes for evaluation: parse the parameters, call :mod:`v2v_pipeline.report.evaluate`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from v2v_pipeline.config import parse
from v2v_pipeline.datasets import ModelRef
from v2v_pipeline.params import EvaluateParams
from v2v_pipeline.report import HtmlReport
from v2v_pipeline.report import evaluate as ev
from v2v_pipeline.report.generation import GeneratedFramesContent
from v2v_pipeline.storage import Archive
from v2v_pipeline.video.io import VideoContent


def generate_evaluation_frames(params: dict[str, Any], trained_model_ref: ModelRef, dataset_archive: Archive,
                               dataset_frames: pd.DataFrame, dataset_manifest: dict) -> GeneratedFramesContent:
    """Every frame of the evaluated split generated from its label (temporal state reset at each gap)."""
    p = parse(EvaluateParams, params, "evaluate")
    return ev.generation_content(p, trained_model_ref.path, dataset_archive, dataset_frames, dataset_manifest)


def compute_evaluation(params: dict[str, Any], evaluation_frames: Archive, dataset_archive: Archive,
                       dataset_frames: pd.DataFrame, keypoints: pd.DataFrame, video_metadata: pd.DataFrame,
                       frame_index: pd.DataFrame) -> tuple[pd.DataFrame, dict, dict, pd.DataFrame]:
    """Per-frame metrics table, summary (JSON), the summary's MLflow metrics (``eval/...``, with
    ``eval/stride<k>/...``) and the per-frame table of the subsampled splits (``evaluate.strides``)."""
    p = parse(EvaluateParams, params, "evaluate")
    return ev.evaluate_archive(p, evaluation_frames, dataset_archive, dataset_frames, keypoints, video_metadata,
                               frame_index)


def render_evaluation_video(evaluation_frames: Archive, dataset_archive: Archive,
                            frame_index: pd.DataFrame) -> VideoContent:
    """label | generated | real for every evaluated frame, at the model's size (streamed)."""
    return ev.evaluation_video(evaluation_frames, dataset_archive, frame_index)


def build_evaluation_report(params: dict[str, Any], per_frame: pd.DataFrame, summary: dict, evaluation_frames: Archive,
                            dataset_archive: Archive, evaluation_video: Path,
                            transfer_frames: Path | None, transfer_video: Path | None,
                            transfer_side_by_side: Path | None,
                            stride_frames: pd.DataFrame) -> tuple[HtmlReport, Figure, Figure]:
    """The HTML report (worst-frames gallery, fast-motion rows, the newest transfer videos) and its two figures."""
    p = parse(EvaluateParams, params, "evaluate")
    return ev.evaluation_report(p, per_frame, summary, evaluation_frames, dataset_archive, evaluation_video,
                                transfer_frames, transfer_video, transfer_side_by_side, stride_frames)
