"""The MLflow model registry as a model source (models:/<name>/<version>, models:/<name>@<alias>),
`v2v-runs promote`, the pyfunc model served by `mlflow models predict`, and --load-versions."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.evaluate.synthetic import SIZE, label, model_file, write_project_data
from v2v_pipeline import runs as cli
from v2v_pipeline.storage import Archive

NAME = "v2v_generator"
FAST = {"device": "cpu", "precision": "fp32"}


def _newest(root: Path, pattern: str) -> Path:
    found = sorted(root.glob(pattern))
    assert found, f"nothing matches {pattern}"
    return found[-1]


def register(uri: str, root: Path, steps: list[int], family: str = "pix2pixhd") -> list[str]:
    """One train-like run per step, each registering a tiny random model (its ``step`` tells them apart)."""
    import mlflow

    from v2v_pipeline.mlflow_model import log_and_register

    mlflow.set_tracking_uri(uri)
    try:
        exp = mlflow.get_experiment_by_name("v2v_pipeline")
        exp_id = exp.experiment_id if exp else mlflow.create_experiment(
            "v2v_pipeline", artifact_location=(root / "artifacts").as_uri())
        run_ids = []
        for i, step in enumerate(steps):
            model = {**model_file(family, seed=i), "step": step}
            path = root / f"generator_{step}.pt"
            torch.save(model, path)
            with mlflow.start_run(experiment_id=exp_id, run_name="train") as run:
                assert log_and_register(str(path), NAME).startswith("models:/")
            run_ids.append(run.info.run_id)
        return run_ids
    finally:
        mlflow.set_tracking_uri(None)


@pytest.fixture
def registry(tmp_path):
    """A sqlite store with versions 1 and 2 of v2v_generator (steps 11 and 22); MLflow points at it."""
    import mlflow

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    run_ids = register(uri, tmp_path, [11, 22])
    mlflow.set_tracking_uri(uri)
    yield uri, run_ids
    mlflow.set_tracking_uri(None)


def test_registry_specs_resolve_by_version_alias_and_latest(registry, capsys):
    from v2v_pipeline.inference import ModelFileError, mlflow_run_id
    from v2v_pipeline.report import resolve_model

    uri, (run1, run2) = registry
    assert resolve_model(f"models:/{NAME}/1", None)["step"] == 11
    assert resolve_model(f"models:/{NAME}/latest", None)["step"] == 22
    assert mlflow_run_id(f"models:/{NAME}/2") == run2 and mlflow_run_id(f"runs:/{run1}") == run1
    with pytest.raises(ModelFileError, match=r"versions 1, 2 and no aliases.*v2v-runs promote"):
        resolve_model(f"models:/{NAME}@champion", None)
    # promote the first run's version: the alias follows it
    assert cli.main(["--tracking-uri", uri, "promote", run1[:8], "--alias", "champion"]) == 0
    assert f"models:/{NAME}@champion" in capsys.readouterr().out
    assert resolve_model(f"models:/{NAME}@champion", None)["step"] == 11
    assert mlflow_run_id(f"models:/{NAME}@champion") == run1
    with pytest.raises(ModelFileError, match="versions 1, 2 and aliases champion"):
        resolve_model(f"models:/{NAME}/7", None)
    with pytest.raises(ModelFileError, match="has no versions of 'nope'"):
        resolve_model("models:/nope/1", None)


def test_promote_follows_an_evaluate_run_and_refuses_runs_without_a_model(registry, capsys):
    from mlflow import MlflowClient

    uri, (run1, run2) = registry
    client = MlflowClient(uri)
    exp = client.get_experiment_by_name("v2v_pipeline").experiment_id
    evaluated = client.create_run(exp, run_name="evaluate", tags={"eval.model_run_id": run2}).info.run_id
    bare = client.create_run(exp, run_name="data").info.run_id
    assert cli.main(["--tracking-uri", uri, "promote", evaluated, "--alias", "champion"]) == 0
    assert str(client.get_model_version_by_alias(NAME, "champion").version) == "2"
    assert cli.main(["--tracking-uri", uri, "promote", bare, "--alias", "champion"]) == 2
    assert "registered no model version" in capsys.readouterr().err
    assert str(client.get_model_version_by_alias(NAME, "champion").version) == "2"  # unchanged


@pytest.mark.parametrize("spec", ["models:/v2v_generator/3", "models:/v2v_generator@champion",
                                  "models:/v2v_generator/latest", "runs:/abc", "latest", "some/file.pt"])
def test_parameters_accept_every_model_spec(spec):
    from v2v_pipeline.config import parse
    from v2v_pipeline.params import EvaluateParams, TransferParams

    assert parse(TransferParams, {"model": spec}, "transfer").model == spec
    assert parse(EvaluateParams, {"model": spec}, "evaluate").model == spec


@pytest.mark.parametrize("spec", ["models:/", "models:/v2v_generator", "models:/v2v_generator/champion",
                                  "models:/a/1/2", "runs:/", ""])
def test_parameters_reject_malformed_model_specs(spec):
    from v2v_pipeline.config import ConfigError, parse
    from v2v_pipeline.params import TransferParams

    with pytest.raises((ConfigError, ValueError), match="models:/|runs:/"):
        parse(TransferParams, {"model": spec}, "transfer")


def test_pyfunc_model_has_a_signature_an_example_and_its_code(registry):
    import mlflow
    from mlflow.models import Model

    local = Path(mlflow.artifacts.download_artifacts(f"models:/{NAME}/1"))
    meta = Model.load(str(local / "MLmodel"))
    assert meta.signature is not None and meta.saved_input_example_info is not None
    assert meta.signature.inputs.to_dict()[0]["tensor-spec"]["dtype"] == "uint8"
    assert (local / "code" / "v2v_pipeline" / "inference.py").is_file()
    assert not list((local / "code").rglob("__pycache__"))
    requirements = (local / "requirements.txt").read_text()
    assert "torch==" in requirements and "v2v_pipeline" not in requirements
    example = json.loads((local / "serving_input_example.json").read_text())
    assert np.asarray(example["inputs"]).shape[-1] == 3


# Runs `mlflow.models.predict` (what `mlflow models predict` calls) with env_manager=local in a fresh
# interpreter where v2v_pipeline may only be imported from the model's own code/ folder.
PREDICT = r"""
import importlib.machinery, sys
class OnlyPackaged:
    def find_spec(self, name, path=None, target=None):
        if name != "v2v_pipeline":
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, sys.path)
        if spec is None or "/code/v2v_pipeline/" not in str(spec.origin):
            raise ImportError(f"v2v_pipeline from {spec and spec.origin}, not from the model's code/ folder")
        return spec
