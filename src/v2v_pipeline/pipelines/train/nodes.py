"""Thin Kedro node for training; the work is in :mod:`v2v_pipeline.training`."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from v2v_pipeline.config import parse
from v2v_pipeline.datasets.torch_dataset import ModelRef
from v2v_pipeline.params import TrainParams
from v2v_pipeline.storage import Archive
from v2v_pipeline.tracking import as_mlflow_metrics, log_image, log_metrics, set_tags
from v2v_pipeline.training import distributed as dist_utils
from v2v_pipeline.training.session import prepare_training

log = logging.getLogger(__name__)


def train_model(params: dict[str, Any], archive: Archive, frames: pd.DataFrame, sequences: pd.DataFrame,
                manifest: dict[str, Any]):
    p = parse(TrainParams, params, "train")
    info = dist_utils.setup(p.device)
    trainer = prepare_training(p, archive, frames, sequences, manifest, info, on_log=log_metrics,
                               on_image=lambda grid, step: log_image(grid, f"samples/step_{step:07d}.png"))
    set_tags({"dataset_sha256": manifest["sha256"], "train.run_key": trainer.ckpt.directory.name,
              "train.model": p.model, "train.vgg_loss": "on" if trainer.vgg_active else "off (no weights)",
              "train.device": str(trainer.device), "train.precision": trainer.precision,
              "train.world_size": info.world_size})
    try:
        result = trainer.fit()
    finally:
        dist_utils.cleanup()
    if info.is_main:
        import mlflow
        import torch

        from v2v_pipeline.mlflow_model import log_and_register

        if mlflow.active_run() is not None:
            result.model_file["mlflow_run_id"] = mlflow.active_run().info.run_id
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "generator.pt"
            torch.save(result.model_file, path)
            uri = log_and_register(str(path), p.registered_model_name)
            if uri:
                registered = f"registered as '{p.registered_model_name}'" if p.registered_model_name else "not registered"
                log.info("model logged to MLflow as %s (%s)", uri, registered)
    metrics = as_mlflow_metrics({f"final_{k}": v for k, v in result.summary.items()
                                 if k.startswith(("val_", "baseline_"))}, result.model_file["step"])
    return result.model_file, result.history, result.samples, metrics, ModelRef(None, "")
