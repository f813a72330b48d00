"""Build the networks of a model family from a plain dict, plus size/cost helpers.

Config keys (unknown keys, keys of another family, wrong types and bad choices raise
``ValueError`` naming the key)::

    model: pix2pixhd | edn | vid2vid        # required
    label_ch: 3        out_ch: 3            # label map / image channels
    ngf: 64            n_downsampling: 4 (vid2vid: 3)    n_blocks: 9
    norm: instance     upsampling: transpose   max_channels: 1024
    ndf: 64            n_layers_D: 3        num_D: 2      norm_D: null (= norm)
    # pix2pixhd, edn
    local_enhancer: false   n_blocks_local: 3
    background: false       background_width: 0   background_height: 0   (composite over a plate)
    # edn
    use_prev_label: false   face_gan: false   face_ngf: 64   face_n_downsampling: 3
    face_n_blocks: 5        face_ndf: 64      face_n_layers_D: 3   face_norm_D: batch
    # vid2vid
    n_frames_G: 3   flow_scale: 20.0   n_frames_D: 3   n_scales_temporal: 2
    num_D_temporal: null (= num_D)

``ngf`` is always the global generator's width; with ``local_enhancer: true`` the
enhancer gets ``ngf // 2`` (pix2pixHD's ``--netG local --ngf 32`` = global ngf 64).
Discriminator inputs: pix2pixHD and vid2vid ``concat(label, image)``; EDN
``concat(label_{t-1}, label_t, img_{t-1}, img_t)``; EDN face ``concat(face label, face)``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any, ClassVar

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from v2v_pipeline.models.background import BackgroundComposite
from v2v_pipeline.models.edn import FaceResidualGenerator, TemporalGenerator
from v2v_pipeline.models.networks import NORMS, UPSAMPLINGS, GlobalGenerator, LocalEnhancer, MultiscaleDiscriminator
from v2v_pipeline.models.vid2vid import SequentialGenerator, TemporalDiscriminator

MODELS: tuple[str, ...] = ("pix2pixhd", "edn", "vid2vid")


@dataclass(frozen=True)
class CommonConfig:
    """Sizes every family has (see the module docstring)."""

    label_ch: int = 3
    out_ch: int = 3
    ngf: int = 64
    n_downsampling: int = 4
    n_blocks: int = 9
    norm: str = "instance"
    upsampling: str = "transpose"
    max_channels: int = 1024
    ndf: int = 64
    n_layers_D: int = 3
    num_D: int = 2
    norm_D: str | None = None  # null = norm

    model: ClassVar[str] = ""

    def to_dict(self) -> dict[str, Any]:
        """The plain dict stored in model files and checkpoints (``model`` first)."""
        return {"model": self.model, **{f.name: getattr(self, f.name) for f in fields(self)}}

    @property
    def size_factor(self) -> int:
        """Training width and height must be multiples of this."""
        return 2 ** (self.n_downsampling + (1 if getattr(self, "local_enhancer", False) else 0))

    def with_training_size(self, width: int, height: int) -> CommonConfig:
        """The config with the background plate's size set (a no-op without a background)."""
        if not getattr(self, "background", False):
            return self
        return replace(self, background_width=width, background_height=height)


@dataclass(frozen=True)
class Pix2PixHDConfig(CommonConfig):
    local_enhancer: bool = False
    n_blocks_local: int = 3
    # composite over a static background plate with a predicted mask (models/background.py);
    # background_width/height are the training resolution (set by the trainer)
    background: bool = False
    background_width: int = 0
    background_height: int = 0

    model: ClassVar[str] = "pix2pixhd"


@dataclass(frozen=True)
class EDNConfig(Pix2PixHDConfig):
    use_prev_label: bool = False
    face_gan: bool = False
    face_ngf: int = 64
    face_n_downsampling: int = 3
    face_n_blocks: int = 5
    face_ndf: int = 64
    face_n_layers_D: int = 3
    face_norm_D: str = "batch"

    model: ClassVar[str] = "edn"


