"""Stages and their budget shares, the wall-clock budget, EMA, coarse-to-fine and the EDN face stage."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from tests.training.synthetic import synthetic_frames, synthetic_sequences
from v2v_pipeline import runtime
from v2v_pipeline.config import parse
from v2v_pipeline.inference import FrameGenerator
from v2v_pipeline.params import TrainParams
from v2v_pipeline.training.budget import Budget
from v2v_pipeline.training.ema import EMA
from v2v_pipeline.recipes import edn
from v2v_pipeline.training.stages import plan, stage_at
from v2v_pipeline.training.trainer import Trainer

TINY = {"ngf": 8, "n_downsampling": 2, "n_blocks": 1, "ndf": 8, "num_D": 1, "n_layers_D": 2}
FACE_NET = {**TINY, "face_gan": True, "face_ngf": 8, "face_n_blocks": 1, "face_ndf": 8, "face_n_layers_D": 2}


def params(**kw) -> TrainParams:
    data = {"model": "edn", "network": TINY, "sequence_length": 2, "max_steps": 10, "log_every": 1,
            "val_every": 1000, "checkpoint_every": 1000, "val_frames": 4, "vgg_weights": None, "precision": "fp32",
            "device": "cpu", "registered_model_name": None, "lr": 1e-3, **kw}
    return parse(TrainParams, data, "train")


def trainer_for(p: TrainParams, tmp_path, train=None, **kw) -> Trainer:
    runtime.seed_everything(p.seed)
    train = train if train is not None else synthetic_frames(20)
    return Trainer(p, train, synthetic_sequences(len(train.frames), p.sequence_length), synthetic_frames(10, seed=1),
                   tmp_path, **kw)


def state(module: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


# ----------------------------------------------------------------------------- the plan
def test_plan_shares_networks_and_lr_spans():
    p = params(network={**FACE_NET, "local_enhancer": True},
               coarse_to_fine={"enabled": True, "global_fraction": 0.5, "fix_global_fraction": 0.1},
               face={"enabled": True, "fraction": 0.2})
    stages = plan(p)
    assert [(s.name, round(s.share, 6)) for s in stages] == [("global", 0.5), ("local_fixed", 0.1), ("full", 0.2),
                                                               ("face", 0.2)]
    assert sum(s.share for s in stages) == pytest.approx(1.0)
    by = {s.name: s for s in stages}
    assert by["global"].trains[0] == "global_generator" and by["global"].half_size
    assert by["face"].trains == ("face_generator", "face_discriminator")
    assert (by["local_fixed"].freeze_global, by["full"].freeze_global) == (True, False)
    assert by["local_fixed"].lr_span == by["full"].lr_span == (0.5, 0.8)  # one schedule over the enhancer's run
    assert [stage_at(stages, f).name for f in (0.0, 0.49, 0.5, 0.59, 0.6, 0.79, 0.8, 1.0)] == [
        "global", "global", "local_fixed", "local_fixed", "full", "full", "face", "face"]
    # constant, then linear decay over the last half of each stage's own span
    assert by["global"].lr_factor(0.25, 0.5) == 1.0 and by["global"].lr_factor(0.375, 0.5) == pytest.approx(0.5)
    assert by["face"].lr_factor(1.0, 0.5) == 0.0


def test_plan_without_stages_is_one_full_stage():
    (only,) = plan(params())
    assert (only.name, only.start, only.end, only.lr_span) == ("full", 0.0, 1.0, (0.0, 1.0))


# ----------------------------------------------------------------------------- budget
def test_budget_progress_is_the_first_limit_reached():
    b = Budget(100, max_minutes=1.0)
    assert b.progress(10, 0.0) == 0.1 and b.progress(10, 30.0) == 0.5 and b.progress(500, 0.0) == 1.0
    assert not b.exhausted(99, 59.9) and b.exhausted(100, 0.0) and b.exhausted(0, 60.0)
    assert not Budget(5).out_of_time(1e9)


def test_max_minutes_stops_training_and_drives_the_schedule(tmp_path):
    ticks = iter(range(10**6))
    trainer = trainer_for(params(max_steps=100, max_minutes=5 / 60), tmp_path, clock=lambda: float(next(ticks)))
    result = trainer.fit()  # every step takes one tick (= 1 s) of the mocked clock
    assert trainer.step == 5 and result.model_file["step"] == 5
    assert trainer.elapsed == pytest.approx(5.0)
    # progress = elapsed / 5 s: LR constant until 0.5, then linear to 0 (0.6 -> 0.8, 0.8 -> 0.4)
    np.testing.assert_allclose(result.history["lr"].dropna().to_numpy() / 1e-3, [1, 1, 1, 0.8, 0.4])
    assert "val_ssim" in result.history.columns  # validated once at the end although val_every was not reached


# ----------------------------------------------------------------------------- EMA
def test_ema_warms_up_then_uses_the_decay_and_copies_buffers():
    model = nn.Linear(2, 1)
    model.register_buffer("plate", torch.zeros(1))
    ema = EMA(model, decay=0.5)
    start = model.weight.detach().clone()
    with torch.no_grad():
        model.weight.add_(1.0)
        model.plate.fill_(7.0)
    ema.update(model, step=0)  # warm-up: d = min(0.5, 1/10) = 0.1
    torch.testing.assert_close(ema.module.weight, 0.1 * start + 0.9 * (start + 1))
    assert ema.module.plate.item() == 7.0  # buffers are copied, not averaged
    before = ema.module.weight.detach().clone()
    ema.update(model, step=100)  # d = min(0.5, 101/110) = 0.5
    torch.testing.assert_close(ema.module.weight, 0.5 * before + 0.5 * model.weight)
    assert not any(p.requires_grad for p in ema.module.parameters())
    assert set(ema.state_dict()) == set(model.state_dict())  # exported like the generator itself


def test_training_exports_the_average_not_the_last_weights(tmp_path):
    trainer = trainer_for(params(max_steps=3, ema_decay=0.9), tmp_path)
    result = trainer.fit()
    exported, raw = result.model_file["generator"], state(trainer.nets.generator)
    avg = trainer.networks.ema.state_dict()
    assert any(not torch.equal(exported[k], raw[k]) for k in raw if raw[k].is_floating_point())
    for k, v in avg.items():
        torch.testing.assert_close(exported[k], v.cpu(), rtol=0, atol=0)


# ----------------------------------------------------------------------------- coarse-to-fine
def test_coarse_to_fine_trains_g1_at_half_size_then_freezes_it_then_trains_all(tmp_path):
    p = params(model="pix2pixhd", sequence_length=1, network={**TINY, "local_enhancer": True},
               coarse_to_fine={"enabled": True, "global_fraction": 0.5, "fix_global_fraction": 0.1})
    trainer = trainer_for(p, tmp_path)
    assert trainer.stage == "global"
    early = trainer.model_file()  # the global stage exports G1 alone, at half size
    assert early["model_config"]["local_enhancer"] is False and early["size"] == [16, 8]
    FrameGenerator(early, device="cpu")  # and it is a usable model file
    local = trainer.networks.generator_module()
    seen, g1_before, step = [], [], trainer.train_step

    def wrapped(batch):  # each step's stage, batch size, and the enhancer's G1 before the step
        seen.append((trainer.stage, tuple(batch["image"].shape[-2:])))
        g1_before.append(state(local.global_model))
        return step(batch)

    trainer.train_step = wrapped
    result = trainer.fit()
    # 10 steps: 50% global at half size, 10% enhancer with G1 fixed, the rest everything
    assert seen == [("global", (8, 16))] * 5 + [("local_fixed", (16, 32))] + [("full", (16, 32))] * 4
    trained_g1 = {k[len("model."):]: v for k, v in state(trainer.networks.global_generator).items()
                  if k.startswith("model.")}
    trunk = {k: v for k, v in trained_g1.items() if k in g1_before[5]}
    assert trunk
    for k, v in trunk.items():  # the enhancer starts from the trained G1 ...
        torch.testing.assert_close(g1_before[5][k], v, rtol=0, atol=0)
        torch.testing.assert_close(g1_before[6][k], v, rtol=0, atol=0)  # ... which the local-fixed step left alone
    after = state(local.global_model)
    assert any(not torch.equal(after[k], v) for k, v in g1_before[6].items())  # the full stage trains it again
    assert result.model_file["model_config"]["local_enhancer"] is True and result.model_file["size"] == [32, 16]


# ----------------------------------------------------------------------------- the face stage
def test_face_stage_freezes_the_body_trains_the_face_gan_and_exports_it(tmp_path):
    p = params(network=FACE_NET, max_steps=4, face={"enabled": True, "fraction": 0.5, "crop": 16})
    trainer = trainer_for(p, tmp_path)
    seen, snapshots, step = [], [], trainer.train_step

    def wrapped(batch):  # each step's stage and the body / face generators before it
        seen.append(trainer.stage)
        snapshots.append(trainer.model_file())
        return step(batch)

    trainer.train_step = wrapped
    result = trainer.fit()
    assert seen == ["full", "full", "face", "face"]
    assert all("F_rec" in row and "F_gan" in row for row in trainer.history[2:]) and "F_rec" not in trainer.history[0]
    assert snapshots[2]["face_generator"] is None  # never an untrained face GAN in a model file
    body = snapshots[2]["generator"]
    for k, v in result.model_file["generator"].items():
        torch.testing.assert_close(v, body[k], rtol=0, atol=0)  # the body did not change while faces trained
    face_g = result.model_file["face_generator"]
    assert face_g is not None and any(not torch.equal(face_g[k], v) for k, v in snapshots[3]["face_generator"].items())

    labels = synthetic_frames(3, seed=2).labels.permute(0, 2, 3, 1).numpy()
    boxes = synthetic_frames(3).face_boxes.numpy()  # (2, 2, 14, 14): the face crop is a 12-pixel square there
    with_face = np.stack(list(FrameGenerator(result.model_file, "cpu", "fp32").generate_clip(labels, boxes)))
    without = np.stack(list(FrameGenerator(result.model_file, "cpu", "fp32").generate_clip(labels)))
    changed = np.argwhere((with_face != without).any(axis=(0, 3)))
    assert len(changed) and changed.max(0).tolist() <= [15, 15]  # the face GAN only touches the face box


def test_face_stage_without_faces_skips_its_steps(tmp_path):
    train = synthetic_frames(20)
    train.face_boxes[:] = float("nan")
    p = params(network=FACE_NET, max_steps=4, face={"enabled": True, "fraction": 0.5, "crop": 16})
    trainer = trainer_for(p, tmp_path, train=train)
    result = trainer.fit()
    assert trainer.step == 4 and result.model_file["face_generator"] is None
    assert all("F_rec" not in row for row in trainer.history)


# ----------------------------------------------------------------------------- one step for training and inference
def test_inference_runs_the_recipe_step_that_training_uses(tmp_path):
    trainer = trainer_for(params(max_steps=1), tmp_path)
    trainer.fit()
    model = trainer.model_file()
    labels = synthetic_frames(3, seed=2).labels
    gen = FrameGenerator(model, "cpu", "fp32")
    frames = np.stack(list(gen.generate_clip(labels.permute(0, 2, 3, 1).numpy())))
    with torch.no_grad():
        x = labels.float()[None] / 127.5 - 1.0
        expected = edn.generate_sequence(gen.generator, x)[0]
    expected = ((expected.clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).numpy()
    np.testing.assert_array_equal(frames, expected)
