"""A vision-transformer encoder block on 3x16x16 images.

Patches of 4x4 are embedded by a strided convolution (16 tokens of width 32), a class token is
prepended and position embeddings added; one pre-norm block (4-head self-attention through
`F.scaled_dot_product_attention`, then a GELU MLP, each with a residual) and a final layernorm
follow, and the class token is classified by a linear head (timm's layout and names).

Zoo convention: the factory named after the folder builds the module, seeded, with no
arguments; the module's `example_input()` fixes the input shape (batch dimension included).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

WIDTH, HEADS, PATCH, IMAGE = 32, 4, 4, 16
TOKENS = (IMAGE // PATCH) ** 2 + 1


class Attention(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.qkv = nn.Linear(WIDTH, 3 * WIDTH)
        self.proj = nn.Linear(WIDTH, WIDTH)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, HEADS, c // HEADS).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        x = F.scaled_dot_product_attention(q, k, v)
        return self.proj(x.transpose(1, 2).reshape(b, n, c))


class Block(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(WIDTH)
        self.attn = Attention()
        self.norm2 = nn.LayerNorm(WIDTH)
        self.mlp = nn.Sequential(nn.Linear(WIDTH, 2 * WIDTH), nn.GELU(), nn.Linear(2 * WIDTH, WIDTH))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class ViTBlock(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.patch_embed = nn.Conv2d(3, WIDTH, kernel_size=PATCH, stride=PATCH)
        self.cls_token = nn.Parameter(0.02 * torch.randn(1, 1, WIDTH))
        self.pos_embed = nn.Parameter(0.02 * torch.randn(1, TOKENS, WIDTH))
        self.block = Block()
        self.norm = nn.LayerNorm(WIDTH)
        self.head = nn.Linear(WIDTH, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.patch_embed(x).flatten(2).transpose(1, 2)          # (B, 16, WIDTH)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1) + self.pos_embed
        x = self.norm(self.block(x))
        return self.head(x[:, 0])

    def example_input(self) -> torch.Tensor:
        return torch.zeros(1, 3, IMAGE, IMAGE)


def vit_block(seed: int = 0) -> ViTBlock:
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return ViTBlock()
