"""The training budget: steps and/or wall-clock minutes, read in one place.

Progress is the larger of the step fraction and the time fraction, so the learning-rate
schedule and the stages follow whichever limit comes first. Elapsed time is the training
time only (no start-up, no validation outside the step) and is kept across resumes. The
projected stop (:meth:`Budget.projected_steps`) and the time left (:meth:`Budget.remaining_s`)
follow the limit that will actually end the run, for the progress bar and the progress log lines.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Budget:
    max_steps: int
    max_minutes: float | None = None
    clock: Callable[[], float] = field(default=time.perf_counter, repr=False)

    def progress(self, step: int, elapsed_s: float) -> float:
        """Fraction of the budget used, in [0, 1]."""
        frac = step / self.max_steps
        if self.max_minutes:
            frac = max(frac, elapsed_s / (60.0 * self.max_minutes))
        return min(frac, 1.0)

    def out_of_time(self, elapsed_s: float) -> bool:
        return bool(self.max_minutes) and elapsed_s >= 60.0 * self.max_minutes

    def exhausted(self, step: int, elapsed_s: float) -> bool:
        """True when either limit is reached (identical on every DDP rank: elapsed is their maximum)."""
        return step >= self.max_steps or self.out_of_time(elapsed_s)

    def describe(self) -> str:
        return f"{self.max_steps} steps" + (f" / {self.max_minutes} min" if self.max_minutes else "")

    def binding(self, step: int, elapsed_s: float) -> str:
        """``"max_minutes"`` when, at the pace so far, the time budget ends training before ``max_steps``."""
        return "max_minutes" if self.projected_steps(step, elapsed_s) < self.max_steps else "max_steps"

    def projected_steps(self, step: int, elapsed_s: float) -> int:
        """The step training will stop at: ``max_steps``, or fewer when ``max_minutes`` binds at the pace so far."""
        if not self.max_minutes or step <= 0 or elapsed_s <= 0:
            return self.max_steps
        left_s = max(0.0, 60.0 * self.max_minutes - elapsed_s)
        return int(min(self.max_steps, max(step, math.ceil(step + left_s * step / elapsed_s))))

    def remaining_s(self, step: int, elapsed_s: float) -> float | None:
        """Training seconds left by whichever limit stops the run first (None before any step is timed)."""
        by_time = max(0.0, 60.0 * self.max_minutes - elapsed_s) if self.max_minutes else None
        if step <= 0 or elapsed_s <= 0:
            return by_time
        by_steps = max(0, self.max_steps - step) * elapsed_s / step
        return by_steps if by_time is None else min(by_steps, by_time)
