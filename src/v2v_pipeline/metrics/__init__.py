"""Evaluation metrics (no Kedro): SSIM, PSNR, LPIPS, FID, KID, pose distance, temporal coherence.

:mod:`.registry` names every metric once (direction, unit, label); :mod:`.engine` runs metric
objects over frames (:class:`Evaluator`) and scores a clip in memory (:func:`score_frames`, the
trainer's validation). Images are RGB uint8 ``(H, W, 3)`` numpy arrays unless stated; torch batches are
``(N, 3, H, W)`` float in [-1, 1]. Pretrained networks (LPIPS, Inception) load their weights
from caller-given files; the ``load_*_or_none`` helpers return ``None`` with a logged reason
so an evaluation can skip the metric.
"""

from . import registry
from .engine import Evaluator, Frame, image_scores, mean_frame, score_frames
from .fid import (
    InceptionFeatureExtractor,
    activation_statistics,
    fid_from_features,
    fid_sample_warning,
    frechet_distance,
    kid_from_features,
    load_inception_or_none,
)
from .inception import FIDInceptionV3
from .image import Box, images_to_tensor, psnr, psnr_torch, ssim, ssim_map, ssim_map_torch, ssim_torch
from .lpips import LPIPS, load_lpips, load_lpips_or_none, lpips_from_features, normalize_channels
from .pose import PoseDistance, person_box_from_keypoints, pose_distance
from .summary import summarize
from .temporal import SequenceScore, farneback_flow, tof, warp_error, warp_l1_255, warping_error

__all__ = [
    "Evaluator",
    "Frame",
    "LPIPS",
    "Box",
    "FIDInceptionV3",
    "InceptionFeatureExtractor",
    "PoseDistance",
    "SequenceScore",
    "activation_statistics",
    "farneback_flow",
    "fid_from_features",
    "fid_sample_warning",
    "frechet_distance",
    "image_scores",
    "images_to_tensor",
    "kid_from_features",
    "load_inception_or_none",
    "load_lpips",
    "load_lpips_or_none",
    "lpips_from_features",
    "mean_frame",
    "normalize_channels",
    "person_box_from_keypoints",
    "pose_distance",
    "registry",
    "score_frames",
    "psnr",
    "psnr_torch",
    "ssim",
    "ssim_map",
    "ssim_map_torch",
    "ssim_torch",
    "summarize",
    "tof",
    "warp_error",
    "warp_l1_255",
    "warping_error",
]
