"""Thin Kedro node for training; the work is in :mod:`v2v_pipeline.training`."""

from __future__ import annotations

from typing import Any

import pandas as pd

from v2v_pipeline.config import parse
from v2v_pipeline.datasets.torch_dataset import ModelRef
from v2v_pipeline.params import TrainParams
from v2v_pipeline.storage import Archive
from v2v_pipeline.tracking import as_mlflow_metrics
from v2v_pipeline.training.session import final_metrics, run_training


def train_model(params: dict[str, Any], archive: Archive, frames: pd.DataFrame, sequences: pd.DataFrame,
                manifest: dict[str, Any]):
    p = parse(TrainParams, params, "train")
    result = run_training(p, archive, frames, sequences, manifest)
    metrics = as_mlflow_metrics(final_metrics(result), result.model_file["step"])
    return result.model_file, result.history, result.samples, metrics, ModelRef(None, "")
