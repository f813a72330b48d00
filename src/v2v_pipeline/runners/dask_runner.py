"""``DaskRunner``: Kedro's documented Dask deployment pattern, adapted to Kedro 1.7's runner API.

Each node is submitted to a Dask cluster as one task that depends on the futures of the
nodes it needs (https://docs.kedro.org/en/stable/deploy/distributed/dask/). Datasets that
exist only in memory are published on the scheduler (``_DaskDataset``), so a node on one
worker reads what a node on another produced; file datasets must be reachable from every
worker: the project folder at the same path on each machine (a shared volume), or object
storage (``s3://`` paths in the catalog, see docs/scaling.md).

Where the cluster is: ``client_args`` (e.g. ``{"address": "tcp://scheduler:8786"}``), or
Dask's own configuration, e.g. ``DASK_SCHEDULER_ADDRESS=tcp://scheduler:8786 kedro run
--runner=v2v_pipeline.runners.DaskRunner``; with neither, ``distributed.Client()`` starts a
local cluster on this machine.

The MLflow run of the Kedro session is reopened on the worker for each node (by id, on the
session's tracking URI), so metrics, parameters and artifacts logged by nodes and datasets
on the workers land in the same run as with the sequential runner.
"""

from __future__ import annotations

import contextlib
import logging
from collections import Counter
from collections.abc import Iterator
from itertools import chain
from typing import TYPE_CHECKING, Any

from distributed import Client, as_completed, worker_client
from kedro.io import AbstractDataset, MemoryDataset
from kedro.runner import AbstractRunner
from kedro.runner.task import Task

if TYPE_CHECKING:
    from kedro.io import CatalogProtocol
    from kedro.pipeline import Pipeline
    from kedro.pipeline.node import Node
    from pluggy import PluginManager

log = logging.getLogger(__name__)


class _DaskDataset(AbstractDataset):
    """Publishes / gets a named in-memory dataset to / from the Dask scheduler."""

    def __init__(self, name: str):
        self._name = name

    def load(self) -> Any:
        try:
            with worker_client() as client:
                return client.get_dataset(self._name)
        except ValueError:
            # not on a worker: the runner loads free outputs on the client after the run
            return Client.current().get_dataset(self._name)

    def save(self, data: Any) -> None:
        with worker_client() as client:
            client.publish_dataset(data, name=self._name, override=True)

    def _exists(self) -> bool:
        return self._name in Client.current().list_datasets()

    def _release(self) -> None:
        with contextlib.suppress(KeyError, ValueError):
            Client.current().unpublish_dataset(self._name)

    def _describe(self) -> dict[str, Any]:
        return {"name": self._name}


def _mlflow_run_info() -> tuple[str, str] | None:
    try:
        import mlflow
    except ImportError:  # pragma: no cover
        return None
    run = mlflow.active_run()
    return (run.info.run_id, mlflow.get_tracking_uri()) if run is not None else None


@contextlib.contextmanager
def _reopened_mlflow_run(info: tuple[str, str] | None) -> Iterator[None]:
    """Make the session's MLflow run the active run of this worker for one node (left RUNNING)."""
    if info is None:
        yield
        return
    import mlflow

    run_id, tracking_uri = info
    active = mlflow.active_run()
    if active is not None and active.info.run_id == run_id:
        yield
        return
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.start_run(run_id=run_id, nested=active is not None)
    try:
        yield
    finally:
        # pop it from this process's stack without finishing it: the Kedro session ends it
        mlflow.end_run(status="RUNNING")


class DaskRunner(AbstractRunner):
    """Distributes the nodes of a pipeline over a Dask cluster, respecting their dependencies."""

    def __init__(self, client_args: dict[str, Any] | None = None, is_async: bool = False):
        super().__init__(is_async=is_async)
        self._client = Client(**(client_args or {}))

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self._client.close()

    @staticmethod
    def _run_node(node: Node, catalog: CatalogProtocol, is_async: bool, run_id: str | None,
                  package_name: str | None, mlflow_run: tuple[str, str] | None, *dependencies: Node) -> Node:
        """Run one node on a worker. ``dependencies`` are the futures of the nodes it needs (Dask
        resolves them first). A hook manager is created on the worker (it cannot be pickled)."""
        from kedro.framework import project
        from kedro.framework.hooks.manager import _create_hook_manager, _register_hooks, _register_hooks_entry_points

        if package_name and project.PACKAGE_NAME != package_name:
            project.configure_project(package_name)
        hook_manager = _create_hook_manager()
        _register_hooks(hook_manager, project.settings.HOOKS)
        _register_hooks_entry_points(hook_manager, project.settings.DISABLE_HOOKS_FOR_PLUGINS)
        with _reopened_mlflow_run(mlflow_run):
            return Task(node=node, catalog=catalog, hook_manager=hook_manager, is_async=is_async,
                        run_id=run_id).execute()

    def _get_executor(self, max_workers: int) -> None:
        return None  # the Dask cluster is the executor

    def _publish_memory_datasets(self, pipeline: Pipeline, catalog: CatalogProtocol) -> None:
        """Node outputs held in memory live on the scheduler, so any worker can read them."""
        for name in sorted(pipeline.all_outputs()):
            if isinstance(catalog.get(name, fallback_to_runtime_pattern=True), MemoryDataset):
                catalog[name] = _DaskDataset(name)

    def _run(self, pipeline: Pipeline, catalog: CatalogProtocol, hook_manager: PluginManager | None = None,
             run_id: str | None = None) -> None:
        from kedro.framework.project import PACKAGE_NAME

        self._publish_memory_datasets(pipeline, catalog)
        nodes = pipeline.nodes
        load_counts = Counter(chain.from_iterable(n.inputs for n in nodes))
        node_dependencies = pipeline.node_dependencies
        mlflow_run = _mlflow_run_info()
        futures: dict[Node, Any] = {}
        client = self._client
        for node in nodes:  # topologically sorted, so every dependency already has a future
            dependencies = [futures[d] for d in node_dependencies[node]]
            futures[node] = client.submit(DaskRunner._run_node, node, catalog, self._is_async, run_id,
                                          PACKAGE_NAME, mlflow_run, *dependencies, pure=False, key=f"node-{node.name}-{run_id}")
        done = 0
        for _, node in as_completed(list(futures.values()), with_results=True):
            done += 1
            self._logger.info("Completed node: %s", node.name)
            self._logger.info("Completed %d out of %d tasks", done, len(nodes))
            self._release_datasets(node, catalog, load_counts, pipeline)
