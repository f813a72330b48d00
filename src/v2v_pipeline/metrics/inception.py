"""The FID-Inception network: TensorFlow's 2015-12-05 Inception-v3 graph as ported to PyTorch.

Published FIDs (TTUR's ``fid.py``, pytorch-fid, torch-fidelity, torchmetrics, clean-fid in
its legacy mode) use this network, which differs from torchvision's ``inception_v3`` in
four blocks: in ``Mixed_5b..5d`` (A), ``Mixed_6b..6e`` (C) and ``Mixed_7b`` (E) the 3x3
average pool of the pooling branch excludes the zero padding (``count_include_pad=False``,
TensorFlow's rule), and in ``Mixed_7c`` it is a 3x3 *max* pool. Its classifier has 1008
classes. With identical weights the two networks' pool3 features differ by ~19 % (relative
L2), so only this one gives FIDs comparable with papers.

This is a structural port of ``pytorch_fid/inception.py`` (pytorch-fid 0.3.0, Maximilian
Seitzer, Apache License 2.0, https://github.com/mseitzer/pytorch-fid) reduced to what FID
needs (pool3 features); the blocks are torchvision's with the forward passes patched as
there. Parameter names equal those of the weights file
``pt_inception-2015-12-05-6726825d.pth``, which loads unchanged (its ``fc.*`` classifier
is not used). ``tests/metrics/test_fid.py`` checks the features against pytorch-fid's own
``InceptionV3`` with the same random weights.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models.inception import BasicConv2d, InceptionA, InceptionB, InceptionC, InceptionD, InceptionE


def _tf_avg_pool(x: torch.Tensor) -> torch.Tensor:
    """TensorFlow's 3x3/1 'SAME' average pool: the zero padding is not counted."""
    return F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=False)


class FIDInceptionA(InceptionA):
    """InceptionA with TensorFlow's average pool."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b1 = self.branch1x1(x)
        b5 = self.branch5x5_2(self.branch5x5_1(x))
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        bp = self.branch_pool(_tf_avg_pool(x))
        return torch.cat([b1, b5, b3, bp], 1)


class FIDInceptionC(InceptionC):
    """InceptionC with TensorFlow's average pool."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b1 = self.branch1x1(x)
        b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        bd = x
        for layer in (self.branch7x7dbl_1, self.branch7x7dbl_2, self.branch7x7dbl_3, self.branch7x7dbl_4,
                      self.branch7x7dbl_5):
            bd = layer(bd)
        bp = self.branch_pool(_tf_avg_pool(x))
        return torch.cat([b1, b7, bd, bp], 1)


class FIDInceptionE(InceptionE):
    """InceptionE with TensorFlow's average pool (``Mixed_7b``) or a max pool (``Mixed_7c``, ``max_pool=True``)."""

    def __init__(self, in_channels: int, max_pool: bool = False) -> None:
        super().__init__(in_channels)
        self.max_pool = max_pool

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b1 = self.branch1x1(x)
        b3 = self.branch3x3_1(x)
        b3 = torch.cat([self.branch3x3_2a(b3), self.branch3x3_2b(b3)], 1)
        bd = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        bd = torch.cat([self.branch3x3dbl_3a(bd), self.branch3x3dbl_3b(bd)], 1)
        pooled = F.max_pool2d(x, kernel_size=3, stride=1, padding=1) if self.max_pool else _tf_avg_pool(x)
        return torch.cat([b1, b3, bd, self.branch_pool(pooled)], 1)


class FIDInceptionV3(nn.Module):
    """FID-Inception up to the 2048-d pool3 features: ``(N, 3, H, W)`` in [-1, 1] -> ``(N, 2048)``.

    Input is resized to 299x299 bilinearly (``align_corners=False``) as pytorch-fid does.
    The bare constructor leaves torchvision's default (random) initialisation.
    """

    dims = 2048

    def __init__(self) -> None:
        super().__init__()
        self.Conv2d_1a_3x3 = BasicConv2d(3, 32, kernel_size=3, stride=2)
        self.Conv2d_2a_3x3 = BasicConv2d(32, 32, kernel_size=3)
        self.Conv2d_2b_3x3 = BasicConv2d(32, 64, kernel_size=3, padding=1)
        self.maxpool1 = nn.MaxPool2d(kernel_size=3, stride=2)
        self.Conv2d_3b_1x1 = BasicConv2d(64, 80, kernel_size=1)
        self.Conv2d_4a_3x3 = BasicConv2d(80, 192, kernel_size=3)
        self.maxpool2 = nn.MaxPool2d(kernel_size=3, stride=2)
        self.Mixed_5b = FIDInceptionA(192, pool_features=32)
        self.Mixed_5c = FIDInceptionA(256, pool_features=64)
        self.Mixed_5d = FIDInceptionA(288, pool_features=64)
        self.Mixed_6a = InceptionB(288)
        self.Mixed_6b = FIDInceptionC(768, channels_7x7=128)
        self.Mixed_6c = FIDInceptionC(768, channels_7x7=160)
        self.Mixed_6d = FIDInceptionC(768, channels_7x7=160)
        self.Mixed_6e = FIDInceptionC(768, channels_7x7=192)
        self.Mixed_7a = InceptionD(768)
        self.Mixed_7b = FIDInceptionE(1280)
        self.Mixed_7c = FIDInceptionE(2048, max_pool=True)
        self.requires_grad_(False)
        self.eval()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(f"FIDInceptionV3: expected (N, 3, H, W) input in [-1, 1], got {tuple(x.shape)}")
        if x.shape[-2:] != (299, 299):
            x = F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False)
        for block in self.children():
            x = block(x)
        return F.adaptive_avg_pool2d(x, (1, 1)).flatten(1)
