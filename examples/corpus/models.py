"""A corpus of real architectures as people ship them, each a factory with no arguments.

Every factory builds its model with random weights (seeded; nothing is downloaded) and returns an
`nn.Module` mapping one float32 image batch to logits, with an `example_input()` fixing the input
shape. `cifar_resnet18` is written here in the style of published verification benchmarks'
sources (in-place `out += self.shortcut(x)`, `nn.ReLU(inplace=True)`, `out.view(out.size(0), -1)`);
`torch_vit` from torch.nn's own transformer modules; `densenet121` and `mobilenet_v3_small` follow
torchvision's definitions (torchvision/models/densenet.py, mobilenetv3.py) written out here in plain
torch, because the torchvision wheel does not load beside the CPU torch wheel this project tests with
(`operator torchvision::nms does not exist` at import), and timm imports torchvision;
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


class DenseLayer(nn.Module):
    """torchvision's `_DenseLayer`: BN-ReLU-Conv1x1 (`bn_size * growth` channels), then BN-ReLU-Conv3x3
    (`growth` channels) on the concatenation of every earlier feature map of the block."""

    def __init__(self, cin: int, growth: int, bn_size: int) -> None:
        super().__init__()
        self.norm1 = nn.BatchNorm2d(cin)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv1 = nn.Conv2d(cin, bn_size * growth, 1, 1, bias=False)
        self.norm2 = nn.BatchNorm2d(bn_size * growth)
        self.relu2 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(bn_size * growth, growth, 3, 1, 1, bias=False)

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor:
        bottleneck = self.conv1(self.relu1(self.norm1(torch.cat(features, 1))))
        return self.conv2(self.relu2(self.norm2(bottleneck)))


class DenseBlock(nn.ModuleDict):
    """torchvision's `_DenseBlock`: each layer reads all earlier outputs; the block returns them all
    concatenated along channels."""

    def __init__(self, layers: int, cin: int, bn_size: int, growth: int) -> None:
        super().__init__()
        for i in range(layers):
            self.add_module(f"denselayer{i + 1}", DenseLayer(cin + i * growth, growth, bn_size))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = [x]
        for layer in self.values():
            features.append(layer(features))
        return torch.cat(features, 1)


class Transition(nn.Sequential):
    """torchvision's `_Transition`: BN-ReLU-Conv1x1 halving the channels, then 2x2 average pooling."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.add_module("norm", nn.BatchNorm2d(cin))
        self.add_module("relu", nn.ReLU(inplace=True))
        self.add_module("conv", nn.Conv2d(cin, cout, 1, 1, bias=False))
        self.add_module("pool", nn.AvgPool2d(2, 2))


