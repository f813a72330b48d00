"""A mistyped pipeline name or parameter ends with its message, not chained tracebacks."""

from __future__ import annotations

from v2v_pipeline import cli_errors
from v2v_pipeline.config import ConfigError


def _raise_chained():
    try:
        {}["tranfer"]
    except KeyError as e:
        raise ValueError("Failed to find the pipeline named 'tranfer'. ... Did you mean one of these instead?\n"
                         "    transfer") from e


def test_user_errors_print_only_their_message(capsys, monkeypatch):
    monkeypatch.delenv("V2V_TRACEBACK", raising=False)
    seen = []
    try:
        _raise_chained()
    except ValueError as e:
        cli_errors.excepthook(type(e), e, e.__traceback__, fallback=lambda *a: seen.append(a))
    err = capsys.readouterr().err
    assert err.startswith("error: Failed to find the pipeline named 'tranfer'") and "Did you mean" in err
    assert "Traceback" not in err and not seen
    e = ConfigError("unknown parameter 'train.max_stepz'. Did you mean 'train.max_steps'?")
    cli_errors.excepthook(ConfigError, e, None, fallback=lambda *a: seen.append(a))
    assert "train.max_steps" in capsys.readouterr().err and not seen


def test_other_errors_and_v2v_traceback_keep_the_traceback(monkeypatch):
    seen = []
    e = RuntimeError("boom")
    cli_errors.excepthook(RuntimeError, e, None, fallback=lambda *a: seen.append(a))
    monkeypatch.setenv("V2V_TRACEBACK", "1")
    c = ConfigError("x")
    cli_errors.excepthook(ConfigError, c, None, fallback=lambda *a: seen.append(a))
    assert [a[1] for a in seen] == [e, c]
