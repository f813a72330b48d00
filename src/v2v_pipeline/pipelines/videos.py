"""One Kedro namespace per configured video.

The per-video pipelines (ingest, label, normalize; flow for the target) are modular pipelines
(``kedro.pipeline.pipeline(..., namespace=<video>)``), one per video named in
``conf/<env>/parameters_ingest.yml`` (``ingest.target.name``, ``ingest.sources[].name``): their
datasets are ``<video>.frames``, ``<video>.keypoints``, ... (dataset factories in
``conf/base/catalog.yml``), their nodes ``<video>.extract_frames``, ``<video>.label_video``, ...
so ``kedro run --namespaces=<video>`` runs one video and ParallelRunner runs the videos side by side.

The registry is built before a run's parameters exist, so the names come from the configuration
files (Kedro's pattern for dynamic pipelines: ``settings.CONFIG_LOADER_CLASS`` on the project's
``conf`` folder, environment from ``--env`` / ``KEDRO_ENV``). A ``kedro run`` (or a ``KedroSession``)
refreshes them from its own configuration, ``--params`` included (:func:`use_run_parameters`, called by
the project hook); other readers of the registry (``kedro airflow create``, ``kedro viz``, notebooks)
see the configuration files only.
"""

from __future__ import annotations

import functools
import logging
import os
import sys
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from kedro.pipeline import Pipeline, pipeline

# the gather nodes read `<video>.<dataset>`: dotted names made on purpose, namespaces by hand
warnings.filterwarnings("ignore", message=r"One or more dataset names contain '\.' characters", category=UserWarning)

log = logging.getLogger(__name__)

Videos = tuple[str, tuple[str, ...]]  # (target name, source names), in configured order

DEFAULT_VIDEOS: Videos = ("target", ("source",))
GATHER_TAG = "gather"  # the nodes (outside the namespaces) that join the videos' outputs

_run_videos: Videos | None = None  # the starting run's videos (hooks.ProjectHooks), until its registry is read


def video_names(params: Mapping[str, Any] | None) -> Videos:
    """``(target, sources)`` named by the ``ingest`` parameters (lenient: the run validates them)."""
    ingest = (params or {}).get("ingest") or {}
    target = (ingest.get("target") or {}).get("name") if isinstance(ingest.get("target"), Mapping) else None
    sources = [s.get("name") for s in ingest.get("sources") or [] if isinstance(s, Mapping)]
    names = (str(target) if target else DEFAULT_VIDEOS[0], tuple(str(s) for s in sources if s))
    return names


def _env_from_cli(argv: list[str]) -> str | None:
    from v2v_pipeline.config import _cli_option

    values = _cli_option(argv, "--env", "-e")
    return values[-1] if values else None


def configured_videos(project_path: str | os.PathLike | None = None, env: str | None = None) -> Videos:
    """The videos named in the project's configuration files (base, then the run environment:
    ``env``, else ``--env`` on the command line, else ``KEDRO_ENV``, else ``local``)."""
    from kedro.framework.project import settings

    root = Path(project_path or Path.cwd())
    env = env or _env_from_cli(sys.argv) or os.environ.get("KEDRO_ENV")
    try:
        loader = settings.CONFIG_LOADER_CLASS(conf_source=str(root / settings.CONF_SOURCE), env=env,
                                              **settings.CONFIG_LOADER_ARGS)
        params = loader["parameters"]
    except Exception as e:  # noqa: BLE001 - no readable parameters (a bare folder): the defaults
        log.warning("pipeline registry: no video names from %s (%s); using %s", root / settings.CONF_SOURCE, e,
                    DEFAULT_VIDEOS)
        return DEFAULT_VIDEOS
    return video_names(params)


def registry_videos() -> Videos:
    """The videos the registry is built for: the starting run's, else the configuration files'."""
    return _run_videos or configured_videos()


def use_run_parameters(params: Mapping[str, Any] | None) -> None:
    """Build the registry for the starting run's videos (its environment and ``--params``): the
    project hook calls this when the run's context exists, before the session reads the registry,
    and with None once the run started (later readers get the configuration files' videos)."""
    global _run_videos
    _run_videos = video_names(params) if params is not None else None
    if params is not None:
        from kedro.framework.project import PACKAGE_NAME, pipelines

        if PACKAGE_NAME:
            pipelines.configure(f"{PACKAGE_NAME}.pipeline_registry")  # reload on the next read


def bind(func: Callable, **kwargs: Any) -> Callable:
    """``func`` with keyword arguments fixed (the video name), keeping its name for Kedro's logs; picklable."""
    return functools.update_wrapper(functools.partial(func, **kwargs), func)


def for_video(nodes: list, video: str, parameters: set[str], inputs: Mapping[str, str] | None = None,
              outputs: Mapping[str, str] | None = None) -> Pipeline:
    """The nodes as the modular pipeline of ``video``: datasets and node names get the prefix
    ``<video>.``, except the (shared) ``parameters`` and the ``inputs`` / ``outputs`` mapped to other names."""
    return pipeline(nodes, namespace=video, parameters={p: p for p in parameters}, inputs=dict(inputs or {}),
                    outputs=dict(outputs or {}))
