"""Configuration of the flow pipeline (the ``flow`` parameter section is :class:`FlowConfig`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass
class RaftConfig:
    variant: Literal["large", "small"] = "large"
    weights: str = "data/06_models/pretrained/raft_large.pth"
    batch_size: int = 4
    num_flow_updates: int = 12
    device: Literal["auto", "cuda", "cpu"] = "auto"


@dataclass
class FlowConfig:
    backend: Literal["dis", "raft"] = "dis"  # dis: classical, offline default; raft: needs weights
    dis_preset: Literal["ultrafast", "fast", "medium"] = "medium"
    raft: RaftConfig = field(default_factory=RaftConfig)
    chunk: int = 16  # pairs per stored float16 chunk
    alpha: float = 0.01  # forward-backward consistency: |f + b|^2 < alpha (|f|^2 + |b|^2) + beta
    beta: float = 0.5
    preview_pairs: int = 4

    def validate(self) -> None:
        if self.chunk < 1:
            raise ValueError("chunk must be >= 1")

    @property
    def backend_name(self) -> str:
        """``dis_<preset>`` or ``raft_<variant>`` (recorded with the flows)."""
        return f"raft_{self.raft.variant}" if self.backend == "raft" else f"dis_{self.dis_preset}"

    def backend_options(self) -> dict:
        """Keyword arguments of :func:`v2v_pipeline.flow.backends.make_backend` for this backend."""
        if self.backend == "raft":
            r = self.raft
            return {"weights_path": r.weights, "variant": r.variant, "device": r.device, "batch_size": r.batch_size,
                    "num_flow_updates": r.num_flow_updates}
        return {"preset": self.dis_preset}
