"""Early validation: bad values, names MLflow or the file system rejects and too-short videos
fail before the first node runs, with the key and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.robustness.footage import fresh_mlflow, make_video
from v2v_pipeline.validation import ValidationError, check_parameters, check_run, min_frames_for_split

ALL = {"target.probe_video", "target.compute_flows", "source.normalize_video", "build_dataset"}  # namespaced node names


def _params(target: str = "demo:target", **ingest) -> dict:
    return {"ingest": {"target": {"name": "target", "path": target}, "sources": [], **ingest},
            "dataset": {"sequence_length": 8}, "normalize": {"enabled": True, "min_frames": 10}}


@pytest.mark.parametrize("value", [-1, 0, 2.5, True])
def test_max_frames_must_be_positive(value):
    (msg,) = check_parameters(_params(max_frames=value))
    assert msg.startswith(f"ingest.max_frames is {value!r}") and "null for all frames" in msg


@pytest.mark.parametrize("value", [999, -1, 1.5])
def test_pad_value_is_a_pixel_value(value):
    (msg,) = check_parameters(_params(pad_value=value))
    assert f"ingest.pad_value is {value!r}" in msg and "0..255" in msg


def test_names_mlflow_or_the_file_system_reject():
    p = _params()
    p["ingest"]["sources"] = [{"name": "Quelle (é)", "path": "demo:source"}, {"name": "ok-name_1", "path": "x"}]
    (msg,) = check_parameters(p)
    assert "ingest.sources[0].name is 'Quelle (é)'" in msg and "'Quelle_e'" in msg


def test_the_suggested_name_is_accepted_by_mlflow(tmp_path, monkeypatch):
    import mlflow

    fresh_mlflow(tmp_path, monkeypatch)
    with mlflow.start_run():
        mlflow.log_metric("ingest_bad_frames_Quelle_e", 0)  # would raise for 'Quelle (é)'
        with pytest.raises(Exception):
            mlflow.log_metric("ingest_bad_frames_Quelle (é)", 0)


def test_one_frame_target_fails_before_any_work(tmp_path):
    video = make_video(tmp_path / "one.mp4", n=1)
    with pytest.raises(ValidationError) as err:
        check_run(_params(str(video)), ALL)
    msg = str(err.value)
    assert "ingest.target" in msg and "gives 1 frame" in msg and "flow needs 2" in msg
    # an ingest-only run may keep a one-frame clip
    check_run(_params(str(video)), {"target.probe_video", "target.index_frames", "target.extract_frames"})


def test_too_few_frames_for_the_split_and_sequences(tmp_path):
    video = make_video(tmp_path / "short.mp4", n=12)
    need = min_frames_for_split(8, {})
    assert need > 12
    with pytest.raises(ValidationError, match=rf"gives 12 frames but at least {need} are needed"):
        check_run(_params(str(video)), ALL)
    with pytest.raises(ValidationError, match=r"capped by ingest.max_frames"):
        check_run(_params(str(make_video(tmp_path / "long.mp4", n=60)), max_frames=5), ALL)


def test_every_problem_is_listed_at_once():
    with pytest.raises(ValidationError) as err:
        check_run(_params(max_frames=0, pad_value=999), ALL)
    assert str(err.value).count("\n  - ") == 2


def test_kedro_run_fails_in_the_hook_before_any_artifact(kedro_project, tmp_path):
    video = make_video(tmp_path / "one.mp4", n=1)
    params = {"ingest": {"target": {"name": "t", "path": str(video)}, "sources": [], "pad_value": 999}}
    with pytest.raises(ValidationError, match="ingest.pad_value is 999"):
        kedro_project("ingest", params=params)
    assert not list(Path(kedro_project.root / "data").rglob("*.parquet"))


def test_tracking_helpers_never_fail_on_a_name_mlflow_rejects(tmp_path, monkeypatch):
    import mlflow

    from v2v_pipeline import tracking

    fresh_mlflow(tmp_path, monkeypatch)
    with mlflow.start_run() as run:
        tracking.log_metrics({"ingest_bad_frames_Quelle (é)": 3})
        tracking.set_tags({"video.Quelle (é)": "x"})
    data = mlflow.get_run(run.info.run_id).data
    assert data.metrics == {"ingest_bad_frames_Quelle ___": 3.0}
    assert data.tags["video.Quelle ___"] == "x"


# --------------------------------------------------------------------------- dataset built for another env
def test_dataset_labelled_by_another_backend_is_named():
    from v2v_pipeline.config import parse
    from v2v_pipeline.params import LabelParams
    from v2v_pipeline.validation import dataset_label_problems

    def configured_label_backend(params, video):  # what the hook compares: the backend labeling would use
        return parse(LabelParams, params.get("label"), "label").source_for(video).backend

    maps = {"label": {"backend": "mediapipe", "videos": {"subject4": {"backend": "label_maps", "path": "x"}}}}
    assert configured_label_backend(maps, "subject4") == "label_maps"
    assert configured_label_backend(maps, "other") == "mediapipe"
    assert configured_label_backend({}, "subject4") == "mediapipe"
    wanted = configured_label_backend(maps, "subject4")
    assert dataset_label_problems(wanted, "subject4", {"backend": "label_maps"}) == []
    assert dataset_label_problems("label_maps", "subject4", None) == []  # nothing stored yet: nothing to compare
    (msg,) = dataset_label_problems(configured_label_backend({}, "subject4"), "subject4", {"backend": "label_maps"})
    assert "'label_maps'" in msg and "'mediapipe'" in msg and "--pipelines=data" in msg


def test_training_on_another_envs_dataset_stops_in_the_hook(kedro_project):
    """Environments share data/: training with MediaPipe labels configured on a dataset whose target
    labels came from label maps stops before the first node, naming both backends."""
    import json

    version = kedro_project.root / "data/03_primary/videos/t/label_summary.json/2026-01-01T00.00.00.000Z"
    version.mkdir(parents=True)
    (version / "label_summary.json").write_text(json.dumps({"video": "t", "backend": "label_maps", "metrics": {}}))
    params = {"ingest": {"target": {"name": "t", "path": "demo:target"}, "sources": []}}
    with pytest.raises(ValidationError, match="labelled with backend 'label_maps'.*labels it with 'mediapipe'"):
        kedro_project("train", params=params)
    assert not list((kedro_project.root / "data").rglob("*.pt"))
    # the configuration that built it passes the check (and then fails for the missing dataset, as before)
    maps = {**params, "label": {"videos": {"t": {"backend": "label_maps", "path": str(kedro_project.root)}}}}
    with pytest.raises(Exception) as err:
        kedro_project("train", params=maps)
    assert "labelled with backend" not in str(err.value)
