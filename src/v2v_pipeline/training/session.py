"""Set up a training run from the dataset artifacts: tensors in memory, the run key, the trainer."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from v2v_pipeline import runtime
from v2v_pipeline.config import to_dict
from v2v_pipeline.params import TrainParams
from v2v_pipeline.storage import Archive, sha256_file
from v2v_pipeline.training import distributed as dist_utils
from v2v_pipeline.training.build import find_sequences
from v2v_pipeline.training.data import frame_bytes, load_frames
from v2v_pipeline.training.trainer import Trainer, TrainResult

log = logging.getLogger(__name__)

OUTPUTS = ("model data/06_models/generator.pt, samples data/08_reporting/training_samples.png, "
           "losses and validation in MLflow (`make mlflow-ui` or .venv/bin/v2v-runs list)")

def run_key(p: TrainParams, dataset_sha256: str) -> str:
    """Checkpoints live under a key of (model parameters, dataset): re-running the same command resumes,
    changing the data or the recipe starts afresh. The budget (max_steps / max_minutes) is not part of
    the key, so a finished run can be extended by raising it."""
    skip = {f.name for f in fields(p) if f.metadata.get("semantic", True) is False}  # marked on the fields
    semantic = {k: v for k, v in to_dict(p).items() if k not in skip}
    blob = json.dumps({"params": semantic, "dataset": dataset_sha256}, sort_keys=True, default=str)
    return f"{p.model}_{hashlib.sha256(blob.encode()).hexdigest()[:12]}"


def _check_manifest(archive: Archive, manifest: dict[str, Any], max_bytes: int = 2 << 30) -> None:
    """The manifest must describe this archive (a failed dataset run could leave an old manifest)."""
    size = archive.path.stat().st_size
    if size > max_bytes:
        log.info("dataset archive is %.1f GB: skipping its SHA-256 check against the manifest", size / 1e9)
        return
    if sha256_file(archive.path) != manifest.get("archive_sha256"):
        raise ValueError(f"dataset_manifest does not describe {archive.path} (different SHA-256): the dataset "
                         "pipeline did not finish; re-run `kedro run --pipelines=dataset`")


def prepare_training(p: TrainParams, archive: Archive, frames: pd.DataFrame, sequences: pd.DataFrame,
                     manifest: dict[str, Any], info: dist_utils.DistInfo,
                     on_log: Callable[[dict, int], None] | None = None,
                     on_image: Callable[[np.ndarray, int], None] | None = None, outputs: str = "") -> Trainer:
    _check_manifest(archive, manifest)
    numbers = {split: frames.loc[frames.split == split, "frame"].to_numpy() for split in ("train", "val")}
    need = sum(frame_bytes(archive, n) for n in numbers.values())
    in_memory = need <= p.preload_max_gb * 1e9
    log.info("dataset: %.2f GB decoded; %s", need / 1e9, "loading it into memory" if in_memory else
             "reading frames from the archive (over train.preload_max_gb)")
    threads, workers = runtime.split_cpus(p.threads, p.num_workers, need_workers=not in_memory)
    runtime.set_threads(threads)
    if not info.enabled and runtime.pick_device(p.device).type == "cpu":  # DDP ranks would see each other as busy
        runtime.warn_if_contended(threads, p.threads, "training")
    runtime.seed_everything(p.seed + info.rank)
    log.info("%d torch thread(s) of %d CPU(s) this process may use%s", threads, runtime.available_cpus(),
             f", {workers} data worker(s)" if not in_memory else "")
    splits = {split: load_frames(archive, frames, n, desc=f"load {split}", in_memory=in_memory) if len(n) else None
              for split, n in numbers.items()}
    if splits["train"] is None:
        raise ValueError("the dataset has no training frames; check ingest.split and the label pipeline")
    # every window of the training length (the stored sequences are for longer windows)
    train_seq = find_sequences(frames[frames.split == "train"], p.sequence_length)
    if train_seq.empty:
        raise ValueError(f"no run of {p.sequence_length} consecutive training frames with a person; lower "
                         "train.sequence_length or check the label pipeline's person detection")
    del sequences  # kept in the signature: the dataset's stored sequences are the catalog's record
    run_dir = Path(p.checkpoint_dir) / run_key(p, manifest["sha256"])
    log.info("run directory %s (re-running the same command resumes from its newest checkpoint)", run_dir)
    return Trainer(p, splits["train"], train_seq, splits["val"], run_dir, manifest["sha256"],
                   on_log=on_log if info.is_main else None, on_image=on_image if info.is_main else None,
                   dist_info=info, run_id=_active_run_id(), outputs=outputs)


def _active_run_id() -> str:
    """The active MLflow run's id (stored in checkpoints so a resumed run can name the run it continues)."""
    try:
        import mlflow
    except ImportError:  # pragma: no cover
        return ""
    run = mlflow.active_run()
    return run.info.run_id if run is not None else ""


def run_training(p: TrainParams, archive: Archive, frames: pd.DataFrame, sequences: pd.DataFrame,
                 manifest: dict[str, Any], track: bool = True) -> TrainResult:
    """Train (one process or one DDP rank), log to the active MLflow run and, on rank 0, export the model.

    ``track=False`` (the other DDP ranks) trains in lockstep without logging or exporting anything.
    """
    from v2v_pipeline import tracking

    info = dist_utils.setup(p.device)
    try:
        def on_image(grid, step: int) -> None:
            tracking.log_image(grid, f"samples/step_{step:07d}.png")

        trainer = prepare_training(p, archive, frames, sequences, manifest, info,
                                   on_log=tracking.log_metrics if track else None, on_image=on_image if track else None,
                                   outputs=OUTPUTS)
        resumed_from = trainer.resume()
        if track and info.is_main:
            if resumed_from:  # the killed or finished run this one continues
                tracking.set_tags({"resumed_from": resumed_from})
            tracking.set_tags({"dataset_sha256": manifest["sha256"], "train.run_key": trainer.ckpt.directory.name,
                               "train.model": p.model,
                               "train.vgg_loss": "on" if trainer.vgg_active else "off (no weights)",
                               "train.perceptual_network": trainer.perceptual.network,
                               "train.device": str(trainer.device), "train.precision": trainer.precision,
                               "train.compile": str(trainer.runtime.compile).lower(),
                               "train.world_size": info.world_size})
            # a compile that fails at the first step falls back to eager (training.networks); say so in the run
            trainer.networks.on_compile_fallback = lambda status: tracking.set_tags({"train.compile_status": status})
            tracking.log_params(trainer.runtime.mlflow_params())
            tracking.log_params({"train/perceptual_network": trainer.perceptual.network,
                                 "train/perceptual_reason": trainer.perceptual.reason[:500]})
        result = trainer.fit()
        if track and info.is_main and trainer.runtime.compile:
            tracking.set_tags({"train.compile_status": trainer.networks.compile_status})
    finally:
        dist_utils.cleanup()
    if track and info.is_main:
        from v2v_pipeline.mlflow_model import export_model_file

        export_model_file(result.model_file, p.registered_model_name)
    return result


def final_metrics(result: TrainResult) -> dict[str, float]:
    """The last validation and baseline scores, named ``final_<metric>``."""
    return {f"final_{k}": v for k, v in result.summary.items() if k.startswith(("val_", "baseline_"))}
