"""Log a dataset's saved file to MLflow from any process: picklable, unlike kedro-mlflow's
``MlflowArtifactDataset`` (a class made on the fly), so ParallelRunner and Dask can send it to workers."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def _active_run() -> tuple[str, str] | None:
    try:
        import mlflow
    except ImportError:  # pragma: no cover
        return None
    run = mlflow.active_run()
    return (run.info.run_id, mlflow.get_tracking_uri()) if run is not None else None


class MlflowArtifactLogging:
    """Mixin for a file dataset with an ``mlflow_artifact_path`` argument.

    After each save the finished file is logged to MLflow under that artifact path:
    to the active run of the saving process, or, in a worker process without one
    (ParallelRunner with spawn, a Dask worker), to the run that was active in the
    process that pickled the dataset to send it there (its id and tracking URI travel
    with the pickle). With no MLflow run at all the file is only written.
    """

    _mlflow_artifact_path: str | None = None
    _mlflow_run: tuple[str, str] | None = None

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        if self._mlflow_artifact_path is not None:
            state["_mlflow_run"] = _active_run() or self._mlflow_run
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    def _log_to_mlflow(self, local: Path) -> None:
        if self._mlflow_artifact_path is None:
            return
        import mlflow

        if mlflow.active_run() is not None:
            mlflow.log_artifact(str(local), self._mlflow_artifact_path)
        elif self._mlflow_run is not None:
            run_id, tracking_uri = self._mlflow_run
            mlflow.MlflowClient(tracking_uri=tracking_uri).log_artifact(run_id, str(local), self._mlflow_artifact_path)
        else:
            log.debug("no active MLflow run: %s is not logged as an artifact", local.name)
