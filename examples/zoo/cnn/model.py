"""A small CNN on 3x16x16 images: two conv-batchnorm-relu stages, max then average pooling, 10 classes.

Zoo convention: the factory named after the folder builds the module, seeded, with no
arguments; the module's `example_input()` fixes the input shape (batch dimension included).
"""

from __future__ import annotations

import torch
from torch import nn


class CNN(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, kernel_size=3, padding=1)
        self.bn1 = nn.BatchNorm2d(8)
        self.pool1 = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(8, 16, kernel_size=3, padding=1)
        self.bn2 = nn.BatchNorm2d(16)
        self.pool2 = nn.AvgPool2d(2)
        self.fc = nn.Linear(16 * 4 * 4, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool1(torch.relu(self.bn1(self.conv1(x))))   # 8 x 8 x 8
        x = self.pool2(torch.relu(self.bn2(self.conv2(x))))   # 16 x 4 x 4
        return self.fc(torch.flatten(x, 1))

    def example_input(self) -> torch.Tensor:
        return torch.zeros(1, 3, 16, 16)


def cnn(seed: int = 0) -> CNN:
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return CNN()
