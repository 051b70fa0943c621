"""Every kind of still image a user may upload becomes upright RGB uint8, or a clear error."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from fer_demo.errors import InputError
from fer_demo.media.images import load_image

LIMIT = 50_000_000


def gradient(width: int = 64, height: int = 48) -> np.ndarray:
    x = np.linspace(0, 255, width, dtype=np.float32)[None, :, None]
    y = np.linspace(0, 255, height, dtype=np.float32)[:, None, None]
    return np.concatenate(
        [
            np.broadcast_to(x, (height, width, 1)),
            np.broadcast_to(y, (height, width, 1)),
            np.full((height, width, 1), 128, np.float32),
        ],
        axis=2,
    ).astype(np.uint8)


def test_rgb_jpeg_round_trip(write_image):
    rgb = gradient()
    out = load_image(write_image(Image.fromarray(rgb), "a.png"), LIMIT)
    assert out.dtype == np.uint8 and out.shape == (48, 64, 3)
    np.testing.assert_array_equal(out, rgb)


def test_grayscale_becomes_three_equal_channels(write_image):
    gray = gradient()[..., 0]
    out = load_image(write_image(Image.fromarray(gray, "L")), LIMIT)
    assert out.shape == (48, 64, 3)
    np.testing.assert_array_equal(out[..., 0], gray)
    np.testing.assert_array_equal(out[..., 0], out[..., 2])


def test_transparent_pixels_become_white(write_image):
    rgba = np.zeros((40, 40, 4), np.uint8)
    rgba[:, :20] = (255, 0, 0, 255)  # opaque red left half, transparent right half
    out = load_image(write_image(Image.fromarray(rgba, "RGBA")), LIMIT)
    assert tuple(out[10, 5]) == (255, 0, 0)
    assert tuple(out[10, 35]) == (255, 255, 255)


def test_palette_image(write_image):
    palette = Image.fromarray(gradient()).convert("P")
    out = load_image(write_image(palette, "p.png"), LIMIT)
    assert out.shape == (48, 64, 3)
    assert np.abs(out.astype(int) - np.asarray(palette.convert("RGB"), int)).max() == 0


def test_sixteen_bit_is_rescaled_not_clipped(write_image):
    values = np.linspace(0, 65535, 48 * 64).reshape(48, 64).astype(np.uint16)
    out = load_image(write_image(Image.fromarray(values), "deep.png"), LIMIT)
    assert out[0, 0, 0] == 0 and out[-1, -1, 0] == 255
    assert 100 < out[24, 32, 0] < 155  # the middle stays mid-grey instead of saturating


def test_cmyk_jpeg(write_image):
    cmyk = Image.fromarray(gradient()).convert("CMYK")
    out = load_image(write_image(cmyk, "c.jpg", quality=95), LIMIT)
    assert out.shape == (48, 64, 3)
    assert np.abs(out.astype(int) - gradient().astype(int)).mean() < 12


def test_exif_orientation_is_applied(write_image):
    image = Image.fromarray(gradient(64, 32))  # landscape pixels
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display": a portrait phone photo
    out = load_image(write_image(image, "phone.jpg", exif=exif), LIMIT)
    assert out.shape == (64, 32, 3)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"this is a text file, not a photo\n" * 20, "not an image"),
    ],
)
def test_unreadable_bytes(tmp_path, content, message):
    path = tmp_path / "upload.jpg"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message):
        load_image(path, LIMIT)


def test_truncated_jpeg(write_image, astronaut):
    path = write_image(Image.fromarray(astronaut), "full.jpg", quality=90)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="truncated or corrupt"):
        load_image(path, LIMIT)


def test_decompression_bomb_is_refused_before_decoding(write_image):
    path = write_image(Image.new("L", (8000, 8000)), "bomb.png")  # 64 MP, a few KB on disk
    assert path.stat().st_size < 200_000
    with pytest.raises(InputError, match=r"too large.*8000x8000.*limit is 50 megapixels"):
        load_image(path, LIMIT)


def test_tiny_image(write_image):
    with pytest.raises(InputError, match="too small"):
        load_image(write_image(Image.new("RGB", (10, 10))), LIMIT)
