"""A multilayer perceptron: 8 features -> 32 -> 32 -> 4, ReLU between the layers.

Zoo convention: the factory named after the folder builds the module, seeded, with no
arguments; the module's `example_input()` fixes the input shape (batch dimension included).
"""

from __future__ import annotations

import torch
from torch import nn


class MLP(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def example_input(self) -> torch.Tensor:
        return torch.zeros(1, 8)


def mlp(seed: int = 0) -> MLP:
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return MLP()
