"""Small PyTorch networks shaped like Animl's models, built inside the tests (no weights exist
here). Also the --code file of the `--from pytorch` tests: it imports only torch."""

from __future__ import annotations

import math

import torch
from torch import nn


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
