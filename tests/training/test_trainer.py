"""Trainer behaviour: every family trains, resume is exact, DDP keeps ranks identical, NaN guard, checkpoints."""

from __future__ import annotations

import os
import socket

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp

from tests.training.synthetic import synthetic_frames, synthetic_sequences, write_dataset_archive
from v2v_pipeline import runtime
from v2v_pipeline.config import parse
from v2v_pipeline.inference import FrameGenerator
from v2v_pipeline.params import TrainParams
from v2v_pipeline.training import distributed as dist_utils
from v2v_pipeline.training.checkpoint import CheckpointManager
from v2v_pipeline.training.sampling import stack_items, to_device
from v2v_pipeline.training.schedule import constant_then_linear
from v2v_pipeline.training.trainer import SampleSchedule, Trainer, TrainingDivergedError

TINY = {"ngf": 8, "n_downsampling": 2, "n_blocks": 1, "ndf": 8, "num_D": 1, "n_layers_D": 2}


def params(model="pix2pixhd", **kw) -> TrainParams:
    seq = {"pix2pixhd": 1, "edn": 2, "vid2vid": 4}[model]
    net = dict(TINY)
    if model == "vid2vid":
        net["n_frames_G"] = 2
    data = {"model": model, "network": net, "sequence_length": seq, "max_steps": 8, "log_every": 2,
            "val_every": 4, "checkpoint_every": 3, "val_frames": 6, "vgg_weights": None, "threads": 1,
            "registered_model_name": None, **kw}
    return parse(TrainParams, data, "train")


def make_trainer(p: TrainParams, run_dir, **kw) -> Trainer:
    seq = p.sequence_length
    runtime.seed_everything(p.seed)  # the entry point's job (training.session), not the constructor's
    return Trainer(p, synthetic_frames(20), synthetic_sequences(20, seq), synthetic_frames(10, seed=1), run_dir,
                   dataset_sha256="test", **kw)


def weights(trainer: Trainer) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in trainer.nets.generator.state_dict().items()}


@pytest.mark.parametrize("model", ["pix2pixhd", "edn", "vid2vid"])
def test_each_family_trains_and_exports_a_usable_model(model, tmp_path):
    trainer = make_trainer(params(model, lr=1e-3), tmp_path)
    before = weights(trainer)
    result = trainer.fit()
    after = weights(trainer)
    assert any(not torch.equal(before[k], after[k]) for k in before)
    assert {"G_gan", "G_feat", "D_loss", "val_ssim", "val_psnr", "val_warp_error", "baseline_ssim"} <= set(
        result.history.columns) | set(result.summary)
    assert result.model_file["step"] == 8 and result.model_file["size"] == [32, 16]
    assert result.samples.shape == (4 * 16, 3 * 32, 3)  # label | generated | real rows
    gen = FrameGenerator(result.model_file, device="cpu")
    frames = list(gen.generate_clip(np.full((3, 16, 32, 3), 255, np.uint8)))
    assert len(frames) == 3 and frames[0].shape == (16, 32, 3)


def test_resume_after_a_kill_equals_an_uninterrupted_run(tmp_path):
    reference = make_trainer(params("edn"), tmp_path / "a")
    reference.fit()

    killed = make_trainer(params("edn"), tmp_path / "b")
    original = killed.train_step

    def dying_step(batch):
        if killed.step == 7:
            raise KeyboardInterrupt("simulated kill")
        return original(batch)

    killed.train_step = dying_step
    with pytest.raises(KeyboardInterrupt):
        killed.fit()
    assert [p.name for p in CheckpointManager(tmp_path / "b").list()][-1] == "step_000000006.pt"

    resumed = make_trainer(params("edn"), tmp_path / "b")  # the same command again
    resumed.fit()
    assert resumed.step == reference.step == 8
    for k, v in weights(reference).items():
        torch.testing.assert_close(weights(resumed)[k], v, rtol=0, atol=0, msg=f"weight {k} differs after resume")


