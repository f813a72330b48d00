"""vid2vid (Wang et al. 2018): ``G(last n labels, last n-1 outputs)`` = flow-warped previous frame
blended with a hallucinated one; image D, temporal D on frame windows (+ flows), flow and warp losses."""

from __future__ import annotations

from collections import deque

import torch
from torch import nn

from v2v_pipeline.flow.warp import warp
from v2v_pipeline.models.factory import Models
from v2v_pipeline.models.losses import flow_loss, masked_l1, warp_loss
from v2v_pipeline.models.vid2vid import gather_windows, stack_history, temporal_windows
from v2v_pipeline.recipes.base import BaseRecipe, GeneratorLosses


def new_state(config: dict | None = None) -> tuple[deque, deque]:
    n = (config or {}).get("n_frames_G", 3)
    return deque(maxlen=n), deque(maxlen=max(n - 1, 1))  # the last labels and outputs


def generate(g: nn.Module, x: torch.Tensor, state: tuple[deque, deque]) -> tuple[torch.Tensor, tuple]:
    """Inference step: the history is the last labels and the model's own outputs (oldest repeated at the start)."""
    labels, outputs = state
    labels.append(x)
    n = labels.maxlen
    out = g(stack_history(list(labels), n), stack_history(list(outputs), n - 1)).image
    outputs.append(out.float())
    return out, state


def compose_flows(flows: torch.Tensor) -> torch.Tensor:
    """Flow from the last to the first frame of a run, given per-step backward flows ``(B, k, 2, H, W)``
    (``flows[:, j]`` maps frame ``j+1`` to ``j``): ``f = b_k + warp(f_{<k}, b_k)``."""
    total = flows[:, -1]
    for j in range(flows.shape[1] - 2, -1, -1):
        total = total + warp(flows[:, j], total)
    return total


class Runner(nn.Module):
    """The sequence in one call. Training starts from real frames as history; a cold start begins from
    nothing, as inference does. vid2vid backpropagates through one frame: fed-back outputs are detached."""

    def __init__(self, generator: nn.Module):
        super().__init__()
        self.generator = generator

    def forward(self, labels: torch.Tensor, reals: torch.Tensor, cold: bool = False):
        g = self.generator
        start = 0 if cold else g.n_frames_G - 1
        outs = g.generate_sequence(labels, None if cold else reals[:, :start], detach_prev=True)
        flows = [o.flow for o in outs if o.flow is not None]
        return start, torch.stack([o.image for o in outs], 1), torch.stack(flows, 1)


class Recipe(BaseRecipe):
    name = "vid2vid"
    batchable = False
    Runner = Runner

    def temporal_scales(self, nets: Models) -> list[int]:
        dt = nets.temporal_discriminator
        return [s for s in range(len(dt.scales)) if temporal_windows(self.p.sequence_length, dt.n_frames_D, s)]

    def discriminators(self, nets: Models) -> dict[str, nn.Module]:  # only the temporal scales the length reaches
        return {"D": nets.discriminator} | {f"Dt{s}": nets.temporal_discriminator.scales[s]
                                            for s in self.temporal_scales(nets)}

    def generator_losses(self, run: nn.Module, D: nn.Module, networks, batch, step: int):
        w, every = self.terms.weights, self.p.cold_start_every
        labels, reals, flows, valid = batch["label"], batch["image"], batch["flow"], batch["valid"]
        out = GeneratorLosses(self.terms)
        start, fake, pred_flow = run(labels, reals, cold=bool(every) and step % every == 0)
        T = labels.shape[1]
        f0 = T - pred_flow.shape[1]  # frames from `start` on are generated; flows exist from `f0` on
        gl, gr, ff = labels[:, start:].flatten(0, 1), reals[:, start:].flatten(0, 1), fake.flatten(0, 1)
        out.adversarial("D", D, torch.cat([gl, ff], 1), torch.cat([gl, gr], 1), "G", w.gan)
        out.reconstruction(ff, gr)
        # flow: predicted vs reference (t -> t-1), and the predicted flow must warp the real previous frame onto t
        pred, ref, conf = pred_flow.flatten(0, 1), flows[:, f0:].flatten(0, 1), valid[:, f0:].flatten(0, 1)
        prev_real = reals[:, f0 - 1 : T - 1].flatten(0, 1)
        out.losses["G_flow"] = (flow_loss(pred, ref, conf)
                                + masked_l1(warp(prev_real, pred), reals[:, f0:].flatten(0, 1), conf)) * w.flow
        # temporal consistency: frame t against frame t-1 warped by the reference flow
        seq_fake = torch.cat([reals[:, :start], fake], 1)
        out.losses["G_warp"] = warp_loss(seq_fake[:, f0:].flatten(0, 1), seq_fake[:, f0 - 1 : T - 1].flatten(0, 1),
                                         ref, conf) * w.warp
        nets = networks.nets
        dt = nets.temporal_discriminator  # on frame windows (and the flows between them) at each temporal scale
        for s in self.temporal_scales(nets):
            windows = temporal_windows(T, dt.n_frames_D, s)
            wf = torch.cat([torch.stack([compose_flows(flows[:, a + 1 : c + 1]) for a, c in zip(win[:-1], win[1:])], 1)
                            for win in windows], 0)
            fake_in = dt.stack_input(gather_windows(seq_fake, windows), wf)
            real_in = dt.stack_input(gather_windows(reals, windows), wf)
            out.adversarial(f"Dt{s}", dt.scales[s], fake_in, real_in, f"Gt{s}", w.temporal_gan)
        return out.result()

    def images_per_sample(self, sequence_length: int, generator: nn.Module) -> int:
        return max(1, sequence_length - (generator.n_frames_G - 1))
