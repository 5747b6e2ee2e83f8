"""A corpus of real architectures as people ship them, each a factory with no arguments.

Every factory builds its model with random weights (seeded; nothing is downloaded) and returns an
`nn.Module` mapping one float32 image batch to logits, with an `example_input()` fixing the input
shape. `cifar_resnet18` is written here in the style of published verification benchmarks'
sources (in-place `out += self.shortcut(x)`, `nn.ReLU(inplace=True)`, `out.view(out.size(0), -1)`);
`torch_vit` from torch.nn's own transformer modules;
the `hf_*` factories build Hugging Face `transformers` models (which need only torch, not
torchvision) from small configurations of the published topologies: vision classifiers from
pixels, and text models (BERT, GPT-2, a Llama decoder, DistilBERT) twice: from token ids
(`hf_*_tokens`, an int64 input of shape (1, 8), ids below the vocabulary of 50) as users call
them, and from token embeddings (`inputs_embeds`), the network after the lookup.

    pytorch2lean run examples/corpus/models.py:hf_vit -i x.npy          # x of shape (1, 3, 32, 32)
    pytorch2lean run examples/corpus/models.py:hf_gpt2_tokens -i ids.npy  # int64 ids of shape (1, 8)

Weights and statistics are then perturbed (`randomized`) so that no output is trivially zero: a
freshly initialised classifier head or batch norm would hide a wrong lowering.
"""

from __future__ import annotations

from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch import nn

IMAGE = (1, 3, 32, 32)


class BasicBlock(nn.Module):
    """The CIFAR ResNet block: in-place residual add and ReLU."""

    expansion = 1

    def __init__(self, cin: int, cout: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out += self.shortcut(x)
        return F.relu(out, inplace=True)


class CifarResNet(nn.Module):
    def __init__(self, blocks: list[int], width: int = 64, classes: int = 10) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        layers, cin = [], width
        for k, count in enumerate(blocks):
            cout = width * 2 ** k
            for j in range(count):
                layers.append(BasicBlock(cin, cout, 2 if k and not j else 1))
                cin = cout
        self.layers = nn.Sequential(*layers)
        self.linear = nn.Linear(cin, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)), inplace=True)
        out = F.adaptive_avg_pool2d(self.layers(out), (1, 1))
        out = out.view(out.size(0), -1)
        return self.linear(out)

    def example_input(self) -> torch.Tensor:
        return torch.zeros(IMAGE)


