"""The one flow backend factory (used by the flow pipeline and by compute_flow_pairs)."""

from __future__ import annotations

import pytest

from v2v_pipeline.config import parse
from v2v_pipeline.flow import DISFlow, backend_factory, make_backend
from v2v_pipeline.flow.config import FlowConfig


def test_dis_factory_gives_a_fresh_backend_of_the_configured_preset():
    cfg = parse(FlowConfig, {"dis_preset": "fast"}, "flow")
    factory = backend_factory(cfg)
    a, b = factory(), factory()
    assert isinstance(a, DISFlow) and a.preset == "fast" and a is not b
    assert cfg.backend_name == "dis_fast"


def test_raft_factory_fails_before_any_work_with_the_missing_file(tmp_path):
    cfg = parse(FlowConfig, {"backend": "raft", "raft": {"weights": str(tmp_path / "raft.pth"), "variant": "small",
                                                          "device": "cpu"}}, "flow")
    assert cfg.backend_name == "raft_small"
    with pytest.raises(FileNotFoundError, match=r"RAFT \(small\) weights not found at .*raft.pth"):
        backend_factory(cfg)


def test_unknown_backend_name():
    with pytest.raises(ValueError, match="unknown flow backend 'farneback'"):
        make_backend("farneback")
