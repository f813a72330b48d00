"""Project pipelines.

``__default__`` (plain ``kedro run``) runs the whole chain on the built-in synthetic demo
sample unless the parameters point at other videos; ``data`` runs ingest to dataset.
The registry lists the pipelines explicitly, with static imports (instead of Kedro's folder
discovery), because ``data`` and ``__default__`` are compositions that discovery cannot build
when the CLI asks for them by name (``kedro run --pipelines=data``).
"""

from __future__ import annotations

from kedro.pipeline import Pipeline

from v2v_pipeline.pipelines import dataset, evaluate, flow, ingest, label, normalize, train, transfer

# The end-to-end chain, in order; `data` is its first five pipelines.
PIPELINES = {"ingest": ingest, "label": label, "flow": flow, "normalize": normalize, "dataset": dataset,
             "train": train, "transfer": transfer, "evaluate": evaluate}
CHAIN = list(PIPELINES)
DATA_CHAIN = ["ingest", "label", "flow", "normalize", "dataset"]


def register_pipelines() -> dict[str, Pipeline]:
    pipelines = {name: module.create_pipeline() for name, module in PIPELINES.items()}
    pipelines["data"] = sum((pipelines[n] for n in DATA_CHAIN), Pipeline([]))
    pipelines["__default__"] = sum((pipelines[n] for n in CHAIN), Pipeline([]))
    return pipelines