def test_corrupt_last_checkpoint_falls_back_to_the_previous(tmp_path):
    trainer = make_trainer(params(max_steps=6), tmp_path)
    trainer.fit()
    manager = CheckpointManager(tmp_path)
    last = manager.list()[-1]
    last.write_bytes(b"truncated garbage")
    state = manager.load_latest()
    assert state["step"] == 3
    assert last.with_suffix(".pt.corrupt").exists()


def test_nan_guard_skips_steps_then_stops_with_a_clear_error(tmp_path):
    trainer = make_trainer(params(nan_patience=3, loss={"l1": float("inf")}), tmp_path)  # G_l1 = inf every step
    before = weights(trainer)
    with pytest.raises(TrainingDivergedError, match="3 consecutive steps had NaN/inf losses"):
        trainer.fit()
    assert trainer.skipped_steps == 3
    for k, v in before.items():
        assert torch.equal(weights(trainer)[k], v)  # skipped steps never touched the weights


def test_schedule_constant_then_linear_and_never_negative():
    f = constant_then_linear(100, 0.5)
    assert [f(0), f(49), f(50), f(75), f(100), f(150)] == [1.0, 1.0, 1.0, 0.5, 0.0, 0.0]


def test_sample_schedule_is_a_function_of_the_step_and_shards_ranks():
    a = SampleSchedule(10, 2, seed=3)
    assert a.indices(7) == SampleSchedule(10, 2, seed=3).indices(7)
    epoch = sorted(sum((a.indices(s) for s in range(5)), []))
    assert epoch == list(range(10))  # one epoch visits every sample once
    r0, r1 = SampleSchedule(10, 1, 3, rank=0, world=2), SampleSchedule(10, 1, 3, rank=1, world=2)
    assert set(r0.indices(0) + r1.indices(0)) == set(a.indices(0))


# ----------------------------------------------------------------------------- DDP
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ddp_worker(rank: int, world: int, port: int, out_dir: str) -> None:
    os.environ.update({"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port), "RANK": str(rank),
                       "WORLD_SIZE": str(world), "LOCAL_RANK": str(rank)})
    torch.set_num_threads(1)
    info = dist_utils.setup("cpu")
    try:
        p = params("edn", max_steps=3, val_every=100, checkpoint_every=100)
        trainer = make_trainer(p, os.path.join(out_dir, "ckpt"), dist_info=info)
        trainer.fit()
        torch.save(weights(trainer), os.path.join(out_dir, f"rank{rank}.pt"))
    finally:
        dist_utils.cleanup()


@pytest.mark.slow
def test_ddp_two_gloo_processes_keep_identical_weights(tmp_path):
    port = _free_port()
    mp.spawn(_ddp_worker, args=(2, port, str(tmp_path)), nprocs=2, join=True)
    w0 = torch.load(tmp_path / "rank0.pt")
    w1 = torch.load(tmp_path / "rank1.pt")
    init = weights(make_trainer(params("edn"), tmp_path / "fresh"))
    assert any(not torch.equal(w0[k], init[k]) for k in w0)  # it trained
    for k in w0:
        torch.testing.assert_close(w0[k], w1[k], rtol=0, atol=0)


def test_background_plate_is_the_training_median_and_is_exported(tmp_path):
    p = params("edn", network={**TINY, "background": True}, max_steps=2)
    trainer = make_trainer(p, tmp_path)
    from v2v_pipeline.training.trainer import background_module

    plate = background_module(trainer.nets.generator).plate
    expected = synthetic_frames(20).images.float().median(dim=0).values / 127.5 - 1
    torch.testing.assert_close(plate[0], expected)
    result = trainer.fit()
    assert result.model_file["model_config"]["background_width"] == 32
    gen = FrameGenerator(result.model_file, device="cpu", precision="fp32")  # the plate comes back from the file
    torch.testing.assert_close(background_module(gen.network).plate, background_module(trainer.nets.generator).plate)


