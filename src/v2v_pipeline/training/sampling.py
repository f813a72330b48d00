"""Which samples each step uses, and the batches of a run moved to the device at the stage's size."""

from __future__ import annotations

import torch

from v2v_pipeline.training.data import SequenceDataset, resize_item


class SampleSchedule:
    """Which samples step ``s`` uses: a fresh seeded permutation per epoch, sliced per rank.

    Depends only on (seed, step, rank), never on state, so resuming at step ``s`` replays
    exactly the batches an uninterrupted run would have seen.
    """

    def __init__(self, n: int, batch: int, seed: int, rank: int = 0, world: int = 1):
        if n < 1:
            raise ValueError("no training samples")
        self.n, self.batch, self.seed, self.rank, self.world = n, batch, seed, rank, world
        self._cache: dict[int, torch.Tensor] = {}

    def _perm(self, epoch: int) -> torch.Tensor:
        if epoch not in self._cache:
            self._cache = {e: torch.randperm(self.n, generator=torch.Generator().manual_seed(self.seed * 100003 + e))
                           for e in (epoch, epoch + 1)}
        return self._cache[epoch]

    def indices(self, step: int) -> list[int]:
        first = (step * self.world + self.rank) * self.batch
        return [int(self._perm(g // self.n)[g % self.n]) for g in range(first, first + self.batch)]


class StepBatches(torch.utils.data.Sampler):
    """Batch sampler for a DataLoader: the sample indices of steps ``start .. end - 1`` (see SampleSchedule)."""

    def __init__(self, schedule: SampleSchedule, start: int, end: int):
        self.schedule, self.start, self.end = schedule, start, end

    def __iter__(self):
        return (self.schedule.indices(step) for step in range(self.start, self.end))

    def __len__(self) -> int:
        return max(0, self.end - self.start)


def stack_items(items: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    return {k: torch.stack([it[k] for it in items]) for k in items[0]}


def step_batches(data: SequenceDataset, schedule: SampleSchedule, start: int, end: int, workers: int,
                 device: torch.device):
    """Batches of steps ``start .. end - 1`` in step order (workers read frames from disk when the dataset is
    too large to keep in memory; in memory they would only add copies)."""
    workers = workers if not isinstance(data.t.images, torch.Tensor) else 0
    return iter(torch.utils.data.DataLoader(
        data, batch_sampler=StepBatches(schedule, start, end), num_workers=workers, collate_fn=stack_items,
        pin_memory=device.type == "cuda", prefetch_factor=4 if workers else None, persistent_workers=False))


def to_device(batch: dict[str, torch.Tensor], device: torch.device, size: tuple[int, int]) -> dict[str, torch.Tensor]:
    """Move a batch to the device at ``size=(w, h)`` (the global stage trains at half size)."""
    batch = {k: v.to(device, non_blocking=True) for k, v in batch.items()}
    if batch["image"].shape[-2:] != (size[1], size[0]):
        b, t = batch["label"].shape[:2]
        flat = {k: (v.flatten(0, 1) if v.dim() > 2 else v.reshape(b * t, -1)) for k, v in batch.items() if k != "frame"}
        flat = resize_item(flat, size)
        batch = {k: v.reshape(b, t, *v.shape[1:]) for k, v in flat.items()} | {"frame": batch["frame"]}
    return batch
