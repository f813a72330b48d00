"""Project pipelines.

``__default__`` (plain ``kedro run``) runs the whole chain on the built-in synthetic demo
sample unless the parameters point at other videos; ``data`` runs ingest to dataset.
The registry lists the pipelines explicitly (instead of Kedro's folder discovery) because
``data`` and ``__default__`` are compositions that discovery cannot build when the CLI
asks for them by name.
"""

from __future__ import annotations

import importlib

from kedro.pipeline import Pipeline

# Order of the end-to-end chain.
CHAIN = ["ingest", "label", "flow", "normalize", "dataset", "train", "transfer", "evaluate"]
DATA_CHAIN = ["ingest", "label", "flow", "normalize", "dataset"]


def register_pipelines() -> dict[str, Pipeline]:
    pipelines = {
        name: importlib.import_module(f"v2v_pipeline.pipelines.{name}").create_pipeline() for name in CHAIN
    }
    pipelines["data"] = sum((pipelines[n] for n in DATA_CHAIN), Pipeline([]))
    pipelines["__default__"] = sum((pipelines[n] for n in CHAIN), Pipeline([]))
    return pipelines
