"""Adapters: the ONLY place where the benchmarks call the project's training and inference code.

Everything else in benchmarks/ is written against these few functions, so when the trainer or the
generator API changes, only this file needs adapting. Each adapter takes plain values (a recipe's
`train` dict, a synthetic clip, a precision string) and returns a small object the suite drives.
"""

from __future__ import annotations

import tempfile
from typing import Any

import numpy as np
import pandas as pd
import torch

from _data import Clip  # noqa: E402


def resolved_precision(device: str, precision: str) -> str:
    """What the project turns ``precision`` into on ``device`` (e.g. auto -> bf16)."""
    from v2v_pipeline.inference import pick_device, resolve_precision

    return resolve_precision(pick_device(device), precision)


class ProjectTrainer:
    """One project training step at a time, on in-memory tensors, with the sample indices the caller picks.

    The trainer gets the suite's current torch thread count explicitly (``--clock cpu`` sets 1), so a
    trainer that picks its own threads (e.g. from the affinity mask) cannot change the measurement.
    """

    def __init__(self, train: dict[str, Any], clip: Clip, precision: str = "auto", device: str = "cpu",
                 seed: int = 0, **overrides: Any):
        from v2v_pipeline.config import parse
        from v2v_pipeline.params import TrainParams
        from v2v_pipeline.training.build import find_sequences
        from v2v_pipeline.training.data import FrameTensors
        from v2v_pipeline.training.trainer import Trainer

        self._tmp = tempfile.TemporaryDirectory(prefix="v2v-bench-")
        data = {**train, "precision": precision, "device": device, "seed": seed, "scale": 1.0, "vgg_weights": None,
                "threads": torch.get_num_threads(), "resume": False, "checkpoint_dir": self._tmp.name, "registered_model_name": None,
                "max_steps": 10**9, "max_minutes": None, **overrides}
        p = parse(TrainParams, data, "train")
        n = len(clip)
        w, h = clip.size
        tensors = FrameTensors(
            frames=np.arange(n), labels=clip.labels, images=clip.images, flows=clip.flows, valid=clip.valid,
            face_boxes=torch.full((n, 4), float("nan")),
            person_boxes=torch.tensor([[0, 0, w, h]], dtype=torch.float32).repeat(n, 1))
        table = pd.DataFrame({"frame": np.arange(n), "split": "train", "found": True})
        from v2v_pipeline.runtime import seed_everything
        from v2v_pipeline.training.stages import stage_at

        seed_everything(seed)  # the entry point's job (the Trainer does not seed), as the baseline seeds itself
        t = self.trainer = Trainer(p, tensors, find_sequences(table, p.sequence_length), None, self._tmp.name)
        stage = stage_at(t.plan, 0.0)  # the stage the loop starts in, with its learning rate
        t._setup(stage)
        t.networks.set_lr(stage.lr_factor(0.0, p.decay_fraction))
        self.precision = t.precision
        self.n_samples = len(self.trainer.train_data)

    @property
    def compile_status(self) -> str:
        """``off``, ``compiled``, ``eager (torch.compile failed: ...)`` or, before the first step, pending."""
        t = self.trainer
        if not t.runtime.compile:
            return "off" if not t.p.compile else f"off ({t.runtime.compile_reason})"
        return t.networks.compile_status

    def step(self, indices: list[int]) -> dict[str, float]:
        """One generator + discriminator update on samples ``indices`` (sample i = the run starting at frame i)."""
        from v2v_pipeline.training.sampling import stack_items, to_device

        t = self.trainer
        batch = to_device(stack_items([t.train_data[i] for i in indices]), t.device, t.full_size)
        for m in (t.networks.G_run, t.networks.D_step):
            m.train()
        losses = t.train_step(batch).losses
        t.step += 1
        return {"G_total": losses["G_total"], "D_loss": sum(v for k, v in losses.items() if k.startswith("D"))}

    def close(self) -> None:
        self._tmp.cleanup()


def make_project_trainer(train: dict[str, Any], clip: Clip, precision: str = "auto", device: str = "cpu",
                         seed: int = 0, **overrides: Any) -> ProjectTrainer:
    return ProjectTrainer(train, clip, precision, device, seed, **overrides)


class ProjectGenerator:
    """The project's inference path (FrameGenerator) for a generator state dict."""

    def __init__(self, model: dict[str, Any], precision: str = "auto", device: str = "cpu", compile: bool = False):
        """``model``: a model file's contents (``inference.FORMAT``), e.g. from :func:`project_generator`."""
        from v2v_pipeline.inference import FrameGenerator
        from v2v_pipeline.runtime import choose_compile, pick_device

        # as transfer does: runtime.choose_compile decides whether this machine can compile at all
        self.compile, self.compile_reason = choose_compile(pick_device(device), compile)
        self.gen = FrameGenerator(model, device=device, precision=precision, compile=self.compile)
        self.precision = resolved_precision(device, precision)
        self.batchable = self.gen.batchable

    @classmethod
    def from_model_file(cls, path: Any, precision: str = "auto", device: str = "cpu",
                        compile: bool = False) -> ProjectGenerator:
        """The generator of a model file that training exported (its config, weights and size)."""
        from v2v_pipeline.inference import load_model_file

        return cls(load_model_file(str(path)), precision, device, compile)

    @property
    def compile_status(self) -> str:
        """``off``, ``pending``, ``compiled`` or ``eager (torch.compile failed: ...)``."""
        if not self.compile:
            return "off" if self.compile_reason == "compile: false" else f"off ({self.compile_reason})"
        return getattr(self.gen.generator, "status", "off")

    def clip(self, labels: list[np.ndarray], batch_size: int = 1, feed: torch.Tensor | None = None) -> np.ndarray:
        """uint8 ``(N, H, W, 3)`` frames for uint8 label maps ``(H, W, 3)``, state reset at the start.

        ``feed`` float ``(N, 3, H, W)`` (EDN, vid2vid): teacher forcing; after frame ``t`` the previous output in
        the generator's temporal state is replaced by ``feed[t]`` (e.g. the eager-fp32 baseline's output), so each
        frame measures one step's numerical error instead of the error fed back and amplified over the clip.
        """
        if feed is None or self.gen.batchable:
            return np.stack(list(self.gen.generate_clip(labels, batch_size=batch_size)))
        g, frames = self.gen, []
        g.reset()
        for t, label in enumerate(labels):
            frames.append(g.generate(label)[0])
            g._state = _fed_state(g.family, g._state, feed[t : t + 1].to(g.device))
        return np.stack(frames)


def _fed_state(family: str, state: Any, output: torch.Tensor) -> Any:
    """``state`` (the recipe's temporal state after a frame) with its newest output replaced by ``output``."""
    if family == "edn":  # (previous output, previous label)
        return output, state[1]
    if family == "vid2vid":  # (deque of labels, deque of outputs)
        state[1].pop()
        state[1].append(output)
        return state
    raise ValueError(f"family {family!r} has no fed-back output")


def project_generator(config: dict[str, Any], state: dict[str, torch.Tensor], size: tuple[int, int],
                      precision: str = "auto", device: str = "cpu", compile: bool = False) -> ProjectGenerator:
    from v2v_pipeline.inference import FORMAT

    model = {"format": FORMAT, "model_config": config, "generator": state, "face_generator": None,
             "size": list(size), "label_channels": int(config.get("label_ch", 3)), "step": 0}
    return ProjectGenerator(model, precision, device, compile)
