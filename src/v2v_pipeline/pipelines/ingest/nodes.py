"""Thin Kedro nodes for frame extraction; the work is done in :mod:`v2v_pipeline.video`."""

from __future__ import annotations

from typing import Any

import pandas as pd

from v2v_pipeline.config import parse
from v2v_pipeline.demo import resolve_video
from v2v_pipeline.params import IngestParams
from v2v_pipeline.storage import FramesContent
from v2v_pipeline.video.ingest import build_frame_index, iter_extracted_frames, probe_all


def probe_videos(params: dict[str, Any]) -> pd.DataFrame:
    """One row per configured video: role, codec, fps, frame count, size, duration, SHA-256, stored geometry."""
    return probe_all(parse(IngestParams, params, "ingest"), resolve=resolve_video)


def index_frames(params: dict[str, Any], video_metadata: pd.DataFrame) -> pd.DataFrame:
    """Which source frame becomes each stored frame (resampled by timestamp), and the time-ordered split."""
    return build_frame_index(parse(IngestParams, params, "ingest"), video_metadata)


def extract_frames(params: dict[str, Any], video_metadata: pd.DataFrame, frame_index: pd.DataFrame) -> FramesContent:
    """Frames of every video at the configured size, streamed into one archive (``<video>/<frame>.png``)."""
    p = parse(IngestParams, params, "ingest")
    return FramesContent(lambda: iter_extracted_frames(p, video_metadata, frame_index))
