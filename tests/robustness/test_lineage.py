"""Run lineage: artifacts record what they were made from; combining artifacts of different runs
fails with the stale artifact and the rebuild command."""

from __future__ import annotations

import json

import pytest

from tests.robustness.footage import make_video
from v2v_pipeline.lineage import LineageError, Record, check, read, sidecar, write


def test_check_names_the_stale_input():
    frame_index = Record("frame_index", "B", {"video_metadata": "M2"}, version="v2")
    frames = Record("frames", "F", {"frame_index": "A", "video_metadata": "M1"}, version="v1")
    with pytest.raises(LineageError) as err:
        check("compute_flows", {"frames": frames, "frame_index": frame_index}, lambda n: f"kedro run --pipelines=x_{n}")
    msg = str(err.value)
    assert "frames (version v1) was made from another version of frame_index than the one loaded (version v2)" in msg
    assert "frames is stale" in msg and "kedro run --pipelines=x_frames" in msg


def test_check_two_inputs_from_different_ancestors():
    a = Record("label_maps", "L", {"frames": "F1"}, version="v1")
    b = Record("flows", "W", {"frames": "F2"}, version="v2")
    with pytest.raises(LineageError, match="label_maps .* and flows .* were made from different versions of frames"):
        check("build_dataset", {"label_maps": a, "flows": b})


def test_check_accepts_one_lineage_and_legacy_files():
    fi = Record("frame_index", "B", {"video_metadata": "M"})
    frames = Record("frames", "F", {"frame_index": "B", "video_metadata": "M"})
    legacy = Record("label_maps", "path@1:2", {})
    check("n", {"frames": frames, "frame_index": fi, "label_maps": legacy})


def test_sidecar_round_trip(tmp_path):
    f = tmp_path / "v1" / "x.bin"
    f.parent.mkdir()
    f.write_bytes(b"abc")
    rec = write("x", f, {"y": Record("y", "Y", {"z": "Z"})}, run="r1")
    data = json.loads(sidecar(f).read_text())
    assert data["ancestors"] == {"y": "Y", "z": "Z"} and data["run"] == "r1" and len(data["sha256"]) == 64
    assert read("x", f).id == rec.id == data["sha256"]


def test_kedro_refuses_frames_of_one_ingest_with_the_index_of_another(kedro_project, tmp_path):
    """The issue's case: an ingest that stopped after frame_index (here: --to-nodes) followed by a
    step that pairs the new index with the older frames. Same frame count, different frames."""
    video = make_video(tmp_path / "clip.mp4", n=40, size=(96, 64))

    def params(start: float) -> dict:
        return {"ingest": {"target": {"name": "clip", "path": str(video), "start": start}, "sources": [],
                           "size": [64, 48], "max_frames": 24}}

    kedro_project("ingest", params=params(0.0))
    root = kedro_project.root
    frames = next((root / "data/02_intermediate/videos/clip/frames.zip").glob("*/frames.zip"))  # the video's
    recorded = json.loads(sidecar(frames).read_text())
    assert set(recorded["ancestors"]) == {"clip.video_metadata", "clip.frame_index"}
    combined = next((root / "data/02_intermediate/frames.zip").glob("*/frames.zip"))  # gathered from it
    assert set(json.loads(sidecar(combined).read_text())["ancestors"]) == {"clip.video_metadata", "clip.frame_index",
                                                                         "clip.frames"}
    kedro_project("ingest", params=params(0.4), to_nodes=["clip.index_frames"])
    with pytest.raises(Exception) as err:
        kedro_project("flow", params=params(0.4))
    msg = str(err.value)
    assert isinstance(err.value, LineageError), msg
    assert "frames (version" in msg and "frames is stale" in msg and "kedro run --pipelines=ingest" in msg
    assert not list((root / "data/04_feature").rglob("flows.zip/*/flows.zip"))
