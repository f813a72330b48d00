"""Flow on real footage (EDN subject 4); skipped when the shared test data is absent."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from v2v_pipeline.flow import compute_flow_pairs, consistency_mask, photometric_error

VIDEO = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "edn_subject4" / "target_train.mp4"


def read_frames(path: Path, count: int, size: tuple[int, int] = (512, 256)) -> list[np.ndarray]:
    av = pytest.importorskip("av")
    frames = []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            rgb = frame.to_ndarray(format="rgb24")
            frames.append(cv2.resize(rgb, size, interpolation=cv2.INTER_AREA))
            if len(frames) == count:
                break
    return frames


def test_warping_with_dis_flow_explains_real_motion() -> None:
    if not VIDEO.is_file():
        pytest.skip(f"EDN test footage not found at {VIDEO} (see ../shared/data/README.md)")
    frames = read_frames(VIDEO, 20)
    assert len(frames) == 20
    forward, backward = compute_flow_pairs(frames, "dis", preset="medium")
    valid, _ = consistency_mask(forward, backward)
    assert valid.mean() > 0.8  # a dancer in front of a static background: mostly consistent
    warped = [photometric_error(frames[i], frames[i + 1], backward[i], valid[i]) for i in range(19)]
    unwarped = [photometric_error(frames[i], frames[i + 1], None, valid[i]) for i in range(19)]
    print(f"photometric error (0-255, valid mask): warped {np.mean(warped):.3f}, unwarped {np.mean(unwarped):.3f}")
    assert np.mean(warped) < 0.7 * np.mean(unwarped)
    assert all(w < u for w, u in zip(warped, unwarped, strict=True))
