"""EDN global pose normalization on synthetic people with known camera mappings."""

from __future__ import annotations

import io

import numpy as np
import pytest

from tests.pose.synthetic import SOURCE_CAMERA, TARGET_CAMERA, source_and_target
from v2v_pipeline.pose import PoseNormConfig, measure_frames, normalize_poses, plot_ankle_distributions, temporal_median
from v2v_pipeline.pose.normalize import L_ANKLE, L_FOOT, NOSE, R_ANKLE, R_EAR, R_FOOT, far_line

NO_SMOOTHING = PoseNormConfig(median_window=1, x_mode="keep")  # EDN: the source keeps its x


def test_far_line_follows_the_edn_rule() -> None:
    y = np.array([100.0, 200.0, 300.0, 310.0, 320.0, 330.0, 400.0])
    # close 400, median 310: far may lie at most (400 - 310) / 2 = 45 px above the median
    assert far_line(y, close=400.0, median=310.0) == 300.0
    assert far_line(y, close=400.0, median=310.0, median_frac=1.0) == 300.0
    assert far_line(y, close=400.0, median=310.0, median_frac=0.1) == 310.0


def test_measurements_of_the_template() -> None:
    d, source, _ = source_and_target()
    m = measure_frames(source)
    assert m.usable.all()
    np.testing.assert_allclose(m.ankle[:, 1], SOURCE_CAMERA.ankle_y(d))
    np.testing.assert_allclose(m.height, SOURCE_CAMERA.height(d))


def test_recovers_known_scale_and_translation() -> None:
    d, source, target = source_and_target()
    result = normalize_poses(source, target, NO_SMOOTHING)
    p = result.params
    assert p.source.close == pytest.approx(420.0) and p.source.far == pytest.approx(300.0)
    assert p.target.close == pytest.approx(460.0) and p.target.far == pytest.approx(200.0)
    assert p.scale_close == pytest.approx(330.0 / 250.0)
    assert p.scale_far == pytest.approx(180.0 / 150.0)
    np.testing.assert_allclose(result.p, d, atol=1e-9)
    # every frame's ankle lands where the target person's would be at that depth
    m = measure_frames(result.keypoints)
    np.testing.assert_allclose(m.ankle[:, 1], TARGET_CAMERA.ankle_y(d), atol=1e-6)
    # heights are exact on the close and far lines; in between EDN interpolates the *ratio*
    # of heights linearly, which is off by 1.3 % at most for these cameras
    on_line = (d == 0) | (d == 1)
    np.testing.assert_allclose(m.height[on_line], TARGET_CAMERA.height(d[on_line]), rtol=1e-6)
    np.testing.assert_allclose(m.height, TARGET_CAMERA.height(d), rtol=0.015)
    np.testing.assert_allclose(m.ankle[:, 0], measure_frames(source).ankle[:, 0], atol=1e-6)  # x kept
    # the body shape is only scaled: limb proportions are the source's
    bone = lambda kp: np.linalg.norm(kp[:, 3, :2] - kp[:, 4, :2], axis=1)  # noqa: E731
    np.testing.assert_allclose(bone(result.keypoints) / bone(source), result.scale)
    assert set(p.to_dict()) >= {"src_close", "src_far", "tgt_close", "tgt_far", "scale_close", "scale_far"}


def test_recenter_moves_the_source_mean_x_to_the_target_mean_x() -> None:
    d, source, target = source_and_target()
    ankle_x = measure_frames(source).ankle[:, 0]
    source[..., 0] -= ankle_x[:, None] - 600.0  # source stands still at x = 600
    result = normalize_poses(source, target, PoseNormConfig(median_window=1, x_mode="recenter"))
    target_mean_x = measure_frames(target).ankle[:, 0].mean()
    np.testing.assert_allclose(measure_frames(result.keypoints).ankle[:, 0], target_mean_x, atol=1e-6)


