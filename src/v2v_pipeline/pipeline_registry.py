"""Project pipelines.

``__default__`` (plain ``kedro run``) runs the whole chain that is built so far, on the
built-in synthetic demo sample unless the parameters point at other videos.
"""

from __future__ import annotations

from kedro.framework.project import find_pipelines
from kedro.pipeline import Pipeline

# Order of the end-to-end chain; pipelines not yet present are skipped.
CHAIN = ["ingest", "label", "flow", "normalize", "dataset", "train", "transfer", "evaluate"]
DATA_CHAIN = ["ingest", "label", "flow", "normalize", "dataset"]


def register_pipelines() -> dict[str, Pipeline]:
    pipelines = find_pipelines(raise_errors=True)
    data = [pipelines[n] for n in DATA_CHAIN if n in pipelines]
    if data:
        pipelines["data"] = sum(data, Pipeline([]))
    pipelines["__default__"] = sum((pipelines[n] for n in CHAIN if n in pipelines), Pipeline([]))
    return pipelines
