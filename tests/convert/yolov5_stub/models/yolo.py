"""A small YOLOv5-style detector: three strided feature maps and YOLOv5's Detect head."""

from __future__ import annotations

import torch
from torch import nn

ANCHORS = ((10, 13, 16, 30, 33, 23), (30, 61, 62, 45, 59, 119), (116, 90, 156, 198, 373, 326))
STRIDES = (8, 16, 32)


class Detect(nn.Module):
    export = False
    anchors: torch.Tensor

    def __init__(self, classes: int, channels: tuple[int, ...]) -> None:
        super().__init__()
        self.nc, self.no, self.nl, self.na = classes, classes + 5, len(ANCHORS), 3
        self.register_buffer("anchors", torch.tensor(ANCHORS).float().view(self.nl, self.na, 2))
        self.stride = torch.tensor(STRIDES, dtype=torch.float32)
        self.m = nn.ModuleList(nn.Conv2d(c, self.no * self.na, 1) for c in channels)
        self.inplace = True

    def forward(self, x: list[torch.Tensor]):
        z = []
        for i in range(self.nl):
            x[i] = self.m[i](x[i])
            bs, _, ny, nx = x[i].shape
            x[i] = x[i].view(bs, self.na, self.no, ny, nx).permute(0, 1, 3, 4, 2).contiguous()
            yv, xv = torch.meshgrid(torch.arange(ny), torch.arange(nx), indexing="ij")
            grid = torch.stack((xv, yv), 2).view(1, 1, ny, nx, 2).float()
            anchor_grid = self.anchors[i].view(1, self.na, 1, 1, 2)
            xy, wh, conf = x[i].sigmoid().split((2, 2, self.nc + 1), 4)
            xy = (xy * 2 - 0.5 + grid) * self.stride[i]
            wh = (wh * 2) ** 2 * anchor_grid
            z.append(torch.cat((xy, wh, conf), 4).view(bs, self.na * nx * ny, self.no))
        return torch.cat(z, 1) if self.export else (torch.cat(z, 1), x)


class DetectionModel(nn.Module):
    def __init__(self, classes: int = 3) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 8, stride=8), nn.SiLU())
        self.down16 = nn.Sequential(nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.SiLU())
        self.down32 = nn.Sequential(nn.Conv2d(16, 16, 3, stride=2, padding=1), nn.SiLU())
        self.model = nn.Sequential(Detect(classes, (8, 16, 16)))

    def forward(self, x: torch.Tensor):
        p8 = self.stem(x)
        p16 = self.down16(p8)
        p32 = self.down32(p16)
        return self.model[-1]([p8, p16, p32])
