"""Model specs of ``transfer.model`` / ``evaluate.model``, and where their model file comes from.

A spec is one of::

    latest                         the newest (or --load-versions) version of the trained_model dataset
    data/06_models/generator.pt    a model file
    runs:/<run_id>                 the model/generator.pt artifact of an MLflow run
    models:/<name>/<version>       a version of a registered model (the pyfunc model train registers)
    models:/<name>@<alias>         the version an alias points at (``v2v-runs promote RUN --alias champion``)
    models:/<name>/latest          the newest version of a registered model

The registry and tracking store are MLflow's current ones: inside ``kedro run`` kedro-mlflow
sets them from ``conf/*/mlflow.yml``; elsewhere ``$MLFLOW_TRACKING_URI`` (or
``mlflow.set_tracking_uri``). Nothing here imports Kedro.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

RUN_ARTIFACT = "model/generator.pt"  # what train logs to its run (next to the pyfunc model)
PYFUNC_ARTIFACT = "generator"  # the pyfunc model's artifact key (see v2v_pipeline.mlflow_model)

_FORMS = ("'latest', a model file path, runs:/<mlflow run id>, models:/<registered name>/<version> "
          "or models:/<registered name>@<alias>")
_REGISTRY = re.compile(r"^models:/(?P<name>[^/@]+)(?:/(?P<version>[^/@]+)|@(?P<alias>[^/@]+))/?$")


class ModelSpecError(ValueError):
    """A model spec that is malformed, or names a run / registered model that does not exist."""


@dataclass(frozen=True)
class RegistrySpec:
    name: str
    version: str | None = None  # a number or "latest"
    alias: str | None = None

    def __str__(self) -> str:
        return f"models:/{self.name}@{self.alias}" if self.alias else f"models:/{self.name}/{self.version}"


def parse_registry_spec(spec: str) -> RegistrySpec | None:
    """The parts of ``models:/<name>/<version>`` or ``models:/<name>@<alias>``; None for other specs."""
    spec = spec.strip()
    if not spec.startswith("models:"):
        return None
    m = _REGISTRY.match(spec)
    if m is None:
        raise ModelSpecError(f"model {spec!r} is not a registry URI; use models:/<name>/<version> "
                             "(e.g. models:/v2v_generator/3), models:/<name>@<alias> (e.g. "
                             "models:/v2v_generator@champion) or models:/<name>/latest")
    version = m["version"]
    if version is not None and not (version.isdigit() or version == "latest"):
        raise ModelSpecError(f"model {spec!r}: the version must be a number or 'latest' (an alias is written "
                             f"models:/{m['name']}@{version})")
    return RegistrySpec(m["name"], version, m["alias"])


def run_id_of(spec: str) -> str | None:
    """The run id of a ``runs:/<run_id>[/...]`` spec (no lookup); None for anything else."""
    spec = spec.strip()
    return spec[len("runs:/"):].strip("/").split("/")[0] or None if spec.startswith("runs:/") else None


def check_model_spec(spec: str) -> None:
    """Raise :class:`ModelSpecError` for a spec that cannot be any of the accepted forms (no lookups)."""
    s = spec.strip()
    if not s or s in ("runs:/", "runs:") or (s.startswith("runs:") and run_id_of(s) is None):
        raise ModelSpecError(f"model {spec!r} must be {_FORMS}")
    parse_registry_spec(s)


def is_mlflow_spec(spec: str) -> bool:
    return spec.strip().startswith(("runs:", "models:"))


def _client():
    from mlflow import MlflowClient

    return MlflowClient()


def model_version(spec: str | RegistrySpec):
    """The registry's ``ModelVersion`` for a ``models:/`` spec (alias and ``latest`` resolved)."""
    from mlflow.exceptions import MlflowException

    reg = parse_registry_spec(spec) if isinstance(spec, str) else spec
    if reg is None:
        raise ModelSpecError(f"{spec!r} is not a models:/ spec")
    client = _client()
    try:
        if reg.alias is not None:
            return client.get_model_version_by_alias(reg.name, reg.alias)
        if reg.version == "latest":
            versions = client.search_model_versions(f"name = '{reg.name}'")
            if not versions:
                raise ModelSpecError(f"registered model {reg.name!r} has no versions; train one "
                                     "(`kedro run --pipelines=train`)")
            return max(versions, key=lambda v: int(v.version))
        return client.get_model_version(reg.name, reg.version)
    except MlflowException as e:
        raise ModelSpecError(f"model {reg} cannot be found in the MLflow registry ({_short(e)}); "
                             f"{_registry_hint(reg.name)}") from e


