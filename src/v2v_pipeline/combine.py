"""Join per-video artifacts into the combined ones, exactly as one loop over the videos wrote them.

The pipelines run each video in its own Kedro namespace (``<video>.frames``, ``<video>.keypoints``, ...)
and small gather nodes build today's combined datasets from them, in the configured video order:
tables are concatenated, archives copied member by member (:class:`~v2v_pipeline.storage.ConcatContent`,
no image is decoded), so the combined files have the bytes a single loop gives.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

from v2v_pipeline.storage import Archive, ConcatContent

__all__ = ["concat_archives", "concat_tables", "groups", "merge_dicts", "records_table"]


def concat_tables(tables: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """Rows of every table in order, with a fresh index (``pd.concat(..., ignore_index=True)``)."""
    return pd.concat(list(tables), ignore_index=True)


def records_table(tables: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """One table from the rows of several, with the column types inferred over all rows, as
    ``pd.DataFrame(rows)`` infers them (a column that is null in one video's row and a number in
    another's is a float column, as when the rows were built together)."""
    return pd.DataFrame([row for t in tables for row in t.to_dict("records")])


def concat_archives(archives: Sequence[Archive]) -> ConcatContent:
    return ConcatContent(archives)


def merge_dicts(dicts: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for d in dicts:
        out.update(d)
    return out


def groups(parts: Sequence[Any], size: int) -> list[tuple[Any, ...]]:
    """``parts`` (the inputs of a gather node, ``size`` per video) as one tuple per video."""
    if len(parts) % size:
        raise ValueError(f"{len(parts)} inputs are not {size} per video")
    return [tuple(parts[i:i + size]) for i in range(0, len(parts), size)]
