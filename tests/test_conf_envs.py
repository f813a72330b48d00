"""Every shipped configuration environment parses: a typo or a contradiction in conf/ fails here, not on a GPU."""

from __future__ import annotations

import pytest
from kedro.config import OmegaConfigLoader

from tests.conftest import PROJECT_ROOT
from v2v_pipeline.params import validate_all

ENVS = sorted(p.name for p in (PROJECT_ROOT / "conf").iterdir() if p.is_dir() and p.name not in ("base", "local"))


@pytest.mark.parametrize("env", ["base"] + ENVS)
def test_environment_parameters_are_valid(env):
    loader = OmegaConfigLoader(conf_source=str(PROJECT_ROOT / "conf"), base_env="base",
                               default_run_env="local" if env == "base" else env,
                               merge_strategy={"parameters": "soft"})
    parsed = validate_all(loader["parameters"])
    assert {"ingest", "label", "flow", "normalize", "dataset", "train", "transfer", "evaluate"} <= set(parsed)


def test_shipped_environments():
    assert {"subject4", "gpu_full"} <= set(ENVS)
