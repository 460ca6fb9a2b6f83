"""What the model developer handed over, loaded so that it can run and export itself to ONNX.

Formats: an existing ONNX export (verified and shipped as it is), TorchScript (traced or
scripted), PyTorch code plus a state dict, a YOLOv5 checkpoint (its pickled classes come from the
engineer's clone of ultralytics/yolov5, AGPL-3.0, which this tool never ships or imports on its
own), and a Keras model (.keras, .h5) or TensorFlow SavedModel folder. torch and TensorFlow are
imported only for the format that needs them."""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import onnxruntime as ort

from animl_contract.conversion import SourceFormat
from animl_convert.errors import CheckFailed, ConversionError

INPUT_NAME = "images"
OPSET = 17


class Source(Protocol):
    #: What the converter did to the source to export it, for the report; None: nothing.
    note: str | None

    def run(self, batch: np.ndarray) -> list[np.ndarray]: ...

    def export(self, path: Path, example: np.ndarray) -> None:
        """Writes the FP32 ONNX graph, with a dynamic batch axis where the model allows it."""


@dataclass
class OnnxSource:
    path: Path
    note: str | None = None

    def __post_init__(self) -> None:
        try:
            self.session = ort.InferenceSession(str(self.path), providers=["CPUExecutionProvider"])
        except Exception as error:  # onnxruntime raises its own, unexported exception types
            raise ConversionError(f"{self.path} does not load as an ONNX graph: {error}") from error
        names = [i.name for i in self.session.get_inputs()]
        if len(names) != 1:
            raise ConversionError(
                f"{self.path} takes {len(names)} inputs ({', '.join(names)}); the runtime feeds "
                "the model one image tensor: export it with the image as its only input"
            )

    def run(self, batch: np.ndarray) -> list[np.ndarray]:
        name = self.session.get_inputs()[0].name
        return [np.asarray(o) for o in self.session.run(None, {name: batch})]

    def export(self, path: Path, example: np.ndarray) -> None:
        shutil.copyfile(self.path, path)


@dataclass
class TorchSource:
    module: Any
    note: str | None = None

    def run(self, batch: np.ndarray) -> list[np.ndarray]:
        import torch

        with torch.no_grad():
            out = self.module(torch.from_numpy(batch))
        outputs = list(out) if isinstance(out, (tuple, list)) else [out]
        return [o.detach().numpy() for o in outputs if isinstance(o, torch.Tensor)]

    def export(self, path: Path, example: np.ndarray) -> None:
        import torch

        count = len(self.run(example[:1]))
        names = ["output"] if count == 1 else [f"output{i}" for i in range(count)]
        axes = {name: {0: "batch"} for name in [INPUT_NAME, *names]}
        try:
            with warnings.catch_warnings():
                # The TorchScript exporter warns about every scripted module's missing signature.
                warnings.simplefilter("ignore", UserWarning)
                torch.onnx.export(
                    self.module,
                    (torch.from_numpy(example[:1]),),
                    str(path),
                    input_names=[INPUT_NAME],
                    output_names=names,
                    dynamic_axes=axes,
                    opset_version=OPSET,
                    dynamo=False,  # TorchScript modules export only with the TorchScript exporter
                )
        except Exception as error:  # torch raises many unrelated types from inside the exporter
            raise CheckFailed(
                f"the model does not export to ONNX (opset {OPSET}): {type(error).__name__}: "
                f"{_brief(error)}"
            ) from error


def _brief(error: Exception) -> str:
    """The exporter's message without the TorchScript graph it dumps before it."""
    lines = [line for line in str(error).splitlines() if line and not line[0].isspace()]
    kept = [line for line in lines if not line.startswith(("Torch IR graph", "%", "return"))]
    return " ".join(kept[:4])


@dataclass
class KerasSource:
    call: Any
    export_onnx: Any
    #: The loaded SavedModel: its signature's variables live only as long as it does.
    owner: Any = None
    note: str | None = None

    def run(self, batch: np.ndarray) -> list[np.ndarray]:
        return [np.asarray(o) for o in self.call(batch)]

    def export(self, path: Path, example: np.ndarray) -> None:
        try:
            self.export_onnx(path, example.shape[1:])
        except Exception as error:  # tf2onnx raises many unrelated types
            raise CheckFailed(
                f"the Keras model does not convert to ONNX: {type(error).__name__}: {error}"
            ) from error


def _torch_load(path: Path, weights_only: bool) -> Any:
    import torch

    try:
        return torch.load(path, map_location="cpu", weights_only=weights_only)
    except ModuleNotFoundError as error:
        raise ConversionError(
            f"{path} pickles classes of module {error.name!r}: pass --yolov5-repo with a clone "
            "of ultralytics/yolov5 at the version that trained it"
        ) from error
    except Exception as error:  # torch.load raises pickle, zip and runtime errors alike
        raise ConversionError(f"{path} does not load with torch.load: {error}") from error


def torchscript_source(module: Any) -> TorchSource:
    """A scripted forward with optional arguments beyond the image (timm 1.x scripts its ViT as
    forward(x, attn_mask=None, is_causal=False)) does not export: the exporter counts every
    argument as an input. It is exported behind a wrapper that passes the image alone."""
    import torch

    arguments = [a for a in module.forward.schema.arguments if a.name != "self"]
    required = [a.name for a in arguments[1:] if not a.has_default_value()]
    if required:
        raise ConversionError(
            f"forward takes {', '.join(required)} besides {arguments[0].name}, with no default; "
            "the runtime feeds the model one image tensor"
        )
    if len(arguments) == 1:
        return TorchSource(module.eval())

    class FirstInputOnly(torch.nn.Module):
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, x: torch.Tensor) -> Any:
            return self.inner(x)

    extra = ", ".join(f"{a.name}={a.default_value!r}" for a in arguments[1:])
    return TorchSource(
        torch.jit.script(FirstInputOnly(module.eval())).eval(),
        note=f"forward({', '.join(a.name for a in arguments)}) exported behind a wrapper that "
        f"passes {arguments[0].name} alone ({extra})",
    )


