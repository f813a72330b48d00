"""Aggregation of per-frame metric tables."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

ID_COLUMNS = ("video", "frame", "pair", "person", "joint")
"""Columns that identify rows rather than measure something; skipped by :func:`summarize`."""


def summarize(
    per_frame: pd.DataFrame, columns: Iterable[str] | None = None, flat: bool = False
) -> dict:
    """Mean, median, sample std (ddof 1) and count of each metric column, ignoring NaN.

    ``columns`` defaults to every numeric (non-bool) column not in :data:`ID_COLUMNS`.
    Returns ``{column: {"mean", "median", "std", "count"}}``, or with ``flat=True``
    ``{"column/mean": ..., ...}`` (ready for MLflow ``log_metrics``). Statistics of a column
    without values are ``nan``; ``std`` needs two values. ``inf`` (e.g. the PSNR of an exact
    copy) is kept, so it shows up in the mean.
    """
    if columns is None:
        columns = [
            c
            for c in per_frame.columns
            if c not in ID_COLUMNS
            and pd.api.types.is_numeric_dtype(per_frame[c])
            and not pd.api.types.is_bool_dtype(per_frame[c])
        ]
    out: dict = {}
    for c in columns:
        if c not in per_frame.columns:
            raise KeyError(f"summarize: no column {c!r} (have {list(per_frame.columns)})")
        v = per_frame[c].astype(np.float64).dropna()
        stats = {
            "mean": float(v.mean()) if len(v) else float("nan"),
            "median": float(v.median()) if len(v) else float("nan"),
            "std": float(v.std(ddof=1)) if len(v) > 1 else float("nan"),
            "count": len(v),
        }
        if flat:
            out.update({f"{c}/{k}": val for k, val in stats.items()})
        else:
            out[c] = stats
    return out
