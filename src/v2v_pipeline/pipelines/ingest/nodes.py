"""Thin Kedro nodes for frame extraction; the work is done in :mod:`v2v_pipeline.video`.

Each video is ingested in its own namespace (``<video>.probe_video`` ...); the gather nodes join the
videos' outputs into ``video_metadata``, ``frame_index`` and ``frames`` (:mod:`v2v_pipeline.combine`).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from v2v_pipeline.combine import concat_archives, concat_tables, records_table
from v2v_pipeline.config import parse
from v2v_pipeline.demo import resolve_video
from v2v_pipeline.params import IngestParams
from v2v_pipeline.storage import Archive, ConcatContent, FramesContent
from v2v_pipeline.video.ingest import index_video, iter_extracted_frames, probe_video_table


def probe_video(params: dict[str, Any], video: str) -> pd.DataFrame:
    """The video's row: role, codec, fps, frame count, size, duration, SHA-256, stored geometry."""
    return probe_video_table(parse(IngestParams, params, "ingest"), video, resolve=resolve_video)


def index_frames(params: dict[str, Any], video_metadata: pd.DataFrame, video: str) -> pd.DataFrame:
    """Which source frame becomes each stored frame (resampled by timestamp), and the time-ordered split."""
    return index_video(parse(IngestParams, params, "ingest"), video, video_metadata)


def extract_frames(params: dict[str, Any], video_metadata: pd.DataFrame, frame_index: pd.DataFrame,
                   video: str) -> FramesContent:
    """The video's frames at the configured size, streamed into its archive (``<video>/<frame>.png``)."""
    p = parse(IngestParams, params, "ingest")
    return FramesContent(lambda: iter_extracted_frames(p, video_metadata, frame_index, [video]))


def gather_video_metadata(*tables: pd.DataFrame) -> pd.DataFrame:
    """``video_metadata``: one row per video, in the configured order."""
    return records_table(tables)


def gather_frame_index(*tables: pd.DataFrame) -> pd.DataFrame:
    """``frame_index``: the videos' indexes one after the other."""
    return concat_tables(tables)


def gather_frames(*archives: Archive) -> ConcatContent:
    """``frames``: the videos' archives copied member by member."""
    return concat_archives(archives)
