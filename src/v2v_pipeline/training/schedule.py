"""pix2pixHD's learning-rate schedule: constant, then linear decay to zero."""

from __future__ import annotations


def constant_then_linear(total_steps: int, decay_fraction: float = 0.5):
    """Multiplier for ``LambdaLR``: 1.0 for the first ``1 - decay_fraction`` of the steps, then linearly to 0.

    Steps past ``total_steps`` stay at 0 instead of going negative (pix2pixHD issue #147).
    """
    decay_start = int(round(total_steps * (1.0 - decay_fraction)))
    decay_len = max(1, total_steps - decay_start)

    def factor(step: int) -> float:
        if step < decay_start:
            return 1.0
        return max(0.0, 1.0 - (step - decay_start) / decay_len)

    return factor