def _short(e: Exception) -> str:
    return str(getattr(e, "message", e)).splitlines()[0][:300]


def _registry_hint(name: str) -> str:
    import mlflow
    from mlflow.exceptions import MlflowException

    where = f"registry {mlflow.get_registry_uri()}"
    try:
        client = _client()
        versions = sorted(client.search_model_versions(f"name = '{name}'"), key=lambda v: int(v.version))
        aliases = sorted(client.get_registered_model(name).aliases) if versions else []
    except MlflowException:
        versions, aliases = [], []
    if not versions:
        return (f"the {where} has no versions of {name!r}: check the name (train.registered_model_name) and the "
                "tracking URI (conf/local/mlflow.yml or $MLFLOW_TRACKING_URI)")
    return (f"{name!r} has versions {', '.join(str(v.version) for v in versions)}"
            + (f" and aliases {', '.join(aliases)}" if aliases else " and no aliases")
            + " (set one with `v2v-runs promote RUN --alias champion`)")


def model_run_id(spec: str) -> str | None:
    """The MLflow run that produced the model of ``spec``: the run of ``runs:/``, the source run of a
    registered version for ``models:/``; None for ``latest`` and paths."""
    run_id = run_id_of(spec)
    if run_id is not None or parse_registry_spec(spec) is None:
        return run_id
    return model_version(spec).run_id or None


def download_model_file(spec: str, dst: str | Path | None = None) -> Path:
    """The local path of the model file a ``runs:/`` or ``models:/`` spec names (downloaded from MLflow)."""
    import mlflow

    reg = parse_registry_spec(spec)
    if reg is None:
        run_id = run_id_of(spec)
        if run_id is None:
            raise ModelSpecError(f"{spec!r} is not an MLflow model spec")
        try:
            return Path(mlflow.artifacts.download_artifacts(f"runs:/{run_id}/{RUN_ARTIFACT}",
                                                            dst_path=None if dst is None else str(dst)))
        except Exception as e:  # noqa: BLE001 - unknown run, unreachable store, missing artifact
            raise ModelSpecError(f"MLflow run {run_id} has no {RUN_ARTIFACT} artifact ({_short(e)}); pick a "
                                 "finished training run (`v2v-runs list`) or a registered model "
                                 "(models:/v2v_generator@champion)") from e
    version = model_version(reg)
    uri = f"models:/{reg.name}/{version.version}"
    try:
        local = Path(mlflow.artifacts.download_artifacts(uri, dst_path=None if dst is None else str(dst)))
    except Exception as e:  # noqa: BLE001
        raise ModelSpecError(f"{reg} (version {version.version}) cannot be downloaded ({_short(e)})") from e
    return pyfunc_model_file(local, str(reg))


def pyfunc_model_file(model_dir: str | Path, what: str = "") -> Path:
    """The generator file inside a downloaded pyfunc model folder (from its MLmodel's artifacts)."""
    from mlflow.models import Model

    model_dir = Path(model_dir)
    try:
        conf = Model.load(str(model_dir / "MLmodel")).flavors["python_function"]
        rel = conf["artifacts"][PYFUNC_ARTIFACT]["path"]
    except Exception as e:  # noqa: BLE001 - no MLmodel, not a pyfunc model, no generator artifact
        raise ModelSpecError(f"{what or model_dir} is not a v2v_pipeline pyfunc model (no '{PYFUNC_ARTIFACT}' "
                             f"artifact in its MLmodel: {_short(e)}); register models with the train pipeline") from e
    path = model_dir / rel
    if not path.is_file():
        raise ModelSpecError(f"{what or model_dir}: the model file {rel} is missing from the downloaded model")
    return path
