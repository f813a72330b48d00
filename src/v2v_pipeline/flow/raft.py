"""Learned optical flow with torchvision's RAFT (Teed & Deng, ECCV 2020).

The networks are built with ``weights=None`` and their state dict is read from a file the
caller names (nothing is downloaded). Export one on a machine with internet access::

    python -c "import torch, torchvision; torch.save(torchvision.models.optical_flow.raft_large(weights='Raft_Large_Weights.C_T_SKHT_V2').state_dict(), 'raft_large_C_T_SKHT_V2.pth')"

or download the torchvision checkpoint (already a plain state dict) from the URL in
:data:`RAFT_WEIGHTS_URLS`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models.optical_flow import raft_large, raft_small

from v2v_pipeline import weights
from v2v_pipeline.flow.base import check_frames
from v2v_pipeline.runtime import pick_device

RAFT_BUILDERS = {"large": raft_large, "small": raft_small}
RAFT_WEIGHTS_ENUMS = {"large": "Raft_Large_Weights.C_T_SKHT_V2", "small": "Raft_Small_Weights.C_T_V2"}
RAFT_WEIGHTS_URLS = {v: weights.get(f"raft_{v}").url for v in RAFT_BUILDERS}
MIN_SIDE = 128  # torchvision: the correlation pyramid needs feature maps >= 16 px (1/8 scale)


def _check_variant(variant: str) -> None:
    if variant not in RAFT_BUILDERS:
        raise ValueError(f"unknown RAFT variant {variant!r}; choose 'large' or 'small'")


def missing_weights_message(path: Path, variant: str) -> str:
    """Explain how to obtain the RAFT state dict expected at ``path``."""
    return weights.missing_message(f"raft_{variant}", path)


def load_raft(weights_path: str | Path, variant: str = "large") -> nn.Module:
    """Build torchvision ``raft_<variant>`` with ``weights=None`` and load a state dict file.

    Raises:
        FileNotFoundError: the file does not exist (the message says how to obtain it).
        ValueError: the file is not a state dict of this variant.
    """
    _check_variant(variant)
    path = Path(weights_path)
    state = weights.load_state_dict(f"raft_{variant}", path)
    model = RAFT_BUILDERS[variant](weights=None, progress=False)
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    got = {k: tuple(getattr(v, "shape", ())) for k, v in state.items()}
    missing = sorted(expected.keys() - got.keys())
    unexpected = sorted(got.keys() - expected.keys())
    wrong = sorted(k for k in expected.keys() & got.keys() if expected[k] != got[k])
    if missing or unexpected or wrong:
        other = "small" if variant == "large" else "large"
        raise ValueError(
            f"{path} is not a raft_{variant} state dict: {len(missing)} missing keys "
            f"{missing[:2]}, {len(unexpected)} unexpected keys {unexpected[:2]}, {len(wrong)} "
            f"tensors of the wrong shape {wrong[:2]}. If it was saved from raft_{other}, "
            f"pass variant={other!r}."
        )
    model.load_state_dict(state)
    return model.eval()


def _pad_amounts(size: int) -> tuple[int, int]:
    """(before, after) replicate padding bringing ``size`` to a multiple of 8, at least MIN_SIDE."""
    total = max(-(-size // 8) * 8, MIN_SIDE) - size
    return total // 2, total - total // 2


class RAFTFlow:
    """Batched RAFT inference implementing the :class:`~v2v_pipeline.flow.base.FlowBackend` protocol.

    Frames are scaled to ``[-1, 1]`` (torchvision's ``OpticalFlow`` transform), replicate-padded
    (centred) to a multiple of 8 and at least 64 px per side, and the flow is cropped back.
    Forward and backward flows of ``batch_size`` pairs run in one network batch of
    ``2 * batch_size`` image pairs.

    Args:
        model: a torchvision RAFT module (see :func:`load_raft`).
        device: torch device; ``None`` or ``"auto"`` picks ``cuda`` when available, else ``cpu``.
        batch_size: frame pairs per forward pass.
        num_flow_updates: recurrent refinement iterations (torchvision default 12; the RAFT
            paper evaluates with 32 on Sintel).
    """

    def __init__(
        self,
        model: nn.Module,
        device: str | torch.device | None = None,
        batch_size: int = 4,
        num_flow_updates: int = 12,
    ) -> None:
        if batch_size < 1 or num_flow_updates < 1:
            raise ValueError(f"batch_size ({batch_size}) and num_flow_updates ({num_flow_updates}) must be >= 1")
        self.device = pick_device(device or "auto")
        self.model = model.to(self.device).eval()
        self.batch_size = batch_size
        self.num_flow_updates = num_flow_updates

    @classmethod
    def from_weights(
        cls,
        weights_path: str | Path,
        variant: str = "large",
        device: str | torch.device | None = None,
        batch_size: int = 4,
        num_flow_updates: int = 12,
    ) -> RAFTFlow:
        """Load ``raft_<variant>`` weights from ``weights_path`` (see :func:`load_raft`)."""
        return cls(load_raft(weights_path, variant), device, batch_size, num_flow_updates)

    @torch.inference_mode()
    def _infer(self, image1: torch.Tensor, image2: torch.Tensor) -> torch.Tensor:
        """Flow ``(B, 2, H, W)`` from ``image1`` to ``image2`` (``(B, 3, H, W)`` in [-1, 1])."""
        h, w = image1.shape[-2:]
        top, bottom = _pad_amounts(h)
        left, right = _pad_amounts(w)
        pad = (left, right, top, bottom)
        if any(pad):
            image1 = F.pad(image1, pad, mode="replicate")
            image2 = F.pad(image2, pad, mode="replicate")
        flow = self.model(image1, image2, num_flow_updates=self.num_flow_updates)[-1]
        return flow[:, :, top : top + h, left : left + w]

    def flow_pairs(self, frames: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        h, w = check_frames(frames)
        n = len(frames) - 1
        forward = np.empty((n, h, w, 2), np.float32)
        backward = np.empty((n, h, w, 2), np.float32)
        for s in range(0, n, self.batch_size):
            e = min(n, s + self.batch_size)
            x = torch.from_numpy(np.stack(frames[s : e + 1])).to(self.device)
            x = x.permute(0, 3, 1, 2).float().div_(127.5).sub_(1.0)
            flow = self._infer(torch.cat((x[:-1], x[1:])), torch.cat((x[1:], x[:-1])))
            flow = flow.permute(0, 2, 3, 1).float().cpu().numpy()
            forward[s:e], backward[s:e] = flow[: e - s], flow[e - s :]
        return forward, backward
