"""Thin Kedro nodes for motion transfer; the work is in :mod:`v2v_pipeline.transfer`."""

from __future__ import annotations

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
                      frame_index: pd.DataFrame, normalized_label_maps: Archive,
                      normalized_label_frames: pd.DataFrame) -> GeneratedFramesContent:
    p = parse(TransferParams, params, "transfer")
    fit = target_geometry(video_metadata).fit  # recorded by ingest, not re-parsed from its parameters
    return transfer.generate_transfer(p, fit, trained_model_ref.path, frame_index, normalized_label_maps,
                                      normalized_label_frames)


def encode_transfer_videos(transfer_frames: Archive, frames: Archive) -> tuple[VideoContent, VideoContent, int]:
    """The output video, the side-by-side, and the frame count for ``transfer_video_ref`` (which saves
    nothing: it only orders the evaluation report after this node when both pipelines run together)."""
    return transfer.transfer_videos(transfer_frames, frames)
