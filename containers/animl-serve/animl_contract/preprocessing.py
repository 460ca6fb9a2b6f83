"""Pre- and post-processing rules, declared per model in the registry and carried by the artifact.

Every rule reproduces what a model was trained and served with; the registry names the original
handler each model's values come from (github:tnc-ca-geo/animl-ml, api/<model>/<model>_handler.py).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _square(value: object) -> object:
    return [value, value] if isinstance(value, int) and not isinstance(value, bool) else value


Side = Annotated[int, Field(ge=8, le=8192)]
#: (height, width); a single integer means a square.
Size = Annotated[tuple[Side, Side], BeforeValidator(_square)]


class Normalization(Strict):
    """Per-channel (pixel / 255 - mean) / std."""

    mean: tuple[float, float, float]
    std: tuple[
        Annotated[float, Field(gt=0)], Annotated[float, Field(gt=0)], Annotated[float, Field(gt=0)]
    ]


def _named_normalization(value: object) -> object:
    if value == "imagenet":
        return {"mean": IMAGENET_MEAN, "std": IMAGENET_STD}
    if value == "none":
        return {"mean": (0.0, 0.0, 0.0), "std": (1.0, 1.0, 1.0)}
    return value


class ClassifierSettings(Strict):
    """How a classifier turns {image, bbox} into its input tensor and its scores into labels.

    crop:
      square    the tightest square around the box, limited to the image and padded with black
                (CameraTraps' crop_detections, as in the mirav2, SDZWA and DeepFaune handlers)
      buffered  the box grown by crop_buffer of the image on every side, clipped, not squared
                (the nzdoc handler)
      box       the box as it is, TensorFlow's crop_to_bounding_box of int(y * height),
                int(x * width), int(h * height), int(w * width) (SpeciesNet's always_crop)
    resize:
      stretch                          to input_size, ignoring the aspect ratio
      shorter-side-then-center-crop    the shorter side to the input size, then a centre crop
                                       (torchvision Resize(int) + CenterCrop, the mirav2 handler)
    top_k: how many labels the answer holds, highest first (TorchServe's image classifier
    answers 5); null for every class.
    """

    input_size: Size
    bbox_format: Literal["yxyx", "xywh"] = "yxyx"
    crop: Literal["square", "buffered", "box"] = "square"
    crop_buffer: float = Field(default=0.0, ge=0.0, le=0.5)
    resize: Literal["stretch", "shorter-side-then-center-crop"] = "stretch"
    #: Pillow's filters as torchvision uses them; tf-bilinear is tf.image.resize on the 0..1
    #: image (no antialiasing) then back to 8 bits (SpeciesNet's classifier.preprocess).
    resize_filter: Literal["nearest", "bilinear", "bicubic", "lanczos", "tf-bilinear"] = "bilinear"
    normalization: Annotated[Normalization, BeforeValidator(_named_normalization)]
    layout: Literal["NCHW", "NHWC"] = "NCHW"
    output: Literal["logits", "probabilities"] = "logits"
    top_k: int | None = Field(default=5, ge=1)

    @model_validator(mode="after")
    def _buffer_only_when_buffered(self) -> ClassifierSettings:
        if self.crop_buffer and self.crop != "buffered":
            raise ValueError(f"crop_buffer applies only to crop 'buffered', not {self.crop!r}")
        return self


class DetectorSettings(Strict):
    """YOLO letterbox, decoding and NMS (the MegaDetector v5 handler, api/megadetectorv5).

    canvas_mode 'fixed' always fills `canvas` (YOLOv5 letterbox auto=False, as MegaDetector v5 is
    exported at 960x1280); 'stride-multiple' pads only to the next multiple of `stride`.
    scale_up lets small images grow to the canvas (YOLOv5's default; SpeciesNet's detector).
    resize_filter 'cv2-linear' is OpenCV's INTER_LINEAR (no antialiasing), which the handler uses.
    box_rescale: 'letterbox' undoes the letterbox's own ratio and padding (mdv5_handler.py);
    'canvas' derives them from the canvas and image shapes and rounds the boxes to whole pixels
    (YOLOv5 scale_boxes(...).round(), SpeciesNet's detector.py).
    """

    canvas: Size = (960, 1280)
    canvas_mode: Literal["fixed", "stride-multiple"] = "fixed"
    stride: int = Field(default=64, ge=1, le=256)
    scale_up: bool = False
    resize_filter: Literal["cv2-linear", "bilinear"] = "cv2-linear"
    box_rescale: Literal["letterbox", "canvas"] = "letterbox"
    confidence_threshold: float = Field(default=0.0005, ge=0.0, le=1.0)
    iou_threshold: float = Field(default=0.45, ge=0.0, le=1.0)
    max_detections: int = Field(default=1000, ge=1, le=10000)
    output: Literal["yolov5", "yolov8"] = "yolov5"


class EnsembleSettings(Strict):
    """SpeciesNet's ensemble of detector and classifier (its taxonomy and geofence files ship
    in the artifact). geofence: whether `country` and `admin1_region` restrict predictions, as
    Animl's endpoint runs the package (geofence on)."""

    geofence: bool = True


class Preprocessing(Strict):
    """exif_orientation: 'ignore' decodes the pixels as stored, as every original Animl handler
    does (their boxes and crops are in that frame); 'apply' turns the image upright first. Switch
    it for every model of a pipeline at once, or detector boxes and classifier crops disagree."""

    exif_orientation: Literal["ignore", "apply"] = "ignore"
    classifier: ClassifierSettings | None = None
    detector: DetectorSettings | None = None
    ensemble: EnsembleSettings | None = None
