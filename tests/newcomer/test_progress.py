"""Progress without a terminal, the ETA of the binding budget, checkpoints by time and the resume link."""

from __future__ import annotations

import logging
import re

import pytest

from tests.training.test_stages import params, trainer_for
from v2v_pipeline.progress import LogProgress, progress
from v2v_pipeline.training.budget import Budget


class StepClock:
    """A mocked clock: each training step takes ``step_s`` seconds (advanced by the wrapped train_step)."""

    def __init__(self):
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def clocked_trainer(p, tmp_path, step_s: float, **kw):
    clock = StepClock()
    trainer = trainer_for(p, tmp_path, clock=clock, **kw)
    inner = trainer.train_step

    def slow_step(batch):
        clock.t += step_s
        return inner(batch)

    trainer.train_step = slow_step
    return trainer, clock


def test_budget_projects_the_stop_of_the_binding_limit():
    b = Budget(400, max_minutes=10.0)
    # 20 steps in 2 min: 10 steps/min, so 10 minutes end training at step 100, not 400
    assert b.projected_steps(20, 120.0) == 100 and b.binding(20, 120.0) == "max_minutes"
    assert b.remaining_s(20, 120.0) == pytest.approx(480.0)
    fast = Budget(400, max_minutes=10.0)  # 200 steps in 1 min: max_steps binds
    assert fast.projected_steps(200, 60.0) == 400 and fast.remaining_s(200, 60.0) == pytest.approx(60.0)
    assert Budget(50).projected_steps(10, 5.0) == 50 and Budget(50).remaining_s(10, 5.0) == pytest.approx(20.0)


def test_non_tty_training_logs_progress_every_30s_with_the_time_budget_eta(tmp_path, caplog, monkeypatch):
    monkeypatch.delenv("V2V_PROGRESS", raising=False)
    monkeypatch.delenv("V2V_PROGRESS_EVERY", raising=False)
    monkeypatch.setattr("sys.stderr.isatty", lambda: False, raising=False)
    # 400 steps asked, 10 s per step, 2 minutes of budget: max_minutes ends training at step 12
    trainer, clock = clocked_trainer(params(max_steps=400, max_minutes=2.0, log_every=1000), tmp_path, 10.0)
    with caplog.at_level(logging.INFO, logger="v2v_pipeline"):
        trainer.fit()
    assert trainer.step == 12
    lines = [r for r in caplog.records if r.getMessage().startswith("train edn: step ")]
    steps = [int(re.search(r"step (\d+)/", r.getMessage()).group(1)) for r in lines]
    assert steps == [3, 6, 9, 12]  # one line per 30 s of (mocked) training: the gaps are never longer
    first = lines[0].getMessage()
    assert "step 3/12 (max_minutes 2 binds before max_steps 400)" in first, first
    assert "ETA 1:30 of training" in first and "images/s" in first, first  # 9 of 12 steps left at 10 s each
    start = [r.getMessage() for r in caplog.records if r.getMessage().startswith("training stops at")]
    assert start and "400 steps or after 2 min" in start[0] and "checkpoints every 1000 steps or 5 min" in start[0]
    assert str(trainer.ckpt.directory) in start[0]


def test_log_progress_for_other_loops(caplog):
    t = [0.0]
    with caplog.at_level(logging.INFO, logger="v2v_pipeline.progress"):
        bar = LogProgress(range(10), desc="flow (farneback)", unit="pair", every_s=30, clock=lambda: t[0])
        for _ in bar:
            t[0] += 7.0
    msgs = [r.getMessage() for r in caplog.records]
    assert len(msgs) == 2 and msgs[0].startswith("flow (farneback): 5/10 (50%) pair"), msgs
    assert "ETA 0:35" in msgs[0]


def test_progress_is_tqdm_on_a_terminal_and_a_logger_elsewhere(monkeypatch):
    monkeypatch.setenv("V2V_PROGRESS", "1")
    assert not isinstance(progress(total=3), LogProgress)
    monkeypatch.setenv("V2V_PROGRESS", "0")
    assert progress(total=3).disable
    monkeypatch.delenv("V2V_PROGRESS")
    monkeypatch.setattr("sys.stderr.isatty", lambda: False, raising=False)
    assert isinstance(progress(range(3)), LogProgress) and list(progress(range(3))) == [0, 1, 2]


def test_checkpoints_by_time_and_a_resumed_run_names_the_run_it_continues(tmp_path, caplog):
    p = params(max_steps=6, checkpoint_every=1000, checkpoint_minutes=1.0, keep_checkpoints=10)
    trainer, _ = clocked_trainer(p, tmp_path, 25.0, run_id="run-killed")
    with caplog.at_level(logging.INFO, logger="v2v_pipeline"):
        trainer.fit()
    assert any(f"no checkpoint found in {tmp_path}, starting at step 0" in r.getMessage() for r in caplog.records)
    # 25 s a step: a minute of training is passed at steps 3 and 6 (and the end of training saves step 6)
    assert [path.name for path in trainer.ckpt.list()] == ["step_000000003.pt", "step_000000006.pt"]
    again, _ = clocked_trainer(params(max_steps=8, checkpoint_every=1000, checkpoint_minutes=1.0), tmp_path, 25.0,
                               run_id="run-new")
    assert again.resume() == "run-killed" and again.step == 6
    again.fit()
    assert again.step == 8 and again.ckpt.list()[-1].name == "step_000000008.pt"
