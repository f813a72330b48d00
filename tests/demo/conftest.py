"""The default demo sample, written once per test session."""

from __future__ import annotations

import pytest

from v2v_pipeline.demo import write_demo_sample


@pytest.fixture(scope="session")
def demo_sample(tmp_path_factory):
    """Paths of the default demo sample (seed 0, 512x256, 240 + 150 frames)."""
    return write_demo_sample(tmp_path_factory.mktemp("demo_sample"), seed=0)