class DenseNet(nn.Module):
    """torchvision's `DenseNet` (DenseNet-BC): 7x7/2 stem and 3x3/2 max pool, dense blocks separated
    by transitions, a final batch norm, then ReLU, global average pool, flatten and a linear head.
    Module names match torchvision's, so its state dicts' keys (`features.denseblock1.denselayer1.conv1`...)
    would bind; dropout (drop_rate 0 by default) and memory-efficient checkpointing are left out."""

    def __init__(self, growth: int = 32, blocks: tuple[int, ...] = (6, 12, 24, 16), init_features: int = 64,
                 bn_size: int = 4, classes: int = 10) -> None:
        super().__init__()
        self.features = nn.Sequential()
        self.features.add_module("conv0", nn.Conv2d(3, init_features, 7, 2, 3, bias=False))
        self.features.add_module("norm0", nn.BatchNorm2d(init_features))
        self.features.add_module("relu0", nn.ReLU(inplace=True))
        self.features.add_module("pool0", nn.MaxPool2d(3, 2, 1))
        channels = init_features
        for i, layers in enumerate(blocks):
            self.features.add_module(f"denseblock{i + 1}", DenseBlock(layers, channels, bn_size, growth))
            channels += layers * growth
            if i != len(blocks) - 1:
                self.features.add_module(f"transition{i + 1}", Transition(channels, channels // 2))
                channels //= 2
        self.features.add_module("norm5", nn.BatchNorm2d(channels))
        self.classifier = nn.Linear(channels, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.features(x), inplace=True)
        out = F.adaptive_avg_pool2d(out, (1, 1))
        return self.classifier(torch.flatten(out, 1))

    def example_input(self) -> torch.Tensor:
        return torch.zeros(IMAGE)


def make_divisible(v: float, divisor: int, min_value: int | None = None) -> int:
    """torchvision's `_make_divisible`: `v` rounded to the nearest multiple of `divisor` (at least
    `min_value`), never more than 10% below `v`; it sets every width of a scaled MobileNet."""
    min_value = divisor if min_value is None else min_value
    rounded = max(min_value, int(v + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * v else rounded


def conv_norm_activation(cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1,
                         activation: type[nn.Module] | None = None) -> nn.Sequential:
    """torchvision's `Conv2dNormActivation` as MobileNetV3 builds it: a bias-free convolution padded
    to keep the size, batch norm (eps 0.001, momentum 0.01) and an optional activation."""
    layers: list[nn.Module] = [nn.Conv2d(cin, cout, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False),
                               nn.BatchNorm2d(cout, eps=0.001, momentum=0.01)]
    if activation is not None:
        layers.append(activation(inplace=True))
    return nn.Sequential(*layers)


class SqueezeExcitation(nn.Module):
    """torchvision's `ops.SqueezeExcitation` with MobileNetV3's Hardsigmoid scale: global average
    pool, 1x1 conv, ReLU, 1x1 conv, Hardsigmoid, and the input scaled channel by channel."""

    def __init__(self, channels: int, squeeze: int) -> None:
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, squeeze, 1)
        self.fc2 = nn.Conv2d(squeeze, channels, 1)
        self.activation = nn.ReLU()
        self.scale_activation = nn.Hardsigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = self.fc2(self.activation(self.fc1(self.avgpool(x))))
        return self.scale_activation(scale) * x


class InvertedResidual(nn.Module):
    """torchvision's MobileNetV3 `InvertedResidual`: 1x1 expansion (when it widens), depthwise
    k x k convolution, optional squeeze-excitation, linear 1x1 projection, and the residual add
    when the stride is 1 and the width unchanged."""

    def __init__(self, cin: int, kernel: int, expanded: int, cout: int, se: bool, hardswish: bool,
                 stride: int) -> None:
        super().__init__()
        activation = nn.Hardswish if hardswish else nn.ReLU
        layers: list[nn.Module] = []
        if expanded != cin:
            layers.append(conv_norm_activation(cin, expanded, 1, activation=activation))
        layers.append(conv_norm_activation(expanded, expanded, kernel, stride, expanded, activation))
        if se:
            layers.append(SqueezeExcitation(expanded, make_divisible(expanded // 4, 8)))
        layers.append(conv_norm_activation(expanded, cout, 1))
        self.block = nn.Sequential(*layers)
        self.use_res_connect = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        result = self.block(x)
        if self.use_res_connect:
            result += x
        return result


# torchvision's MobileNetV3-Small table: input, kernel, expanded, output, squeeze-excitation, Hardswish, stride
MOBILENET_V3_SMALL = [
    (16, 3, 16, 16, True, False, 2),
    (16, 3, 72, 24, False, False, 2),
    (24, 3, 88, 24, False, False, 1),
    (24, 5, 96, 40, True, True, 2),
    (40, 5, 240, 40, True, True, 1),
    (40, 5, 240, 40, True, True, 1),
    (40, 5, 120, 48, True, True, 1),
    (48, 5, 144, 48, True, True, 1),
    (48, 5, 288, 96, True, True, 2),
    (96, 5, 576, 96, True, True, 1),
    (96, 5, 576, 96, True, True, 1),
]


class MobileNetV3(nn.Module):
    """torchvision's `MobileNetV3`: a 3x3/2 Hardswish stem, the inverted residuals of `setting`
    with every width scaled by `width_mult` through `make_divisible(c * width_mult, 8)`, a 1x1
    Hardswish conv to 6x the last width, global average pool, flatten, and the classifier
    Linear-Hardswish-Dropout(0.2)-Linear. Module names match torchvision's."""

    def __init__(self, setting: list[tuple[int, int, int, int, bool, bool, int]], last_channel: int = 1024,
                 width_mult: float = 1.0, classes: int = 10) -> None:
        super().__init__()
        def width(c: int) -> int:
            return make_divisible(c * width_mult, 8)

        layers: list[nn.Module] = [conv_norm_activation(3, width(setting[0][0]), 3, 2, activation=nn.Hardswish)]
        for cin, kernel, expanded, cout, se, hardswish, stride in setting:
            layers.append(InvertedResidual(width(cin), kernel, width(expanded), width(cout), se, hardswish, stride))
        last = 6 * width(setting[-1][3])
        layers.append(conv_norm_activation(width(setting[-1][3]), last, 1, activation=nn.Hardswish))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Linear(last, width(last_channel)), nn.Hardswish(inplace=True),
                                        nn.Dropout(p=0.2, inplace=True), nn.Linear(width(last_channel), classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))

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


def densenet121() -> nn.Module:
    """DenseNet-121's block configuration (6, 12, 24, 16) at growth rate 8 and 16 initial features
    (torchvision's: 32 and 64), on 32x32 images: 120 convolutions, each dense layer concatenating
    all before it."""
    torch.manual_seed(0)
    return randomized(DenseNet(growth=8, blocks=(6, 12, 24, 16), init_features=16))


def mobilenet_v3_small() -> nn.Module:
    """MobileNetV3-Small (torchvision's table) at width multiplier 0.5, on 32x32 images."""
    torch.manual_seed(0)
    return randomized(MobileNetV3(MOBILENET_V3_SMALL, width_mult=0.5))


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

PLAIN = ("cifar_resnet18", "torch_vit", "densenet121", "mobilenet_v3_small")
CORPUS: dict[str, Callable[[], nn.Module]] = {
    name: fn for name, fn in sorted(globals().items()) if name in PLAIN or name.startswith("hf_")
}