def test_reading_from_the_archive_trains_exactly_like_memory(tmp_path):
    """Large datasets are read on demand (DataLoader workers); the batches and weights are the same."""
    import pandas as pd

    from v2v_pipeline.training.data import load_frames

    data = synthetic_frames(20)
    write_dataset_archive(tmp_path / "data.zip", data)
    from v2v_pipeline.storage import Archive

    table = pd.DataFrame({"frame": np.arange(20)})
    for j, c in enumerate(["face_x0", "face_y0", "face_x1", "face_y1"]):
        table[c] = data.face_boxes[:, j].numpy()
    for j, c in enumerate(["person_x0", "person_y0", "person_x1", "person_y1"]):
        table[c] = data.person_boxes[:, j].numpy()
    archive = Archive(tmp_path / "data.zip")
    results = {}
    for in_memory, workers in ((True, 0), (False, 2)):
        frames = load_frames(archive, table, np.arange(20), in_memory=in_memory)
        p = params("edn", max_steps=4, num_workers=workers)
        runtime.seed_everything(p.seed)
        trainer = Trainer(p, frames, synthetic_sequences(20, 2), None, tmp_path / f"run{in_memory}")
        trainer.fit()
        results[in_memory] = weights(trainer)
    for k, v in results[True].items():
        torch.testing.assert_close(results[False][k], v, rtol=0, atol=0)


def test_a_compile_that_fails_at_the_first_backward_falls_back_to_eager(monkeypatch, tmp_path, caplog):
    """torch.compile compiles the backward at the first backward: a failure there retries the step eagerly."""
    class BackendCompilerFailed(RuntimeError):  # stands in for torch._dynamo's (whose constructor is private)
        pass

    def compile_failing_in_backward(module, **options):
        def compiled(*args, **kwargs):
            out = module(*args, **kwargs)

            def fail(grad):
                raise BackendCompilerFailed("C++ compile of the backward failed (mock)")
            out.register_hook(fail)
            return out
        return compiled

    monkeypatch.setattr(runtime, "choose_compile", lambda device, requested: (requested, "test"))
    monkeypatch.setattr(torch, "compile", compile_failing_in_backward)
    eager = make_trainer(params(), tmp_path / "eager")
    batch = lambda t: to_device(stack_items([t.train_data[i] for i in (0,)]), t.device, t.full_size)  # noqa: E731
    want = eager.train_step(batch(eager)).losses
    with caplog.at_level("WARNING"):
        trainer = make_trainer(params(compile=True), tmp_path / "compiled")
        assert trainer.runtime.compile and trainer.networks.compiled is not None
        got = trainer.train_step(batch(trainer)).losses
    assert got == pytest.approx(want, rel=1e-6)  # the same step, run eagerly
    assert "running it eagerly" in caplog.text and "backward failed (mock)" in caplog.text
    assert trainer.networks.compile_status.startswith("eager (torch.compile failed: BackendCompilerFailed")
    assert trainer.train_step(batch(trainer)).losses  # and training goes on


def test_fused_adam_is_foreach_adam_to_rounding(tmp_path):
    """The trainer's optimisers are torch's fused Adam on the CPU too (one kernel per parameter, much faster
    than foreach for large generators); over a few steps it gives foreach Adam's weights to rounding."""
    t = make_trainer(params("pix2pixhd"), tmp_path)
    for opt in (t.networks.opt_G, t.networks.opt_D):
        assert all(g["fused"] for g in opt.param_groups) and not any(g["foreach"] for g in opt.param_groups)

    torch.manual_seed(0)
    start = [torch.randn(64, 32, 3, 3), torch.randn(300)]
    grads = [[torch.randn_like(p) * 10.0 ** -k for p in start] for k in range(5)]  # gradients of several scales
    out = {}
    for kind in ("fused", "foreach"):
        ps = [p.clone().requires_grad_() for p in start]
        opt = torch.optim.Adam(ps, lr=2e-4, betas=(0.5, 0.999), **{kind: True})
        for g in grads:
            for p, gi in zip(ps, g):
                p.grad = gi.clone()
            opt.step()
        out[kind] = [p.detach() for p in ps]
    for a, b, p0 in zip(out["fused"], out["foreach"], start):
        assert not torch.equal(a, p0)
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7)
