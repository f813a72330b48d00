"""Pose utilities: Everybody Dance Now global pose normalization."""

from v2v_pipeline.pose.normalize import (
    PoseNormConfig,
    PoseNormParams,
    PoseNormResult,
    VideoLines,
    fit_pose_normalization,
    measure_frames,
    normalize_poses,
    plot_ankle_distributions,
    temporal_median,
)

__all__ = [
    "PoseNormConfig",
    "PoseNormParams",
    "PoseNormResult",
    "VideoLines",
    "fit_pose_normalization",
    "measure_frames",
    "normalize_poses",
    "plot_ankle_distributions",
    "temporal_median",
]
