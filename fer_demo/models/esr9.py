"""ESR-9 (Siqueira, Magg and Wermter, AAAI 2020): a shared base and nine convolutional branches.

Module and tensor names are the authors' (``model/ml/esr_9.py``), so each published
file loads strictly into its part: ``Net-Base-Shared_Representations.pt`` into
``base``, ``Net-Branch_<i>.pt`` into ``branches[i - 1]``.

The ensemble's outputs follow the app's convention (K logits, then valence and
arousal) so every backend and chart handles it like the other models:

- the "logits" are the log of the mean of the nine branch softmaxes, so the
  softmax the app applies gives back exactly that mean (the authors report the
  plurality vote; the mean is a probability that keeps the vote's information);
- valence and arousal are the mean of the branches', as in the authors' demo;
- the nine branch softmaxes follow, for the per-face agreement.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

from fer_demo.models.checkpoints import read_state_dict

BRANCHES = 9
CLASSES = 8


def _conv_bn(in_channels: int, out_channels: int, kernel: int, padding: int = 0) -> tuple[nn.Module, ...]:
    return nn.Conv2d(in_channels, out_channels, kernel, 1, padding), nn.BatchNorm2d(out_channels), nn.ReLU()


class Base(nn.Module):
    """Shared layers: (B, 3, 96, 96) BGR in [0, 1] -> (B, 128, 20, 20)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1, self.bn1, self.relu1 = _conv_bn(3, 64, 5)
        self.conv2, self.bn2, self.relu2 = _conv_bn(64, 128, 3)
        self.conv3, self.bn3, self.relu3 = _conv_bn(128, 128, 3)
        self.conv4, self.bn4, self.relu4 = _conv_bn(128, 128, 3)
        self.pool = nn.MaxPool2d(2, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu1(self.bn1(self.conv1(x)))
        x = self.pool(self.relu2(self.bn2(self.conv2(x))))
        x = self.relu3(self.bn3(self.conv3(x)))
        return self.pool(self.relu4(self.bn4(self.conv4(x))))


class Branch(nn.Module):
    """One member of the ensemble: shared features -> (8 logits, [valence, arousal]).

    ``relu4`` is the last convolutional layer's activation, the layer the authors'
    Grad-CAM reads.
    """

    def __init__(self) -> None:
        super().__init__()
        self.conv1, self.bn1, self.relu1 = _conv_bn(128, 128, 3)
        self.conv2, self.bn2, self.relu2 = _conv_bn(128, 256, 3)
        self.conv3, self.bn3, self.relu3 = _conv_bn(256, 256, 3)
        self.conv4, self.bn4, self.relu4 = _conv_bn(256, 512, 3, padding=1)
        self.fc = nn.Linear(512, CLASSES)
        self.fc_dimensional = nn.Linear(CLASSES, 2)  # on ReLU(logits): index 0 valence, 1 arousal
        self.pool = nn.MaxPool2d(2, 2)
        self.global_pool = nn.AdaptiveAvgPool2d(1)

    def forward(self, shared: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.relu1(self.bn1(self.conv1(shared)))
        x = self.pool(self.relu2(self.bn2(self.conv2(x))))
        x = self.relu3(self.bn3(self.conv3(x)))
        x = self.global_pool(self.relu4(self.bn4(self.conv4(x)))).flatten(1)
        logits = self.fc(x)
        return logits, self.fc_dimensional(torch.relu(logits))


class ESR9(nn.Module):
    """The ensemble; forward gives (B, 8 + 2 + 9 * 8): log mean softmax, mean V/A, branch softmaxes."""

    def __init__(self, branches: int = BRANCHES) -> None:
        super().__init__()
        self.base = Base()
        self.branches = nn.ModuleList(Branch() for _ in range(branches))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shared = self.base(x)
        outputs = [branch(shared) for branch in self.branches]
        probabilities = torch.stack([torch.softmax(logits, dim=1) for logits, _ in outputs], dim=1)
        affect = torch.stack([va for _, va in outputs], dim=1).mean(dim=1)
        mean = probabilities.mean(dim=1).clamp_min(1e-30)  # a class no branch gives stays finite
        return torch.cat([mean.log(), affect, probabilities.flatten(1)], dim=1)


def read_ensemble_state(paths: Sequence[Path]) -> OrderedDict[str, torch.Tensor]:
    """The base file then the branch files, each a state dict, as one ESR9 state dict.

    The files were saved from CUDA tensors in torch's legacy format; ``read_state_dict``
    maps them to the CPU with the weights-only unpickler.
    """
    base, *branches = paths
    state: OrderedDict[str, torch.Tensor] = OrderedDict()
    for prefix, path in [("base.", base), *((f"branches.{i}.", p) for i, p in enumerate(branches))]:
        for key, value in read_state_dict(path).items():
            state[prefix + key] = value
    return state
