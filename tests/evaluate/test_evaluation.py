"""Self-reconstruction metrics on a synthetic dataset whose exact flow is known."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch
import torchvision

from tests.evaluate import synthetic as syn
from v2v_pipeline.metrics import load_lpips
from v2v_pipeline.report import (
    DatasetReader,
    MetricModels,
    comparison_table,
    evaluate_segments,
    mean_frame,
    reference_keypoints,
    split_segments,
    summary_metrics,
)

N = 40


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return syn.stored_dataset(tmp_path_factory.mktemp("ds"), N)


def _run(dataset, generated=None, **kw):
    archive, frames = dataset
    reader = DatasetReader(archive)
    segments = split_segments(frames)
    baseline = mean_frame(reader.image, frames.loc[frames.split == "train", "frame"].to_numpy())
    return evaluate_segments(segments, generated or reader.image, reader, frames, baseline=baseline, **kw)


def test_segments_follow_gaps_in_the_split():
    frames = syn.dataset_frames(N)
    segments = split_segments(frames)
    assert [s.tolist() for s in segments] == [[30, 31, 32, 33, 34], [36, 37, 38, 39]]
    assert [s.tolist() for s in split_segments(frames, max_frames=3)] == [[30, 31, 32]]
    with pytest.raises(ValueError, match="no 'test' frames.*train"):
        split_segments(frames[frames.split != "test"])


def test_perfect_model_scores_like_the_real_frames(dataset):
    result = _run(dataset)
    df = result.per_frame
    assert df.frame.tolist() == [30, 31, 32, 33, 34, 36, 37, 38, 39]
    np.testing.assert_allclose(df.ssim, 1.0)
    assert np.isinf(df.psnr).all()
    np.testing.assert_allclose(df.ssim_person[:-1], 1.0)
    assert math.isnan(df.ssim_person.iloc[-1])  # the last frame has no person box
    # temporal metrics: undefined at each segment start, identical to the real frames' elsewhere
    starts = df.segment.diff().fillna(1) != 0
    assert df.loc[starts, ["warp_error", "warp_l1_255", "tof"]].isna().all().all()
    pairs = df[~starts]
    np.testing.assert_array_equal(pairs.warp_error, pairs.warp_error_real)
    np.testing.assert_array_equal(pairs.warp_l1_255, pairs.warp_l1_255_real)
    assert pairs.warp_l1_255_real.max() < 0.01  # the stored flow is exact for the sliding texture
    assert pairs.warp_error_real.max() < 1e-6
    np.testing.assert_allclose(pairs.tof, 0.0, atol=1e-6)
    # the mean training frame is a poor model
    assert (df.baseline_ssim < 0.5).all() and (df.baseline_psnr < 25).all()
    summary = summary_metrics(result)
    assert summary["eval/ssim_mean"] == pytest.approx(1.0)
    assert summary["eval/psnr_inf_frames"] == 9 and math.isnan(summary["eval/psnr_mean"])
    assert summary["eval/frames"] == 9 and summary["eval/segments"] == 2


def test_imperfect_model_is_worse_than_the_real_frames(dataset):
    archive, frames = dataset
    reader = DatasetReader(archive)
    rng = np.random.default_rng(0)

    def noisy(f):  # independent noise per frame: flickers, so the warping error rises above the floor
        img = reader.image(f).astype(np.int16) + rng.integers(-20, 21, size=reader.image(f).shape)
        return np.clip(img, 0, 255).astype(np.uint8)

    df = _run(dataset, noisy).per_frame
    assert (df.ssim < 0.95).all() and (df.psnr < 30).all() and (df.psnr > 15).all()
    pairs = df.dropna(subset=["warp_error"])
    assert (pairs.warp_l1_255 > pairs.warp_l1_255_real + 5).all()
    # Lai et al.: squared on [0, 1]; noise of +-20 levels flickering in both frames: ~2 * 140 / 255^2
    assert (pairs.warp_error > pairs.warp_error_real + 2e-3).all() and (pairs.warp_error < 0.02).all()
    # the model still beats the mean frame
    assert (df.ssim > df.baseline_ssim).all()


def test_evaluation_at_a_smaller_model_size_scales_flows_and_boxes(dataset):
    archive, frames = dataset
    reader = DatasetReader(archive, (32, 16))
    assert reader.image(31).shape == (16, 32, 3) and reader.flow(31)[0, 0, 0] == pytest.approx(-1.0)
    result = evaluate_segments(split_segments(frames), reader.image, reader, frames, box_scale=(0.5, 0.5))
    pairs = result.per_frame.dropna(subset=["warp_error"])
    assert pairs.warp_l1_255_real.max() < 2  # still aligned after resizing the flow
    assert pairs.warp_error_real.max() < 2e-4
    np.testing.assert_allclose(result.per_frame.ssim_person[:-1], 1.0)


class _FakePose:
    """Returns the reference pose moved by (3, 4) px: a pose distance of exactly 5."""

    def __init__(self, reference):
        self.reference, self.calls, self.resets = reference, 0, 0

    def reset(self):
        self.resets += 1

    def __call__(self, image):
        kp = self.reference[30 + self.calls % 9].copy()  # frames are evaluated in order
        self.calls += 1
        kp[:, :2] += (3, 4)
        return kp


def test_pose_distance_uses_the_labeler_on_every_frame(dataset):
    reference = reference_keypoints(syn.keypoints_table("target", N), "target")
    made = []

    def factory():
        made.append(_FakePose(reference))
        return made[-1]

    result = _run(dataset, models=MetricModels(pose=factory, pose_min_confidence=0.3), reference=reference)
    df = result.per_frame
    np.testing.assert_allclose(df.pose_distance, 5.0, rtol=1e-6)
    np.testing.assert_allclose(df.pose_distance_real, 5.0, rtol=1e-6)
    assert (df.pose_joints == 15).all()  # joints 15..24 have confidence 0 in the input
    assert len(made) == 2 and all(m.resets == 2 for m in made)  # generated and real stream, reset per segment
    summary = summary_metrics(result)
    assert summary["eval/pose_detection_rate"] == 1.0 and summary["eval/pose_distance_mean"] == pytest.approx(5)


def test_reference_keypoints_accept_names_and_scale():
    table = syn.keypoints_table("target", 3)
    numeric = reference_keypoints(table, "target", (2.0, 0.5))
    named = table.assign(joint=table.joint.map(lambda j: __import__("v2v_pipeline.labels.skeleton",
                                                                    fromlist=["BODY_25"]).BODY_25[j]))
    assert set(numeric) == {0, 1, 2}
    np.testing.assert_allclose(reference_keypoints(named, "target", (2.0, 0.5))[1], numeric[1])
    row = table[(table.frame == 1) & (table.joint == 4)].iloc[0]
    np.testing.assert_allclose(numeric[1][4], [row.x * 2, row.y * 0.5, row.confidence], rtol=1e-6)
    assert reference_keypoints(table, "other") == {}


class _TinyFeatures:
    """Stands in for Inception (whose FID costs ~15 s of sqrtm on 2048-d features): 8 colour statistics."""

    def extract(self, images, batch_size=1):
        img = np.asarray(images[0], np.float64)
        return np.concatenate([img.mean((0, 1)), img.std((0, 1)), img[::2].mean((0, 1))[:2]])[None]


def test_lpips_and_fid_with_weights_from_files(dataset, tmp_path):
    torch.manual_seed(0)
    torch.save(torchvision.models.alexnet(weights=None).features.state_dict(), tmp_path / "alexnet.pth")
    torch.save({f"lin{i}.model.1.weight": torch.rand(1, c, 1, 1) for i, c in enumerate((64, 192, 384, 256, 256))},
               tmp_path / "lin.pth")
    models = MetricModels(lpips=load_lpips(tmp_path / "alexnet.pth", tmp_path / "lin.pth"), inception=_TinyFeatures())
    perfect = _run(dataset, models=models)
    np.testing.assert_allclose(perfect.per_frame.lpips, 0.0, atol=1e-6)
    assert perfect.fid == pytest.approx(0.0, abs=1e-6)
    archive, _ = dataset
    reader = DatasetReader(archive)
    darker = _run(dataset, lambda f: (reader.image(f) * 0.7).astype(np.uint8), models=models)
    assert (darker.per_frame.lpips > 0).all() and darker.fid > 1
    summary = summary_metrics(darker)
    assert summary["eval/fid"] == darker.fid and summary["eval/kid"] == darker.kid and darker.kid > 0
    assert perfect.kid < 0 < darker.kid  # unbiased: identical sets score below 0 (the diagonal is left out)
    assert any("FID on 9 frames is biased" in n for n in darker.notes)  # 9 frames, 8 features


def test_mean_frame_and_comparison_table(dataset):
    archive, frames = dataset
    reader = DatasetReader(archive)
    mean = mean_frame(reader.image, [0, 1, 2, 3], max_frames=10)
    expected = np.mean([reader.image(i).astype(float) for i in range(4)], axis=0).round()
    np.testing.assert_array_equal(mean, expected.astype(np.uint8))
    table = comparison_table({"eval/ssim_mean": 0.8, "eval/baseline_ssim_mean": 0.3, "eval/warp_l1_255_mean": 4.0,
                              "eval/warp_l1_255_real_mean": 1.0, "eval/warp_error_mean": 0.002, "eval/fid": 12.0,
                              "eval/kid": 0.01})
    assert isinstance(table, pd.DataFrame)
    rows = table.set_index("metric")
    assert rows.loc["SSIM (whole frame)", "baseline (mean frame)"] == 0.3
    assert rows.loc["warping error L1 (0..255)", "real frames (floor)"] == 1.0
    assert rows.loc["warping error (Lai et al., [0,1]^2)", "model"] == 0.002
    assert rows.loc["FID", "model"] == 12.0 and rows.loc["FID", "better"] == "lower"
    assert rows.loc["KID", "model"] == 0.01 and rows.loc["SSIM (whole frame)", "better"] == "higher"


def test_every_metric_column_and_summary_key_is_in_the_registry(dataset):
    from v2v_pipeline.metrics import registry

    reference = reference_keypoints(syn.keypoints_table("target", N), "target")
    result = _run(dataset, models=MetricModels(pose=lambda: _FakePose(reference), inception=_TinyFeatures()),
                  reference=reference)
    ids = {"frame", "segment", "time", "pose_joints"}
    for col in set(result.per_frame.columns) - ids:
        assert registry.info(col) is not None, col
    summary = summary_metrics(result)
    unknown = [k for k in summary if registry.info(k) is None]
    assert sorted(unknown) == ["eval/frames", "eval/psnr_inf_frames", "eval/segments"]  # counts, not metrics
    assert {"eval/fid", "eval/kid", "eval/kid_std", "eval/pose_detection_rate", "eval/warp_l1_255_real_mean"} <= set(summary)


def test_json_helpers_of_the_evaluate_steps():
    from v2v_pipeline.report.evaluate import as_float, json_safe

    assert json_safe({"a": [1.0, float("nan")], "b": (float("inf"), "x")}) == {"a": [1.0, "nan"], "b": ["inf", "x"]}
    assert as_float("nan") != as_float("nan") and as_float("2.5") == 2.5 and math.isnan(as_float(None))
