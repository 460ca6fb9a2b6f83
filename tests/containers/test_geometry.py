"""Letterbox, box rescaling, NMS and square-crop arithmetic against hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from animl_serve import geometry
from animl_serve.errors import ClientError


def test_letterbox_of_a_4_3_photo_is_960x1280_with_no_padding():
    plan = geometry.plan_letterbox(2048, 1536, (1280, 1280), stride=64, pad_to_stride_only=True)
    # ratio = min(1280/1536, 1280/2048) = 0.625; 2048x1536 -> 1280x960; 1280-960 = 320 = 5 x 64.
    assert plan.ratio == 0.625
    assert plan.resized == (1280, 960)
    assert (plan.pad_left, plan.pad_top, plan.canvas) == (0, 0, (1280, 960))


def test_letterbox_never_enlarges_and_pads_to_the_stride():
    plan = geometry.plan_letterbox(1000, 600, (1280, 1280), stride=64, pad_to_stride_only=True)
    # ratio capped at 1; dw = 280 % 64 = 24 -> 12 each side; dh = 680 % 64 = 40 -> 20 each side.
    assert (plan.ratio, plan.resized) == (1.0, (1000, 600))
    assert (plan.pad_left, plan.pad_top, plan.canvas) == (12, 20, (1024, 640))


def test_letterbox_to_a_fixed_input_pads_to_the_full_target():
    plan = geometry.plan_letterbox(2048, 1536, (1280, 1280), stride=64, pad_to_stride_only=False)
    assert (plan.pad_left, plan.pad_top, plan.canvas) == (0, 160, (1280, 1280))


def test_odd_padding_splits_like_yolov5():
    plan = geometry.plan_letterbox(1001, 600, (1280, 1280), stride=64, pad_to_stride_only=True)
    # dw = 279 % 64 = 23 -> 11.5: left round(11.4) = 11, right round(11.6) = 12.
    assert (plan.pad_left, plan.canvas[0]) == (11, 1024)


def test_letterboxed_image_has_grey_114_padding_and_the_image_in_place():
    plan = geometry.plan_letterbox(1000, 600, (1280, 1280), stride=64, pad_to_stride_only=True)
    canvas = geometry.letterbox(Image.new("RGB", (1000, 600), (255, 0, 0)), plan)
    assert canvas.shape == (640, 1024, 3)
    assert canvas[0, 0].tolist() == [114, 114, 114]
    assert canvas[20, 12].tolist() == [255, 0, 0]
    assert canvas[19, 12].tolist() == [114, 114, 114]
    assert canvas[619, 1011].tolist() == [255, 0, 0]
    assert canvas[620, 1011].tolist() == [114, 114, 114]


def test_boxes_map_back_to_the_original_image_as_fractions():
    plan = geometry.plan_letterbox(1000, 600, (1280, 1280), stride=64, pad_to_stride_only=True)
    boxes = geometry.boxes_to_source(np.array([[412.0, 270.0, 612.0, 370.0]]), plan)
    # (412 - 12) / 1000 = 0.4; (270 - 20) / 600; (612 - 12) / 1000; (370 - 20) / 600.
    np.testing.assert_allclose(boxes, [[0.4, 250 / 600, 0.6, 350 / 600]])


def test_boxes_are_undone_through_the_scale_and_clipped_to_the_image():
    plan = geometry.plan_letterbox(2048, 1536, (1280, 1280), stride=64, pad_to_stride_only=False)
    boxes = geometry.boxes_to_source(
        np.array([[590.0, 600.0, 690.0, 680.0], [-10, 100, 1300, 1300]]), plan
    )
    # y: (600 - 160) / 0.625 = 704 -> 704 / 1536; x: 590 / 0.625 = 944 -> 944 / 2048.
    np.testing.assert_allclose(boxes[0], [944 / 2048, 704 / 1536, 1104 / 2048, 832 / 1536])
    np.testing.assert_allclose(boxes[1], [0.0, 0.0, 1.0, 1.0])


def test_center_boxes_become_corners():
    np.testing.assert_allclose(
        geometry.xywh_center_to_xyxy(np.array([[640.0, 480, 100, 80]])), [[590, 440, 690, 520]]
    )


def test_nms_keeps_the_best_of_overlapping_boxes_and_separate_ones():
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30], [0, 0, 10, 10.0]])
    scores = np.array([0.9, 0.8, 0.7, 0.95])
    # box 3 beats 0 (IoU 1); box 1 overlaps 3 with IoU 81/119 = 0.68 > 0.45; box 2 is apart.
    assert geometry.nms(boxes, scores, 0.45).tolist() == [3, 2]
    assert geometry.nms(boxes, scores, 0.7).tolist() == [3, 1, 2]


def test_nms_stopping_at_max_keep_gives_the_same_first_boxes():
    rng = np.random.default_rng(7)
    corners = rng.uniform(0, 1000, (2000, 2))
    boxes = np.hstack([corners, corners + rng.uniform(5, 60, (2000, 2))])
    scores = rng.uniform(0, 1, 2000)
    full = geometry.nms(boxes, scores, 0.45)
    assert len(full) > 300
    assert geometry.nms(boxes, scores, 0.45, max_keep=300).tolist() == full[:300].tolist()


def test_square_crop_of_a_square_box_inside_the_image_is_the_box():
    plan = geometry.plan_square_crop((0.1, 0.2, 0.3, 0.6), 100, 50)
    # x 10..30, y 10..30: a 20 px square, already tight.
    assert (plan.side, plan.region, plan.offset) == (20, (10, 10, 30, 30), (0, 0))


def test_square_crop_of_a_wide_box_at_the_top_is_padded_above():
    plan = geometry.plan_square_crop((0.2, 0.0, 0.8, 0.2), 100, 50)
    # x 20..80 (60 wide), y 0..10: side 60 centred on (50, 5) -> y -25..35, limited to 0..35.
    assert (plan.side, plan.region, plan.offset) == (60, (20, 0, 80, 35), (0, 25))
    image = Image.new("RGB", (100, 50), (255, 255, 255))
    crop = np.asarray(geometry.square_crop(image, plan))
    assert crop.shape == (60, 60, 3)
    assert crop[24, 30].tolist() == [0, 0, 0]  # black padding above the image
    assert crop[25, 30].tolist() == [255, 255, 255]


def test_square_crop_of_the_whole_image_pads_the_short_side_both_ways():
    plan = geometry.plan_square_crop((0.0, 0.0, 1.0, 1.0), 100, 50)
    assert (plan.side, plan.region, plan.offset) == (100, (0, 0, 100, 50), (0, 25))


@pytest.mark.parametrize(
    ("raw", "fmt", "expected"),
    [
        ([0.1, 0.2, 0.5, 0.6], "yxyx", (0.2, 0.1, 0.6, 0.5)),
        ("[0,0,1,1]", "yxyx", (0.0, 0.0, 1.0, 1.0)),
        (" [0.1, 0.2, 0.5, 0.6] ", "yxyx", (0.2, 0.1, 0.6, 0.5)),
        ([0.2, 0.1, 0.4, 0.5], "xywh", (0.2, 0.1, 0.6000000000000001, 0.6)),
    ],
)
def test_bbox_forms(raw, fmt, expected):
    assert geometry.parse_bbox(raw, fmt) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ([0, 0, 1], "must be a list of four numbers"),
        ("[0, 0, one, 1]", "is not a list of four numbers"),
        ([0, 0, 1.5, 1], "must lie within 0..1"),
        ([-0.2, 0, 1, 1], "must lie within 0..1"),
        ([0.5, 0, 0.2, 1], "is empty or inverted"),
        ([0, 0.3, 1, 0.3], "is empty or inverted"),
        ({"ymin": 0}, "must be a list of four numbers"),
        ([True, 0, 1, 1], "must be a list of four numbers"),
    ],
)
def test_bad_bboxes_are_client_errors(raw, message):
    with pytest.raises(ClientError, match=message):
        geometry.parse_bbox(raw, "yxyx")
