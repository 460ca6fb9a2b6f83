"""How far FP32 ONNX Runtime legitimately differs from PyTorch, per architecture and input kind:
the figures the converter's FP32 acceptance rule is set from (animl_contract/conversion.py).

Each architecture (random weights) is traced or scripted as Animl ships it, exported by the
converter's own code, and both are run on the converter's photo-like synthetic images and on
smooth flat-ish ones, prepared by the runtime's pre-processing. Printed: the largest logit
difference as a share of the output scale (the old rule), and the largest difference of the
probabilities Animl reads after softmax.

    .venv/bin/python -m benchmarks.fp32_parity
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import torch

from animl_contract.preprocessing import Preprocessing
from animl_convert.inputs import prepared, synthetic_images
from animl_convert.parity import probabilities
from animl_convert.sources import OnnxSource, torchscript_source
from benchmarks.torch_architectures import Vit, efficientnet


def flat_images(pre: Preprocessing, count: int) -> np.ndarray:
    """What the converter fed before: smooth gradients, nearly flat colour."""
    from PIL import Image

    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:480, 0:640].astype(np.float32)
    images = []
    for _ in range(count):
        a, b = rng.uniform(-1, 1, 2)
        plane = np.clip(128 + 60 * (a * x / 640 + b * y / 480), 0, 255).astype(np.uint8)
        images.append(prepared(Image.fromarray(np.stack([plane] * 3, -1)), pre))
    return np.concatenate(images)


def classifier_pre(size: int) -> Preprocessing:
    return Preprocessing.model_validate({"classifier": {
        "input_size": [size, size], "normalization": "imagenet", "crop": "square",
        "resize": "shorter-side-then-center-crop", "resize_filter": "bicubic"}})  # fmt: skip


CASES = (
    ("EfficientNet-B0, traced (nzdoc's shape), 224", lambda: torch.jit.trace(
        efficientnet(52), torch.rand(1, 3, 224, 224)), 224),
    ("EfficientNet-B3, traced (mirav2), 300", lambda: torch.jit.trace(
        efficientnet(5, 1.2, 1.4), torch.rand(1, 3, 300, 300)), 300),
    ("EfficientNet-B3, scripted, 300", lambda: torch.jit.script(efficientnet(5, 1.2, 1.4)), 300),
    ("ViT-S/16, scripted (DeepFaune's shape), 224", lambda: torch.jit.script(Vit(24).eval()), 224),
)  # fmt: skip


def main() -> None:
    torch.manual_seed(0)
    print(
        f"{'architecture':46} {'inputs':12} {'logits: rel. diff':>18} {'probabilities: max diff':>24}"
    )
    for name, build, size in CASES:
        pre = classifier_pre(size)
        source = torchscript_source(build())
        with tempfile.TemporaryDirectory() as work:
            graph = Path(work) / "model.onnx"
            photos = synthetic_images(pre, count=8)
            source.export(graph, photos)
            onnx = OnnxSource(graph)
            for kind, inputs in (("photo-like", photos), ("flat", flat_images(pre, 8))):
                ref, new = source.run(inputs)[0], onnx.run(inputs)[0]
                rel = float(np.max(np.abs(ref - new)) / np.max(np.abs(ref)))
                prob = float(np.max(np.abs(probabilities(ref) - probabilities(new))))
                print(f"{name:46} {kind:12} {rel:>18.2e} {prob:>24.2e}")


if __name__ == "__main__":
    main()
