"""Exponential moving average of the generator, on :class:`torch.optim.swa_utils.AveragedModel`.

The decay warms up as TensorFlow's ``ExponentialMovingAverage(num_updates=step)``:
``d = min(decay, (1 + step) / (10 + step))``, so early on the average follows the weights
instead of staying near the random initialisation. Buffers (e.g. the background plate) are
copied, not averaged.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel


class EMA:
    def __init__(self, model: nn.Module, decay: float):
        self.decay = decay
        self._d = decay
        # multi_avg_fn: one foreach lerp in place over all parameters, as torch's own get_ema_multi_avg_fn (whose
        # decay is fixed; ours warms up); avg_fn would lerp into a new tensor and copy it back, parameter by parameter
        self.averaged = AveragedModel(model, multi_avg_fn=self._average, use_buffers=False)
        self.averaged.n_averaged.fill_(1)  # the copy is the first average: every update blends (no plain copy)
        self.averaged.eval()
        for p in self.averaged.parameters():
            p.requires_grad_(False)

    def _average(self, averaged: list[torch.Tensor], current: list[torch.Tensor], n_averaged) -> None:
        torch._foreach_lerp_(averaged, current, 1 - self._d)

    @property
    def module(self) -> nn.Module:
        """The averaged generator (same class and state-dict keys as the trained one)."""
        return self.averaged.module

    @torch.no_grad()
    def update(self, model: nn.Module, step: int) -> None:
        self._d = min(self.decay, (1 + step) / (10 + step))
        self.averaged.update_parameters(model)

    def state_dict(self) -> dict:
        return self.module.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.module.load_state_dict(state)
