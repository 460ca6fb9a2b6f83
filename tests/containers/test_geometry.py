"""Letterbox, box rescaling, NMS and square-crop arithmetic against hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from animl_serve import geometry
from animl_serve.errors import ClientError


def test_letterbox_of_a_4_3_photo_is_960x1280_with_no_padding():
    plan = geometry.plan_letterbox(2048, 1536, (1280, 1280), stride=64, fixed=False)
    # ratio = min(1280/1536, 1280/2048) = 0.625; 2048x1536 -> 1280x960; 1280-960 = 320 = 5 x 64.
    assert plan.ratio == 0.625
    assert plan.resized == (1280, 960)
    assert (plan.pad_left, plan.pad_top, plan.canvas) == (0, 0, (1280, 960))


def test_letterbox_never_enlarges_and_pads_to_the_stride():
    plan = geometry.plan_letterbox(1000, 600, (1280, 1280), stride=64, fixed=False)
    # ratio capped at 1; dw = 280 % 64 = 24 -> 12 each side; dh = 680 % 64 = 40 -> 20 each side.
    assert (plan.ratio, plan.resized) == (1.0, (1000, 600))
    assert (plan.pad_left, plan.pad_top, plan.canvas) == (12, 20, (1024, 640))


def test_letterbox_to_a_fixed_input_pads_to_the_full_target():
    plan = geometry.plan_letterbox(2048, 1536, (1280, 1280), stride=64, fixed=True)
    assert (plan.pad_left, plan.pad_top, plan.canvas) == (0, 160, (1280, 1280))


def test_odd_padding_splits_like_yolov5():
    plan = geometry.plan_letterbox(1001, 600, (1280, 1280), stride=64, fixed=False)
    # dw = 279 % 64 = 23 -> 11.5: left round(11.4) = 11, right round(11.6) = 12.
    assert (plan.pad_left, plan.canvas[0]) == (11, 1024)


def test_letterboxed_image_has_grey_114_padding_and_the_image_in_place():
    plan = geometry.plan_letterbox(1000, 600, (1280, 1280), stride=64, fixed=False)
    canvas = geometry.letterbox(Image.new("RGB", (1000, 600), (255, 0, 0)), plan, "bilinear")
    assert canvas.shape == (640, 1024, 3)
    assert canvas[0, 0].tolist() == [114, 114, 114]
    assert canvas[20, 12].tolist() == [255, 0, 0]
    assert canvas[19, 12].tolist() == [114, 114, 114]
    assert canvas[619, 1011].tolist() == [255, 0, 0]
    assert canvas[620, 1011].tolist() == [114, 114, 114]


def test_boxes_map_back_to_the_original_image_as_fractions():
    plan = geometry.plan_letterbox(1000, 600, (1280, 1280), stride=64, fixed=False)
    boxes = geometry.boxes_to_source(np.array([[412.0, 270.0, 612.0, 370.0]]), plan, False)
    # 412 - 12 = 400; 270 - 20 = 250; 612 - 12 = 600; 370 - 20 = 350 pixels of the source.
    np.testing.assert_allclose(boxes, [[400, 250, 600, 350]])


def test_boxes_are_undone_through_the_scale_and_clipped_to_the_image():
    plan = geometry.plan_letterbox(2048, 1536, (1280, 1280), stride=64, fixed=True)
    boxes = geometry.boxes_to_source(
        np.array([[590.0, 600.0, 690.0, 680.0], [-10, 100, 1300, 1300]]), plan, False
    )
    # y: (600 - 160) / 0.625 = 704; x: 590 / 0.625 = 944.
    np.testing.assert_allclose(boxes[0], [944, 704, 1104, 832])
    np.testing.assert_allclose(boxes[1], [0.0, 0.0, 2048, 1536])


def test_scale_up_lets_a_small_image_grow_to_the_canvas():
    plan = geometry.plan_letterbox(640, 480, (1280, 1280), stride=64, fixed=False, scale_up=True)
    # ratio 2; 1280x960, already stride multiples.
    assert (plan.ratio, plan.resized, plan.canvas) == (2.0, (1280, 960), (1280, 960))


def test_tf_bilinear_resize_samples_half_pixel_centres_and_truncates():
    image = Image.fromarray(np.array([[[0] * 3, [100] * 3, [200] * 3, [255] * 3]], np.uint8))
    out = np.asarray(geometry.resize_bilinear_tf(image, (2, 1)))
    # Samples at 0.5 and 2.5: (0 + 100) / 2 = 50, (200 + 255) / 2 = 227.5; x 255.5 / 255, floored.
    assert out[0, :, 0].tolist() == [50, 227]


def test_box_crop_is_tensorflows_crop_to_bounding_box():
    crop = geometry.box_crop(Image.new("RGB", (100, 50)), (0.25, 0.5, 0.5, 0.5))
    assert crop.size == (50, 25)
    with pytest.raises(ClientError, match="covers less than a pixel"):
        geometry.box_crop(Image.new("RGB", (100, 50)), (0.25, 0.5, 0.005, 0.5))


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


def white(width: int, height: int) -> Image.Image:
    return Image.new("RGB", (width, height), (255, 255, 255))


def test_square_crop_of_a_square_box_inside_the_image_is_the_box():
    crop = geometry.square_crop(white(80, 40), (0.125, 0.25, 0.375, 0.75))
    # x 10..30, y 10..30: a 20 px square, already tight.
    assert crop.size == (20, 20)
    assert np.asarray(crop).min() == 255


def test_square_crop_of_a_wide_box_at_the_top_is_shifted_into_the_image():
    crop = geometry.square_crop(white(100, 50), (0.25, 0.0, 0.75, 0.25))
    # 50 x 12 box; the 50 px square would start at y = -19 and is shifted to y = 0: no padding.
    assert crop.size == (50, 50)
    assert np.asarray(crop).min() == 255


def test_square_crop_at_the_right_edge_runs_off_the_image_into_black():
    crop = np.asarray(geometry.square_crop(white(80, 40), (0.875, 0.0, 1.0, 1.0)))
    # 10 x 40 box at x 70: the 40 px square starts at min(70 - 15, 80 - 10) = 55 and ends at 95,
    # 15 px beyond the image (CameraTraps limits the start by the box width, not the square's).
    assert crop.shape == (40, 40, 3)
    assert crop[:, 24].min() == 255
    assert crop[:, 25].max() == 0


def test_square_crop_of_the_whole_image_pads_the_short_side_both_ways():
    crop = np.asarray(geometry.square_crop(white(100, 50), (0.0, 0.0, 1.0, 1.0)))
    assert crop.shape == (100, 100, 3)
    assert crop[24].max() == 0
    assert crop[25].min() == 255
    assert crop[74].min() == 255
    assert crop[75].max() == 0


def test_a_box_under_a_pixel_is_a_client_error():
    with pytest.raises(ClientError, match="covers less than a pixel"):
        geometry.square_crop(white(100, 50), (0.5, 0.5, 0.505, 0.505))


def test_buffered_crop_grows_the_box_by_a_share_of_the_image_and_clips():
    crop = geometry.buffered_crop(white(100, 50), (0.25, 0.5, 0.5, 1.0), 0.125)
    # x 0.125..0.625 -> 12..62; y 0.375..1 (clipped) -> 18..50; not squared.
    assert crop.size == (50, 32)


def test_resize_then_center_crop_keeps_the_middle_of_the_longer_side():
    image = Image.new("RGB", (400, 300), (0, 255, 0))
    image.paste((255, 0, 0), (0, 0, 50, 300))
    out = geometry.resize_shorter_then_center_crop(image, (300, 300), Image.Resampling.NEAREST)
    # 400x300 stays 400x300 (shorter side already 300); the centre crop drops 50 px each side.
    assert out.size == (300, 300)
    assert np.asarray(out)[:, :, 0].max() == 0


def test_linear_resize_matches_half_pixel_centres():
    pixels = np.array([[[0], [100], [200], [255]]], np.uint8).repeat(3, axis=2)
    out = geometry.resize_linear_cv2(pixels, (2, 1))
    # Output x 0 samples source 0.5 (0 and 100), x 1 samples 2.5 (200 and 255).
    assert out[0, :, 0].tolist() == [50, 228]  # 227.5 rounds up in fixed point


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