def test_missing_joints_pass_through_and_fallbacks_apply() -> None:
    d, source, target = source_and_target()
    source[5, 4] = (0.0, 0.0, 0.0)  # right wrist missing
    source[10, NOSE, 2] = 0.0  # nose missing: ear midpoint is the head
    source[12, [R_ANKLE, L_ANKLE], 2] = 0.0  # ankles missing: heels/toes are the feet
    source[15] = 0.0  # no person at all
    source[20, [R_ANKLE, L_ANKLE, *R_FOOT, *L_FOOT], 2] = 0.0  # no foot: interpolated anchor
    result = normalize_poses(source, target, NO_SMOOTHING)
    out = result.keypoints
    np.testing.assert_array_equal(out[5, 4], (0.0, 0.0, 0.0))
    np.testing.assert_array_equal(out[15], source[15])
    np.testing.assert_array_equal(out[20, [R_ANKLE, *L_FOOT], 2], 0.0)
    assert out[12, R_ANKLE, 2] == 0.0 and out[12, R_ANKLE, 1] == source[12, R_ANKLE, 1]
    # visible joints of those frames are still normalized correctly
    for frame, joint in ((5, NOSE), (10, R_EAR), (20, NOSE)):  # frames 0..29: far line
        head_y = TARGET_CAMERA.ankle_y(d[frame]) - TARGET_CAMERA.height(d[frame])
        assert out[frame, joint, 1] == pytest.approx(head_y, abs=1e-6)  # template ears at nose height
    assert tuple(out[10, NOSE]) == tuple(source[10, NOSE])
    # with the heels (2 % of the height below the ankles) as feet, frame 12 is placed a little
    # closer (p = 3 / 120) and larger than the others: within 1.5 % of the target height
    nose_12 = TARGET_CAMERA.ankle_y(d[12]) - TARGET_CAMERA.height(d[12])
    assert out[12, NOSE, 1] == pytest.approx(nose_12, abs=0.015 * TARGET_CAMERA.h_far)


def test_temporal_median_removes_spikes_and_keeps_missing_joints() -> None:
    n = 21
    kp = np.ones((n, 2, 3))
    kp[:, 0, 0] = np.arange(n)  # linear in time: a centred median keeps it, ends included
    kp[:, 0, 1] = 50.0
    kp[10, 0, 1] = 500.0  # one-frame spike
    kp[:, 1, :2] = np.arange(n)[:, None] ** 2
    kp[3, 1] = (7.0, 7.0, 0.0)  # missing joint: stays missing and unchanged
    out = temporal_median(kp, window=7)
    assert out[10, 0, 1] == 50.0
    np.testing.assert_array_equal(out[:, 0, 0], np.arange(n))
    np.testing.assert_array_equal(out[3, 1], (7.0, 7.0, 0.0))
    # frame 2's window is frames 0..4 without the missing frame 3: median of 0, 1, 4, 16
    assert out[2, 1, 0] == 2.5
    np.testing.assert_array_equal(temporal_median(kp, window=1), kp)
    with pytest.raises(ValueError, match="odd"):
        temporal_median(kp, window=4)


def test_default_pipeline_smooths_with_seven_frames() -> None:
    d, source, target = source_and_target()
    source[40, NOSE, 1] -= 60.0  # a detection glitch on one frame
    raw = normalize_poses(source, target, NO_SMOOTHING).keypoints
    smooth = normalize_poses(source, target).keypoints
    expected = TARGET_CAMERA.ankle_y(d[40]) - TARGET_CAMERA.height(d[40])
    assert abs(raw[40, NOSE, 1] - expected) > 50
    # frames 30..46 walk in: the nose moves (260 - 150) / 17 = 6.5 px per frame in target pixels
    # and the median of the window without the glitch is at most one frame off
    assert abs(smooth[40, NOSE, 1] - expected) < 6.5 + 1.0


def test_too_few_usable_frames_is_a_clear_error() -> None:
    _, source, target = source_and_target()
    source[5:, L_ANKLE, 2] = 0.0
    source[5:, list(L_FOOT), 2] = 0.0
    with pytest.raises(ValueError, match=r"source: only 5 of 87 frames .* at least 10"):
        normalize_poses(source, target)
    with pytest.raises(ValueError, match=r"\(N, 25, 3\)"):
        normalize_poses(source[:, :18], target)


def test_config_is_validated() -> None:
    with pytest.raises(ValueError, match="x_mode"):
        PoseNormConfig(x_mode="center")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="median_window"):
        PoseNormConfig(median_window=6)


def test_extra_keypoints_follow_the_body() -> None:
    _, source, target = source_and_target()
    face = source[:, [NOSE, NOSE], :].copy()
    result = normalize_poses(source, target, NO_SMOOTHING, extra=[face])
    np.testing.assert_allclose(result.extra[0][:, 0], result.keypoints[:, NOSE])


