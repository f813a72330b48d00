"""Thin Kedro nodes for optical flow; the work is in :mod:`v2v_pipeline.flow`."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from v2v_pipeline.config import parse
from v2v_pipeline.flow.dis import DISFlow
from v2v_pipeline.flow.video import FlowArchiveContent, FlowReader, flow_preview, flow_summary
from v2v_pipeline.inference import pick_device
from v2v_pipeline.params import FlowParams
from v2v_pipeline.schema import target_video
from v2v_pipeline.storage import Archive
from v2v_pipeline.tracking import as_mlflow_metrics, set_tags

log = logging.getLogger(__name__)


def _backend_factory(p: FlowParams):
    if p.backend == "raft":
        from v2v_pipeline.flow.raft import RAFTFlow

        weights = Path(p.raft.weights)
        device = pick_device(p.raft.device)  # a clear error when cuda is asked for and absent
        # fails here, before any work, with the file name and how to get it
        model = RAFTFlow.from_weights(weights, p.raft.variant, device, p.raft.batch_size, p.raft.num_flow_updates)
        log.info("optical flow: RAFT-%s from %s on %s", p.raft.variant, weights, model.device)
        return lambda: model
    log.info("optical flow: classical OpenCV DIS (preset %s), the offline default. For RAFT, put torchvision "
             "RAFT weights at flow.raft.weights and set flow.backend: raft", p.dis_preset)
    return lambda: DISFlow(p.dis_preset)


def compute_flows(params: dict[str, Any], frames: Archive, frame_index: pd.DataFrame) -> FlowArchiveContent:
    p = parse(FlowParams, params, "flow")
    factory = _backend_factory(p)
    name = f"raft_{p.raft.variant}" if p.backend == "raft" else f"dis_{p.dis_preset}"
    set_tags({"flow.backend": name})
    return FlowArchiveContent(frames.sequence(target_video(frame_index)), factory, name, p.chunk, p.alpha, p.beta)


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