def _torchscript(path: Path) -> TorchSource:
    import torch

    try:
        module = torch.jit.load(str(path), map_location="cpu")
    except Exception as error:  # torch.jit raises RuntimeError and its own types
        raise ConversionError(
            f"{path} does not load as TorchScript (a traced or scripted module saved with "
            f"torch.jit.save): {error}"
        ) from error
    return torchscript_source(module)


def _factory(code: str) -> Any:
    file_name, _, attribute = code.partition(":")
    file = Path(file_name)
    if not attribute or not file.is_file():
        raise ConversionError(
            f"--code {code!r} must be FILE.py:FACTORY, a Python file and the function or class "
            "in it that builds the model"
        )
    spec = importlib.util.spec_from_file_location(f"animl_convert_code_{file.stem}", file)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as error:  # the engineer's own code
        raise ConversionError(f"{file} does not import: {type(error).__name__}: {error}") from error
    factory = getattr(module, attribute, None)
    if not callable(factory):
        raise ConversionError(f"{file} has no function or class {attribute!r}")
    return factory


def _pytorch(path: Path, code: str | None) -> TorchSource:
    if code is None:
        raise ConversionError("--from pytorch needs --code FILE.py:FACTORY that builds the model")
    model = _factory(code)()
    state = _torch_load(path, weights_only=True)
    if isinstance(state, dict):
        for key in ("state_dict", "model_state_dict", "model"):
            if isinstance(state.get(key), dict):
                state = state[key]
                break
    try:
        model.load_state_dict(state, strict=True)
    except (RuntimeError, TypeError, AttributeError) as error:
        raise ConversionError(
            f"{path} is not a state dict of the model {code} builds: {error}"
        ) from error
    return TorchSource(model.eval())


def _yolov5(path: Path, repo: Path | None) -> TorchSource:
    if repo is not None:
        if not (repo / "models" / "yolo.py").is_file():
            raise ConversionError(f"--yolov5-repo {repo} holds no models/yolo.py")
        sys.path.insert(0, str(repo))
    checkpoint = _torch_load(path, weights_only=False)
    entries = checkpoint if isinstance(checkpoint, dict) else {}
    model = entries.get("ema") if entries.get("ema") is not None else entries.get("model")
    if model is None:
        raise ConversionError(f"{path} is not a YOLOv5 checkpoint (no 'model' or 'ema' entry)")
    model = model.float().eval()
    for module in model.modules():
        # What YOLOv5's export.py sets on its Detect layer: the decoded predictions alone (not
        # with the feature maps), computed out of place.
        if type(module).__name__ == "Detect":
            module.inplace = False
            module.export = True
    return TorchSource(model)


def _keras(path: Path) -> KerasSource:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf
    import tf2onnx

    try:
        if path.is_dir():
            loaded = tf.saved_model.load(str(path))
            signature = loaded.signatures["serving_default"]
        else:
            model = tf.keras.models.load_model(str(path), compile=False)
    except Exception as error:  # TensorFlow raises many types for a file it cannot read
        raise ConversionError(
            f"{path} does not load as a Keras model or SavedModel: {error}"
        ) from error

    if path.is_dir():
        (input_name,) = signature.structured_input_signature[1]
        outputs = sorted(signature.structured_outputs)

        def call(batch: np.ndarray) -> list[np.ndarray]:
            answer = signature(**{input_name: tf.constant(batch)})
            return [answer[k].numpy() for k in outputs]

        def export(onnx: Path, shape: tuple[int, ...]) -> None:
            spec = (tf.TensorSpec((None, *shape), tf.float32, name=INPUT_NAME),)

            @tf.function(input_signature=spec)
            def serve(x: Any) -> Any:
                answer = signature(**{input_name: x})
                return [answer[k] for k in outputs]

            tf2onnx.convert.from_function(
                serve, input_signature=spec, opset=OPSET, output_path=str(onnx)
            )

        return KerasSource(call, export, owner=loaded)

    def call_model(batch: np.ndarray) -> list[np.ndarray]:
        out = model(batch, training=False)
        return [np.asarray(o) for o in (out if isinstance(out, (list, tuple)) else [out])]

    def export_model(onnx: Path, shape: tuple[int, ...]) -> None:
        spec = (tf.TensorSpec((None, *shape), tf.float32, name=INPUT_NAME),)
        tf2onnx.convert.from_keras(model, input_signature=spec, opset=OPSET, output_path=str(onnx))

    return KerasSource(call_model, export_model)


def load_source(
    source_format: SourceFormat,
    path: Path,
    code: str | None = None,
    yolov5_repo: Path | None = None,
) -> Source:
    if not path.exists():
        raise ConversionError(f"{path} does not exist")
    if source_format == "onnx":
        return OnnxSource(path)
    if source_format == "torchscript":
        return _torchscript(path)
    if source_format == "pytorch":
        return _pytorch(path, code)
    if source_format == "yolov5":
        return _yolov5(path, yolov5_repo)
    return _keras(path)
