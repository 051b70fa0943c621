"""Mini-Xception (Arriaga et al. 2017) trained on FER2013, ported from Keras.

The network is tiny (58k parameters) and its weights ship inside this package,
so it is the model that works with no download at all.
"""

from __future__ import annotations

import math
from itertools import pairwise

import torch
import torch.nn.functional as F
from torch import nn

KERAS_BN_EPS = 1e-3


def tf_same_pad(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow SAME padding for one axis: (before, after), the extra pixel after."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


class MaxPoolSame(nn.Module):
    """3x3 stride-2 max pool with TensorFlow SAME padding.

    ``nn.MaxPool2d(padding=1)`` pads both sides; TF pads the bottom/right only
    when the total is odd (60 -> 30 pads 0 top, 1 bottom), so we pad by hand.
    """

    def __init__(self, kernel: int = 3, stride: int = 2) -> None:
        super().__init__()
        self.kernel, self.stride = kernel, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        top, bottom = tf_same_pad(x.shape[-2], self.kernel, self.stride)
        left, right = tf_same_pad(x.shape[-1], self.kernel, self.stride)
        x = F.pad(x, (left, right, top, bottom), value=float("-inf"))
        return F.max_pool2d(x, self.kernel, self.stride)


class SeparableConv(nn.Module):
    """Keras SeparableConv2D (3x3 depthwise then 1x1 pointwise, no bias)."""

    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__()
        self.depthwise = nn.Conv2d(in_ch, in_ch, 3, padding=1, groups=in_ch, bias=False)
        self.pointwise = nn.Conv2d(in_ch, out_ch, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pointwise(self.depthwise(x))


class ResidualModule(nn.Module):
    """Two separable convs and a SAME max pool, plus a strided 1x1 shortcut."""

    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__()
        self.shortcut = nn.Conv2d(in_ch, out_ch, 1, stride=2, bias=False)
        self.shortcut_bn = nn.BatchNorm2d(out_ch, eps=KERAS_BN_EPS)
        self.sep1 = SeparableConv(in_ch, out_ch)
        self.bn1 = nn.BatchNorm2d(out_ch, eps=KERAS_BN_EPS)
        self.sep2 = SeparableConv(out_ch, out_ch)
        self.bn2 = nn.BatchNorm2d(out_ch, eps=KERAS_BN_EPS)
        self.pool = MaxPoolSame()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # A 1x1 stride-2 SAME conv never pads, so a plain strided conv matches Keras.
        residual = self.shortcut_bn(self.shortcut(x))
        y = F.relu(self.bn1(self.sep1(x)))
        y = self.pool(self.bn2(self.sep2(y)))
        return y + residual


class MiniXception(nn.Module):
    """Input (B, 1, 64, 64) grayscale in [-1, 1]; output (B, 7) logits.

    Keras ends with a softmax; we return logits so every model in the app has
    the same contract and the softmax happens in one place.
    """

    def __init__(self, num_classes: int = 7, widths: tuple[int, ...] = (16, 32, 64, 128)) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(8, eps=KERAS_BN_EPS)
        self.conv2 = nn.Conv2d(8, 8, 3, bias=False)
        self.bn2 = nn.BatchNorm2d(8, eps=KERAS_BN_EPS)
        channels = (8, *widths)
        self.blocks = nn.Sequential(*(ResidualModule(cin, cout) for cin, cout in pairwise(channels)))
        self.head = nn.Conv2d(widths[-1], num_classes, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.relu(self.bn2(self.conv2(x)))
        x = self.blocks(x)
        return self.head(x).mean(dim=(2, 3))
