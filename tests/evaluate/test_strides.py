"""Fast motion: the test split subsampled by a stride, chained flows, per-stride rows and their red flags."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from tests.evaluate import synthetic as syn
from v2v_pipeline.flow.warp import chain_backward_flows
from v2v_pipeline.metrics import registry
from v2v_pipeline.report import DatasetReader, build_report, evaluate_segments, split_segments
from v2v_pipeline.report.assemble import StrideRows
from v2v_pipeline.report.strides import (
    evaluate_stride,
    stride_changes,
    stride_segments,
    stride_summary,
    stride_table,
)
from v2v_pipeline.report.verdict import stride_flags

N = 40


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    archive, frames = syn.stored_dataset(tmp_path_factory.mktemp("ds"), N)
    return DatasetReader(archive), frames


def test_one_step_flows_chain_into_the_flow_over_k_frames():
    h, w = 8, 12
    flow = np.zeros((h, w, 2), np.float32)
    flow[..., 0], flow[..., 1] = -2.0, 1.0
    valid = np.zeros((h, w), bool)
    valid[:, 2:] = True
    chained, ok = chain_backward_flows([flow, flow, flow], [valid] * 3)
    np.testing.assert_allclose(chained[..., 0], -6.0)
    np.testing.assert_allclose(chained[..., 1], 3.0)
    # valid where every step is valid along the chain and it stays inside the frame (x - 6 >= 0, y + 3 <= 7)
    expected = np.zeros((h, w), bool)
    expected[: h - 3, 6:] = True
    np.testing.assert_array_equal(ok, expected)
    one, ok1 = chain_backward_flows([flow], [valid])
    np.testing.assert_array_equal(one, flow)
    inside = np.zeros((h, w), bool)
    inside[: h - 1, :] = True  # y + 1 leaves the frame in the last row
    np.testing.assert_array_equal(ok1, valid & inside)


def test_subsampled_segments_keep_every_kth_frame_of_each_segment(dataset):
    _, frames = dataset
    segs = split_segments(frames)  # [30..34], [36..39]
    assert [s.tolist() for s in stride_segments(segs, 2)] == [[30, 32, 34], [36, 38]]
    assert [s.tolist() for s in stride_segments(segs, 4)] == [[30, 34], [36]]
    assert registry.stem("eval/stride2/ssim_person_mean") == "ssim_person"
    assert registry.direction("eval/stride4/pose_distance_mean") == "min"
    assert registry.stride_prefix(1) == "eval/" and registry.stride_prefix(2) == "eval/stride2/"


def test_a_perfect_model_at_stride_2_has_exact_chained_flows(dataset):
    reader, frames = dataset
    segs = split_segments(frames)
    base = evaluate_segments(segs, reader.image, reader, frames).per_frame
    table = evaluate_stride(2, segs, reader.image, reader, frames, regenerated=True, base=base)
    assert table.stride.eq(2).all() and table.frame.tolist() == [30, 32, 34, 36, 38]
    pairs = table.dropna(subset=["warp_error"])
    assert pairs.frame.tolist() == [32, 34, 38]  # segment starts have no pair
    assert pairs.warp_error_real.max() < 1e-6 and pairs.warp_l1_255_real.max() < 0.01  # 2 x SPEED px, exact
    np.testing.assert_allclose(table.ssim, 1.0)


def test_a_stateless_model_reuses_its_stride_1_values_and_recomputes_only_the_pairs(dataset):
    reader, frames = dataset
    segs = split_segments(frames)
    rng = np.random.default_rng(0)
    noisy = {f: np.clip(reader.image(f).astype(np.int16) + rng.integers(-20, 21, reader.image(f).shape), 0, 255)
             .astype(np.uint8) for s in segs for f in s}
    base = evaluate_segments(segs, noisy.__getitem__, reader, frames).per_frame
    table = evaluate_stride(2, segs, noisy.__getitem__, reader, frames, regenerated=False, base=base)
    merged = table.merge(base, on="frame", suffixes=("", "_1"))
    np.testing.assert_array_equal(merged.ssim_person, merged.ssim_person_1)  # the same frames: the same values
    assert (merged.dropna(subset=["warp_error"]).warp_error != merged.dropna(subset=["warp_error"]).warp_error_1).all()
    summary = stride_summary(table)
    assert summary["eval/stride2/frames"] == 5
    assert summary["eval/stride2/ssim_person_mean"] == pytest.approx(np.nanmean(table.ssim_person))
    assert {"eval/stride2/tof_mean", "eval/stride2/warp_error_mean",
            "eval/stride2/warp_error_real_mean"} <= set(summary)
    assert "eval/stride2/pose_distance_mean" not in summary  # no pose labeler in this run: not faked


SUMMARY = {"eval/frames": 80.0, "eval/ssim_person_mean": 0.60, "eval/pose_distance_mean": 5.0,
           "eval/tof_mean": 0.09, "eval/warp_error_mean": 0.010, "eval/warp_error_real_mean": 0.008,
           "eval/stride2/frames": 40.0, "eval/stride2/ssim_person_mean": 0.58, "eval/stride2/pose_distance_mean": 5.2,
           "eval/stride2/tof_mean": 0.2, "eval/stride2/warp_error_mean": 0.02,
           "eval/stride4/frames": 20.0, "eval/stride4/ssim_person_mean": 0.50, "eval/stride4/pose_distance_mean": 6.0,
           "eval/stride4/tof_mean": 0.5, "eval/stride4/warp_error_mean": 0.04}


def test_changes_beyond_the_tolerance_are_red_flags_only_for_person_ssim_and_pose_distance():
    changes = {(r["stride"], r["metric"]): r for r in stride_changes(SUMMARY, [1, 2, 4])}
    assert changes[(2, "ssim_person")]["change"] == pytest.approx(-0.02 / 0.60)
    assert changes[(4, "pose_distance")]["worse"] == pytest.approx(0.2)
    flags = stride_flags(SUMMARY, [1, 2, 4])
    assert len(flags) == 2 and all(f.startswith("stride 4:") for f in flags)  # tOF / warp error grow by design
    assert "SSIM (person box) 0.5 vs 0.6" in flags[0] and "-16.7 %" in flags[0]
    assert "pose distance (px) 6 vs 5" in flags[1] and "+20.0 %" in flags[1]
    assert stride_flags(SUMMARY, [1, 2, 4], tolerance=0.25) == []
    # better at a larger stride is not a failure to hold up
    assert stride_flags({**SUMMARY, "eval/stride4/ssim_person_mean": 0.9, "eval/stride4/pose_distance_mean": 1.0},
                        [1, 2, 4]) == []


def test_the_report_shows_one_row_per_stride_with_the_change_and_the_flags():
    table = stride_table(SUMMARY, [1, 2, 4])
    assert table.stride.tolist() == [1, 2, 4] and table.frames.tolist() == [80, 40, 20]
    assert table["SSIM (person box) change"].tolist() == ["", "-3.3 %", "-16.7 %"]
    assert math.isnan(table["warp error, real frames"].iloc[1])
    rows = StrideRows(table, stride_flags(SUMMARY, [1, 2, 4]))
    html = build_report("t", summary=SUMMARY, per_frame=pd.DataFrame({"frame": [1], "segment": [0]}),
                        strides=rows).render(".")
    assert "Fast motion: the split subsampled by a stride" in html and "-16.7 %" in html
    assert "Fast motion does not hold up" in html and html.count("stride 4: ") >= 2
