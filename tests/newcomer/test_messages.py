"""Error messages name the file (or --params) a value came from and offer the smallest fix."""

from __future__ import annotations

import pandas as pd
import pytest

from v2v_pipeline.config import ConfigError, parse, value_origin
from v2v_pipeline.params import TrainParams


def _conf(tmp_path):
    (tmp_path / "base").mkdir()
    (tmp_path / "local").mkdir()
    (tmp_path / "base" / "parameters_train.yml").write_text("train:\n  lr: 0.0002\n  max_steps: 400\n")
    (tmp_path / "local" / "parameters_own.yml").write_text("train:\n  max_steps: 50\n")
    return tmp_path


def test_the_origin_is_params_then_the_run_env_then_base(tmp_path):
    conf = _conf(tmp_path)
    assert value_origin("train.max_steps", [], conf) == f"{conf.as_posix()}/local/parameters_own.yml"
    assert value_origin("train.lr", [], conf) == f"{conf.as_posix()}/base/parameters_train.yml"
    assert value_origin("train.seed", [], conf) is None
    argv = ["kedro", "run", "--params", "train.max_steps=3,train.seed=1"]
    assert value_origin("train.max_steps", argv, conf) == "--params (train.max_steps=3)"
    assert value_origin("train.lr", ["kedro", "run", "--params=train.max_steps=3"], conf).endswith(
        "base/parameters_train.yml")


def test_a_typo_in_params_points_to_the_command_line(monkeypatch):
    monkeypatch.setattr("sys.argv", ["kedro", "run", "--params", "train.max_stepz=3"])
    with pytest.raises(ConfigError, match=r"Did you mean 'train.max_steps'\?.*command line's --params "
                                          r"\(train.max_stepz=3\)"):
        parse(TrainParams, {"max_stepz": 3}, "train")


def test_a_value_from_conf_local_names_conf_local(tmp_path, monkeypatch):
    conf = _conf(tmp_path)
    monkeypatch.chdir(conf.parent)
    (conf.parent / "conf").symlink_to(conf)
    monkeypatch.setattr("sys.argv", ["kedro", "run"])
    monkeypatch.delenv("KEDRO_ENV", raising=False)
    with pytest.raises(ConfigError, match=r"train.max_steps.*Fix it in conf/local/parameters_own.yml"):
        parse(TrainParams, {"max_steps": "fifty"}, "train")


def test_unknown_source_video_suggests_the_one_line_fix(monkeypatch):
    from v2v_pipeline.params import TransferParams
    from v2v_pipeline.transfer import video_clip

    monkeypatch.setattr("sys.argv", ["kedro", "run"])
    p = parse(TransferParams, {"source": {"video": "source"}}, "transfer")
    index = pd.DataFrame({"video": ["target", "street_dance"], "role": ["target", "source"], "frame": [0, 0]})
    with pytest.raises(ValueError) as err:
        video_clip(p, index, None, None, None)
    msg = str(err.value)
    assert msg.startswith("transfer.source.video 'source' is not an ingested video: set transfer.source.video to one "
                          "of ['street_dance'] in "), msg
    assert "--params=transfer.source.video=street_dance" in msg
