"""The demo sample files: playable H.264 mp4s and OpenPose-format ground truth."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from v2v_pipeline.demo import (
    demo_specs,
    read_openpose_json,
    render_dancer,
    write_demo_sample,
    write_mp4,
)

from .helpers import decode


@pytest.mark.parametrize(("name", "n", "fps"), [("target", 240, 15.0), ("source", 150, 25.0)])
def test_videos_decode_with_the_right_format(demo_sample, name, n, fps):
    frames, info = decode(demo_sample[name])
    assert len(frames) == n
    assert info == {"codec": "h264", "fps": fps, "width": 512, "height": 256, "pix_fmt": "yuv420p"}
    assert frames[0].shape == (256, 512, 3)
    assert len(np.load(demo_sample[f"{name}_keypoints_npy"])) == n


def test_video_matches_the_rendered_frames(demo_sample):
    clip = render_dancer(**demo_specs(0)["source"])
    frames, _ = decode(demo_sample["source"])
    for i in range(0, len(frames), 10):
        mse = np.mean((clip.frames[i].astype(float) - frames[i]) ** 2)
        assert 10 * np.log10(255**2 / mse) > 36  # crf 18 H.264 of a smooth render
    np.testing.assert_allclose(np.load(demo_sample["source_keypoints_npy"]), clip.keypoints,
                               atol=5e-4)


@pytest.mark.parametrize("name", ["target", "source"])
def test_openpose_json_round_trips_to_npy(demo_sample, name):
    folder = demo_sample[f"{name}_keypoints"]
    files = sorted(p.name for p in folder.iterdir())
    assert files[0] == f"{name}_000000000000_keypoints.json"
    assert all(re.fullmatch(rf"{name}_\d{{12}}_keypoints\.json", f) for f in files)
    record = json.loads((folder / files[0]).read_text())
    assert record["version"] == 1.3 and len(record["people"]) == 1
    assert len(record["people"][0]["pose_keypoints_2d"]) == 75
    npy = np.load(demo_sample[f"{name}_keypoints_npy"])
    assert npy.dtype == np.float32 and npy.shape == (len(files), 25, 3)
    np.testing.assert_array_equal(read_openpose_json(folder), npy)


def test_target_and_source_differ(demo_sample):
    specs = demo_specs(0)
    assert specs["target"]["appearance"] != specs["source"]["appearance"]
    tgt, src = (np.load(demo_sample[f"{n}_keypoints_npy"]) for n in ("target", "source"))

    def height(kp):  # nose to lower ankle, frames where both are visible
        ok = (kp[:, 0, 2] > 0) & (kp[:, 11, 2] > 0) & (kp[:, 14, 2] > 0)
        return np.median(np.maximum(kp[ok, 11, 1], kp[ok, 14, 1]) - kp[ok, 0, 1])

    assert height(src) < 0.85 * height(tgt)


def test_small_sample_is_byte_identical_and_cached(tmp_path):
    kwargs = dict(seed=3, target_frames=6, source_frames=5, size=(96, 48))
    a = write_demo_sample(tmp_path / "a", **kwargs)
    b = write_demo_sample(tmp_path / "b", **kwargs)
    for key in ("target", "source", "target_keypoints_npy", "source_keypoints_npy"):
        assert a[key].read_bytes() == b[key].read_bytes(), key
    assert not list((tmp_path / "a").glob(".*tmp*"))  # no temporary files left behind
    stamp = a["target"].stat().st_mtime_ns
    assert write_demo_sample(tmp_path / "a", **kwargs) == a
    assert a["target"].stat().st_mtime_ns == stamp  # reused, not rewritten
    write_demo_sample(tmp_path / "a", **{**kwargs, "target_frames": 7})
    frames, _ = decode(a["target"])
    assert len(frames) == 7  # other parameters: rewritten


def test_write_mp4_leaves_nothing_behind_on_error(tmp_path):
    def frames():
        yield np.zeros((32, 32, 3), np.uint8)
        raise RuntimeError("renderer crashed")

    with pytest.raises(RuntimeError, match="crashed"):
        write_mp4(tmp_path / "v.mp4", frames(), fps=10.0)
    assert list(tmp_path.iterdir()) == []
    # yuv420p needs even sizes: an odd frame is padded by one pixel, not rejected
    assert write_mp4(tmp_path / "v.mp4", [np.zeros((33, 32, 3), np.uint8)], fps=10.0) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["v.mp4"]
