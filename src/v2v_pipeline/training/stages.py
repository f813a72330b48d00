"""Training stages as data: a plan of (name, share of the budget, what trains, LR span).

- ``global`` (coarse-to-fine): pix2pixHD's global generator G1 alone at half resolution;
- ``local_fixed``: the local enhancer with G1 frozen (pix2pixHD ``niter_fix_global``);
- ``full``: every network of the family;
- ``face`` (EDN): the face GAN on crops of the frozen body generator's output.

The learning rate follows the constant-then-linear schedule over each stage's ``lr_span``
(pix2pixHD decays per stage run; ``local_fixed`` and ``full`` share one span).
"""

from __future__ import annotations

from dataclasses import dataclass

from v2v_pipeline.params import TrainParams
from v2v_pipeline.training.schedule import constant_then_linear


@dataclass(frozen=True)
class Stage:
    name: str
    start: float  # share of the budget where the stage begins ...
    end: float  # ... and ends
    trains: tuple[str, ...]  # the networks that get gradients
    lr_span: tuple[float, float]  # the part of the budget the LR schedule runs over
    half_size: bool = False  # trains at half the training resolution (the global stage)
    freeze_global: bool | None = None  # LocalEnhancer: freeze G1 (True), unfreeze (False), leave (None)

    @property
    def share(self) -> float:
        return self.end - self.start

    def lr_factor(self, progress: float, decay_fraction: float) -> float:
        lo, hi = self.lr_span
        local = (progress - lo) / max(hi - lo, 1e-9)
        return constant_then_linear(1000, decay_fraction)(int(round(min(max(local, 0.0), 1.0) * 1000)))


def plan(p: TrainParams) -> list[Stage]:
    """The stages of a run in order (empty shares dropped)."""
    c2f, face = p.coarse_to_fine, p.face
    body_end = 1.0 - face.fraction if face.enabled else 1.0
    body = ("generator", "discriminator", "temporal_discriminator")
    stages: list[Stage] = []
    start = 0.0
    if c2f.enabled:
        g_end, fix_end = c2f.global_fraction, c2f.global_fraction + c2f.fix_global_fraction
        stages += [Stage("global", 0.0, g_end, ("global_generator", "discriminator"), (0.0, min(g_end, body_end)),
                         half_size=True),
                   Stage("local_fixed", g_end, fix_end, body, (g_end, body_end), freeze_global=True)]
        start = fix_end
    stages.append(Stage("full", start, body_end, body, (c2f.global_fraction if c2f.enabled else 0.0, body_end),
                        freeze_global=False if c2f.enabled else None))
    if face.enabled:
        stages.append(Stage("face", body_end, 1.0, ("face_generator", "face_discriminator"), (body_end, 1.0)))
    return [s for s in stages if s.end > s.start]


def stage_at(stages: list[Stage], progress: float) -> Stage:
    """The stage at ``progress`` (the last one from its start on; at 1.0 the last stage)."""
    for s in stages:
        if progress < s.end:
            return s
    return stages[-1]


def by_name(stages: list[Stage], name: str) -> Stage:
    for s in stages:
        if s.name == name:
            return s
    raise ValueError(f"stage {name!r} is not in this run's plan ({[s.name for s in stages]}); the checkpoint was "
                     "written with other train.coarse_to_fine / train.face settings")
