"""Thin Kedro nodes for pose labeling; the work is in :func:`v2v_pipeline.labels.video.label_one_video`.

Each video is labeled in its own namespace (``<video>.label_video``); ``gather_labels`` joins the
videos' outputs into ``keypoints``, ``label_frames``, ``label_maps``, ``person_masks``, the MLflow
metrics and the target's contact sheet (:mod:`v2v_pipeline.combine`).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from v2v_pipeline.combine import concat_archives, concat_tables, groups, merge_dicts
from v2v_pipeline.config import parse
from v2v_pipeline.labels.video import check_label_videos, contact_sheet_from_archives, label_one_video
from v2v_pipeline.params import LabelParams
from v2v_pipeline.schema import target_video
from v2v_pipeline.storage import Archive
from v2v_pipeline.tracking import as_mlflow_metrics, set_tags
from v2v_pipeline.video.geometry import video_geometry


def label_video(params: dict[str, Any], frames: Archive, frame_index: pd.DataFrame, video_metadata: pd.DataFrame,
                video: str):
    """Keypoints, per-frame table, label maps, person masks and a summary (backend, metrics) of one video."""
    r = label_one_video(parse(LabelParams, params, "label"), frames, frame_index, video_metadata, video)
    set_tags({f"label.backend.{video}": r.backend})
    return r.keypoints, r.frames, r.label_maps, r.masks, {"video": video, "backend": r.backend, "metrics": r.metrics}


PER_VIDEO = ("keypoints", "label_frames", "label_maps", "person_masks", "label_summary")  # gather_labels' inputs


def gather_labels(params: dict[str, Any], target_frames: Archive, target_index: pd.DataFrame,
                  target_metadata: pd.DataFrame, *parts):
    """The combined label outputs, from :data:`PER_VIDEO` of every video (target first)."""
    p = parse(LabelParams, params, "label")
    kps, tables, maps, masks, summaries = zip(*groups(parts, len(PER_VIDEO)))
    check_label_videos(p, [s["video"] for s in summaries])  # (also checked before the run starts)
    video = target_video(target_index)
    sheet = contact_sheet_from_archives(target_frames, maps[0], video, target_index.frame.to_numpy(),
                                        video_geometry(target_metadata, video).size, p.contact_sheet_frames)
    return (concat_tables(kps), concat_tables(tables), concat_archives(maps), concat_archives(masks),
            as_mlflow_metrics(merge_dicts(s["metrics"] for s in summaries)), sheet)
