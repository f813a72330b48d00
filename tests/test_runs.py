"""`v2v-runs` against a temporary MLflow sqlite store with runs made here."""

from __future__ import annotations

import pytest

from v2v_pipeline import runs as cli


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    from mlflow.tracking import MlflowClient

    root = tmp_path_factory.mktemp("mlruns")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri)
    exp = client.create_experiment("v2v_pipeline", artifact_location=(root / "artifacts").as_uri())
    (root / "generator.pt").write_bytes(b"not a real model; only its presence is checked")
    ids = {}
    for name, params, metrics, artifact in [
        ("A", {"train.model": "edn", "train.lr": "0.0002"}, {"eval/ssim_person_mean": 0.71, "eval/lpips_mean": 0.30},
         True),
        ("B", {"train.model": "pix2pixhd", "train.lr": "0.0002"},
         {"eval/ssim_person_mean": 0.80, "eval/lpips_mean": 0.20}, False),
        ("C", {"train.model": "vid2vid", "train.lr": "0.001"}, {"eval/ssim_person_mean": 0.75, "eval/lpips_mean": 0.10},
         True),
    ]:
        run = client.create_run(exp, run_name=name)
        rid = run.info.run_id
        for k, v in {**params, "ingest.size": "[256, 128]"}.items():
            client.log_param(rid, k, v)
        for k, v in metrics.items():
            client.log_metric(rid, k, v)
        if artifact:
            client.log_artifact(rid, str(root / "generator.pt"), artifact_path="model")
        ids[name] = rid
        client.set_terminated(rid)
    client.set_tag(ids["B"], "eval.model_run_id", ids["A"])  # B evaluated A's model in a separate run
    for step, value in enumerate((2.0, 1.5, 1.2)):
        client.log_metric(ids["B"], "train/loss_G", value, step=step)
    return uri, ids


def test_list_shows_runs_varying_params_and_key_metrics(store, capsys):
    uri, ids = store
    assert cli.main(["--tracking-uri", uri, "list"]) == 0
    out = capsys.readouterr().out
    header = out.splitlines()[0]
    assert all(ids[n][:8] in out for n in "ABC")
    assert "train.model" in header and "train.lr" in header and "eval/ssim_person_mean" in header
    assert "ingest.size" not in header  # the same in every run
    runs = cli.load_runs(uri)
    assert list(runs.run_name) == ["C", "B", "A"]  # newest first
    assert runs.loc[runs.run_name == "B", "metrics.eval/lpips_mean"].item() == 0.20


def test_compare_shows_only_params_that_differ(store, capsys):
    uri, ids = store
    assert cli.main(["--tracking-uri", uri, "compare", ids["A"][:10], ids["C"]]) == 0
    out = capsys.readouterr().out
    params, metrics = out.split("metrics:")
    assert "train.model" in params and "edn" in params and "vid2vid" in params and "train.lr" in params
    assert "ingest.size" not in params
    assert "eval/ssim_person_mean" in metrics and "0.71" in metrics and "0.75" in metrics
    p, _ = cli.compare_table(cli.load_runs(uri), [ids["A"], ids["B"]])
    assert list(p.index) == ["train.model"]  # lr is equal for A and B


def test_best_picks_by_metric_direction_and_prints_the_model_uri(store, capsys):
    uri, ids = store
    assert cli.main(["--tracking-uri", uri, "best", "--metric", "eval/ssim_person_mean"]) == 0
    out = capsys.readouterr().out
    assert ids["B"] in out and f"model: runs:/{ids['A']}" in out  # B holds no model: the one it evaluated
    assert cli.main(["--tracking-uri", uri, "best", "--metric", "eval/lpips_mean"]) == 0  # auto: lower is better
    out = capsys.readouterr().out
    assert "(min)" in out and f"model: runs:/{ids['C']}" in out
    assert cli.main(["--tracking-uri", uri, "best", "--metric", "eval/ssim_person_mean", "--mode", "min"]) == 0
    assert f"runs:/{ids['A']}" in capsys.readouterr().out


def test_errors_are_clear(store, capsys, monkeypatch, tmp_path):
    uri, ids = store
    assert cli.main(["--tracking-uri", uri, "best", "--metric", "eval/nope"]) == 2
    err = capsys.readouterr().err
    assert "no run has metric 'eval/nope'" in err and "eval/lpips_mean" in err
    assert cli.main(["--tracking-uri", uri, "compare", ""]) == 2
    assert "3 runs with an id starting with ''" in capsys.readouterr().err
    assert cli.main(["--tracking-uri", uri, "--experiment", "other", "list"]) == 2
    assert "no experiment 'other'" in capsys.readouterr().err
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)  # the environment variable is the fallback
    assert cli.main(["list"]) == 0 and ids["A"][:8] in capsys.readouterr().out
    assert cli.tracking_uri(None) == uri
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    assert cli.tracking_uri(None) == "sqlite:///mlflow.db"


def test_metric_direction():
    assert [cli.metric_mode(m) for m in ("eval/ssim_mean", "eval/psnr_person_mean", "eval/lpips_mean", "eval/fid",
                                         "eval/warp_error_mean", "eval/pose_detection_rate")] == [
        "max", "max", "min", "min", "min", "max"]


def test_list_filters_by_name_and_best_falls_back_to_the_model_file(tmp_path, capsys):
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri)
    exp = client.create_experiment("v2v_pipeline", artifact_location=(tmp_path / "a").as_uri())
    for name in ("transfer", "evaluate"):
        run = client.create_run(exp, run_name=name)
        if name == "evaluate":
            client.log_metric(run.info.run_id, "eval/ssim_mean", 0.5)
            client.set_tag(run.info.run_id, "eval.model", "/models/generator.pt")
    assert cli.main(["--tracking-uri", uri, "list", "--name", "evaluate"]) == 0
    out = capsys.readouterr().out
    assert "evaluate" in out and "transfer" not in out
    assert cli.main(["--tracking-uri", uri, "best", "--metric", "eval/ssim_mean"]) == 0
    assert "model: /models/generator.pt" in capsys.readouterr().out
