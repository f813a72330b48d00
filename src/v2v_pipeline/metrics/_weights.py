"""Loading of pretrained state dicts from caller-given paths, with actionable errors."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import torch


def load_state_dict_file(path: str | Path, *, what: str, how: str) -> dict[str, torch.Tensor]:
    """Read a ``torch.save``'d state dict (CPU tensors) from ``path``.

    ``what`` names the weights in error messages and ``how`` tells the user how to obtain
    them. A ``{"state_dict": ...}`` wrapper and the ``module.`` prefix of
    ``DataParallel`` checkpoints are unwrapped.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{what} weights not found at '{path}'. {how}")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - re-raised with context
        raise ValueError(f"could not read {what} weights from '{path}': {exc}. {how}") from exc
    if isinstance(obj, Mapping) and isinstance(obj.get("state_dict"), Mapping):
        obj = obj["state_dict"]
    if not isinstance(obj, Mapping) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise ValueError(
            f"'{path}' is not a state dict (a mapping of names to tensors) for {what}. {how}"
        )
    return {str(k).removeprefix("module."): v for k, v in obj.items()}


def load_strict(
    module: torch.nn.Module,
    state: Mapping[str, torch.Tensor],
    *,
    what: str,
    path: str | Path,
    how: str,
) -> None:
    """``module.load_state_dict(state, strict=True)`` with an error that names the file."""
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        detail = " ".join(str(exc).split())
        detail = detail if len(detail) <= 400 else detail[:400] + " ..."
        raise ValueError(f"'{path}' does not match the {what} architecture: {detail}. {how}") from exc
