"""`kedro run --pipeline=ingest` end to end in a scratch project: rebuilds are byte-identical,
bad input fails early and leaves no artifact that looks complete."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import make_test_video
from v2v_pipeline.config import ConfigError


def _params(video: Path, **kw) -> dict:
    return {"ingest": {"target": {"name": "clip", "path": str(video)}, "sources": [], "size": [64, 32], **kw}}


def test_rebuild_gives_identical_artifacts(kedro_project, tmp_path):
    video = make_test_video(tmp_path / "clip.mp4", n_frames=24, size=(96, 64), fps=12)
    manifest = kedro_project.root / "data/08_reporting/manifest_ingest.json"
    kedro_project("ingest", params=_params(video))
    first = json.loads(manifest.read_text())
    kedro_project("ingest", params=_params(video))
    second = json.loads(manifest.read_text())
    assert first == second
    # the video's own artifacts (namespace `clip`) and the combined ones gathered from them
    assert set(first["artifacts"]) == {"video_metadata", "frame_index", "frames", "clip.video_metadata",
                                       "clip.frame_index", "clip.frames"}
    assert first["artifacts"]["frames"]["sha256"] == first["artifacts"]["clip.frames"]["sha256"]  # one video
    # two timestamped versions of the archive exist and their bytes are identical
    versions = sorted((kedro_project.root / "data/02_intermediate/frames.zip").glob("*/frames.zip"))
    assert len(versions) == 2
    assert versions[0].read_bytes() == versions[1].read_bytes()
    # a different parameter gives a different dataset and parameters hash
    kedro_project("ingest", params=_params(video, size=[32, 16]))
    third = json.loads(manifest.read_text())
    assert third["artifacts"]["frames"]["sha256"] != first["artifacts"]["frames"]["sha256"]
    assert third["parameters_hash"] != first["parameters_hash"]


def test_mlflow_run_records_parameters_and_manifest(kedro_project, tmp_path):
    import mlflow

    video = make_test_video(tmp_path / "clip.mp4", n_frames=12)
    kedro_project("ingest", params=_params(video))
    mlflow.set_tracking_uri(f"sqlite:///{kedro_project.root / 'mlflow.db'}")
    runs = mlflow.search_runs(experiment_names=["v2v_pipeline"])
    assert len(runs) == 1
    run = runs.iloc[0]
    assert run["params.ingest.size"] == "[64, 32]"
    assert len(run["tags.manifest_sha256"]) == 64
    assert run["status"] == "FINISHED"


def test_parameter_typo_fails_before_any_work(kedro_project, tmp_path):
    video = make_test_video(tmp_path / "clip.mp4", n_frames=5)
    params = _params(video)
    params["ingest"]["fsp"] = 25
    with pytest.raises(ConfigError, match="ingest.fsp"):
        kedro_project("ingest", params=params)
    assert not (kedro_project.root / "data/01_raw/video_metadata.parquet").exists()


def test_truncated_video_leaves_no_complete_looking_archive(kedro_project, tmp_path):
    from v2v_pipeline.video.io import VideoError

    video = make_test_video(tmp_path / "clip.mp4", n_frames=40)
    # probe succeeds but decoding stops early: simulate by a file whose last frames are corrupt
    data = bytearray(video.read_bytes())
    mdat = data.index(b"mdat")
    for i in range(mdat + len(data) // 2, len(data) - 2000):
        data[i] = 0
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(bytes(data))
    with pytest.raises(Exception) as err:
        kedro_project("ingest", params=_params(broken))
    assert isinstance(err.value, VideoError) or "VideoError" in repr(err.value) or "broken.mp4" in str(err.value)
    archives = list((kedro_project.root / "data/02_intermediate").rglob("frames.zip*"))
    assert not [a for a in archives if a.is_file()], archives
