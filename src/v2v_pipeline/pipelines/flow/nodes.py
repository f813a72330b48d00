"""Thin Kedro nodes for optical flow; the work is in :mod:`v2v_pipeline.flow`."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from v2v_pipeline.config import parse
from v2v_pipeline.flow.backends import backend_factory
from v2v_pipeline.flow.video import FlowArchiveContent, FlowReader, flow_preview, flow_summary
from v2v_pipeline.params import FlowParams
from v2v_pipeline.schema import target_video
from v2v_pipeline.storage import Archive
from v2v_pipeline.tracking import as_mlflow_metrics, set_tags

log = logging.getLogger(__name__)


def compute_flows(params: dict[str, Any], frames: Archive, frame_index: pd.DataFrame) -> FlowArchiveContent:
    p = parse(FlowParams, params, "flow")
    factory = backend_factory(p)  # RAFT fails here, before any work, naming the missing file or GPU
    set_tags({"flow.backend": p.backend_name})
    return FlowArchiveContent(frames.sequence(target_video(frame_index)), factory, p.backend_name, p.chunk, p.alpha,
                              p.beta)


def report_flows(params: dict[str, Any], flows: Archive, frames: Archive, frame_index: pd.DataFrame):
    p = parse(FlowParams, params, "flow")
    reader = FlowReader(flows)
    seq = frames.sequence(target_video(frame_index))
    stats = flow_summary(reader, seq)
    log.info("flow: mean |flow| %.2f px, %.1f%% valid, photometric error %.2f warped vs %.2f unwarped",
             stats["flow_mean_magnitude_px"], 100 * stats["flow_valid_fraction"],
             stats["flow_photometric_error_warped"], stats["flow_photometric_error_unwarped"])
    preview = flow_preview(reader, seq, p.preview_pairs)
    return as_mlflow_metrics(stats), np.ascontiguousarray(preview)