sys.meta_path.insert(0, OnlyPackaged())
import mlflow.models
mlflow.models.predict(model_uri=sys.argv[1], input_path=sys.argv[2], output_path=sys.argv[3],
                      content_type="json", env_manager="local")
print("from", sys.modules["v2v_pipeline"].__file__)
"""


@pytest.mark.slow
def test_mlflow_models_predict_runs_a_registered_model_offline(registry, tmp_path):
    uri, (run1, _) = registry
    assert cli.main(["--tracking-uri", uri, "promote", run1, "--alias", "champion"]) == 0
    labels = np.stack([label(t) for t in range(3)])  # the demo's label maps: white canvas, coloured bar
    (tmp_path / "input.json").write_text(json.dumps({"inputs": labels.tolist()}))
    env = {"PATH": "/usr/bin:/bin", "MLFLOW_TRACKING_URI": uri, "HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", PREDICT, f"models:/{NAME}@champion", str(tmp_path / "input.json"),
                           str(tmp_path / "out.json")], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "/code/v2v_pipeline/" in done.stdout
    frames = np.asarray(json.loads((tmp_path / "out.json").read_text())["predictions"])
    assert frames.shape == (3, SIZE[1], SIZE[0], 3) and frames.min() >= 0 and frames.max() <= 255
    # the same frames as generating with the library directly
    from v2v_pipeline.inference import FrameGenerator
    from v2v_pipeline.report import resolve_model

    expected = np.stack(list(FrameGenerator(resolve_model(f"models:/{NAME}/1", None)).generate_clip(labels)))
    np.testing.assert_array_equal(frames, expected)


def _project_registry(root: Path) -> list[str]:
    """Versions 1 (step 11) and 2 (step 22) in the scratch project's own store; version 1 promoted."""
    uri = f"sqlite:///{root / 'mlflow.db'}"
    run_ids = register(uri, root, [11, 22], family="edn")
    assert cli.main(["--tracking-uri", uri, "promote", run_ids[0], "--alias", "champion"]) == 0
    return run_ids


