"""Set up a training run from the dataset artifacts: tensors in memory, the run key, the trainer."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from v2v_pipeline.config import to_dict
from v2v_pipeline.params import TrainParams
from v2v_pipeline.storage import Archive
from v2v_pipeline.training import distributed as dist_utils
from v2v_pipeline.training.data import load_frames
from v2v_pipeline.training.trainer import Trainer

log = logging.getLogger(__name__)

# parameters that do not change what is trained (changing them keeps the same checkpoints)
_NON_SEMANTIC = {"max_steps", "max_minutes", "checkpoint_every", "keep_checkpoints", "resume", "log_every",
                 "val_every", "val_frames", "threads", "registered_model_name", "device",
                 "checkpoint_dir"}


def run_key(p: TrainParams, dataset_sha256: str) -> str:
    """Checkpoints live under a key of (model parameters, dataset): re-running the same command resumes,
    changing the data or the recipe starts afresh. The budget (max_steps / max_minutes) is not part of
    the key, so a finished run can be extended by raising it."""
    semantic = {k: v for k, v in to_dict(p).items() if k not in _NON_SEMANTIC}
    blob = json.dumps({"params": semantic, "dataset": dataset_sha256}, sort_keys=True, default=str)
    return f"{p.model}_{hashlib.sha256(blob.encode()).hexdigest()[:12]}"


def prepare_training(p: TrainParams, archive: Archive, frames: pd.DataFrame, sequences: pd.DataFrame,
                     manifest: dict[str, Any], info: dist_utils.DistInfo,
                     on_log: Callable[[dict, int], None] | None = None,
                     on_image: Callable[[np.ndarray, int], None] | None = None) -> Trainer:
    splits = {}
    for split in ("train", "val"):
        numbers = frames.loc[frames.split == split, "frame"].to_numpy()
        splits[split] = load_frames(archive, frames, numbers, desc=f"load {split}") if len(numbers) else None
    if splits["train"] is None:
        raise ValueError("the dataset has no training frames; check ingest.split and the label pipeline")
    train_seq = sequences[sequences.split == "train"]
    val_seq = sequences[sequences.split == "val"]
    run_dir = Path(p.checkpoint_dir) / run_key(p, manifest["sha256"])
    log.info("run directory %s (checkpoints every %d steps; re-running the same command resumes)", run_dir,
             p.checkpoint_every)
    return Trainer(p, splits["train"], train_seq, splits["val"], val_seq, run_dir, manifest["sha256"],
                   on_log=on_log if info.is_main else None, on_image=on_image if info.is_main else None,
                   dist_info=info)
