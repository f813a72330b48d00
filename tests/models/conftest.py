"""Run the (tiny) model tests single-threaded: on a busy 2-core machine OpenMP threads
oversubscribe the cores and make these small convolutions ~10x slower."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch


@pytest.fixture(autouse=True)
def _single_thread() -> Iterator[None]:
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
