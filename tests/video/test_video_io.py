"""Video probing, timestamp resampling, resizing and writing; bad inputs give clear errors."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import make_test_video, shared_file
from v2v_pipeline.video.io import (
    VideoError,
    content_box,
    fit_to_size,
    fit_transform,
    frame_times,
    iter_frames,
    probe_video,
    select_frames,
    write_video,
)


def test_select_frames_by_timestamp_not_index():
    # 50 fps with a dropped frame at 0.10 s: resampling must follow the clock, not the count
    times = np.array([0.0, 0.02, 0.04, 0.06, 0.08, 0.12, 0.14])
    idx = select_frames(times, 25.0)
    np.testing.assert_allclose(np.arange(len(idx)) / 25.0, [0.0, 0.04, 0.08, 0.12])
    assert list(times[idx]) == [0.0, 0.04, 0.08, 0.12]
    assert list(select_frames(times, None)) == list(range(7))
    assert list(select_frames(times, None, start=0.05, end=0.13)) == [3, 4, 5]


def test_fit_to_size_pad_keeps_everything_and_transform_matches():
    img = np.zeros((100, 50, 3), np.uint8)
    img[:, :] = (10, 20, 30)
    out = fit_to_size(img, (64, 32), "pad", pad_value=0)
    assert out.shape == (32, 64, 3)
    cols = np.flatnonzero(out[..., 0].max(axis=0) > 0)
    assert cols.min() == 24 and cols.max() == 39  # 16 px wide image, centred
    sx, sy, dx, dy = fit_transform((50, 100), (64, 32), "pad")
    assert (sx, sy, dx, dy) == (16 / 50, 32 / 100, 24.0, 0.0)
    crop = fit_to_size(img, (64, 32), "crop")
    assert crop.shape == (32, 64, 3) and (crop == (10, 20, 30)).all()
    # the picture's box inside the letterboxed frame is exactly the non-border pixels
    rows = np.flatnonzero(out[..., 0].max(axis=1) > 0)
    assert content_box((50, 100), (64, 32), "pad") == (24, rows.min(), 40, rows.max() + 1)
    assert content_box((50, 100), (64, 32), "crop") == (0, 0, 64, 32)
    assert content_box((128, 64), (64, 32), "pad") == (0, 0, 64, 32)


def test_write_and_probe_roundtrip(tmp_path):
    path = make_test_video(tmp_path / "clip.mp4", n_frames=25, size=(96, 64), fps=12.5)
    info = probe_video(path)
    assert (info.codec, info.frame_count, info.width, info.height) == ("h264", 25, 96, 64)
    assert info.fps == pytest.approx(12.5)
    assert info.duration == pytest.approx(2.0)
    frames = list(iter_frames(path))
    assert len(frames) == 25 and frames[0].image.shape == (64, 96, 3)
    np.testing.assert_allclose([f.time for f in frames], np.arange(25) / 12.5, atol=1e-6)
    np.testing.assert_allclose(frame_times(path), np.arange(25) / 12.5, atol=1e-6)
    assert not list(tmp_path.glob("*.partial"))


def test_odd_sizes_are_padded_to_even_for_h264(tmp_path):
    n = write_video(tmp_path / "odd.mp4", [np.full((31, 45, 3), 128, np.uint8)] * 3, fps=5)
    assert n == 3
    info = probe_video(tmp_path / "odd.mp4")
    assert (info.width, info.height) == (46, 32)


# ----------------------------------------------------------------------------- bad input
def test_missing_video(tmp_path):
    with pytest.raises(VideoError, match=r"does not exist.*parameters_ingest"):
        probe_video(tmp_path / "nope.mp4")


def test_corrupt_video(tmp_path):
    bad = tmp_path / "garbage.mp4"
    bad.write_bytes(np.random.default_rng(0).integers(0, 255, 20000, dtype=np.uint8).tobytes())
    with pytest.raises(VideoError, match=r"garbage.mp4 cannot be opened.*corrupt"):
        probe_video(bad)


def test_empty_file(tmp_path):
    (tmp_path / "empty.mp4").write_bytes(b"")
    with pytest.raises(VideoError, match="empty file"):
        probe_video(tmp_path / "empty.mp4")


def test_truncated_video(tmp_path):
    src = make_test_video(tmp_path / "full.mp4", n_frames=40)
    data = src.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])  # the index (moov) is at the end: half a file cannot open
    with pytest.raises(VideoError, match=r"cut.mp4 .*(corrupt|truncated)"):
        probe_video(cut)


@pytest.mark.parametrize("ext, codec", [("avi", "mpeg4"), ("mkv", "libx264")])
def test_truncated_streamable_video(tmp_path, ext, codec):
    """AVI/MKV stay readable when cut; the header's frame count or duration exposes the loss."""
    import subprocess

    ffmpeg = pytest.importorskip("imageio_ffmpeg").get_ffmpeg_exe()
    full = tmp_path / f"full.{ext}"
    subprocess.run([ffmpeg, "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=64x32:rate=10",
                    "-frames:v", "50", "-c:v", codec, str(full)], check=True)
    assert probe_video(full).frame_count == 50
    data = full.read_bytes()
    (tmp_path / f"cut.{ext}").write_bytes(data[: len(data) // 2])
    with pytest.raises(VideoError, match="truncated"):
        probe_video(tmp_path / f"cut.{ext}")


@pytest.mark.parametrize("ext", ["avi", "mp4"])
def test_zero_frame_video(tmp_path, ext):
    import subprocess

    ffmpeg = pytest.importorskip("imageio_ffmpeg").get_ffmpeg_exe()
    path = tmp_path / f"zero.{ext}"
    subprocess.run([ffmpeg, "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=64x32:rate=10",
                    "-frames:v", "0", str(path)], check=True)
    with pytest.raises(VideoError, match="zero frames"):
        probe_video(path)


def test_unknown_codec(tmp_path):
    # an AVI whose FourCC names no codec FFmpeg knows
    ffmpeg = pytest.importorskip("imageio_ffmpeg").get_ffmpeg_exe()
    import subprocess

    ok = tmp_path / "ok.avi"
    subprocess.run([ffmpeg, "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=64x32:rate=10", "-frames:v", "5",
                    "-c:v", "mpeg4", "-vtag", "XVID", str(ok)], check=True)
    data = ok.read_bytes()
    head = data.index(b"movi")
    (tmp_path / "zzzz.avi").write_bytes(data[:head].replace(b"XVID", b"ZZZZ") + data[head:])
    with pytest.raises(VideoError, match=r"no decoder for its codec.*transcode"):
        probe_video(tmp_path / "zzzz.avi")


def test_image_folder_needs_fps(tmp_path):
    import cv2

    for i in range(3):
        cv2.imwrite(str(tmp_path / f"{i:03d}.png"), np.full((8, 8, 3), i, np.uint8))
    assert probe_video(tmp_path).frame_count == 3
    with pytest.raises(VideoError, match="set its fps"):
        list(iter_frames(tmp_path))
    assert [f.time for f in iter_frames(tmp_path, folder_fps=10)] == [0.0, 0.1, 0.2]


# ----------------------------------------------------------------------------- real footage
@pytest.mark.realdata
def test_real_codecs_probe():
    street = probe_video(shared_file("sources", "street_dance.avi"))
    assert (street.codec, street.fps, street.frame_count, street.width, street.height) == ("h264", 50.0, 205, 1280, 720)
    walk = probe_video(shared_file("sources", "studio_walk.mp4"))
    assert (walk.codec, walk.frame_count, walk.width, walk.height) == ("mpeg4", 399, 1000, 1002)
