"""Generators, discriminators and losses: pix2pixHD, Everybody Dance Now, vid2vid.

Plain PyTorch (no Kedro). Images are ``(N, C, H, W)`` in [-1, 1]; flows ``(N, 2, H, W)``
in pixels (``v2v_pipeline.flow.warp`` convention). Build a model family from a dict
config with :func:`build_models`.
"""

from v2v_pipeline.models.edn import (
    FaceResidualGenerator,
    TemporalGenerator,
    crop_boxes,
    edn_discriminator_input,
    paste_boxes,
    square_boxes,
)
from v2v_pipeline.models.factory import Models, build_models, count_flops, count_parameters, resolve_config
from v2v_pipeline.models.losses import GANLoss, feature_matching_loss, flow_loss, masked_l1, warp_loss
from v2v_pipeline.models.networks import (
    GlobalGenerator,
    InstanceNorm2d,
    LocalEnhancer,
    MultiscaleDiscriminator,
    NLayerDiscriminator,
    ResnetBlock,
    init_weights,
)
from v2v_pipeline.models.perceptual import VGG16PerceptualLoss, select_perceptual_loss
from v2v_pipeline.models.vgg import VGG19_URL, VGG19Features, VGGLoss, load_vgg_loss_or_none
from v2v_pipeline.models.vid2vid import (
    SequentialGenerator,
    SequentialOutput,
    TemporalDiscriminator,
    gather_windows,
    temporal_windows,
)

__all__ = [
    "VGG19_URL",
    "FaceResidualGenerator",
    "GANLoss",
    "GlobalGenerator",
    "InstanceNorm2d",
    "LocalEnhancer",
    "Models",
    "MultiscaleDiscriminator",
    "NLayerDiscriminator",
    "ResnetBlock",
    "SequentialGenerator",
    "SequentialOutput",
    "TemporalDiscriminator",
    "TemporalGenerator",
    "VGG16PerceptualLoss",
    "VGG19Features",
    "VGGLoss",
    "build_models",
    "count_flops",
    "count_parameters",
    "crop_boxes",
    "edn_discriminator_input",
    "feature_matching_loss",
    "flow_loss",
    "gather_windows",
    "init_weights",
    "load_vgg_loss_or_none",
    "masked_l1",
    "paste_boxes",
    "resolve_config",
    "select_perceptual_loss",
    "square_boxes",
    "temporal_windows",
    "warp_loss",
]
