"""Two ResNet basic blocks: one with an identity shortcut, one downsampling with a projected
(1x1 conv + batchnorm) shortcut; then global average pooling and a linear head.

Zoo convention: the factory named after the folder builds the module, seeded, with no
arguments; the module's `example_input()` fixes the input shape (batch dimension included).
"""

from __future__ import annotations

import torch
from torch import nn


class BasicBlock(nn.Module):
    """relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)), as in torchvision's ResNet."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + self.shortcut(x))


class ResNetBlocks(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.layer1 = BasicBlock(8, 8, stride=1)     # identity shortcut
        self.layer2 = BasicBlock(8, 16, stride=2)    # projected shortcut
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.layer2(self.layer1(x))
        return self.fc(torch.flatten(self.pool(x), 1))

    def example_input(self) -> torch.Tensor:
        return torch.zeros(1, 8, 8, 8)


def resnet_block(seed: int = 0) -> ResNetBlocks:
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return ResNetBlocks()
