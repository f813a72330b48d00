"""EDN normalization on real clips: studio_walk's poses land on subject 4's ankle lines."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import shared_file
from v2v_pipeline.labels.mediapipe_backend import MediaPipeBackend
from v2v_pipeline.pose.normalize import measure_frames, normalize_poses
from v2v_pipeline.pose.video import in_range_fraction
from v2v_pipeline.video.io import content_box, fit_to_size, frame_times, iter_frames, probe_video, select_frames


def _poses(path, size=(512, 256), fps=None, step=1):
    keep = set(select_frames(frame_times(path), fps)[::step].tolist())
    frames = [fit_to_size(f.image, size, "pad") for f in iter_frames(path) if f.index in keep]
    info = probe_video(path)
    picture = content_box((info.width, info.height), size, "pad")
    with MediaPipeBackend(enable_segmentation=False) as backend:  # on the picture, as the label pipeline does
        return backend.process(frames, keep_masks=False, crop=picture).keypoints


@pytest.mark.slow
@pytest.mark.realdata
def test_studio_walk_normalized_into_subject4_range():
    target = _poses(shared_file("edn_subject4", "target_train.mp4"), step=2)
    source = _poses(shared_file("sources", "studio_walk.mp4"), fps=25)
    before = in_range_fraction(source, target)
    result = normalize_poses(source, target)
    after = in_range_fraction(result.keypoints, target)
    assert after > 0.9, (before, after)
    assert after > before
    # body heights after normalization match the target's at comparable ankle positions
    t, n = measure_frames(target), measure_frames(result.keypoints)
    ratio = np.nanmedian(n.height[n.usable]) / np.nanmedian(t.height[t.usable])
    assert 0.8 < ratio < 1.25, ratio
