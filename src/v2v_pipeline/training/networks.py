"""The networks of a training run and, per stage, which of them train (wrappers, optimizers, EMA)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from v2v_pipeline.fastpath import CompiledModule
from v2v_pipeline.models.background import BackgroundComposite
from v2v_pipeline.models.factory import CommonConfig, build_models
from v2v_pipeline.params import TrainParams
from v2v_pipeline.training.ema import EMA
from v2v_pipeline.recipes.base import DiscriminatorStep
from v2v_pipeline.training.stages import Stage

log = logging.getLogger(__name__)


def unwrap(m: nn.Module) -> nn.Module:
    return m.module if isinstance(m, nn.parallel.DistributedDataParallel) else m


def set_requires_grad(modules, flag: bool) -> None:
    for m in modules:
        if m is not None:
            for p in m.parameters():
                p.requires_grad_(flag)


def background_module(generator: nn.Module) -> BackgroundComposite:
    g = unwrap(generator)
    g = g if isinstance(g, BackgroundComposite) else getattr(g, "generator", None)
    if not isinstance(g, BackgroundComposite):
        raise TypeError("network.background is on but the generator has no background plate")
    return g


class StageNetworks:
    """Builds the family's networks (plus pix2pixHD's G1 for coarse-to-fine) and sets up each stage."""

    def __init__(self, p: TrainParams, net: CommonConfig, device: torch.device, dist, plate: torch.Tensor | None,
                 compile: bool | None = None, on_compile_fallback: Callable[[str], None] | None = None):
        self.p, self.net, self.device, self.dist = p, net, device, dist
        # torch.compile the generator step: the runtime's decision (runtime.choose_compile), else train.compile
        self.compile = p.compile if compile is None else compile
        self.on_compile_fallback = on_compile_fallback
        self.compiled: CompiledModule | None = None  # the current stage's compiled generator step
        self.compile_status = "compiled when the first step runs" if self.compile else "off"
        self.config = net.to_dict()
        self.nets = build_models(self.config)
        if plate is not None:
            background_module(self.nets.generator).set_plate(plate)
        self.global_generator: nn.Module | None = None  # coarse-to-fine: G1 trained alone at half size
        if p.coarse_to_fine.enabled:
            self.global_generator = build_models({**self.config, "local_enhancer": False}).generator
        self.ema: EMA | None = None
        self.stage: Stage | None = None

    def generator_module(self) -> nn.Module:
        g = unwrap(self.nets.generator)
        return g.generator if hasattr(g, "generator") else g

    def body(self) -> nn.Module:
        """The body generator as exported (the EMA copy when there is one)."""
        return self.ema.module if self.ema is not None else unwrap(self.nets.generator)

    def setup(self, stage: Stage, recipe, step: int) -> None:
        """(Re)build which networks train, their DDP wrappers and optimizers for ``stage``."""
        previous, self.stage = self.stage, stage
        if previous is not None and previous.name == "global" and stage.name != "global":
            g1 = unwrap(self.global_generator)
            g1 = g1.generator if hasattr(g1, "generator") else g1
            self.generator_module().load_global_state_dict(g1.state_dict())
        for m in [*self.nets.named().values(), self.global_generator]:
            if m is not None:
                m.to(self.device)
        set_requires_grad([self.nets.generator], stage.name != "face")  # the body is frozen while faces train
        named = {"generator": self.nets.generator, "global_generator": self.global_generator,
                 "face_generator": self.nets.face_generator}
        self.G = named[stage.trains[0]]
        self.D = getattr(self.nets, stage.trains[1])
        run, discs = recipe.runner(self.G), recipe.discriminators(self.nets)
        if stage.freeze_global is not None:
            self.generator_module().freeze_global(stage.freeze_global)
        self.G_run, self.D_step = run, DiscriminatorStep(discs)
        if self.p.channels_last:
            for m in (self.G_run, self.D_step):
                m.to(memory_format=torch.channels_last)
        self.opt_G = self._adam(self.G_run.parameters(), self.p.lr)
        self.opt_D = self._adam(self.D_step.parameters(), self.p.lr_D or self.p.lr)
        if self.dist.enabled:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.G_run = nn.parallel.DistributedDataParallel(self.G_run, device_ids=ids, broadcast_buffers=False)
            self.D_step = nn.parallel.DistributedDataParallel(self.D_step, device_ids=ids, broadcast_buffers=False)
        self.compiled: CompiledModule | None = None
        if self.compile:
            self.G_run = self.compiled = CompiledModule(self.G_run, f"the {stage.name} stage's generator step",
                                                        self._compile_failed)
            if self.compiled.status == "pending":  # (else torch.compile itself failed and it has fallen back)
                self.compile_status = "compiled when the first step runs"
        set_requires_grad([self.D_step], False)
        after_global = previous is not None and previous.name == "global"
        if self.p.ema_decay > 0 and stage.name != "face" and (self.ema is None or after_global):
            self.ema = EMA(unwrap(self.G), self.p.ema_decay)
        if previous is not None:
            log.info("training stage: %s -> %s at step %d", previous.name, stage.name, step)

    def _compile_failed(self, status: str) -> None:
        """A stage's compile fell back to eager: later stages run eagerly too (the same compiler would fail)."""
        self.compile, self.compile_status = False, status
        if self.on_compile_fallback is not None:
            self.on_compile_fallback(status)

    def confirm_compiled(self) -> None:
        """The first step ran compiled, forward and backward."""
        if self.compiled is not None and self.compiled.compiled:
            self.compile_status = "compiled"

    def _adam(self, params, lr: float) -> torch.optim.Adam:
        # fused: one kernel per parameter instead of foreach's seven passes over memory. On the CPU this was
        # measured on an Intel Xeon with AMX (bf16 steps, 2026-12-07): default recipe 3.44 -> 3.95 steps/s,
        # pix2pixHD faithful 2.52 -> 3.42. The same maths as foreach: bit-identical on plain tensors there, losses
        # 1e-7 apart over the golden test's steps (its reference was regenerated for this); the test
        # tests/training/test_trainer.py::test_fused_adam_is_foreach_adam_to_rounding allows rounding
        kwargs: dict[str, Any] = {"lr": lr, "betas": (self.p.beta1, self.p.beta2), "fused": True}
        # all parameters: frozen ones (niter_fix_global) have no grad and Adam skips them
        return torch.optim.Adam(list(params), **kwargs)

    def set_lr(self, factor: float) -> None:
        for opt, base in ((self.opt_G, self.p.lr), (self.opt_D, self.p.lr_D or self.p.lr)):
            for group in opt.param_groups:
                group["lr"] = base * factor

    def exported(self) -> tuple[dict[str, Any], nn.Module, bool]:
        """(model config, generator, half size) of the current stage's export (G1 alone in the global stage)."""
        if self.stage is not None and self.stage.name == "global":
            g = self.ema.module if self.ema is not None else unwrap(self.global_generator)
            return {**self.config, "local_enhancer": False}, g, True
        return self.config, self.body(), False

    def state_dict(self) -> dict[str, Any]:
        state = {"nets": {k: unwrap(m).state_dict() for k, m in self.nets.named().items()},
                 "opt_G": self.opt_G.state_dict(), "opt_D": self.opt_D.state_dict()}
        if self.global_generator is not None:
            state["global_generator"] = unwrap(self.global_generator).state_dict()
        if self.ema is not None:
            state["ema"] = self.ema.state_dict()
        return state

    def load_weights(self, state: dict[str, Any]) -> None:
        for k, m in self.nets.named().items():
            unwrap(m).load_state_dict(state["nets"][k])
        if self.global_generator is not None and "global_generator" in state:
            unwrap(self.global_generator).load_state_dict(state["global_generator"])
        self.stage, self.ema = None, None  # the stage is set up again, with a fresh EMA copy to restore into

    def load_optimizers(self, state: dict[str, Any]) -> None:
        self.opt_G.load_state_dict(state["opt_G"])
        self.opt_D.load_state_dict(state["opt_D"])
        if "ema" in state:
            if self.ema is None:  # resumed in the face stage: the body's average still exists
                self.ema = EMA(unwrap(self.nets.generator), self.p.ema_decay)
            self.ema.load_state_dict(state["ema"])
