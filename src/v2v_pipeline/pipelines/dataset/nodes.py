"""Thin Kedro nodes for the training dataset; the work is in :mod:`v2v_pipeline.training.build`."""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from v2v_pipeline.config import parse, to_dict
from v2v_pipeline.params import DatasetParams
from v2v_pipeline.schema import target_video
from v2v_pipeline.storage import Archive
from v2v_pipeline.tracking import as_mlflow_metrics, set_tags
from v2v_pipeline.training.build import (
    TrainingArchiveContent,
    dataset_manifest,
    find_sequences,
    scale_boxes,
    target_frames_table,
)
from v2v_pipeline.video.geometry import video_geometry

log = logging.getLogger(__name__)


def build_dataset(params: dict[str, Any], frames: Archive, frame_index: pd.DataFrame, video_metadata: pd.DataFrame,
                  label_maps: Archive, label_frames: pd.DataFrame, flows: Archive):
    p = parse(DatasetParams, params, "dataset")
    video = target_video(frame_index)
    table = scale_boxes(target_frames_table(frame_index, label_frames), video_geometry(video_metadata, video).size, p.size)
    sequences = find_sequences(table, p.sequence_length, p.stride)
    counts = sequences.split.value_counts()
    log.info("dataset: %d frames (%d without a person), sequences of %d: %s", len(table), int((~table.found).sum()),
             p.sequence_length, ", ".join(f"{k} {counts.get(k, 0)}" for k in ("train", "val", "test")))
    if counts.get("train", 0) == 0:
        raise ValueError(f"no training sequence of {p.sequence_length} consecutive frames with a person; lower "
                         "dataset.sequence_length or check the label pipeline's person detection")
    return TrainingArchiveContent(frames, label_maps, flows, video, table, p.size), table, sequences


def describe_dataset(params: dict[str, Any], archive: Archive, frames: pd.DataFrame, sequences: pd.DataFrame):
    manifest = dataset_manifest(archive, frames, sequences, to_dict(parse(DatasetParams, params, "dataset")))
    set_tags({"dataset_sha256": manifest["sha256"]})
    metrics = {f"dataset_frames_{k}": v for k, v in manifest["frames_per_split"].items()}
    metrics.update({f"dataset_sequences_{k}": v for k, v in manifest["sequences_per_split"].items()})
    metrics["dataset_frames_without_person"] = manifest["frames_without_person"]
    return manifest, as_mlflow_metrics(metrics)
