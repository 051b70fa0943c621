"""EMO-AffectNet (Ryumina et al., Neurocomputing 2022): static ResNet50 and temporal LSTM.

The published PyTorch checkpoints (``FER_static_ResNet50_AffectNet.pt``,
``FER_dinamic_LSTM_<corpus>.pt``) are plain state dicts of a port of the
Keras model. These classes reproduce that port's key names exactly, so the
files load with ``strict=True``. Faithful-port decisions:

- **keras_vggface layout, not torchvision's.** The stride of a bottleneck sits
  on its first 1x1 conv (Caffe style), the stem max-pool has no padding
  (112 -> 55), and the head is fc1 2048 -> 512, ReLU, fc2 512 -> 7.
- **TF-SAME stem.** The 7x7 stride-2 stem conv pads like TensorFlow's SAME,
  computed from the runtime input size: 224 pads 2 left/top and 3
  right/bottom. A symmetric ``padding=3`` shifts every feature by one pixel.
- **BatchNorm eps 1e-3** (the Keras default the weights were trained with),
  not PyTorch's 1e-5.
- **The LSTM feature is ReLU(fc1(x)).** The Keras 'features' Dense has a ReLU
  and the authors' own torch notebook applies ``F.relu`` to fc1. One public
  port feeds the pre-ReLU fc1 output to the LSTM: that is a bug we do not copy.
- **Logits out.** Both networks return logits; the app applies softmax in one
  place. Upstream's LSTM applies softmax inside forward; the probabilities
  after our softmax are identical.

Inputs are prepared elsewhere: BGR, 224x224, VGGFace2 channel means
subtracted, 0-255 scale, no std division.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from fer_demo.models.specs import EMO_AFFECTNET_LABELS, LSTM_CORPORA, lstm_filename

__all__ = ["LSTM_CORPORA", "EmotionLSTM", "ResNet50Affect", "lstm_filename", "tf_same_padding"]
FEATURE_DIM = 512
WINDOW = 10  # frames per LSTM window, as trained

KERAS_BN_EPS = 1e-3


def tf_same_padding(size: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """TensorFlow SAME padding for one axis as (before, after); the odd pixel goes after."""
    total = max((math.ceil(size / stride) - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


def keras_bn(channels: int) -> nn.BatchNorm2d:
    """BatchNorm with the Keras eps the weights were trained with.

    Momentum only matters when training; we keep PyTorch's default rather than
    upstream's 0.99, which is the Keras value misread with PyTorch semantics.
    """
    return nn.BatchNorm2d(channels, eps=KERAS_BN_EPS)


class Conv2dSame(nn.Conv2d):
    """Conv2d with TensorFlow SAME padding computed from the input size at run time."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        top, bottom = tf_same_padding(x.shape[-2], self.kernel_size[0], self.stride[0], self.dilation[0])
        left, right = tf_same_padding(x.shape[-1], self.kernel_size[1], self.stride[1], self.dilation[1])
        if top or bottom or left or right:
            x = F.pad(x, (left, right, top, bottom))
        return super().forward(x)


class Bottleneck(nn.Module):
    """keras_vggface bottleneck: 1x1 (strided) -> 3x3 -> 1x1 x4, residual, ReLU."""

    expansion = 4

    def __init__(self, in_channels: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        out_channels = planes * self.expansion
        self.conv1 = nn.Conv2d(in_channels, planes, 1, stride=stride, bias=False)
        self.batch_norm1 = keras_bn(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)  # stride 1: SAME == symmetric 1
        self.batch_norm2 = keras_bn(planes)
        self.conv3 = nn.Conv2d(planes, out_channels, 1, bias=False)
        self.batch_norm3 = keras_bn(out_channels)
        self.i_downsample: nn.Sequential | None = None
        if stride != 1 or in_channels != out_channels:
            self.i_downsample = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False), keras_bn(out_channels)
            )
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.i_downsample is None else self.i_downsample(x)
        y = self.relu(self.batch_norm1(self.conv1(x)))
        y = self.relu(self.batch_norm2(self.conv2(y)))
        y = self.batch_norm3(self.conv3(y))
        return self.relu(y + identity)


def make_layer(in_channels: int, planes: int, blocks: int, stride: int) -> nn.Sequential:
    """A ResNet stage; only its first block strides and projects the shortcut."""
    layers = [Bottleneck(in_channels, planes, stride)]
    layers += [Bottleneck(planes * Bottleneck.expansion, planes) for _ in range(blocks - 1)]
    return nn.Sequential(*layers)


class ResNet50Affect(nn.Module):
    """The static EMO-AffectNet model: (B, 3, 224, 224) BGR mean-subtracted input -> (B, 7) logits.

    ``features`` is the 512-d per-frame descriptor the LSTMs consume;
    ``forward_with_features`` returns both from one backbone pass, since the
    video pipeline needs the label and the LSTM feature of every face.
    """

    def __init__(
        self, num_classes: int = len(EMO_AFFECTNET_LABELS), blocks: tuple[int, ...] = (3, 4, 6, 3)
    ) -> None:
        super().__init__()
        self.conv_layer_s2_same = Conv2dSame(3, 64, 7, stride=2, bias=False)
        self.batch_norm1 = keras_bn(64)
        self.relu = nn.ReLU(inplace=True)
        self.max_pool = nn.MaxPool2d(kernel_size=3, stride=2)  # unpadded, as in keras_vggface
        self.layer1 = make_layer(64, 64, blocks[0], stride=1)
        self.layer2 = make_layer(256, 128, blocks[1], stride=2)
        self.layer3 = make_layer(512, 256, blocks[2], stride=2)
        self.layer4 = make_layer(1024, 512, blocks[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc1 = nn.Linear(512 * Bottleneck.expansion, FEATURE_DIM)
        self.relu1 = nn.ReLU()
        self.fc2 = nn.Linear(FEATURE_DIM, num_classes)

    def pooled(self, x: torch.Tensor) -> torch.Tensor:
        """Backbone output after global average pooling, (B, 2048)."""
        x = self.max_pool(self.relu(self.batch_norm1(self.conv_layer_s2_same(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return torch.flatten(self.avgpool(x), 1)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The LSTM input ReLU(fc1(pooled)), (B, 512), non-negative."""
        return self.relu1(self.fc1(self.pooled(x)))

    def forward_with_features(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(logits (B, 7), features (B, 512)) from a single backbone pass."""
        feats = self.features(x)
        return self.fc2(feats), feats

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.features(x))


class EmotionLSTM(nn.Module):
    """The temporal EMO-AffectNet model: (B, T, 512) ReLU(fc1) features -> (B, 7) logits.

    Two stacked unidirectional LSTMs (512 -> 512 -> 256) with zero initial
    state; fc reads the last time step. Upstream applies softmax inside
    forward; we return logits so the app applies softmax in one place (the
    probabilities are identical). Trained on windows of ``WINDOW`` = 10 steps.
    """

    def __init__(self, num_classes: int = len(EMO_AFFECTNET_LABELS)) -> None:
        super().__init__()
        self.lstm1 = nn.LSTM(FEATURE_DIM, 512, batch_first=True)
        self.lstm2 = nn.LSTM(512, 256, batch_first=True)
        self.fc = nn.Linear(256, num_classes)

    def forward(self, seq: torch.Tensor) -> torch.Tensor:
        x, _ = self.lstm1(seq)
        x, _ = self.lstm2(x)
        return self.fc(x[:, -1, :])
