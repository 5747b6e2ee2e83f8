"""Write each zoo model's checkpoint, `<name>/state_dict.pt`, as `torch.save(module.state_dict())`.

    python examples/zoo/make_checkpoints.py            # rewrite the files beside each model.py
    python examples/zoo/make_checkpoints.py --out DIR  # write DIR/<name>/state_dict.pt instead

The module is built by its factory under a seed of its own (so the checkpoint differs from the
factory's initial weights, and rebinding is visible), then normalization layers get plausible
trained values: scales near 1, small biases, running means near 0 and variances in [0.5, 1.5].
torch.save stamps a random serialization id into every archive; it is zeroed, so the same
weights always give the same bytes (and the same sha256).
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import zipfile
from pathlib import Path
from types import ModuleType

import torch
from torch import nn

HERE = Path(__file__).resolve().parent
SEEDS = {"mlp": 11, "cnn": 12, "resnet_block": 13, "vit_block": 14, "gpt_block": 15}
NORMS = (nn.BatchNorm2d, nn.LayerNorm)


def model_module(name: str) -> ModuleType:
    """The zoo folder's model.py, imported from its path."""
    spec = importlib.util.spec_from_file_location(f"zoo_{name}", HERE / name / "model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def trained(name: str) -> nn.Module:
    """The model with the checkpoint's values: its factory under SEEDS[name], norms made plausible."""
    model = getattr(model_module(name), name)(seed=SEEDS[name])
    generator = torch.Generator().manual_seed(SEEDS[name])
    with torch.no_grad():
        for layer in model.modules():
            if isinstance(layer, NORMS):
                layer.weight.copy_(1 + 0.1 * torch.randn(layer.weight.shape, generator=generator))
                layer.bias.copy_(0.1 * torch.randn(layer.bias.shape, generator=generator))
            if isinstance(layer, nn.BatchNorm2d):
                layer.running_mean.copy_(0.1 * torch.randn(layer.running_mean.shape, generator=generator))
                layer.running_var.copy_(0.5 + torch.rand(layer.running_var.shape, generator=generator))
    return model.eval()


def checkpoint_bytes(state_dict: dict[str, torch.Tensor]) -> bytes:
    """torch.save's archive with its random serialization id zeroed (records otherwise unchanged)."""
    buffer = io.BytesIO()
    torch.save(state_dict, buffer)
    source, out = zipfile.ZipFile(io.BytesIO(buffer.getvalue())), io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as archive:
        for info in source.infolist():
            data = source.read(info)
            if info.filename.endswith("/.data/serialization_id"):
                data = b"0" * len(data)
            archive.writestr(info, data)
    return out.getvalue()


def write_checkpoint(name: str, out: Path) -> Path:
    path = out / name / "state_dict.pt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(checkpoint_bytes(trained(name).state_dict()))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE, help="folder to write <name>/state_dict.pt into")
    args = parser.parse_args()
    for name in SEEDS:
        print(f"wrote {write_checkpoint(name, args.out)}")


if __name__ == "__main__":
    main()
