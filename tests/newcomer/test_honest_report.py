"""A ghost model (it outputs the mean training frame) gets a report that says so."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.evaluate import synthetic as syn
from v2v_pipeline.report import (
    DatasetReader,
    MetricModels,
    build_report,
    comparison_table,
    evaluate_segments,
    mean_frame,
    reference_keypoints,
    split_segments,
    summary_metrics,
    training_curves,
)
from v2v_pipeline.report.html import HtmlReport, video_width
from v2v_pipeline.report.verdict import lead_table, red_flags
from v2v_pipeline.storage import Archive, write_archive

N = 40


class _Pose:
    """Finds the reference pose on real frames and nothing (confidence 0) on generated ones."""

    def __init__(self, reference, finds: bool):
        self.reference, self.finds, self.i = reference, finds, 0

    def reset(self):
        pass

    def __call__(self, image):
        kp = self.reference[30 + self.i % 9].copy()
        self.i += 1
        return kp if self.finds else np.zeros_like(kp)


@pytest.fixture(scope="module")
def ghost(tmp_path_factory):
    path = tmp_path_factory.mktemp("ds") / "dataset.zip"
    write_archive(path, syn.dataset_archive(N))
    archive, frames = Archive(path), syn.dataset_frames(N)
    reader = DatasetReader(archive)
    base = mean_frame(reader.image, frames.loc[frames.split == "train", "frame"].to_numpy())
    reference = reference_keypoints(syn.keypoints_table("target", N), "target")
    made = []

    def factory():  # the first estimator scores the generated stream, the second the real frames
        made.append(_Pose(reference, finds=bool(made)))
        return made[-1]

    result = evaluate_segments(split_segments(frames), lambda f: base, reader, frames, baseline=base,
                               models=MetricModels(pose=factory, pose_min_confidence=0.3), reference=reference)
    return result, summary_metrics(result)


def test_a_ghost_model_is_flagged(ghost):
    result, summary = ghost
    assert summary["eval/pose_detection_rate"] == 0.0 and summary["eval/pose_detection_rate_real"] == 1.0
    flags = red_flags(summary)
    assert len(flags) == 2, flags  # (the synthetic flow is exact: the real frames' warping error is 0, unbeatable)
    assert flags[0].startswith("pose detection rate 0.00 (real frames 1.00)")
    assert "does not beat the mean training frame" in flags[1]
    report = build_report("ghost", summary=summary, per_frame=result.per_frame)
    html = report.render(".")
    assert '<ul class="flags">' in html and "color:#b00020" in html
    assert html.index('class="flags"') < html.index("<table>")  # the red flags come first
    first_row = html.split("<tbody>")[1].split("</tr>")[0]
    assert "SSIM (person box)" in first_row  # the table leads with the person box


def test_a_still_output_that_beats_the_real_warping_error_is_flagged():
    # the numbers of issue 17's 71-step ghost: whole-frame SSIM above the baseline, warping error below the video's
    summary = {"eval/ssim_mean": 0.964, "eval/baseline_ssim_mean": 0.957, "eval/ssim_person_mean": 0.42,
               "eval/baseline_ssim_person_mean": 0.45, "eval/warp_error_mean": 0.19,
               "eval/warp_error_real_mean": 0.23, "eval/pose_detection_rate": 0.1}
    flags = red_flags(summary)
    assert len(flags) == 3 and "nothing moves" in flags[2] and "0.19 is lower than the real frames' own 0.23" in flags[2]
    # a sharp person with a steady output is not flagged for being steady
    assert red_flags({**summary, "eval/ssim_person_mean": 0.8, "eval/pose_detection_rate": 0.9}) == []


def test_a_good_model_is_not_flagged():
    summary = {"eval/pose_detection_rate": 0.95, "eval/ssim_person_mean": 0.8, "eval/baseline_ssim_person_mean": 0.4,
               "eval/warp_error_mean": 0.01, "eval/warp_error_real_mean": 0.02}
    assert red_flags(summary) == []
    table = lead_table(comparison_table(summary))
    assert table["metric"].tolist()[:2] == ["SSIM (person box)", "pose detection rate"]


def test_a_single_validation_point_is_visible():
    history = pd.DataFrame([{"step": 10, "G_total": 3.0}, {"step": 20, "G_total": 2.5},
                            {"step": 20, "val_ssim": 0.4}])
    fig = training_curves(history)
    val_axis = fig.axes[1]
    (line,) = [ln for ln in val_axis.get_lines() if ln.get_label() == "val_ssim"]
    assert len(line.get_xdata()) == 1 and line.get_marker() not in (None, "None", "", " ")


def test_videos_are_enlarged_pixelated_with_controls_below(tmp_path):
    assert video_width(128 * 3) == 768 and video_width(128) == 512 and video_width(2000) == 2000
    report = HtmlReport("t")
    report.video(tmp_path / "v.mp4", "clip", native_width=192)
    html = report.render(tmp_path)
    assert "image-rendering:pixelated" in html and 'style="width:576px"' in html
    video_tag = html.split("<video")[1].split(">")[0]
    assert "controls" not in video_tag  # the browser's controls would cover a small picture
    assert html.index("</video>") < html.index("play / pause")
