"""A token classifier: 8 token ids (vocabulary 50) -> embeddings of width 8 -> 16 -> ReLU -> 3 classes.

The smallest model that takes token ids the way language models do (`nn.Embedding`), made of ops
whose interval rules are exact, so `verify` can prove robustness claims about it. Such claims
are made of the embeddings: `verify` reads a model with token ids after its lookup, the ball of
radius eps around the rows the given ids select (`pytorch2lean.ir.embeddings`).

    python -c "import numpy as np; np.save('ids.npy', np.array([[3, 14, 15, 9, 26, 5, 35, 8]]))"
    pytorch2lean run examples/tokens/model.py:classifier -i ids.npy
    pytorch2lean verify examples/tokens/model.py:classifier --input ids.npy --eps 0.01 --label 0 --lean out/
"""

from __future__ import annotations

import torch
from torch import nn

VOCAB, LENGTH, WIDTH = 50, 8, 8


class Classifier(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(VOCAB, WIDTH)
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(LENGTH * WIDTH, 16), nn.ReLU(), nn.Linear(16, 3))

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(ids))

    def example_input(self) -> torch.Tensor:
        return torch.zeros(1, LENGTH, dtype=torch.int64)


def classifier(seed: int = 0) -> Classifier:
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return Classifier().eval()
