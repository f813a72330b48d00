"""Project settings (see https://docs.kedro.org/en/stable/configure/configuration_basics/)."""

import os
import warnings

os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "true")
# third-party deprecation chatter that says nothing about this project's run
warnings.filterwarnings("ignore", message=r"register_new_resolver\(\) is deprecated", category=UserWarning)
warnings.filterwarnings("ignore", message=r".*Add type hints to the `predict` method", category=UserWarning)

from v2v_pipeline.hooks import ProjectHooks  # noqa: E402
from v2v_pipeline.run_tags import RunTagHooks  # noqa: E402
from v2v_pipeline import cli_errors  # noqa: E402
from v2v_pipeline.session_store import UniqueSessionStore  # noqa: E402

cli_errors.install()  # a mistyped pipeline name or parameter: the message, not two chained tracebacks

HOOKS = (ProjectHooks(), RunTagHooks())

# kedro-telemetry would ask for consent and try to reach the network; this project runs offline.
DISABLE_HOOKS_FOR_PLUGINS = ("kedro-telemetry",)

# Kedro's session id (a millisecond timestamp) is every versioned dataset's save version: this store makes it
# unique among the runs of the project, so two runs started in the same millisecond do not collide
SESSION_STORE_CLASS = UniqueSessionStore

CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    # an environment's parameters are merged key by key into base (not replacing whole sections),
    # so conf/<env>/parameters_label.yml can change one value of `label`
    "merge_strategy": {"parameters": "soft"},
}
