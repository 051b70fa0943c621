"""EmoNet (Toisoul et al., Nature Machine Intelligence 2021): expression, valence and arousal.

A two-stack face-alignment hourglass network (FAN) predicts 68 landmark heatmaps; its features,
masked by the heatmaps, feed an emotion head. Written from the fact sheet in ARCHITECTURES.md
(upstream: face-analysis/emonet, emonet/models/emonet.py) so that the published ``emonet_5.pth``
and ``emonet_8.pth`` state dicts load with ``strict=True``.

Upstream quirks handled here:

* Upstream runs ``nn.InstanceNorm2d = nn.BatchNorm2d`` at import time, so every layer its code calls
  "InstanceNorm2d" is really a BatchNorm2d (running stats, eps 1e-5). We use ``nn.BatchNorm2d`` by name
  and patch nothing: importing this module has no side effect.
* Upstream's ``eval()`` override returns None and leaves ``self.training`` True; we keep the standard
  ``nn.Module.eval()``, which gives identical outputs.
* Upstream loads with ``strict=False`` after stripping ``module.`` (DataParallel); ours is meant to be
  loaded with ``strict=True`` after :func:`strip_module_prefix`, so a wrong file fails loudly.
* Only what the published checkpoints use is implemented: two stacks, four emotion blocks, attention
  on, no temporal smoothing. ``forward`` returns one raw tensor instead of a dict, without the heatmaps.
* The label order is not decided here: index 4 of the 5-class model is Anger (upstream's dataset code),
  not Fear (its README); the label specs handle that.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

N_LANDMARKS = 68
FEATURES = 256
INPUT_SIZE = 256  # the only input size the head accepts (AvgPool2d(4) then flatten)


def strip_module_prefix(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Remove a leading ``module.`` (added by DataParallel when the checkpoint was saved) from keys."""
    prefix = "module."
    return {(key[len(prefix) :] if key.startswith(prefix) else key): value for key, value in state.items()}


def conv3x3(in_ch: int, out_ch: int) -> nn.Conv2d:
    return nn.Conv2d(in_ch, out_ch, kernel_size=3, stride=1, padding=1, bias=False)


def conv1x1(in_ch: int, out_ch: int) -> nn.Conv2d:
    """1x1 conv with a bias, as every 1x1 conv outside a ConvBlock upstream."""
    return nn.Conv2d(in_ch, out_ch, kernel_size=1)


