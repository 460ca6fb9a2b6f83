"""The classifier architectures Animl ships, in plain torch with random weights (no weights, and no
timm or torchvision beside the CPU torch here): EfficientNet (mirav2: B3, nzdoc), a ViT (DeepFaune:
timm's, here ViT-S/16) with timm's scripted forward signature. For speed and numerics, not accuracy.
"""

from __future__ import annotations

import math

import torch
from torch import nn

# EfficientNet-B0's stages: (expansion, channels, repeats, stride, kernel).
B0_STAGES = ((1, 16, 1, 1, 3), (6, 24, 2, 2, 3), (6, 40, 2, 2, 5), (6, 80, 3, 2, 3),
             (6, 112, 3, 1, 5), (6, 192, 4, 2, 5), (6, 320, 1, 1, 3))  # fmt: skip


class MBConv(nn.Module):
    """Inverted residual: expand, depthwise convolution, squeeze-and-excitation, project."""

    def __init__(self, c_in: int, c_out: int, expansion: int, stride: int, kernel: int) -> None:
        super().__init__()
        mid = c_in * expansion
        self.residual = stride == 1 and c_in == c_out
        self.expand = nn.Sequential(nn.Conv2d(c_in, mid, 1, bias=False), nn.BatchNorm2d(mid), nn.SiLU()) if expansion != 1 else nn.Identity()  # fmt: skip
        self.depthwise = nn.Sequential(
            nn.Conv2d(mid, mid, kernel, stride, kernel // 2, groups=mid, bias=False),
            nn.BatchNorm2d(mid), nn.SiLU(),
        )  # fmt: skip
        squeezed = max(1, c_in // 4)
        self.se = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(mid, squeezed, 1), nn.SiLU(),
                                nn.Conv2d(squeezed, mid, 1), nn.Sigmoid())  # fmt: skip
        self.project = nn.Sequential(nn.Conv2d(mid, c_out, 1, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.depthwise(self.expand(x))
        y = self.project(y * self.se(y))
        return x + y if self.residual else y


def efficientnet(classes: int, width: float = 1.0, depth: float = 1.0) -> nn.Module:
    """B0 at width 1.0, depth 1.0; B3 at 1.2 and 1.4 (input 300)."""

    def channels(c: int) -> int:
        return max(8, int(c * width + 4) // 8 * 8)

    layers: list[nn.Module] = [nn.Conv2d(3, channels(32), 3, 2, 1, bias=False),
                               nn.BatchNorm2d(channels(32)), nn.SiLU()]  # fmt: skip
    c_in = channels(32)
    for expansion, c, repeats, stride, kernel in B0_STAGES:
        for i in range(math.ceil(repeats * depth)):
            layers.append(MBConv(c_in, channels(c), expansion, stride if i == 0 else 1, kernel))
            c_in = channels(c)
    head = channels(1280)
    layers += [nn.Conv2d(c_in, head, 1, bias=False), nn.BatchNorm2d(head), nn.SiLU(),
               nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(head, classes)]  # fmt: skip
    model = nn.Sequential(*layers)
    with (
        torch.no_grad()
    ):  # random BatchNorm statistics, so that activations neither vanish nor explode
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                assert module.running_mean is not None
                assert module.running_var is not None
                module.running_mean.uniform_(-0.1, 0.1)
                module.running_var.uniform_(0.5, 1.5)
    return model.eval()


class VitBlock(nn.Module):
    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.qkv, self.proj = nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))

    def forward(self, x: torch.Tensor, attn_mask: torch.Tensor | None = None) -> torch.Tensor:
        b, n, c = x.shape
        qkv = self.qkv(self.norm1(x)).reshape(b, n, 3, self.heads, c // self.heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)
        scores = (q @ k.transpose(-2, -1)) * (c // self.heads) ** -0.5
        if attn_mask is not None:
            scores = scores + attn_mask
        x = x + self.proj((scores.softmax(-1) @ v).transpose(1, 2).reshape(b, n, c))
        return x + self.mlp(self.norm2(x))


class Vit(nn.Module):
    """timm's VisionTransformer as it scripts: forward(x, attn_mask=None, is_causal=False)."""

    def __init__(self, classes: int, size: int = 224, patch: int = 16, dim: int = 384,
                 depth: int = 12, heads: int = 6) -> None:  # fmt: skip
        super().__init__()
        self.patches = nn.Conv2d(3, dim, patch, patch)
        self.cls_token = nn.Parameter(torch.randn(1, 1, dim) * 0.02)
        self.position = nn.Parameter(torch.randn(1, (size // patch) ** 2 + 1, dim) * 0.02)
        self.blocks = nn.ModuleList([VitBlock(dim, heads) for _ in range(depth)])
        self.norm, self.head = nn.LayerNorm(dim), nn.Linear(dim, classes)

    def forward(
        self, x: torch.Tensor, attn_mask: torch.Tensor | None = None, is_causal: bool = False
    ) -> torch.Tensor:
        tokens = self.patches(x).flatten(2).transpose(1, 2)
        tokens = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), tokens], 1) + self.position
        for block in self.blocks:
            tokens = block(tokens, attn_mask)
        if is_causal:
            tokens = tokens.flip(1)
        return self.head(self.norm(tokens)[:, 0])