@pytest.mark.slow
def test_transfer_and_evaluate_use_a_registered_model(kedro_project):
    root = kedro_project.root
    write_project_data(root, n_target=40, n_source=6)  # the local trained_model has step 7
    run1, _ = _project_registry(root)
    kedro_project("transfer", params={"transfer": {**FAST, "model": f"models:/{NAME}@champion"}})
    meta = Archive(_newest(root, "data/07_model_output/transfer_frames.zip/*/*.zip")).read("meta")
    assert (meta["model"]["step"], meta["model"]["family"]) == (11, "edn")
    evaluate = {**FAST, "model": f"models:/{NAME}/2", "pose": {"enabled": False}, "lpips": {"enabled": False},
                "fid": {"enabled": False}}
    kedro_project("evaluate", params={"evaluate": evaluate})
    meta = Archive(_newest(root, "data/07_model_output/evaluation_frames.zip/*/*.zip")).read("meta")
    assert meta["model"]["step"] == 22
    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{root / 'mlflow.db'}")
    try:
        run = mlflow.search_runs(experiment_names=["v2v_pipeline"], filter_string="tags.`eval.model` != ''").iloc[0]
    finally:
        mlflow.set_tracking_uri(None)
    assert run["tags.eval.model"] == f"models:/{NAME}/2"
    # the run that registered version 2
    versions = {str(v.version): v.run_id for v in mlflow.MlflowClient(f"sqlite:///{root / 'mlflow.db'}")
                .search_model_versions(f"name = '{NAME}'")}
    assert run["tags.eval.model_run_id"] == versions["2"] and versions["1"] == run1


def _save_model_version(root: Path, version: str, step: int) -> None:
    from kedro.io.core import Version

    from v2v_pipeline.datasets import ModelFileDataset

    ModelFileDataset(str(root / "data/06_models/generator.pt"), version=Version(None, version)).save(
        {**model_file("pix2pixhd"), "step": step})


@pytest.mark.slow
def test_load_versions_picks_the_trained_model_for_transfer_and_evaluate(kedro_project):
    root = kedro_project.root
    write_project_data(root, n_target=40, n_source=6)  # saves the newest version (step 7)
    _save_model_version(root, "2000-01-01T00.00.00.000Z", 1000)  # an older version, picked by --load-versions
    old = {"trained_model": "2000-01-01T00.00.00.000Z"}
    kedro_project("transfer", params={"transfer": FAST}, load_versions=old)
    meta = Archive(_newest(root, "data/07_model_output/transfer_frames.zip/*/*.zip")).read("meta")
    assert meta["model"]["step"] == 1000 and "2000-01-01T00.00.00.000Z" in meta["model"]["path"]
    kedro_project("transfer", params={"transfer": FAST})  # without it: the newest
    meta = Archive(_newest(root, "data/07_model_output/transfer_frames.zip/*/*.zip")).read("meta")
    assert meta["model"]["step"] == 7
    evaluate = {**FAST, "pose": {"enabled": False}, "lpips": {"enabled": False}, "fid": {"enabled": False}}
    kedro_project("evaluate", params={"evaluate": evaluate}, load_versions=old)
    meta = Archive(_newest(root, "data/07_model_output/evaluation_frames.zip/*/*.zip")).read("meta")
    assert meta["model"]["step"] == 1000
    with pytest.raises(Exception, match="trained_model version '1999-01-01T00.00.00.000Z' does not exist"):
        kedro_project("transfer", params={"transfer": FAST},
                      load_versions={"trained_model": "1999-01-01T00.00.00.000Z"})


def test_model_file_dataset_is_lazy_and_empty_without_a_trained_model(tmp_path):
    from kedro.io.core import Version

    from v2v_pipeline.datasets import ModelFileDataset

    ds = ModelFileDataset(str(tmp_path / "generator.pt"), version=Version(None, None))
    ref = ds.load()
    assert ref.path is None and ref.version is None
    ds.save(model_file("pix2pixhd"))
    ref = ModelFileDataset(str(tmp_path / "generator.pt"), version=Version(None, None)).load()
    assert ref.path is not None and ref.path.is_file() and ref.version is None
