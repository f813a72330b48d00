"""The training recipes the suite measures: conf/base/parameters_train.yml merged with compare_recipes.RECIPES.

Plain dicts (the `train:` parameters), read by both the project adapter and the plain baseline.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from compare_recipes import RECIPES  # noqa: E402 (benchmarks/ is on sys.path)

ROOT = Path(__file__).resolve().parents[1]
NAMES = ("default", "pix2pixhd_faithful", "edn_temporal", "vid2vid")


def _merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else copy.deepcopy(v)
    return out


def recipe(name: str) -> dict[str, Any]:
    """The `train` parameters of recipe ``name`` (key by key over the base configuration, as Kedro merges)."""
    if name not in RECIPES:
        raise ValueError(f"unknown recipe {name!r}; choose from {sorted(RECIPES)}")
    base = yaml.safe_load((ROOT / "conf" / "base" / "parameters_train.yml").read_text())["train"]
    return _merge(base, RECIPES[name])


def network_config(train: dict[str, Any], size: tuple[int, int], label_ch: int = 3) -> dict[str, Any]:
    """The models.factory config of a recipe at training size ``(w, h)``."""
    net = dict(train["network"])
    if net.get("background"):
        net.update(background_width=size[0], background_height=size[1])
    return {"model": train["model"], **net, "label_ch": label_ch}


def images_per_step(train: dict[str, Any]) -> int:
    """Generated frames per step: batch x frames per sample (vid2vid: less the real history frames)."""
    seq = int(train["sequence_length"])
    if train["model"] == "vid2vid":
        seq -= int(train["network"].get("n_frames_G", 3)) - 1
    return int(train["batch_size"]) * max(1, seq)


def quick(train: dict[str, Any]) -> dict[str, Any]:
    """A tiny version of a recipe for smoke tests (same family and losses, small networks)."""
    t = copy.deepcopy(train)
    t["network"].update(ngf=8, ndf=8, n_blocks=1, n_layers_D=2, num_D=1)
    t["network"]["n_downsampling"] = 2
    return t