class ConvBlock(nn.Module):
    """Pre-activation residual block keeping the spatial size: (B, in, H, W) -> (B, out, H, W).

    Three BN-ReLU-conv steps produce out/2, out/4 and out/4 channels; their raw outputs are
    concatenated and the residual added, with no ReLU after the sum.
    """

    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__()
        half, quarter = out_ch // 2, out_ch // 4
        self.bn1 = nn.BatchNorm2d(in_ch)
        self.conv1 = conv3x3(in_ch, half)
        self.bn2 = nn.BatchNorm2d(half)
        self.conv2 = conv3x3(half, quarter)
        self.bn3 = nn.BatchNorm2d(quarter)
        self.conv3 = conv3x3(quarter, quarter)
        self.downsample: nn.Sequential | None = None
        if in_ch != out_ch:
            self.downsample = nn.Sequential(
                nn.BatchNorm2d(in_ch), nn.ReLU(), nn.Conv2d(in_ch, out_ch, kernel_size=1, bias=False)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out1 = self.conv1(F.relu(self.bn1(x)))
        out2 = self.conv2(F.relu(self.bn2(out1)))
        out3 = self.conv3(F.relu(self.bn3(out2)))
        residual = x if self.downsample is None else self.downsample(x)
        return torch.cat((out1, out2, out3), dim=1) + residual


class HourGlass(nn.Module):
    """One hourglass of depth 4 on 256 channels: (B, 256, H, W) -> same shape, H and W divisible by 16.

    Blocks are registered in upstream's recursive order (b1_4, b2_4, b1_3, ..., b2_1, b2_plus_1,
    b3_1, ..., b3_4) so the state-dict keys come out in checkpoint order.
    """

    def __init__(self, depth: int = 4, features: int = FEATURES) -> None:
        super().__init__()
        self.depth = depth
        self._register_level(depth, features)

    def _register_level(self, level: int, features: int) -> None:
        self.add_module(f"b1_{level}", ConvBlock(features, features))
        self.add_module(f"b2_{level}", ConvBlock(features, features))
        if level > 1:
            self._register_level(level - 1, features)
        else:
            self.add_module(f"b2_plus_{level}", ConvBlock(features, features))
        self.add_module(f"b3_{level}", ConvBlock(features, features))

    def _block(self, name: str) -> nn.Module:
        return self._modules[name]  # type: ignore[return-value]

    def _forward_level(self, level: int, x: torch.Tensor) -> torch.Tensor:
        upper = self._block(f"b1_{level}")(x)
        lower = self._block(f"b2_{level}")(F.max_pool2d(x, 2, stride=2))
        # Recurse down to 1/16 of the input size; the deepest level has one extra block.
        inner = self._forward_level(level - 1, lower) if level > 1 else self._block(f"b2_plus_{level}")(lower)
        lower = self._block(f"b3_{level}")(inner)
        return upper + F.interpolate(lower, scale_factor=2, mode="nearest")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._forward_level(self.depth, x)


class EmoNet(nn.Module):
    """EmoNet with the published configuration (2 hourglass stacks, attention, 4 emotion blocks).

    Input: (B, 3, 256, 256) float RGB in [0, 1], no mean/std normalisation (the size is fixed: the
    final AvgPool2d(4) expects a 4x4 map). Output: (B, n_expression + 2) raw values: expression
    logits, then valence, then arousal (no softmax, tanh or clamp). Call ``eval()`` before inference:
    BatchNorm1d in train mode fails at batch size 1 and would mix samples.
    """

    num_stacks = 2
    n_emotion_blocks = 4
    n_regression = 2

    def __init__(self, n_expression: int = 8) -> None:
        super().__init__()
        self.n_expression = n_expression
        # Stem: 256 -> 128 (strided conv) -> 64 (pool after conv2).
        self.conv1 = nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3)
        self.bn1 = nn.BatchNorm2d(64)
        self.conv2 = ConvBlock(64, 128)
        self.conv3 = ConvBlock(128, 128)
        self.conv4 = ConvBlock(128, FEATURES)
        # Stacks, registered interleaved as upstream does (checkpoint key order).
        for i in range(self.num_stacks):
            self.add_module(f"m{i}", HourGlass())
            self.add_module(f"top_m_{i}", ConvBlock(FEATURES, FEATURES))
            self.add_module(f"conv_last{i}", conv1x1(FEATURES, FEATURES))
            self.add_module(f"bn_end{i}", nn.BatchNorm2d(FEATURES))
            self.add_module(f"l{i}", conv1x1(FEATURES, N_LANDMARKS))
            if i < self.num_stacks - 1:  # only intermediate stacks feed the next one
                self.add_module(f"bl{i}", conv1x1(FEATURES, FEATURES))
                self.add_module(f"al{i}", conv1x1(N_LANDMARKS, FEATURES))
        # Emotion head: [conv4 features | masked stack features] -> 256 x 64 x 64 -> 256 x 4 x 4.
        self.conv1x1_input_emo_2 = conv1x1(FEATURES * (self.num_stacks + 1), FEATURES)
        layers: list[nn.Module] = []
        for _ in range(self.n_emotion_blocks):
            layers += [ConvBlock(FEATURES, FEATURES), nn.MaxPool2d(2, 2)]
        self.emo_net_2 = nn.Sequential(*layers)
        self.avg_pool_2 = nn.AvgPool2d(4)
        self.emo_fc_2 = nn.Sequential(
            nn.Linear(FEATURES, 128),
            nn.BatchNorm1d(128),
            nn.ReLU(),
            nn.Linear(128, n_expression + self.n_regression),
        )

    def _layer(self, name: str) -> nn.Module:
        return self._modules[name]  # type: ignore[return-value]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.bn1(self.conv1(x)))  # 64 x 128 x 128
        x = F.max_pool2d(self.conv2(x), 2, stride=2)  # 128 x 64 x 64
        x = self.conv4(self.conv3(x))  # 256 x 64 x 64, reused unmasked by the emotion head

        previous = x
        stack_features: list[torch.Tensor] = []
        heatmaps = x  # reassigned in every stack; the last stack's heatmaps drive the attention
        for i in range(self.num_stacks):
            features = self._layer(f"top_m_{i}")(self._layer(f"m{i}")(previous))
            features = F.relu(self._layer(f"bn_end{i}")(self._layer(f"conv_last{i}")(features)))
            heatmaps = self._layer(f"l{i}")(features)  # B x 68 x 64 x 64, raw
            if i < self.num_stacks - 1:
                features = self._layer(f"bl{i}")(features)
                previous = previous + features + self._layer(f"al{i}")(heatmaps)
            stack_features.append(features)

        # Attention: the channel sum of the raw heatmaps weights each position of the stack features.
        mask = heatmaps.sum(dim=1, keepdim=True)  # B x 1 x 64 x 64
        emo_features = torch.cat((x, torch.cat(stack_features, dim=1) * mask), dim=1)

        out = self.emo_net_2(self.conv1x1_input_emo_2(emo_features))  # 256 x 4 x 4
        out = self.avg_pool_2(out).flatten(1)
        return self.emo_fc_2(out)
