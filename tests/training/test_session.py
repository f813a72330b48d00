"""The train node end to end on a small dataset archive: seeded, threads set, runtime choice and model in MLflow."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from tests.training.synthetic import synthetic_frames, write_dataset_archive
from v2v_pipeline.pipelines.train.nodes import train_model
from v2v_pipeline.schema import FACE_BOX, PERSON_BOX
from v2v_pipeline.storage import Archive, sha256_file
from v2v_pipeline.training.build import find_sequences

TINY = {"ngf": 8, "n_downsampling": 2, "n_blocks": 1, "ndf": 8, "num_D": 1, "n_layers_D": 2}


def _dataset(tmp_path):
    data = synthetic_frames(24)
    write_dataset_archive(tmp_path / "data.zip", data)
    frames = pd.DataFrame({"frame": np.arange(24), "split": ["train"] * 16 + ["val"] * 8, "found": True})
    for cols, values in ((FACE_BOX, data.face_boxes), (PERSON_BOX, data.person_boxes)):
        for j, c in enumerate(cols):
            frames[c] = values[:, j].numpy()
    archive = Archive(tmp_path / "data.zip")
    manifest = {"archive_sha256": sha256_file(archive.path), "sha256": "test-dataset"}
    return archive, frames, find_sequences(frames, 2), manifest


@pytest.fixture
def mlflow_run(tmp_path):
    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    threads = torch.get_num_threads()
    try:
        # an experiment of this store (another test may have left a process-wide active experiment id)
        experiment = mlflow.set_experiment("train-node-test")
        with mlflow.start_run(experiment_id=experiment.experiment_id) as run:
            yield run
    finally:
        mlflow.set_tracking_uri(None)
        torch.set_num_threads(threads)


def test_train_node_records_the_runtime_choice_and_exports_the_model(tmp_path, mlflow_run):
    import mlflow

    archive, frames, sequences, manifest = _dataset(tmp_path)
    params = {"model": "edn", "network": TINY, "max_steps": 3, "log_every": 1, "val_every": 3, "val_frames": 4,
              "vgg_weights": None, "threads": 1, "precision": "fp32", "device": "cpu", "registered_model_name": None,
              "checkpoint_dir": str(tmp_path / "ckpt")}
    model_file, history, samples, metrics, _ = train_model(params, archive, frames, sequences, manifest)
    assert torch.get_num_threads() == 1  # train.threads set by the entry point
    assert model_file["step"] == 3 and model_file["mlflow_run_id"] == mlflow_run.info.run_id
    assert "final_val_ssim" in metrics and len(history) == 3 and samples.ndim == 3
    run = mlflow.get_run(mlflow_run.info.run_id)
    assert run.data.params["runtime/precision"] == "fp32"
    assert run.data.params["runtime/precision_reason"] == "set explicitly"
    assert run.data.tags["train.precision"] == "fp32"
    assert run.data.params["runtime/compile"] == "false" and run.data.tags["train.compile"] == "false"
    artifacts = {a.path for a in mlflow.MlflowClient().list_artifacts(mlflow_run.info.run_id, "model")}
    assert "model/generator.pt" in artifacts

    # the same command again resumes (the run key ignores the budget) and gives the same weights as one run
    again, *_ = train_model({**params, "max_steps": 3}, archive, frames, sequences, manifest)
    for k, v in model_file["generator"].items():
        torch.testing.assert_close(again["generator"][k], v, rtol=0, atol=0)
