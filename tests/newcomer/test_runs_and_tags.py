"""`v2v-runs best` ranks runs on one target; run names and tags are readable."""

from __future__ import annotations

import pytest

from v2v_pipeline import runs as cli
from v2v_pipeline.run_tags import run_tags, tag_value


@pytest.fixture()
def store(tmp_path):
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri)
    exp = client.create_experiment("v2v_pipeline", artifact_location=(tmp_path / "artifacts").as_uri())
    ids = {}
    for name, target, ssim in [("demo1", "target (demo:target)", 0.6), ("own", "me (data/01_raw/me.mp4)", 0.9),
                               ("demo2", "target (demo:target)", 0.7)]:
        rid = client.create_run(exp, run_name=name).info.run_id
        client.set_tag(rid, "target", target)
        client.log_metric(rid, "eval/ssim_person_mean", ssim)
        client.set_terminated(rid)
        ids[name] = rid
    return uri, ids


def test_best_ranks_only_runs_on_the_newest_runs_target(store, capsys):
    uri, ids = store
    assert cli.main(["--tracking-uri", uri, "best", "--metric", "eval/ssim_person_mean"]) == 0
    out = capsys.readouterr().out
    assert "ranking runs on target target (demo:target) (1 run(s) on other targets left out" in out
    assert ids["demo2"] in out and ids["own"] not in out
    assert cli.main(["--tracking-uri", uri, "best", "--metric", "eval/ssim_person_mean", "--all-targets"]) == 0
    assert ids["own"] in capsys.readouterr().out
    assert cli.main(["--tracking-uri", uri, "best", "--metric", "eval/ssim_person_mean", "--target", "me"]) == 0
    assert ids["own"] in capsys.readouterr().out
    assert cli.main(["--tracking-uri", uri, "best", "--metric", "eval/ssim_person_mean", "--target", "nobody"]) == 2
    assert "no run with metric" in capsys.readouterr().err


class SequentialRunner:  # stands in for kedro's: only its repr matters
    pass


def test_run_name_and_tags_have_no_object_reprs():
    run_params = {"pipeline_names": ["__default__"], "runner": SequentialRunner(), "env": None, "tags": None}
    assert "object at 0x" in str(run_params["runner"])
    tags = run_tags(run_params, {"ingest": {"target": {"name": "target", "path": "demo:target"}}})
    assert tags["runner"] == "SequentialRunner"
    assert tags["env"] == "local" and tags["target"] == "target (demo:target)" and tags["pipelines"] == "all"
    assert tags["mlflow.runName"].startswith("all · target · 20") and tags["mlflow.runName"].endswith(" UTC")
    assert not any("object at 0x" in v for v in tags.values())
    assert tag_value("SequentialRunner") == "SequentialRunner"
    tags = run_tags({"pipeline_names": ["train"], "env": "gpu_full"}, {})
    assert tags["env"] == "gpu_full" and tags["mlflow.runName"].startswith("train · unknown · ")
