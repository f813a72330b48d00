"""Thin Kedro node for pose labeling; the work is in :mod:`v2v_pipeline.labels`."""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from v2v_pipeline.config import parse
from v2v_pipeline.labels.video import (
    LabelMapsContent,
    MasksContent,
    contact_sheet_for,
    detect_video,
    frames_table,
    keypoints_table,
)
from v2v_pipeline.params import IngestParams, LabelParams
from v2v_pipeline.schema import target_video
from v2v_pipeline.storage import Archive
from v2v_pipeline.tracking import as_mlflow_metrics, set_tags

log = logging.getLogger(__name__)


def label_videos(params: dict[str, Any], ingest: dict[str, Any], frames: Archive, frame_index: pd.DataFrame,
                 video_metadata: pd.DataFrame):
    p = parse(LabelParams, params, "label")
    fit = parse(IngestParams, ingest, "ingest").fit
    unknown = set(p.videos) - set(frame_index.video)
    if unknown:
        raise ValueError(f"label.videos names {sorted(unknown)}, which are not ingested videos "
                         f"({sorted(set(frame_index.video))}); fix conf/base/parameters_label.yml")
    results, numbers, tables, kps, metrics = [], {}, [], [], {}
    for video, rows in frame_index.groupby("video", sort=False):
        meta = video_metadata.loc[video_metadata.video == video].iloc[0]
        labels = detect_video(p, str(video), frames.sequence(str(video)), rows, meta, fit)
        numbers[video] = rows.frame.to_numpy()
        results.append(labels)
        tables.append(frames_table(labels, numbers[video], p.person_box_margin))
        kps.append(keypoints_table(labels, numbers[video]))
        missing = int((labels.status == "missing").sum())
        interpolated = int((labels.status == "interpolated").sum())
        metrics[f"label_{video}_frames_without_person"] = missing
        metrics[f"label_{video}_frames_interpolated"] = interpolated
        log.info("label '%s' (%s): person in %d of %d frames, %d short gaps interpolated, %d frames flagged "
                 "without a person (excluded from training)", video, labels.backend, int(labels.detected.sum()),
                 len(rows), interpolated, missing)
    set_tags({f"label.backend.{v.video}": v.backend for v in results})
    content = LabelMapsContent(p, results, numbers, fit)
    target = target_video(frame_index)
    sheet = contact_sheet_for(frames, content, target, p.contact_sheet_frames)
    return (pd.concat(kps, ignore_index=True), pd.concat(tables, ignore_index=True), content,
            MasksContent(results, numbers), as_mlflow_metrics(metrics), sheet)
