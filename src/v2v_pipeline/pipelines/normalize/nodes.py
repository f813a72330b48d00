"""Thin Kedro nodes for pose normalization; the work is in :mod:`v2v_pipeline.pose` and :mod:`v2v_pipeline.labels`.

Each source video is normalized in its own namespace (``<source>.normalize_video``), from its own
labels and the target namespace's; ``gather_normalized`` joins the sources' outputs into
``normalization``, ``normalized_*``, the plot and the MLflow metrics (:mod:`v2v_pipeline.combine`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from v2v_pipeline.combine import concat_archives, groups
from v2v_pipeline.config import parse
from v2v_pipeline.params import LabelParams, NormalizeParams
from v2v_pipeline.pose.video import NormalizedLabelsContent, combine_saved, normalize_source
from v2v_pipeline.storage import Archive
from v2v_pipeline.tracking import as_mlflow_metrics


def normalize_video(params: dict[str, Any], label_params: dict[str, Any], keypoints: pd.DataFrame,
                    label_frames: pd.DataFrame, frame_index: pd.DataFrame, video_metadata: pd.DataFrame,
                    label_maps: Archive, target_keypoints: pd.DataFrame, target_frame_index: pd.DataFrame,
                    target_video_metadata: pd.DataFrame, video: str):
    """One source's fitted parameters and metrics, normalized keypoints, frame table, label maps and plot."""
    p = parse(NormalizeParams, params, "normalize")
    lp = parse(LabelParams, label_params, "label")
    r = normalize_source(p, lp, video, keypoints, label_frames, frame_index, video_metadata, target_keypoints,
                         target_frame_index, target_video_metadata)
    return ({"fitted": r.fitted, "metrics": r.metrics}, r.keypoints, r.frames,
            NormalizedLabelsContent(r, lp, label_maps), np.ascontiguousarray(r.plot))


PER_SOURCE = ("normalization", "normalized_keypoints", "normalized_label_frames", "normalized_label_maps",
              "normalization_plot")  # outputs of normalize_video, inputs of gather_normalized


def gather_normalized(keypoints: pd.DataFrame, label_frames: pd.DataFrame, *parts):
    """The combined normalize outputs from :data:`PER_SOURCE` of every source (``keypoints`` and
    ``label_frames`` give the empty tables' columns when no source was normalized)."""
    per_source = groups(parts, len(PER_SOURCE))
    result = combine_saved([(s[0], s[1], s[2], s[4]) for s in per_source], keypoints.iloc[:0], label_frames.iloc[:0])
    n = len(per_source)
    return (result.fitted, result.keypoints, result.frames, concat_archives([s[3] for s in per_source]), result.plot,
            as_mlflow_metrics(result.metrics), n, n)  # the *_ref save nothing
