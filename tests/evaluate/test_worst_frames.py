"""The worst-frames gallery: the selection on a synthetic per-frame table, and the report that renders it."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from tests.evaluate import synthetic as syn
from v2v_pipeline.config import ConfigError, parse
from v2v_pipeline.params import EvaluateParams
from v2v_pipeline.report import DatasetReader, build_report
from v2v_pipeline.report.gallery import caption, gallery_strips, worst_frames
from v2v_pipeline.storage import Archive, write_archive


def _table() -> pd.DataFrame:
    return pd.DataFrame({
        "frame": [30, 31, 32, 33, 34, 36, 37, 38, 39],
        "segment": [0, 0, 0, 0, 0, 1, 1, 1, 1],
        "ssim": [0.9, 0.8, 0.85, 0.7, 0.95, 0.6, 0.9, 0.88, 0.5],
        "ssim_person": [0.61, 0.42, 0.55, np.nan, 0.42, 0.30, 0.77, 0.50, np.nan],
        "psnr_person": [20.0, 15.0, 18.0, np.nan, 16.0, 12.0, 25.0, 17.0, np.nan],
        "pose_distance": [3.0, 9.0, 4.0, 2.0, np.nan, 11.0, 1.0, 5.0, 7.0],
    })


def test_the_lowest_person_box_ssim_frames_are_picked_worst_first_and_boxless_frames_kept_apart():
    sel = worst_frames(_table(), n=4)
    assert sel.worst.frame.tolist() == [36, 31, 34, 38]  # 0.30, then the 0.42 tie by frame number, then 0.50
    assert sel.undefined.frame.tolist() == [33, 39] and sel.undefined_reason == "no person box"
    assert worst_frames(_table(), n=50).worst.frame.tolist()[-1] == 37  # all ranked frames, best last
    assert worst_frames(_table(), n=0).worst.empty


def test_a_lower_is_better_metric_ranks_the_largest_values_first():
    sel = worst_frames(_table(), n=3, metric="pose_distance")
    assert sel.worst.frame.tolist() == [36, 31, 39]
    assert sel.undefined.frame.tolist() == [34]
    with pytest.raises(ValueError, match="not a per-frame metric"):
        worst_frames(_table(), metric="fid")
    assert worst_frames(_table(), metric="lpips").worst.empty  # a metric the run did not compute: nothing to rank


def test_the_caption_names_the_frame_and_its_values():
    row = _table().iloc[5]
    text = caption(row, "ssim_person")
    assert text.startswith("frame 36: SSIM (person box) 0.300") and "pose distance (px) 11.00" in text
    assert "n/a" in caption(_table().iloc[3], "ssim")  # no person box: its person values say so


def test_evaluate_parameters_check_the_gallery_and_stride_settings():
    p = parse(EvaluateParams, {}, "evaluate")
    assert (p.worst_frames, p.worst_metric, p.strides, p.stride_tolerance) == (6, "ssim_person", [1], 0.10)
    for bad in ({"strides": [2, 4]}, {"strides": [1, 1]}, {"strides": [1, 0]}, {"worst_metric": "fid"},
                {"worst_frames": -1}, {"stride_tolerance": 0}):
        with pytest.raises(ConfigError):
            parse(EvaluateParams, bad, "evaluate")


def test_the_report_shows_the_gallery_with_frame_numbers_values_and_the_boxless_frames(tmp_path):
    n = 40
    write_archive(tmp_path / "ds.zip", syn.dataset_archive(n))
    reader = DatasetReader(Archive(tmp_path / "ds.zip"))
    table = _table()
    sel = gallery_strips(worst_frames(table, n=2), reader.image, reader)
    assert [f for f, _, _ in sel.strips] == [36, 31]
    strip = sel.strips[0][2]
    assert strip.shape[1] == 3 * syn.SIZE[0] + 2 * 2  # label | generated | real with 2-px gutters
    summary = {"eval/ssim_mean": 0.8, "eval/ssim_person_mean": float(np.nanmean(table.ssim_person))}
    html = build_report("t", summary=summary, per_frame=table, worst=[sel]).render(tmp_path)
    assert "Worst frames: lowest SSIM (person box)" in html
    assert html.count('<figcaption>frame ') == 2 and "frame 36: SSIM (person box) 0.300" in html
    assert "Not ranked, no person box (2 frames): 33, 39." in html
    assert not math.isnan(summary["eval/ssim_person_mean"])