class TorchViT(nn.Module):
    """A ViT from torch's own modules: patch convolution, class token, learned positions and a
    pre-norm `nn.TransformerEncoder` (its attention is `nn.MultiheadAttention`)."""

    def __init__(self, image: int = 32, patch: int = 8, width: int = 32, depth: int = 2, heads: int = 4) -> None:
        super().__init__()
        self.patch = nn.Conv2d(3, width, patch, patch)
        self.cls = nn.Parameter(torch.zeros(1, 1, width))
        self.pos = nn.Parameter(torch.zeros(1, (image // patch) ** 2 + 1, width))
        layer = nn.TransformerEncoderLayer(width, heads, 2 * width, dropout=0.0, activation="gelu", batch_first=True,
                                           norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, depth, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(width)
        self.head = nn.Linear(width, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.patch(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], 1) + self.pos
        return self.head(self.norm(self.encoder(x))[:, 0])

    def example_input(self) -> torch.Tensor:
        return torch.zeros(IMAGE)


class Logits(nn.Module):
    """A `transformers` image classifier as a module from pixels to logits."""

    def __init__(self, model: nn.Module, image: tuple[int, ...] = IMAGE) -> None:
        super().__init__()
        self.model = model
        self.image = image

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.model(pixel_values=pixels).logits

    def example_input(self) -> torch.Tensor:
        return torch.zeros(self.image)


class Tokens(nn.Module):
    """A `transformers` text model from token ids (`input_ids`, int64) to its last hidden states,
    as users call it: the lookup, position ids and attention masks are the model's own."""

    def __init__(self, model: nn.Module, length: int = 8, **options: Any) -> None:
        super().__init__()
        self.model = model
        self.length = length
        self.options = options

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.model(input_ids=ids, **self.options).last_hidden_state

    def example_input(self) -> torch.Tensor:
        return torch.zeros(1, self.length, dtype=torch.int64)


class Hidden(nn.Module):
    """A `transformers` text model from token embeddings (`inputs_embeds`) to its last hidden states:
    the network after the token lookup."""

    def __init__(self, model: nn.Module, length: int = 8, **options: Any) -> None:
        super().__init__()
        self.model = model
        self.length = length
        self.options = options

    def forward(self, embeddings: torch.Tensor) -> torch.Tensor:
        return self.model(inputs_embeds=embeddings, **self.options).last_hidden_state

    def example_input(self) -> torch.Tensor:
        return torch.zeros(1, self.length, self.model.config.hidden_size)


def randomized(module: nn.Module, seed: int = 0) -> nn.Module:
    """`module` in eval mode with every parameter perturbed and batch norm statistics drawn at random."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in module.state_dict().items():
            if not t.is_floating_point():
                continue
            if name.endswith("running_var"):
                t.copy_(torch.rand(t.shape, generator=g) + 0.5)
            else:
                scale = 0.1 if name.endswith(("running_mean", "bias")) else 0.2 * t.abs().mean().clamp(min=0.05)
                t.add_(torch.randn(t.shape, generator=g) * scale)
    return module.eval()


def _hf(config: str, model: str, image: tuple[int, ...] = IMAGE, **settings: Any) -> Callable[[], nn.Module]:
    """A factory of the `transformers` classifier `model` built from `config(**settings)`, 10 labels."""
    def build() -> nn.Module:
        import transformers

        torch.manual_seed(0)
        cfg = getattr(transformers, config)(num_labels=10, **settings)
        return randomized(Logits(getattr(transformers, model)(cfg), image))

    build.__doc__ = f"transformers.{model} ({', '.join(f'{k}={v}' for k, v in settings.items())})"
    return build


def _text(config: str, model: str, options: dict[str, Any] | None = None, *, ids: bool = False,
          **settings: Any) -> Callable[[], nn.Module]:
    """A factory of the `transformers` text model `model` built from `config(**settings)`, read from
    token ids (`ids`) or from embeddings; the same seed gives both the same weights."""
    def build() -> nn.Module:
        import transformers

        torch.manual_seed(0)
        wrap = Tokens if ids else Hidden
        return randomized(wrap(getattr(transformers, model)(getattr(transformers, config)(**settings)), **(options or {})))

    source = "token ids" if ids else "embeddings"
    build.__doc__ = f"transformers.{model} from {source} ({', '.join(f'{k}={v}' for k, v in settings.items())})"
    return build


def cifar_resnet18() -> nn.Module:
    """ResNet-18 for 32x32 images (11M parameters), written as verification benchmarks write it."""
    torch.manual_seed(0)
    return randomized(CifarResNet([2, 2, 2, 2]))


def torch_vit() -> nn.Module:
    """A small ViT built from torch.nn's transformer modules alone."""
    torch.manual_seed(0)
    return randomized(TorchViT())


VIT = dict(image_size=32, patch_size=8, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64)
STAGES = dict(hidden_sizes=[16, 32, 64, 128], depths=[2, 2, 2, 2])

hf_resnet18 = _hf("ResNetConfig", "ResNetForImageClassification", embedding_size=16, layer_type="basic", **STAGES)
hf_resnet50 = _hf("ResNetConfig", "ResNetForImageClassification", embedding_size=16, layer_type="bottleneck",
                  hidden_sizes=[32, 64, 128, 256], depths=[3, 4, 6, 3])
hf_mobilenet_v1 = _hf("MobileNetV1Config", "MobileNetV1ForImageClassification", depth_multiplier=0.25, image_size=32)
hf_mobilenet_v2 = _hf("MobileNetV2Config", "MobileNetV2ForImageClassification", depth_multiplier=0.35, image_size=32)
hf_efficientnet_b0 = _hf("EfficientNetConfig", "EfficientNetForImageClassification", width_coefficient=0.25,
                         depth_coefficient=1.0, hidden_dim=320, image_size=32)
hf_convnext_t = _hf("ConvNextConfig", "ConvNextForImageClassification", hidden_sizes=[16, 32, 64, 128], depths=[3, 3, 9, 3])
hf_regnet = _hf("RegNetConfig", "RegNetForImageClassification", embedding_size=16, groups_width=8, **STAGES)
hf_poolformer = _hf("PoolFormerConfig", "PoolFormerForImageClassification", **STAGES)
hf_vit = _hf("ViTConfig", "ViTForImageClassification", **VIT)
hf_deit = _hf("DeiTConfig", "DeiTForImageClassification", **VIT)
hf_swin = _hf("SwinConfig", "SwinForImageClassification", image_size=32, patch_size=2, embed_dim=16, depths=[2, 2],
              num_heads=[2, 4], window_size=4)
hf_levit = _hf("LevitConfig", "LevitForImageClassification", (1, 3, 64, 64), image_size=64, hidden_sizes=[32, 48, 64],
               num_attention_heads=[2, 2, 2], depths=[1, 1, 1], key_dim=[8, 8, 8])
hf_mobilevit = _hf("MobileViTConfig", "MobileViTForImageClassification", image_size=32, hidden_sizes=[16, 24, 32],
                   neck_hidden_sizes=[8, 8, 16, 16, 24, 24, 32])
hf_dinov2 = _hf("Dinov2Config", "Dinov2ForImageClassification", **{k: v for k, v in VIT.items() if k != "intermediate_size"})

TEXT = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64, vocab_size=50,
            max_position_embeddings=16)
GPT2 = dict(n_embd=32, n_layer=2, n_head=4, n_positions=16, vocab_size=50, bos_token_id=0, eos_token_id=0)
LLAMA = dict(num_key_value_heads=2, **TEXT)  # RMSNorm, SwiGLU, rotary, GQA
DISTILBERT = dict(dim=32, n_layers=2, n_heads=4, hidden_dim=64, vocab_size=50, max_position_embeddings=16)
hf_bert = _text("BertConfig", "BertModel", **TEXT)
hf_gpt2 = _text("GPT2Config", "GPT2Model", {"use_cache": False}, **GPT2)
hf_llama = _text("LlamaConfig", "LlamaModel", {"use_cache": False}, **LLAMA)
hf_distilbert = _text("DistilBertConfig", "DistilBertModel", **DISTILBERT)
hf_bert_tokens = _text("BertConfig", "BertModel", ids=True, **TEXT)
hf_gpt2_tokens = _text("GPT2Config", "GPT2Model", {"use_cache": False}, ids=True, **GPT2)
hf_llama_tokens = _text("LlamaConfig", "LlamaModel", {"use_cache": False}, ids=True, **LLAMA)
hf_distilbert_tokens = _text("DistilBertConfig", "DistilBertModel", ids=True, **DISTILBERT)

CORPUS: dict[str, Callable[[], nn.Module]] = {
    name: fn for name, fn in sorted(globals().items()) if name in ("cifar_resnet18", "torch_vit") or name.startswith("hf_")
}
