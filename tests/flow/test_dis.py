"""DIS backend: accuracy on synthetic motion with known flow, determinism, input checks."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from tests.flow.synthetic import moved_pair, rotation, textured_image, translation
from v2v_pipeline.flow import DISFlow, compute_flow_pairs

MARGIN = 32  # px excluded at the borders (content moving in/out of the frame)


def interior_epe(flow: np.ndarray, truth: np.ndarray) -> float:
    err = np.linalg.norm(flow - truth, axis=-1)
    return float(err[MARGIN:-MARGIN, MARGIN:-MARGIN].mean())


@pytest.mark.parametrize("preset", ["ultrafast", "fast", "medium"])
@pytest.mark.parametrize(
    "motion",
    [translation(2.3, -1.7), rotation(1.5)],  # sub-pixel shift; rotation: up to 6.7 px
    ids=["subpixel_shift", "rotation_1.5deg"],
)
def test_dis_end_point_error_on_known_motion(preset: str, motion: np.ndarray) -> None:
    frame0 = textured_image(0)
    frame1, forward_true, backward_true = moved_pair(frame0, motion)
    forward, backward = compute_flow_pairs([frame0, frame1], "dis", preset=preset)
    assert forward.shape == backward.shape == (1, 256, 512, 2)
    assert forward.dtype == backward.dtype == np.float32
    assert interior_epe(forward[0], forward_true) < 0.5
    assert interior_epe(backward[0], backward_true) < 0.5


def test_pair_indexing_on_three_frames() -> None:
    f0 = textured_image(3)
    f1, fw01, _ = moved_pair(f0, translation(1.5, 0.0))
    f2, fw12, bw12 = moved_pair(f1, translation(0.0, 2.5))
    forward, backward = compute_flow_pairs([f0, f1, f2], DISFlow("medium"))
    assert forward.shape == (2, 256, 512, 2)
    assert interior_epe(forward[0], fw01) < 0.5
    assert interior_epe(forward[1], fw12) < 0.5
    assert interior_epe(backward[1], bw12) < 0.5


def test_dis_is_deterministic_across_calls_and_thread_counts() -> None:
    f0 = textured_image(5)
    f1, _, _ = moved_pair(f0, rotation(2.0))
    threads = cv2.getNumThreads()
    try:
        first = compute_flow_pairs([f0, f1], "dis")
        cv2.setNumThreads(1)
        second = compute_flow_pairs([f0, f1], "dis")
    finally:
        cv2.setNumThreads(threads)
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])


def test_variational_refinement_option_changes_the_result() -> None:
    f0 = textured_image(6)
    f1, _, _ = moved_pair(f0, rotation(1.0))
    with_ref = compute_flow_pairs([f0, f1], "dis", preset="fast")[0]
    without = compute_flow_pairs([f0, f1], "dis", preset="fast", variational_refinement_iters=0)[0]
    assert not np.array_equal(with_ref, without)


@pytest.mark.parametrize(
    ("frames", "match"),
    [
        ([np.zeros((8, 8, 3), np.uint8)], "at least 2 frames"),
        ([np.zeros((8, 8, 3), np.uint8), np.zeros((8, 9, 3), np.uint8)], "resize"),
        ([np.zeros((8, 8), np.uint8)] * 2, "RGB uint8"),
        ([np.zeros((8, 8, 3), np.float32)] * 2, "RGB uint8"),
    ],
)
def test_bad_frames_are_rejected(frames: list[np.ndarray], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        compute_flow_pairs(frames, "dis")


def test_bad_backend_and_preset_names() -> None:
    frames = [textured_image(0, 64, 32)] * 2
    with pytest.raises(ValueError, match="unknown flow backend"):
        compute_flow_pairs(frames, "farneback")
    with pytest.raises(ValueError, match="unknown DIS preset"):
        DISFlow("slow")
    with pytest.raises(TypeError, match="backend name"):
        compute_flow_pairs(frames, DISFlow(), preset="fast")
