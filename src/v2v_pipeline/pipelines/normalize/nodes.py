"""Thin Kedro node for pose normalization; the work is in :mod:`v2v_pipeline.pose` and :mod:`v2v_pipeline.labels`."""

from __future__ import annotations

from typing import Any

import pandas as pd

from v2v_pipeline.config import parse
from v2v_pipeline.params import LabelParams, NormalizeParams
from v2v_pipeline.pose.video import NormalizedLabelsContent, normalize_videos
from v2v_pipeline.storage import Archive
from v2v_pipeline.tracking import as_mlflow_metrics


def normalize_sources(params: dict[str, Any], label_params: dict[str, Any], keypoints: pd.DataFrame,
                      label_frames: pd.DataFrame, frame_index: pd.DataFrame, video_metadata: pd.DataFrame,
                      label_maps: Archive):
    p = parse(NormalizeParams, params, "normalize")
    lp = parse(LabelParams, label_params, "label")
    result = normalize_videos(p, lp, keypoints, label_frames, frame_index, video_metadata)
    content = NormalizedLabelsContent(result, lp, label_maps)
    return (result.fitted, result.keypoints, result.frames, content, result.plot,
            as_mlflow_metrics(result.metrics), len(result.videos), len(result.videos))  # the *_ref save nothing
