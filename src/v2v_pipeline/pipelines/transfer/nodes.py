"""Thin Kedro nodes for motion transfer; the work is in :mod:`v2v_pipeline.transfer`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from v2v_pipeline import transfer
from v2v_pipeline.config import parse
from v2v_pipeline.datasets import ModelRef
from v2v_pipeline.params import TransferParams
from v2v_pipeline.report import GeneratedFramesContent
from v2v_pipeline.storage import Archive
from v2v_pipeline.video.geometry import target_geometry
from v2v_pipeline.video.io import VideoContent


def generate_transfer(params: dict[str, Any], video_metadata: pd.DataFrame, trained_model_ref: ModelRef,
                      frame_index: pd.DataFrame, normalized_label_maps_ref: Path | None,
                      normalized_label_frames_ref: Path | None) -> GeneratedFramesContent:
    """``*_ref``: the newest normalize outputs (None when normalize has not run), opened only for a source video."""
    p = parse(TransferParams, params, "transfer")
    fit = target_geometry(video_metadata).fit  # recorded by ingest, not re-parsed from its parameters
    maps = frames_table = None
    if p.source.video is not None:
        if normalized_label_maps_ref is None or normalized_label_frames_ref is None:
            raise ValueError(f"transfer.source.video {p.source.video!r} needs the normalized poses of that video, and "
                             "normalize has not run: run `kedro run --pipelines=normalize` first, or transfer from a "
                             "folder of label maps (transfer.source: {video: null, label_folder: <path>, fps: <fps>})")
        maps, frames_table = Archive(normalized_label_maps_ref), pd.read_parquet(normalized_label_frames_ref)
    return transfer.generate_transfer(p, fit, trained_model_ref.path, frame_index, maps, frames_table)


def encode_transfer_videos(transfer_frames: Archive, frames: Archive) -> tuple[VideoContent, VideoContent, int]:
    """The output video, the side-by-side, and the frame count for ``transfer_video_ref`` (which saves
    nothing: it only orders the evaluation report after this node when both pipelines run together)."""
    return transfer.transfer_videos(transfer_frames, frames)
