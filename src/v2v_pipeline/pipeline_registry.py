"""Project pipelines.

``__default__`` (plain ``kedro run``) runs the whole chain on the built-in synthetic demo
sample unless the parameters point at other videos; ``data`` runs ingest to dataset.
The registry lists the pipelines explicitly, with static imports (instead of Kedro's folder
discovery), because ``data`` and ``__default__`` are compositions that discovery cannot build
when the CLI asks for them by name (``kedro run --pipelines=data``).

ingest, label, normalize (and flow, for the target) are built with one Kedro namespace per
configured video (:mod:`v2v_pipeline.pipelines.videos`): ``kedro run --namespaces=<video>`` runs one
video's nodes, and ParallelRunner runs the videos side by side. Gather nodes (outside any namespace)
join the videos' outputs into the combined datasets the dataset, train, transfer and evaluate
pipelines read.
"""

from __future__ import annotations

from kedro.pipeline import Pipeline

from v2v_pipeline.pipelines import dataset, evaluate, flow, ingest, label, normalize, train, transfer
from v2v_pipeline.pipelines.videos import Videos, registry_videos

# The end-to-end chain, in order; `data` is its first five pipelines.
PIPELINES = {"ingest": ingest, "label": label, "flow": flow, "normalize": normalize, "dataset": dataset,
             "train": train, "transfer": transfer, "evaluate": evaluate}
CHAIN = list(PIPELINES)
DATA_CHAIN = ["ingest", "label", "flow", "normalize", "dataset"]
PER_VIDEO = {"ingest", "label", "flow", "normalize"}  # built from the configured video names


def pipelines_for(videos: Videos) -> dict[str, Pipeline]:
    """Every pipeline, with the namespaces of ``videos`` = ``(target, sources)``."""
    target, sources = videos
    pipelines = {name: module.create_pipeline(target=target, sources=tuple(sources)) if name in PER_VIDEO
                 else module.create_pipeline() for name, module in PIPELINES.items()}
    pipelines["data"] = sum((pipelines[n] for n in DATA_CHAIN), Pipeline([]))
    pipelines["__default__"] = sum((pipelines[n] for n in CHAIN), Pipeline([]))
    return pipelines


def register_pipelines() -> dict[str, Pipeline]:
    return pipelines_for(registry_videos())
