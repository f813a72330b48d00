"""`kedro run --pipeline=data` on the built-in demo sample: the whole data chain runs, and a
second run gives an identical manifest (byte-identical artifacts, same parameters and code)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

SMALL = {"ingest": {"size": [128, 64]}}  # the demo videos, stored small to keep the test quick


@pytest.mark.slow
def test_data_pipeline_twice_gives_identical_manifests(kedro_project):
    manifest = kedro_project.root / "data/08_reporting/manifest_data.json"
    kedro_project("data", params=SMALL)
    first = json.loads(manifest.read_text())
    kedro_project("data", params=SMALL)
    second = json.loads(manifest.read_text())
    assert first == second
    expected = {"video_metadata", "frame_index", "frames", "keypoints", "label_frames", "label_maps", "person_masks",
                "flows", "normalization", "normalized_keypoints", "normalized_label_frames", "normalized_label_maps",
                "dataset_archive", "dataset_frames", "dataset_sequences", "dataset_manifest"}
    assert expected <= set(first["artifacts"])

    # what the chain produced makes sense for the synthetic dancer
    root = kedro_project.root
    frames = pd.read_parquet(next((root / "data/03_primary/label_frames.parquet").glob("*/*.parquet")))
    assert frames.found.mean() > 0.95  # MediaPipe finds the rendered person
    norm = json.loads(next((root / "data/04_feature/normalization.json").glob("*/*.json")).read_text())
    assert norm["source"]["normalized"] and norm["source"]["ankles_in_target_range"] > 0.9
    seq = pd.read_parquet(next((root / "data/05_model_input/dataset_sequences.parquet").glob("*/*.parquet")))
    assert set(seq.split) == {"train", "val", "test"}
    starts = seq.groupby("split").start_frame.agg(["min", "max"])
    assert starts.loc["train", "max"] < starts.loc["val", "min"] < starts.loc["test", "min"]  # time-ordered
    assert np.isfinite(frames[["person_x0", "person_x1"]].to_numpy()).all()


def test_registry_builds_every_pipeline_by_name():
    from v2v_pipeline.pipeline_registry import CHAIN, DATA_CHAIN, register_pipelines

    pipelines = register_pipelines()
    assert set(pipelines) == set(CHAIN) | {"data", "__default__"}
    nodes = lambda names: {n.name for name in names for n in pipelines[name].nodes}  # noqa: E731
    assert {n.name for n in pipelines["data"].nodes} == nodes(DATA_CHAIN)
    assert {n.name for n in pipelines["__default__"].nodes} == nodes(CHAIN)
    # the data pipelines after ingest read the recorded geometry (video_metadata), not the ingest parameters
    later = [n for name in DATA_CHAIN[1:] for n in pipelines[name].nodes]
    assert not [n.name for n in later if "params:ingest" in n.inputs]


TWO_SOURCES = """\
ingest:
  target: {name: dancer, path: demo:target}
  sources:
    - {name: walk, path: demo:source}
    - {name: walk_late, path: demo:source, start: 1.0}
"""


def test_registry_makes_one_namespace_per_configured_video(tmp_path):
    """The per-video pipelines get one namespace per video of parameters_ingest.yml (base, then
    the environment); the combined datasets the later pipelines read are made by gather nodes."""
    from v2v_pipeline.pipeline_registry import pipelines_for
    from v2v_pipeline.pipelines.videos import configured_videos

    (tmp_path / "conf/base").mkdir(parents=True)
    (tmp_path / "conf/local").mkdir()
    (tmp_path / "conf/base/parameters_ingest.yml").write_text("ingest:\n  target: {name: t, path: demo:target}\n")
    assert configured_videos(tmp_path, env="local") == ("t", ())
    (tmp_path / "conf/two").mkdir()
    (tmp_path / "conf/two/parameters_ingest.yml").write_text(TWO_SOURCES)
    videos = configured_videos(tmp_path, env="two")
    assert videos == ("dancer", ("walk", "walk_late"))

    pipelines = pipelines_for(videos)
    data = pipelines["data"]
    assert {n.namespace for n in data.nodes} == {"dancer", "walk", "walk_late", None}
    walk = {n.name for n in data.only_nodes_with_namespaces(["walk"]).nodes}
    assert walk == {"walk.probe_video", "walk.index_frames", "walk.extract_frames", "walk.label_video",
                    "walk.normalize_video"}
    dancer = {n.name for n in data.only_nodes_with_namespaces(["dancer"]).nodes}
    assert {"dancer.label_video", "dancer.compute_flows", "dancer.report_flows"} <= dancer
    assert "dancer.normalize_video" not in dancer  # the target is not normalized
    # a source is normalized to the target namespace's labels
    (norm,) = [n for n in data.nodes if n.name == "walk_late.normalize_video"]
    assert {"walk_late.keypoints", "dancer.keypoints", "dancer.frame_index"} <= set(norm.inputs)
    # the gather nodes make the combined datasets, reading the videos in the configured order
    (gather,) = [n for n in data.nodes if n.name == "gather_frames"]
    assert gather.inputs == ["dancer.frames", "walk.frames", "walk_late.frames"] and gather.outputs == ["frames"]
    assert {"frames", "frame_index", "keypoints", "label_maps", "flows", "normalized_label_maps"} <= data.all_outputs()
    assert {"flows", "frames", "label_maps"} <= pipelines["dataset"].inputs()


def test_a_run_builds_the_registry_for_its_own_videos(tmp_path, monkeypatch):
    """A session's parameters (its environment, --params) name the videos of its run's registry;
    once the run has read it, readers of the registry see the configuration files again."""
    from v2v_pipeline.pipelines import videos

    monkeypatch.chdir(tmp_path)
    (tmp_path / "conf/base").mkdir(parents=True)
    (tmp_path / "conf/local").mkdir()
    (tmp_path / "conf/base/parameters_ingest.yml").write_text("ingest:\n  target: {name: t, path: demo:target}\n")
    videos.use_run_parameters({"ingest": {"target": {"name": "clip"}, "sources": [{"name": "a"}, {"name": "b"}]}})
    try:
        assert videos.registry_videos() == ("clip", ("a", "b"))
    finally:
        videos.use_run_parameters(None)
    assert videos.registry_videos() == ("t", ())
