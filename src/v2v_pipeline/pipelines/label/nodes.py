"""Thin Kedro node for pose labeling; the work is in :func:`v2v_pipeline.labels.video.label_videos`."""

from __future__ import annotations

from typing import Any

import pandas as pd

from v2v_pipeline.config import parse
from v2v_pipeline.labels.video import label_videos as label_all
from v2v_pipeline.params import LabelParams
from v2v_pipeline.storage import Archive
from v2v_pipeline.tracking import as_mlflow_metrics, set_tags


def label_videos(params: dict[str, Any], frames: Archive, frame_index: pd.DataFrame, video_metadata: pd.DataFrame):
    """Keypoints, per-frame table, label maps, person masks, metrics and a contact sheet of every video."""
    r = label_all(parse(LabelParams, params, "label"), frames, frame_index, video_metadata)
    set_tags({f"label.backend.{video}": backend for video, backend in r.backends.items()})
    return r.keypoints, r.frames, r.label_maps, r.masks, as_mlflow_metrics(r.metrics), r.contact_sheet