@dataclass(frozen=True)
class Vid2VidConfig(CommonConfig):
    n_downsampling: int = 3
    n_frames_G: int = 3
    flow_scale: float = 20.0
    n_frames_D: int = 3
    n_scales_temporal: int = 2
    num_D_temporal: int | None = None  # null = num_D
    background: bool = False  # accepted so that configs can switch it off explicitly

    model: ClassVar[str] = "vid2vid"


NetworkConfig = Pix2PixHDConfig | EDNConfig | Vid2VidConfig
CONFIGS: dict[str, type[CommonConfig]] = {"pix2pixhd": Pix2PixHDConfig, "edn": EDNConfig, "vid2vid": Vid2VidConfig}
_CHOICES: dict[str, tuple[str, ...]] = {
    "norm": NORMS, "norm_D": NORMS, "face_norm_D": NORMS, "upsampling": UPSAMPLINGS,
}  # fmt: skip
_NULLABLE_INT = {"num_D_temporal"}
_MAY_BE_ZERO = {"n_downsampling", "n_blocks", "n_blocks_local", "face_n_downsampling", "face_n_blocks",
                "background_width", "background_height"}


def _defaults(model: str) -> dict[str, Any]:
    return {f.name: f.default for f in fields(CONFIGS[model])}


@dataclass
class Models:
    """The networks of one model family (``None`` where the family has no such network)."""

    generator: nn.Module
    discriminator: MultiscaleDiscriminator
    temporal_discriminator: TemporalDiscriminator | None = None
    face_generator: FaceResidualGenerator | None = None
    face_discriminator: MultiscaleDiscriminator | None = None
    config: dict[str, Any] = field(default_factory=dict)

    def named(self) -> dict[str, nn.Module]:
        """The networks that exist, by attribute name."""
        names = ("generator", "discriminator", "temporal_discriminator", "face_generator", "face_discriminator")
        return {n: m for n in names if (m := getattr(self, n)) is not None}


def network_config(config: Mapping[str, Any] | CommonConfig) -> NetworkConfig:
    """The typed config of ``config['model']``: validated, defaults filled in, resolved once."""
    if isinstance(config, CommonConfig):
        return config  # type: ignore[return-value]
    model = config.get("model")
    if model not in MODELS:
        raise ValueError(f"models config: 'model' must be one of {MODELS}, got {model!r}")
    defaults = _defaults(model)
    unknown = sorted(set(config) - set(defaults) - {"model"})
    if unknown:
        others = [m for m in MODELS if m != model and set(unknown) <= set(_defaults(m))]
        hint = f" (only used by model {' / '.join(others)})" if others else ""
        raise ValueError(
            f"models config: unknown key(s) {unknown} for model {model!r}{hint}; allowed keys: {sorted(defaults)}"
        )
    resolved = {**defaults, **{k: v for k, v in config.items() if k != "model"}}
    for key, default in defaults.items():
        value = resolved[key]
        if key in _CHOICES:
            if value is None and default is None:
                continue
            if value not in _CHOICES[key]:
                raise ValueError(f"models config: {key} must be one of {_CHOICES[key]}, got {value!r}")
        elif key in _NULLABLE_INT:
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ValueError(f"models config: {key} must be a positive integer or null, got {value!r}")
        elif isinstance(default, bool):
            if not isinstance(value, bool):
                raise ValueError(f"models config: {key} must be true or false, got {value!r}")
        elif isinstance(default, int):
            if isinstance(value, bool) or not isinstance(value, int) or value < (key not in _MAY_BE_ZERO):
                kind = "a non-negative" if key in _MAY_BE_ZERO else "a positive"
                raise ValueError(f"models config: {key} must be {kind} integer, got {value!r}")
        elif isinstance(default, float):
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise ValueError(f"models config: {key} must be a positive number, got {value!r}")
    resolved["norm_D"] = resolved["norm_D"] or resolved["norm"]
    if model == "vid2vid":
        resolved["num_D_temporal"] = resolved["num_D_temporal"] or resolved["num_D"]
    if resolved.get("local_enhancer") and resolved["ngf"] % 2:
        raise ValueError(f"models config: local_enhancer needs an even ngf, got {resolved['ngf']}")
    if model == "vid2vid" and resolved["background"]:
        raise ValueError("models config: background is not available for vid2vid (it has its own flow-warping "
                         "composition); set network.background: false")
    if resolved.get("background") and resolved.get("local_enhancer"):
        raise ValueError("models config: background and local_enhancer cannot be combined")
    return CONFIGS[model](**resolved)  # type: ignore[return-value]


