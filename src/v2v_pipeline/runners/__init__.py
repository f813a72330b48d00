"""Kedro runners of the project: ``kedro run --runner=v2v_pipeline.runners.DaskRunner``."""

from .dask_runner import DaskRunner

__all__ = ["DaskRunner"]
