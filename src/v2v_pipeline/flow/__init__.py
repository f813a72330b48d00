"""Optical flow: backends (DIS, RAFT), consistency masks, visualisation, storage, warping.

Conventions (``docs/architecture.md``): a flow is ``(H, W, 2)`` float ``(dx, dy)`` in pixels;
``forward[i]`` maps frame *i* -> *i+1*, ``backward[i]`` frame *i+1* -> *i*, ``valid[i]``
marks pixels of frame *i+1*; ``warp_image(frames[i], backward[i])`` ~ ``frames[i+1]``.
"""

from v2v_pipeline.flow.backends import backend_factory, compute_flow_pairs, make_backend
from v2v_pipeline.flow.base import FlowBackend, check_frames
from v2v_pipeline.flow.chunks import chunk_flows, float16_max_error, quantize_flow, unchunk_flows
from v2v_pipeline.flow.consistency import consistency_mask, flow_consistency
from v2v_pipeline.flow.dis import DISFlow
from v2v_pipeline.flow.photometric import photometric_error
from v2v_pipeline.flow.viz import flow_to_color, make_colorwheel
from v2v_pipeline.flow.warp import warp, warp_image

__all__ = [
    "DISFlow",
    "FlowBackend",
    "backend_factory",
    "check_frames",
    "chunk_flows",
    "compute_flow_pairs",
    "consistency_mask",
    "float16_max_error",
    "flow_consistency",
    "flow_to_color",
    "make_backend",
    "make_colorwheel",
    "photometric_error",
    "quantize_flow",
    "unchunk_flows",
    "warp",
    "warp_image",
]