def test_plot_ankle_distributions_draws_a_figure() -> None:
    _, source, target = source_and_target()
    result = normalize_poses(source, target)
    fig = plot_ankle_distributions(source, target, result.keypoints, result.params)
    assert len(fig.axes) == 3
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    assert buffer.getvalue()[:4] == b"\x89PNG"


def _pipeline_inputs():
    import pandas as pd

    from v2v_pipeline.labels.video import VideoLabels, frames_table, keypoints_table
    from v2v_pipeline.video.geometry import VideoGeometry

    _, source, target = source_and_target()
    n = len(source)
    kps, frames, index, meta = [], [], [], []
    for name, role, kp in (("tgt", "target", target), ("src", "source", source)):
        labels = VideoLabels(name, "test", (1024, 512), kp.astype(np.float32), np.ones(n, bool), np.full(n, "found"))
        kps.append(keypoints_table(labels, np.arange(n)))
        frames.append(frames_table(labels, np.arange(n), 0.1))
        index.append(pd.DataFrame({"video": name, "role": role, "frame": np.arange(n)}))
        geometry = VideoGeometry.of((1920, 1080), (1024, 512), "stretch")
        meta.append({"video": name, "role": role, "width": 1920, "height": 1080, **geometry.columns()})
    return pd.concat(kps), pd.concat(frames), pd.concat(index), pd.DataFrame(meta)


def test_normalize_videos_takes_the_recorded_size_and_embeds_its_config():
    from v2v_pipeline.labels.config import LabelConfig
    from v2v_pipeline.pose.video import NormalizeConfig, normalize_videos

    keypoints, label_frames, frame_index, meta = _pipeline_inputs()
    result = normalize_videos(NormalizeConfig(), LabelConfig(), keypoints, label_frames, frame_index, meta)
    (video,) = result.videos
    assert video.video == "src" and video.size == (1024, 512) and video.body is not None
    assert result.fitted["src"]["normalized"] and result.fitted["src"]["ankles_in_target_range"] > 0.9
    off = normalize_videos(NormalizeConfig(enabled=False), LabelConfig(), keypoints, label_frames, frame_index, meta)
    assert off.videos[0].body is None and off.fitted["src"] == {"normalized": False,
                                                               "reason": "disabled (normalize.enabled: false)"}
    with pytest.raises(ValueError, match="video_metadata has no stored_width.*pipelines=ingest"):
        normalize_videos(NormalizeConfig(), LabelConfig(), keypoints, label_frames, frame_index,
                         meta.drop(columns=["stored_width"]))


def test_per_source_results_joined_equal_the_loop_over_the_sources():
    """What the normalize pipeline does (normalize_source per source, stored, gather_normalized's
    combine_saved) gives normalize_videos' tables, parameters, metrics and plot."""
    import json

    import pandas as pd

    from v2v_pipeline.labels.config import LabelConfig
    from v2v_pipeline.pose.video import NormalizeConfig, combine_saved, normalize_source, normalize_videos

    keypoints, label_frames, frame_index, meta = _pipeline_inputs()
    rows = frame_index[frame_index.video == "src"].copy()
    second = rows.assign(video="src2")  # another source: the same poses under another name
    keypoints = pd.concat([keypoints, keypoints[keypoints.video == "src"].assign(video="src2")], ignore_index=True)
    label_frames = pd.concat([label_frames, label_frames[label_frames.video == "src"].assign(video="src2")],
                             ignore_index=True)
    frame_index = pd.concat([frame_index, second], ignore_index=True)
    meta = pd.concat([meta, meta[meta.video == "src"].assign(video="src2")], ignore_index=True)
    for cfg in (NormalizeConfig(), NormalizeConfig(enabled=False)):
        whole = normalize_videos(cfg, LabelConfig(), keypoints, label_frames, frame_index, meta)
        parts = []
        for video in ("src", "src2"):
            r = normalize_source(cfg, LabelConfig(), video, keypoints, label_frames, frame_index, meta, keypoints,
                                 frame_index, meta)
            stored = json.loads(json.dumps({"fitted": r.fitted, "metrics": r.metrics}))
            parts.append((stored, r.keypoints, r.frames, r.plot))
        joined = combine_saved(parts, keypoints.iloc[:0], label_frames.iloc[:0])
        assert joined.fitted == whole.fitted and joined.metrics == whole.metrics
        pd.testing.assert_frame_equal(joined.keypoints, whole.keypoints)
        pd.testing.assert_frame_equal(joined.frames, whole.frames)
        np.testing.assert_array_equal(joined.plot, whole.plot)
