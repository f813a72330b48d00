"""Multi-GPU (or multi-process CPU) training with DDP, launched by ``torchrun``::

    torchrun --standalone --nproc_per_node=4 -m v2v_pipeline.train_ddp [--env ENV] [--params "train.max_steps=20000"]

Rank 0 runs the Kedro ``train`` pipeline as usual (MLflow run, versioned outputs, model
registration). The other ranks load the same dataset through the Kedro catalog and join
the same DDP training, without writing anything. Each rank trains on its own shard of
every step's samples; gradients are averaged by ``torch.distributed`` (NCCL on GPUs,
Gloo on the CPU).
"""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "true")

log = logging.getLogger("v2v_pipeline.train_ddp")


def _runtime_params(text: str | None) -> dict:
    from kedro.framework.cli.utils import _split_params

    return _split_params(None, None, text) if text else {}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default=None, help="Kedro configuration environment")
    parser.add_argument("--params", default=None, help='runtime parameters, e.g. "train.max_steps=20000"')
    parser.add_argument("--project", default=".", help="project root")
    args = parser.parse_args(argv)
    if "WORLD_SIZE" not in os.environ:
        parser.error("launch with torchrun, e.g. `torchrun --standalone --nproc_per_node=2 -m v2v_pipeline.train_ddp`")

    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    project = Path(args.project).resolve()
    bootstrap_project(project)
    params = _runtime_params(args.params)
    rank = int(os.environ.get("RANK", "0"))
    with KedroSession.create(project_path=project, env=args.env, runtime_params=params) as session:
        if rank == 0:
            session.run(pipeline_names=["train"])
            return
        _follower(session)


def _follower(session) -> None:
    """A rank > 0: same data and parameters as rank 0, trains in lockstep, saves nothing."""
    from v2v_pipeline.config import parse
    from v2v_pipeline.params import TrainParams
    from v2v_pipeline.training.session import run_training

    context = session.load_context()
    catalog = context.catalog
    p = parse(TrainParams, context.params["train"], "train")
    run_training(p, catalog.load("dataset_archive"), catalog.load("dataset_frames"),
                 catalog.load("dataset_sequences"), catalog.load("dataset_manifest"), track=False)


if __name__ == "__main__":
    main()
