"""The training budget: steps and/or wall-clock minutes, read in one place.

Progress is the larger of the step fraction and the time fraction, so the learning-rate
schedule and the stages follow whichever limit comes first. Elapsed time is the training
time only (no start-up, no validation outside the step) and is kept across resumes.
"""

from __future__ import annotations

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
