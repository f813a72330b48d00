"""Readable MLflow run names and tags (a Kedro hook, after kedro-mlflow has started the run).

kedro-mlflow names a run after its pipeline (``__default__``, ``data``) and tags it with every
run parameter as ``str()``, so the ``runner`` tag reads ``<kedro.runner...object at 0x...>``. This
hook renames the run ``<pipeline> · <target> · <UTC time>``, replaces object reprs in the tags by
class names, and records ``env`` (the configuration environment, ``local`` by default) and ``target``
(the target video's name and path: ``v2v-runs best`` compares runs of one target only).
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any

from kedro.framework.hooks import hook_impl

log = logging.getLogger(__name__)

_REPR = re.compile(r"^<([\w.]+) object at 0x[0-9a-fA-F]+>$")


def tag_value(value: Any) -> str:
    """A tag's text: an object's class name instead of its ``<... object at 0x...>`` repr."""
    text = str(value)
    if (m := _REPR.match(text)) is not None:
        return m.group(1).rsplit(".", 1)[-1]
    return text


def target_of(params: dict[str, Any]) -> str:
    """``<name> (<path>)`` of ``ingest.target``, or ``unknown``."""
    target = (params.get("ingest") or {}).get("target") or {}
    name, path = target.get("name"), target.get("path")
    return f"{name} ({path})" if name and path else str(name or path or "unknown")


def run_name(pipelines: str, target_name: str, when: float | None = None) -> str:
    stamp = time.strftime("%Y-%m-%d %H:%M", time.gmtime(time.time() if when is None else when))
    return f"{pipelines} · {target_name} · {stamp} UTC"


def run_tags(run_params: dict[str, Any], params: dict[str, Any]) -> dict[str, str]:
    """The tags (and ``mlflow.runName``) this hook sets for a run of ``run_params`` with ``params``."""
    names = run_params.get("pipeline_names") or [run_params.get("pipeline_name") or "__default__"]
    names = names if isinstance(names, list | tuple) else [names]
    pipelines = "+".join("all" if n == "__default__" else str(n) for n in names)
    target = target_of(params)
    tags = {k: tag_value(v) for k, v in run_params.items() if v and _REPR.match(str(v))}
    tags.update({"env": str(run_params.get("env") or "local"), "target": target, "pipelines": pipelines,
                 "mlflow.runName": run_name(pipelines, target.split(" (")[0])})
    return tags


class RunTagHooks:
    def __init__(self) -> None:
        self._params: dict[str, Any] = {}

    @hook_impl
    def after_context_created(self, context) -> None:
        try:
            self._params = dict(context.params)
        except Exception:  # noqa: BLE001 - a broken parameter file is reported by the validation hook
            self._params = {}

    @hook_impl(trylast=True)  # after kedro-mlflow started the run and wrote its tags
    def before_pipeline_run(self, run_params: dict[str, Any], pipeline, catalog) -> None:
        try:
            import mlflow
        except ImportError:  # pragma: no cover
            return
        if mlflow.active_run() is None:
            return
        tags = run_tags(run_params, self._params)
        mlflow.set_tags(tags)
        log.info("MLflow run '%s' (%s)", tags["mlflow.runName"], mlflow.active_run().info.run_id)
