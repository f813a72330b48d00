"""Corrupt footage is counted at ingest: refused above ingest.max_bad_frames, else flagged; a failed
ingest leaves no newer video_metadata / frame_index version behind."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.robustness.footage import corrupt_packets, make_video
from v2v_pipeline.video.ingest import check_damage
from v2v_pipeline.video.io import VideoError, iter_frames, scan_video


def _params(video: Path, **kw) -> dict:
    return {"ingest": {"target": {"name": "clip", "path": str(video)}, "sources": [], "size": [64, 48], **kw}}


def _versions(root: Path, rel: str) -> list[Path]:
    return sorted(p for p in (root / rel).glob("*") if p.is_dir())


@pytest.fixture(scope="module")
def h264_damaged(tmp_path_factory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("h264")
    clean = make_video(d / "clean.mp4")
    bad = corrupt_packets(make_video(d / "bad.mp4"), first=20, count=20)  # bytes of 20 packets randomized
    return clean, bad


def test_clean_video_has_no_bad_frames(h264_damaged):
    report = scan_video(h264_damaged[0])
    assert report.bad_frames == 0 and report.frames == 60


def test_concealed_h264_damage_is_counted_although_pyav_raises_nothing(h264_damaged):
    clean, bad = h264_damaged
    # what ingest used to see: every frame decodes, no exception
    assert len(list(iter_frames(bad, max_bad=0))) == 60
    report = scan_video(bad)
    assert report.decode_errors >= 10
    assert report.bad_frames >= 10
    assert report.first_bad_time == pytest.approx(0.8, abs=0.09)  # packet 20 at 25 fps (first detected 20 or 21)
    # the damaged frames really differ from a clean decode; the ones called clean do not
    a = [f.image.astype(int) for f in iter_frames(clean)]
    b = [f.image.astype(int) for f in iter_frames(bad)]
    diff = np.array([np.abs(x - y).mean() for x, y in zip(a, b)])
    assert diff[list(report.damaged)].min() > 0
    assert diff[[i for i in range(60) if i not in report.damaged]].max() == 0


def test_damaged_video_is_refused_with_count_and_first_timestamp(h264_damaged):
    report = scan_video(h264_damaged[1])
    with pytest.raises(VideoError) as err:
        check_damage("clip", h264_damaged[1], max_bad=0)
    msg = str(err.value)
    assert f"{report.bad_frames} bad frames of 60" in msg
    assert f"first at {report.first_bad_time:.3f} s" in msg
    assert "ingest.max_bad_frames" in msg and "re-download the original" in msg


def test_packets_the_decoder_rejects_are_counted_and_filled(tmp_path):
    bad = corrupt_packets(make_video(tmp_path / "bad.mp4"), first=20, count=20, lo=0.02, hi=0.98)
    report = scan_video(bad)
    assert report.decode_errors >= 15 and report.missing > 0
    with pytest.raises(VideoError, match=r"packets fail to decode \(first at"):
        list(iter_frames(bad, max_bad=0))
    frames = list(iter_frames(bad, max_bad=60))
    assert [f.index for f in frames] == list(range(60))  # indices stay in presentation order
    assert sum(f.damaged for f in frames) > 0


def test_timestamp_hole_is_counted(tmp_path):
    video = make_video(tmp_path / "hole.mp4", n=40, skip=(20, 5))
    report = scan_video(video)
    assert report.holes == 5
    assert 20 in report.damaged  # the frame after the hole has no true predecessor
    assert report.first_bad_time == pytest.approx(25 / 25)


def test_below_threshold_damaged_frames_are_flagged_in_frame_index(kedro_project, h264_damaged):
    report = scan_video(h264_damaged[1])
    kedro_project("ingest", params=_params(h264_damaged[1], max_bad_frames=report.bad_frames))
    root = kedro_project.root
    index = pd.read_parquet(next((root / "data/02_intermediate/frame_index.parquet").glob("*/*.parquet")))
    meta = pd.read_parquet(next((root / "data/01_raw/video_metadata.parquet").glob("*/*.parquet")))
    assert int(meta.bad_frames.iloc[0]) == report.bad_frames
    assert json.loads(meta.damaged_frames.iloc[0]) == list(report.damaged)
    flagged = index.loc[index.damaged, "source_frame"].tolist()
    assert flagged == list(report.damaged)
    assert not index.loc[~index.damaged, "source_frame"].isin(report.damaged).any()


def test_damaged_frames_are_left_out_of_training_sequences():
    from v2v_pipeline.training.build import find_sequences, target_frames_table

    n = 40
    index = pd.DataFrame({"video": "t", "role": "target", "frame": np.arange(n), "time": np.arange(n) / 10,
                          "split": "train", "damaged": np.isin(np.arange(n), [10, 11])})
    labels = pd.DataFrame({"video": "t", "frame": np.arange(n), "found": True})
    table = target_frames_table(index, labels)
    seq = find_sequences(table, 8)
    covered = {f for s in seq.start_frame for f in range(s, s + 8)}
    assert covered and not covered & {10, 11}


def test_mpeg4_corrupted_mid_file_leaves_no_new_versions(kedro_project, tmp_path):
    good = make_video(tmp_path / "good.mp4", codec="mpeg4", n=40, gop=12)
    kedro_project("ingest", params=_params(good))
    root = kedro_project.root
    before = {rel: _versions(root, rel) for rel in ("data/01_raw/video_metadata.parquet",
                                                     "data/02_intermediate/frame_index.parquet",
                                                     "data/02_intermediate/frames.zip")}
    bad = tmp_path / "bad.mp4"
    shutil.copy(good, bad)
    corrupt_packets(bad, first=20, count=3, lo=0.2, hi=0.8)
    with pytest.raises(VideoError, match="bad.mp4.*damaged"):
        kedro_project("ingest", params=_params(bad))
    after = {rel: _versions(root, rel) for rel in before}
    assert after == before


def test_failure_after_some_saves_rolls_back_the_ingest_group(kedro_project, tmp_path, monkeypatch):
    """Any failure in extract_frames (here a decode that breaks off) removes this run's new
    video_metadata and frame_index versions: the group is saved whole or not at all."""
    import v2v_pipeline.video.ingest as ingest

    video = make_video(tmp_path / "clip.mp4", n=30)

    def broken(*args, **kwargs):
        yield from []
        raise VideoError("simulated decoder failure")

    monkeypatch.setattr(ingest, "iter_frames", broken)
    with pytest.raises(Exception, match="simulated decoder failure"):
        kedro_project("ingest", params=_params(video))
    root = kedro_project.root
    assert _versions(root, "data/01_raw/video_metadata.parquet") == []
    assert _versions(root, "data/02_intermediate/frame_index.parquet") == []
    assert _versions(root, "data/01_raw/videos/clip/video_metadata.parquet") == []  # the video's group too
    assert _versions(root, "data/02_intermediate/videos/clip/frame_index.parquet") == []
