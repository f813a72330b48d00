"""Multi-GPU / multi-process training with ``torch.distributed`` (DDP launched by ``torchrun``).

``torchrun --nproc_per_node=4 -m v2v_pipeline.train_ddp`` sets RANK / WORLD_SIZE / LOCAL_RANK;
:func:`setup` reads them, picks NCCL on CUDA and Gloo on the CPU, and each process trains
on its own slice of every step's samples (``trainer.SampleSchedule``). Without those
variables everything runs in one process and these helpers are no-ops.
"""

from __future__ import annotations

import datetime
import logging
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from v2v_pipeline import runtime

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def setup(device: str = "auto", backend: str | None = None, timeout_s: int = 1800) -> DistInfo:
    """Initialise the process group when launched by torchrun; choose the device."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = runtime.pick_device(device).type == "cuda"  # a clear error when cuda is asked for and absent
    dev = torch.device(f"cuda:{local}" if use_cuda else "cpu")
    if use_cuda:
        torch.cuda.set_device(dev)
    if world > 1 and not dist.is_initialized():
        backend = backend or ("nccl" if use_cuda else "gloo")
        dist.init_process_group(backend, rank=rank, world_size=world, timeout=datetime.timedelta(seconds=timeout_s))
        log.info("DDP: rank %d of %d on %s (%s)", rank, world, dev, backend)
    return DistInfo(rank, world, local, dev)


def cleanup() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def all_reduce_mean(values: dict[str, float], info: DistInfo) -> dict[str, float]:
    """Average scalar metrics over ranks (for logging)."""
    if not info.enabled or not values:
        return values
    keys = sorted(values)
    t = torch.tensor([float(values[k]) for k in keys], dtype=torch.float64, device=info.device)
    dist.all_reduce(t)
    t /= info.world_size
    return dict(zip(keys, t.tolist()))


def _reduce_scalar(value: float, info: DistInfo, op) -> float:
    t = torch.tensor([float(value)], dtype=torch.float64, device=info.device)
    dist.all_reduce(t, op=op)
    return float(t.item())


def all_ranks(flag: bool, info: DistInfo) -> bool:
    """True only if ``flag`` is true on every rank (e.g. 'this step is finite': all skip or none)."""
    if not info.enabled:
        return flag
    return _reduce_scalar(1.0 if flag else 0.0, info, dist.ReduceOp.MIN) > 0


def max_over_ranks(value: float, info: DistInfo) -> float:
    """The largest ``value`` over ranks (keeps wall-clock budgets and stage switches in lockstep)."""
    if not info.enabled:
        return value
    return _reduce_scalar(value, info, dist.ReduceOp.MAX)


def barrier(info: DistInfo) -> None:
    if info.enabled:
        dist.barrier()
