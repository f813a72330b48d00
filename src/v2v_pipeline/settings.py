"""Project settings (see https://docs.kedro.org/en/stable/configure/configuration_basics/)."""

import os

os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "true")

from v2v_pipeline.hooks import ProjectHooks  # noqa: E402

HOOKS = (ProjectHooks(),)

# kedro-telemetry would ask for consent and try to reach the network; this project runs offline.
DISABLE_HOOKS_FOR_PLUGINS = ("kedro-telemetry",)

CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
}
