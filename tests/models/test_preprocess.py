"""Golden values: crops become exactly the tensors each model's authors fed their network."""

from __future__ import annotations

import numpy as np
import pytest

from fer_demo.models.preprocess import prepare, prepare_batch, resize, to_gray
from fer_demo.models.specs import MODEL_SPECS, Preprocessing


def solid(rgb, size=(7, 5)) -> np.ndarray:
    return np.broadcast_to(np.array(rgb, np.uint8), (*size, 3)).copy()


def test_gray_uses_itu601_luma_rounded_like_opencv():
    # 0.299*200 + 0.587*100 + 0.114*50 = 124.2 -> 124
    assert to_gray(solid((200, 100, 50)))[0, 0, 0] == 124


def test_mini_xception_input_is_gray_scaled_to_minus_one_one():
    spec = MODEL_SPECS["mini_xception"].preprocessing
    out = prepare(solid((200, 100, 50)), spec)
    assert out.shape == (1, 64, 64) and out.dtype == np.float32
    np.testing.assert_allclose(out, (124 / 255 - 0.5) / 0.5, atol=1e-6)


def test_cv2_linear_resize_matches_opencv_half_pixel_centres():
    row = np.array([[[0], [100]]], np.uint8)  # 1x2 -> 2x4; cv2.INTER_LINEAR gives 0 25 75 100
    out = resize(row, 4, "cv2_linear")[0, :, 0]
    np.testing.assert_allclose(out, [0, 25, 75, 100])


@pytest.mark.parametrize("name", ["emonet_8", "emonet_5", "mini_xception"])
@pytest.mark.parametrize("shape", [(97, 113), (300, 280), (256, 256), (41, 200)])
def test_opencv_models_get_exactly_the_tensor_of_their_authors_cv2_resize(name, shape):
    """EmoNet's demo (and fer) call cv2.resize on the uint8 crop: the prepared input equals that, bit for bit,
    for crops the model grows and crops it shrinks. A float bilinear resize moved EmoNet's logits by 0.1."""
    import cv2

    spec = MODEL_SPECS[name].preprocessing
    crop = np.random.default_rng(sum(shape)).integers(0, 256, (*shape, 3), dtype=np.uint8)
    source = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY)[..., None] if spec.color == "gray" else crop
    resized = cv2.resize(source, (spec.size, spec.size), interpolation=cv2.INTER_LINEAR).reshape(
        spec.size, spec.size, -1
    )
    expected = (resized.astype(np.float32) * np.float32(spec.scale) - np.float32(spec.mean[0])) / np.float32(
        spec.std[0]
    )
    np.testing.assert_array_equal(prepare(crop, spec), expected.transpose(2, 0, 1))


def test_pil_nearest_samples_pixel_centres():
    row = np.arange(8, dtype=np.uint8).reshape(2, 4, 1) * 10  # [[0,10,20,30],[40,50,60,70]]
    out = resize(row, 2, "pil_nearest")[..., 0]
    np.testing.assert_array_equal(out, [[10, 30], [50, 70]])


def test_bgr_mean_subtraction_without_scaling():
    # EMO-AffectNet style: flip to BGR, subtract per-channel means, stay on 0..255.
    spec = Preprocessing(
        size=4,
        color="bgr",
        resize="pil_nearest",
        scale=1.0,
        mean=(91.4953, 103.8827, 131.0912),
        std=(1.0, 1.0, 1.0),
    )
    out = prepare(solid((200, 100, 50)), spec)
    np.testing.assert_allclose(out[:, 0, 0], [50 - 91.4953, 100 - 103.8827, 200 - 131.0912], rtol=1e-6)


def test_rgb_imagenet_normalisation():
    spec = Preprocessing(
        size=3,
        color="rgb",
        resize="pil_bilinear",
        scale=1 / 255,
        mean=(0.485, 0.456, 0.406),
        std=(0.229, 0.224, 0.225),
    )
    out = prepare(solid((255, 0, 128)), spec)
    expected = [(1 - 0.485) / 0.229, (0 - 0.456) / 0.224, (128 / 255 - 0.406) / 0.225]
    np.testing.assert_allclose(out[:, 1, 1], expected, rtol=1e-5)


@pytest.mark.parametrize("name", sorted(MODEL_SPECS))
def test_every_model_prepares_an_empty_and_a_mixed_batch(name):
    spec = MODEL_SPECS[name].preprocessing
    channels = 1 if spec.color == "gray" else 3
    assert tuple(prepare_batch([], spec).shape) == (0, channels, spec.size, spec.size)
    batch = prepare_batch([solid((9, 9, 9), (30, 20)), solid((1, 2, 3), (300, 310))], spec)
    assert tuple(batch.shape) == (2, channels, spec.size, spec.size)


# A solid (R, G, B) = (200, 100, 50) crop through each family's published preprocessing,
# values worked out by hand from the authors' code (channel order as the network sees it).
GOLDEN = {
    "mini_xception": [(124 / 255 - 0.5) / 0.5],  # gray 124, x/255, (x - 0.5) * 2
    "emonet_8": [200 / 255, 100 / 255, 50 / 255],  # RGB, /255, no normalisation
    "emo_affectnet_resnet50": [50 - 91.4953, 100 - 103.8827, 200 - 131.0912],  # BGR minus means, 0..255
    "enet_b0_8_best_afew": [  # RGB, /255, ImageNet mean/std
        (200 / 255 - 0.485) / 0.229, (100 / 255 - 0.456) / 0.224, (50 / 255 - 0.406) / 0.225,
    ],
    "enet_b2_8": [(200 / 255 - 0.485) / 0.229, (100 / 255 - 0.456) / 0.224, (50 / 255 - 0.406) / 0.225],
}  # fmt: skip
SIZES = {"mini_xception": 64, "emonet_8": 256, "emo_affectnet_resnet50": 224, "enet_b0_8_best_afew": 224,
         "enet_b2_8": 260}  # fmt: skip


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_golden_values_of_each_family(name):
    spec = MODEL_SPECS[name].preprocessing
    out = prepare(solid((200, 100, 50), (90, 70)), spec)
    assert out.shape == (len(GOLDEN[name]), SIZES[name], SIZES[name])
    np.testing.assert_allclose(out[:, SIZES[name] // 2, SIZES[name] // 2], GOLDEN[name], rtol=1e-5, atol=1e-6)
    assert np.ptp(out, axis=(1, 2)).max() < 1e-4  # a solid crop stays solid whatever the resize
