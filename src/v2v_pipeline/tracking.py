"""Small MLflow helpers that do nothing when no run is active (library code stays usable without MLflow)."""

from __future__ import annotations

import logging
import re
from typing import Any

log = logging.getLogger(__name__)


def _active():
    try:
        import mlflow
    except ImportError:  # pragma: no cover
        return None
    return mlflow if mlflow.active_run() is not None else None


def safe_key(key: str) -> str:
    """``key`` with the characters MLflow rejects in metric/param/tag names replaced by ``_``."""
    return re.sub(r"[^A-Za-z0-9_\-. /]", "_", str(key))


def set_tags(tags: dict[str, Any]) -> None:
    if (mlflow := _active()) is not None:
        mlflow.set_tags({safe_key(k): str(v) for k, v in tags.items()})


def log_metrics(metrics: dict[str, float], step: int | None = None) -> None:
    if (mlflow := _active()) is not None:
        clean = {safe_key(k): float(v) for k, v in metrics.items() if v is not None and v == v}  # drop NaN
        if clean:
            mlflow.log_metrics(clean, step=step)


def log_artifact(path: str, artifact_path: str | None = None) -> None:
    if (mlflow := _active()) is not None:
        mlflow.log_artifact(path, artifact_path=artifact_path)


def log_image(image, artifact_file: str) -> None:
    """An RGB uint8 image as a PNG artifact of the active run."""
    if (mlflow := _active()) is not None:
        mlflow.log_image(image, artifact_file=artifact_file)


def as_mlflow_metrics(metrics: dict[str, float], step: int = 0) -> dict[str, dict[str, float]]:
    """The format of kedro-mlflow's ``MlflowMetricsHistoryDataset`` (NaN values are dropped)."""
    return {k: {"value": float(v), "step": step} for k, v in metrics.items() if v is not None and v == v}


def log_params(params: dict[str, Any]) -> None:
    """Run parameters (e.g. the runtime's device and precision choice); values as strings."""
    if (mlflow := _active()) is not None:
        mlflow.log_params({k: str(v) for k, v in params.items()})
