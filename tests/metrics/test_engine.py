"""The evaluation engine and the metric registry: one set of names, directions and numbers for all users."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from v2v_pipeline.metrics import psnr, registry, ssim, warp_error, warp_l1_255
from v2v_pipeline.metrics.engine import (FACE_JOINTS, Evaluator, Frame, ImageQuality, Pose, Tof, Warping, box_scores,
                                         image_scores, score_frames)


def _clip(n=4, h=24, w=32, seed=0):
    rng = np.random.default_rng(seed)
    real = [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for _ in range(n)]
    gen = [np.clip(r.astype(int) + rng.integers(-10, 11, r.shape), 0, 255).astype(np.uint8) for r in real]
    flows = [rng.uniform(-1, 1, (h, w, 2)).astype(np.float32) for _ in range(n - 1)]
    valid = [rng.random((h, w)) > 0.2 for _ in range(n - 1)]
    return gen, real, flows, valid


def test_score_frames_equals_the_metric_functions():
    gen, real, flows, valid = _clip()
    boxes = [(2, 3, 20, 18), None, (0, 0, 32, 24), (5, 5, 30, 22)]
    out = score_frames(gen, real, boxes, flows, valid)
    assert set(out) == {"ssim", "psnr", "ssim_person", "psnr_person", "warp_error", "warp_l1_255"}
    assert out["ssim"] == pytest.approx(np.mean([ssim(g, r) for g, r in zip(gen, real)]))
    person = [image_scores(g, r, b)["ssim_person"] for g, r, b in zip(gen, real, boxes)]
    assert out["ssim_person"] == pytest.approx(np.nanmean(person))  # the frame without a box is left out
    assert out["warp_error"] == pytest.approx(warp_error(gen, flows, valid).mean)
    assert out["warp_l1_255"] == pytest.approx(warp_l1_255(gen, flows, valid).mean)
    # without flows or boxes: image scores only
    short = score_frames(gen, real)
    assert set(short) == {"ssim", "psnr", "ssim_person", "psnr_person"} and math.isnan(short["ssim_person"])
    with pytest.raises(ValueError, match="3 flows"):
        score_frames(gen, real, flows=flows[:2])
    with pytest.raises(ValueError, match="must match"):
        score_frames(gen, real[:3])


def test_evaluator_rows_segments_and_pair_metrics():
    gen, real, flows, valid = _clip(5)
    ev = Evaluator([ImageQuality(), Warping(), Tof()])
    for s, seg in enumerate(([0, 1, 2], [3, 4])):
        ev.start_segment()
        for k, i in enumerate(seg):
            prev = k > 0
            ev.update(Frame(gen[i], real[i], None, gen[i - 1] if prev else None, real[i - 1] if prev else None,
                            flows[i - 1] if prev else None, valid[i - 1] if prev else None), frame=i, segment=s)
    table = ev.table()
    assert table.frame.tolist() == [0, 1, 2, 3, 4] and table.segment.tolist() == [0, 0, 0, 1, 1]
    starts = table.frame.isin([0, 3])
    assert table.loc[starts, ["warp_error", "warp_l1_255", "warp_error_real", "tof"]].isna().all().all()
    assert table.loc[~starts, ["warp_error", "warp_error_real", "tof"]].notna().all().all()
    assert table.loc[1, "warp_error"] == pytest.approx(warp_error(gen[:2], flows[:1], valid[:1]).mean)
    assert table.loc[1, "warp_error_real"] == pytest.approx(warp_error(real[:2], flows[:1], valid[:1]).mean)
    assert ev.compute() == {}
    with pytest.raises(ValueError, match="differ in size"):
        Frame(gen[0], real[0][:10])


def test_every_column_of_the_engine_is_in_the_registry():
    gen, real, flows, valid = _clip(3)
    ev = Evaluator([ImageQuality(), Warping(), Tof()])
    for i in range(3):
        ev.update(Frame(gen[i], real[i], (0, 0, 10, 10), gen[i - 1] if i else None, real[i - 1] if i else None,
                        flows[i - 1] if i else None, valid[i - 1] if i else None))
    for col in ev.table().columns:
        assert registry.info(col) is not None, col
    assert registry.summary_columns(ev.table().columns)[:2] == ["ssim", "ssim_person"]


def test_face_box_scores_and_face_landmark_distance():
    gen, real, _, _ = _clip(2)
    face = (4, 2, 14, 12)
    scores = ImageQuality().update(Frame(gen[0], real[0], (0, 0, 32, 24), face_box=face))
    mask = np.zeros((24, 32), bool)
    mask[2:12, 4:14] = True  # a 10x10 box, under SSIM's window: the frame's SSIM map averaged over it
    assert math.isnan(ssim(gen[0], real[0], box=face))
    assert scores["ssim_face"] == pytest.approx(ssim(gen[0], real[0], mask=mask))
    assert scores["psnr_face"] == pytest.approx(psnr(gen[0][2:12, 4:14], real[0][2:12, 4:14]))
    assert scores["ssim_face"] != pytest.approx(scores["ssim_person"])  # a region of its own
    assert "ssim_face" not in ImageQuality().update(Frame(gen[0], real[0], None))  # no face box: no face score
    assert math.isnan(box_scores(gen[0], real[0], (40, 30, 50, 40), "face")["ssim_face"])  # outside the frame
    for col in ("ssim_face", "psnr_face", "pose_distance_face"):
        assert registry.info(col) is not None, col

    # the face landmark distance: only nose, eyes and ears count
    ref = np.zeros((25, 3), np.float32)
    ref[:, 2] = 1.0
    ref[:, :2] = np.arange(50, dtype=np.float32).reshape(25, 2)
    detected = ref.copy()
    detected[list(FACE_JOINTS), 0] += 3.0  # the face 3 px off
    detected[4, 0] += 30.0  # a wrist 30 px off
    pose = Pose(lambda: _Fixed(detected), real_reference=False)
    out = pose.update(Frame(gen[0], real[0], reference_pose=ref))
    assert out["pose_distance_face"] == pytest.approx(3.0)
    assert out["pose_distance"] == pytest.approx((5 * 3.0 + 30.0) / 25)


class _Fixed:
    """A pose 'labeler' that returns the same keypoints for every image."""

    def __init__(self, kp):
        self.kp = kp

    def reset(self):
        pass

    def __call__(self, image):
        return self.kp


@pytest.mark.parametrize(("name", "stem", "mode"), [
    ("eval/ssim_mean", "ssim", "max"), ("metrics.eval/baseline_ssim_person_mean", "ssim_person", "max"),
    ("val_psnr_person", "psnr_person", "max"), ("eval/warp_error_real_mean", "warp_error", "min"),
    ("eval/warp_l1_255_median", "warp_l1_255", "min"), ("eval/fid", "fid", "min"), ("eval/kid", "kid", "min"),
    ("eval/kid_std", "kid_std", "min"), ("eval/pose_detection_rate_real", "pose_detection_rate", "max"),
    ("eval/lpips_mean", "lpips", "min"), ("val_warp_error", "warp_error", "min"),
])  # fmt: skip
def test_registry_resolves_logged_names(name, stem, mode):
    assert registry.stem(name) == stem and registry.direction(name) == mode


def test_registry_directions_of_other_logged_numbers_and_key_metrics():
    assert registry.info("G_total") is None and registry.direction("G_total") == "min"
    assert registry.direction("eval/generation/fps") == "max"
    keys = registry.key_metrics()
    assert keys[0] == "eval/ssim_mean" and "eval/fid" in keys and "eval/kid" in keys and "eval/warp_error_mean" in keys
    assert registry.validation_names() == ("val_ssim", "val_psnr", "val_ssim_person", "val_psnr_person",
                                           "val_warp_error", "val_warp_l1_255")
    assert all(m.label and m.definition for m in registry.METRICS.values())
    assert isinstance(pd.DataFrame([vars(m) for m in registry.METRICS.values()]), pd.DataFrame)