def resolve_config(config: Mapping[str, Any] | CommonConfig) -> dict[str, Any]:
    """Validate ``config`` and fill in the defaults of its model family, as a plain dict."""
    return network_config(config).to_dict()


def build_models(config: Mapping[str, Any] | CommonConfig) -> Models:
    """Instantiate the generator and discriminator(s) of ``config['model']``."""
    c = resolve_config(config)
    label_ch, out_ch = c["label_ch"], c["out_ch"]
    sizes = {"norm": c["norm"], "upsampling": c["upsampling"], "max_channels": c["max_channels"]}

    def pix2pixhd_generator(in_ch: int) -> nn.Module:
        if c["background"]:
            glob = GlobalGenerator(in_ch + 3, out_ch + 1, c["ngf"], c["n_downsampling"], c["n_blocks"], **sizes)
            return BackgroundComposite(glob, c["background_width"], c["background_height"])
        glob = GlobalGenerator(in_ch, out_ch, c["ngf"], c["n_downsampling"], c["n_blocks"], **sizes)
        if not c["local_enhancer"]:
            return glob
        return LocalEnhancer(in_ch, out_ch, c["ngf"] // 2, c["n_blocks_local"], global_generator=glob, **sizes)

    def discriminator(in_ch: int, num_D: int | None = None) -> MultiscaleDiscriminator:
        return MultiscaleDiscriminator(in_ch, c["ndf"], c["n_layers_D"], num_D or c["num_D"], c["norm_D"])

    if c["model"] == "pix2pixhd":
        return Models(pix2pixhd_generator(label_ch), discriminator(label_ch + out_ch), config=c)
    if c["model"] == "edn":
        temporal = TemporalGenerator(
            pix2pixhd_generator(label_ch * (2 if c["use_prev_label"] else 1) + out_ch),
            label_ch, out_ch, use_prev_label=c["use_prev_label"],
        )  # fmt: skip
        models = Models(temporal, discriminator(2 * (label_ch + out_ch)), config=c)
        if c["face_gan"]:
            models.face_generator = FaceResidualGenerator(
                label_ch, out_ch, c["face_ngf"], c["face_n_downsampling"], c["face_n_blocks"], c["norm"],
                c["upsampling"],
            )  # fmt: skip
            models.face_discriminator = MultiscaleDiscriminator(
                label_ch + out_ch, c["face_ndf"], c["face_n_layers_D"], 1, c["face_norm_D"]
            )
        return models
    generator = SequentialGenerator(
        label_ch, out_ch, c["n_frames_G"], c["ngf"], c["n_downsampling"], c["n_blocks"],
        flow_scale=float(c["flow_scale"]), **sizes,
    )  # fmt: skip
    temporal_d = TemporalDiscriminator(
        out_ch, c["n_frames_D"], c["n_scales_temporal"], c["ndf"], c["n_layers_D"], c["num_D_temporal"],
        c["norm_D"], flow_scale=float(c["flow_scale"]),
    )  # fmt: skip
    return Models(generator, discriminator(label_ch + out_ch), temporal_d, config=c)


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameter elements (only those with ``requires_grad`` if ``trainable_only``)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def count_flops(model: nn.Module, *inputs: torch.Tensor | Sequence[int], **kwargs: Any) -> int:
    """Forward-pass FLOPs (multiply-add = 2 FLOPs) of ``model(*inputs, **kwargs)``.

    Each input is a tensor or a shape (zeros of that shape on the model's device).
    Counted with ``torch.utils.flop_counter`` (convolutions and matmuls only).
    """
    device = next(model.parameters()).device
    args = [x if isinstance(x, torch.Tensor) else torch.zeros(tuple(x), device=device) for x in inputs]
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(*args, **kwargs)
    return int(counter.get_total_flops())
