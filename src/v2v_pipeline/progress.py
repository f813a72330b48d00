"""Progress for long work, on a terminal or not.

On a terminal (stderr is a TTY, or ``V2V_PROGRESS=1``) :func:`progress` is a ``tqdm`` bar. Elsewhere
(a log file, CI, ``nohup``) it is a :class:`LogProgress` that writes one log line every
``V2V_PROGRESS_EVERY`` seconds (30 by default) with the count, the rate and an ETA, so a run that
logs to a file is never silent. ``V2V_PROGRESS=0`` turns both off.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable, Iterable
from typing import Any

from tqdm.auto import tqdm

log = logging.getLogger("v2v_pipeline.progress")

DEFAULT_EVERY_S = 30.0


def every_seconds() -> float:
    """Seconds between progress log lines (``V2V_PROGRESS_EVERY``; 30 by default)."""
    try:
        return max(0.0, float(os.environ.get("V2V_PROGRESS_EVERY", DEFAULT_EVERY_S)))
    except ValueError:
        return DEFAULT_EVERY_S


def on_terminal() -> bool:
    forced = os.environ.get("V2V_PROGRESS")
    return forced == "1" if forced in ("0", "1") else sys.stderr.isatty()


def format_duration(seconds: float | None) -> str:
    """``1:02:03`` / ``2:03`` style, ``?`` when unknown."""
    if seconds is None or seconds != seconds or seconds == float("inf"):
        return "?"
    s = int(round(max(0.0, seconds)))
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class Ticker:
    """Calls ``emit`` at most every ``every_s`` seconds of ``clock`` (the first call after start counts)."""

    def __init__(self, every_s: float | None = None, clock: Callable[[], float] = time.monotonic):
        self.every_s = every_seconds() if every_s is None else every_s
        self.clock = clock
        self.last = clock()

    def due(self) -> bool:
        now = self.clock()
        if now - self.last >= self.every_s:
            self.last = now
            return True
        return False


class LogProgress:
    """The subset of the ``tqdm`` API the project uses, writing a log line every ``every_s`` seconds."""

    def __init__(self, iterable: Iterable | None = None, total: float | None = None, desc: str = "",
                 unit: str = "it", initial: float = 0, every_s: float | None = None,
                 clock: Callable[[], float] = time.monotonic, logger: logging.Logger | None = None,
                 disable: bool = False, **_: Any):
        self.iterable, self.desc, self.unit, self.disable = iterable, desc or "progress", unit, disable
        if total is None and iterable is not None and hasattr(iterable, "__len__"):
            total = len(iterable)
        self.total, self.n, self.initial = total, initial, initial
        self.clock, self.log = clock, logger or log
        self.start = clock()
        self.ticker = Ticker(every_s, clock)
        self.postfix: dict[str, Any] = {}
        self.eta_s: float | None = None  # set by the owner when it knows better (e.g. a time budget)

    def __iter__(self):
        for item in self.iterable if self.iterable is not None else ():
            yield item
            self.update(1)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __len__(self):
        return int(self.total or 0)

    def rate(self) -> float:
        return (self.n - self.initial) / max(self.clock() - self.start, 1e-9)

    def line(self) -> str:
        rate = self.rate()
        done = f"{self.n:g}" + (f"/{self.total:g} ({100 * self.n / self.total:.0f}%)" if self.total else "")
        eta = self.eta_s
        if eta is None and self.total and rate > 0:
            eta = (self.total - self.n) / rate
        extra = "".join(f", {k} {v}" for k, v in self.postfix.items())
        return (f"{self.desc}: {done} {self.unit}, {rate:.3g} {self.unit}/s, "
                f"elapsed {format_duration(self.clock() - self.start)}, ETA {format_duration(eta)}{extra}")

    def update(self, n: float = 1) -> None:
        self.n += n
        if not self.disable and self.ticker.due():
            self.log.info("%s", self.line())

    def set_postfix(self, ordered_dict: dict | None = None, refresh: bool = True, **kwargs: Any) -> None:
        self.postfix = {**(ordered_dict or {}), **kwargs}

    def set_description(self, desc: str, refresh: bool = True) -> None:
        self.desc = desc

    def refresh(self) -> None:
        pass

    def close(self) -> None:
        pass


def progress(iterable=None, every_s: float | None = None, clock: Callable[[], float] = time.monotonic,
             **kwargs) -> tqdm | LogProgress:
    """A ``tqdm`` bar on a terminal, else a :class:`LogProgress` (one log line every ``every_s`` s)."""
    if os.environ.get("V2V_PROGRESS") == "0":
        return LogProgress(iterable, disable=True, **kwargs)
    if on_terminal():
        kwargs.setdefault("mininterval", 0.5)
        kwargs.setdefault("dynamic_ncols", True)
        return tqdm(iterable, **kwargs)
    kwargs.pop("leave", None)
    return LogProgress(iterable, every_s=every_s, clock=clock, **kwargs)
