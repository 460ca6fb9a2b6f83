"""Small PyTorch networks shaped like Animl's models, built inside the tests (no weights exist
here). Also the --code file of the `--from pytorch` tests: it imports only torch."""

from __future__ import annotations

import itertools
import math

import torch
from torch import nn

from benchmarks.torch_architectures import Vit


class TinyClassifier(nn.Module):
    """A crop classifier: strided convolutions, a pool to about 4 x 4 (so that where things are
    matters, as the crop rules do) and a linear head over `classes`."""

    def __init__(self, classes: int = 5, input_size: int = 300, margin: float = 1.0) -> None:
        super().__init__()
        side = math.ceil(math.ceil(input_size / 4) / 2)  # after the two strided convolutions
        self.features = nn.Sequential(
            nn.Conv2d(3, 8, 5, stride=4, padding=2),
            nn.ReLU(),
            nn.Conv2d(8, 16, 3, stride=2, padding=1),
            nn.ReLU(),
            nn.AvgPool2d(side // 4),
        )
        pooled = (side // (side // 4)) ** 2
        self.head = nn.Linear(16 * pooled, classes)
        with torch.no_grad():
            self.head.weight.mul_(margin)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).flatten(1))


def tiny_classifier() -> TinyClassifier:
    """The --code factory: the architecture, untrained; the state dict brings the weights."""
    return TinyClassifier()


class NoisyClassifier(TinyClassifier):
    """Adds noise in forward: its ONNX export cannot answer as it does."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = super().forward(x)
        return logits + torch.rand_like(logits)


def close_call_classifier(spread: float = 0.001) -> TinyClassifier:
    """Every class scores nearly the same large logit, apart by `spread`: the top-1 rests on
    differences far below what 8 bits resolve at that scale, so INT8 changes it."""
    torch.manual_seed(0)
    model = TinyClassifier().eval()
    with torch.no_grad():
        common = torch.randn(1, model.head.in_features)
        model.head.weight.copy_(10 * common + spread * torch.randn_like(model.head.weight))
        model.head.bias.zero_()
    return model


def tiny_vit() -> Vit:
    """DeepFaune's shape (timm's ViT, scripted with forward(x, attn_mask=None, is_causal=False)),
    small: 182 x 182 in patches of 14, two blocks of width 32, 24 classes."""
    torch.manual_seed(0)
    return Vit(24, size=182, patch=14, dim=32, depth=2, heads=4).eval()


class TwoInputs(nn.Module):
    """A forward that needs a second input: nothing the runtime could feed."""

    def __init__(self) -> None:
        super().__init__()
        self.body = TinyClassifier()

    def forward(self, x: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
        return self.body(x) * scale


class ColourClassifier(nn.Module):
    """Answers by the image's mean colour (so its classes vary over photos, as a trained model's
    do), beside a branch of strided convolutions wide enough that INT8 runs faster than FP32."""

    def __init__(self) -> None:
        super().__init__()
        widths = [3, 32, 64, 128, 128]
        layers: list[nn.Module] = []
        for c_in, c_out in itertools.pairwise(widths):
            layers += [nn.Conv2d(c_in, c_out, 3, 2, 1), nn.ReLU()]
        self.features = nn.Sequential(*layers, nn.AvgPool2d(19), nn.Flatten())
        self.head = nn.Linear(128, 5)
        self.colour = nn.Linear(3, 5)
        with torch.no_grad():
            self.colour.weight.copy_(
                torch.tensor([[4.0, 0, 0], [0, 4, 0], [0, 0, 4], [3, 3, -3], [-3, 3, 3]])
            )
            self.colour.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.colour(x.mean(dim=(2, 3))) + 0.01 * self.head(self.features(x))
