"""The PyTorch port of the FER2013 mini-Xception and its embedded weights."""

from __future__ import annotations

import pytest
import torch

from fer_demo.analysis.pipeline import analyze_image
from fer_demo.models.mini_xception import MaxPoolSame, MiniXception, tf_same_pad


@pytest.mark.parametrize(("size", "pad"), [(60, (0, 1)), (30, (0, 1)), (15, (1, 1)), (8, (0, 1))])
def test_tf_same_padding_puts_the_extra_pixel_last(size, pad):
    assert tf_same_pad(size, kernel=3, stride=2) == pad


def test_same_pool_ignores_padding():
    x = -torch.ones(1, 1, 4, 4)  # all negative: zero padding would leak a 0 into the max
    out = MaxPoolSame()(x)
    assert out.shape == (1, 1, 2, 2) and (out == -1).all()


def test_shapes_and_parameter_count():
    net = MiniXception().eval()
    assert net(torch.zeros(2, 1, 64, 64)).shape == (2, 7)
    weights = sum(t.numel() for t in net.state_dict().values() if t.is_floating_point())
    assert weights == 58_423  # the Keras model's count, BN statistics included


def test_embedded_weights_load_strictly(studio):
    model = studio.zoo.get("mini_xception")
    assert studio.zoo.is_loaded("mini_xception")
    assert model.spec.name == "mini_xception"


def test_astronaut_is_happy_with_a_clear_margin(studio, astronaut):
    analysis = analyze_image(astronaut, studio.zoo.get("mini_xception"), studio.detector)
    assert len(analysis.faces) == 1
    face = analysis.faces[0]
    ranked = sorted(face.probabilities.values(), reverse=True)
    assert face.top_label == "Happiness"
    assert ranked[0] - ranked[1] > 0.5
    assert sum(face.probabilities.values()) == pytest.approx(1.0, abs=1e-3)
