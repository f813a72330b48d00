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
