"""MediaPipe Pose (the default labeler) finds the demo person where the ground truth says.

Thresholds have a margin over the figures measured on the default sample (seed 0,
512x256): every frame detected, mean error about 3 px (target) and 2.3 px (source).
"""

from __future__ import annotations

import numpy as np
import pytest

from v2v_pipeline.demo.check import mediapipe_agreement

from .helpers import decode

pytest.importorskip("mediapipe")


@pytest.mark.parametrize("name", ["target", "source"])
def test_mediapipe_detects_the_dancer(demo_sample, name):
    frames, _ = decode(demo_sample[name])
    keypoints = np.load(demo_sample[f"{name}_keypoints_npy"])
    pick = np.linspace(0, len(frames) - 1, 12).round().astype(int)  # spread over the clip
    result = mediapipe_agreement(np.stack(frames)[pick], keypoints[pick], static=True)
    assert result.detection_rate >= 0.9
    assert result.mean_error < 6.0  # pixels at 512x256; a person is 100-230 px tall
    assert max(result.joint_error.values()) < 12.0
