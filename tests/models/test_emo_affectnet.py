"""EMO-AffectNet static ResNet50 and temporal LSTM against the manifests and the fact sheet."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from fer_demo.models.emo_affectnet import (
    EMO_AFFECTNET_LABELS,
    LSTM_CORPORA,
    EmotionLSTM,
    ResNet50Affect,
    lstm_filename,
    tf_same_padding,
)
from tests.support.checkpoints.emo_affectnet import (
    LSTM_MANIFEST,
    STATIC_MANIFEST,
    load_manifest,
    write_lstm_checkpoint,
    write_static_checkpoint,
)

VGGFACE2_BGR_MEANS = torch.tensor([91.4953, 103.8827, 131.0912]).view(1, 3, 1, 1)


def described(state: dict[str, torch.Tensor]) -> list[tuple[str, list[int], str]]:
    return [(name, list(t.shape), str(t.dtype).removeprefix("torch.")) for name, t in state.items()]


def faces(n: int, seed: int = 1, size: int = 224) -> torch.Tensor:
    """Noise 'crops' prepared like the real input: BGR, 0-255, VGGFace2 means subtracted."""
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, 3, size, size), generator=gen).float() - VGGFACE2_BGR_MEANS


@pytest.fixture(scope="module")
def static_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_static_checkpoint(tmp_path_factory.mktemp("emo") / "FER_static_ResNet50_AffectNet.pt")


@pytest.fixture(scope="module")
def lstm_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_lstm_checkpoint(tmp_path_factory.mktemp("emo") / lstm_filename("RAVDESS"))


@pytest.fixture(scope="module")
def resnet(static_path: Path) -> ResNet50Affect:
    net = ResNet50Affect()
    net.load_state_dict(torch.load(static_path, weights_only=True), strict=True)
    return net.eval()


@pytest.fixture(scope="module")
def lstm(lstm_path: Path) -> EmotionLSTM:
    net = EmotionLSTM()
    net.load_state_dict(torch.load(lstm_path, weights_only=True), strict=True)
    return net.eval()


@pytest.fixture(scope="module")
def batch() -> torch.Tensor:
    return faces(3)


@pytest.fixture(scope="module")
def batch_outputs(resnet: ResNet50Affect, batch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    with torch.inference_mode():
        return resnet.forward_with_features(batch)


# --- checkpoint layout -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cls", "manifest"), [(ResNet50Affect, STATIC_MANIFEST), (EmotionLSTM, LSTM_MANIFEST)]
)
def test_state_dict_matches_manifest_exactly(cls, manifest):
    expected = [(name, shape, dtype) for name, (shape, dtype) in load_manifest(manifest).items()]
    assert described(cls().state_dict()) == expected  # names, order, shapes and dtypes


def test_manifest_sizes():
    assert len(ResNet50Affect().state_dict()) == 322
    assert len(EmotionLSTM().state_dict()) == 10
    # The manifests count every float tensor, BatchNorm running statistics included.
    floats = sum(t.numel() for t in ResNet50Affect().state_dict().values() if t.is_floating_point())
    assert floats == 24_613_831
    assert sum(p.numel() for p in EmotionLSTM().parameters()) == 2_891_527


@pytest.mark.parametrize("kind", ["static", "lstm"])
def test_fixture_checkpoints_load_strictly_with_safe_unpickling(kind, static_path, lstm_path, resnet, lstm):
    path, net = (static_path, resnet) if kind == "static" else (lstm_path, lstm)
    state = torch.load(path, weights_only=True)
    assert isinstance(state, dict) and not any(k.startswith("module.") for k in state)
    loaded = net.state_dict()
    assert loaded.keys() == state.keys()
    assert all(torch.equal(loaded[k], state[k]) for k in state)


# --- TF-SAME stem, pooling, strides, BatchNorm ---------------------------------------------------


@pytest.mark.parametrize(
    ("size", "kernel", "stride", "dilation", "pad"),
    [
        (224, 7, 2, 1, (2, 3)),  # the published input: extra pixel right/bottom
        (225, 7, 2, 1, (3, 3)),
        (223, 7, 2, 1, (3, 3)),
        (7, 7, 2, 1, (3, 3)),
        (1, 7, 2, 1, (3, 3)),
        (6, 3, 2, 1, (0, 1)),
        (5, 3, 1, 1, (1, 1)),
        (5, 1, 2, 1, (0, 0)),
        (10, 3, 1, 2, (2, 2)),  # dilated: effective kernel 5
        (9, 3, 2, 2, (2, 2)),
    ],
)
def test_tf_same_padding(size, kernel, stride, dilation, pad):
    assert tf_same_padding(size, kernel, stride, dilation) == pad


def test_stem_pads_two_before_and_three_after(resnet):
    stem = resnet.conv_layer_s2_same
    x = faces(1, seed=2)
    with torch.inference_mode():
        out = stem(x)
        tf_same = F.conv2d(F.pad(x, (2, 3, 2, 3)), stem.weight, stride=2)
        symmetric = F.conv2d(x, stem.weight, stride=2, padding=3)
    assert out.shape == (1, 64, 112, 112)
    torch.testing.assert_close(out, tf_same)
    assert not torch.allclose(out, symmetric, atol=1e-3)
    assert stem.padding == (0, 0) and stem.bias is None


def spatial_sizes(net: ResNet50Affect, x: torch.Tensor) -> dict[str, tuple[int, int]]:
    sizes: dict[str, tuple[int, int]] = {}
    names = ["conv_layer_s2_same", "max_pool", "layer1", "layer2", "layer3", "layer4"]
    hooks = [
        getattr(net, name).register_forward_hook(
            lambda _m, _i, out, name=name: sizes.__setitem__(name, tuple(out.shape[-2:]))
        )
        for name in names
    ]
    try:
        with torch.inference_mode():
            net(x)
    finally:
        for hook in hooks:
            hook.remove()
    return sizes


def test_spatial_sizes_at_224(resnet):
    assert spatial_sizes(resnet, faces(1)) == {
        "conv_layer_s2_same": (112, 112),
        "max_pool": (55, 55),  # unpadded 3x3/2 pool; a padded one would give 56
        "layer1": (55, 55),
        "layer2": (28, 28),
        "layer3": (14, 14),
        "layer4": (7, 7),
    }


def test_stem_follows_odd_input_sizes(resnet):
    with torch.inference_mode():
        out = resnet.conv_layer_s2_same(torch.zeros(1, 3, 225, 97))
    assert out.shape[-2:] == (113, 49)  # ceil(size / 2), like TensorFlow SAME


def test_stride_sits_on_the_first_1x1_conv():
    net = ResNet50Affect()
    for name in ("layer2", "layer3", "layer4"):
        first = getattr(net, name)[0]
        assert first.conv1.kernel_size == (1, 1) and first.conv1.stride == (2, 2)
        assert first.conv2.stride == (1, 1) and first.conv2.padding == (1, 1)
        assert first.i_downsample[0].stride == (2, 2)
    assert net.layer1[0].conv1.stride == (1, 1) and net.layer1[0].i_downsample is not None
    assert all(block.i_downsample is None for layer in (net.layer1, net.layer4) for block in layer[1:])
    assert net.max_pool.padding == 0


def test_every_batchnorm_uses_the_keras_eps():
    norms = [m for m in ResNet50Affect().modules() if isinstance(m, nn.BatchNorm2d)]
    assert len(norms) == 53  # stem + 16 blocks x 3 + 4 projections
    assert all(m.eps == 1e-3 for m in norms)


# --- static model outputs ------------------------------------------------------------------------


def test_logits_and_features(batch_outputs):
    logits, feats = batch_outputs
    assert logits.shape == (3, len(EMO_AFFECTNET_LABELS)) and torch.isfinite(logits).all()
    assert feats.shape == (3, 512) and torch.isfinite(feats).all()
    # ReLU(fc1): never negative, and some units are exactly zero (the pre-ReLU value has negatives).
    assert feats.min() == 0 and (feats > 0).any()


def test_features_are_relu_of_fc1(resnet, batch, batch_outputs):
    _, feats = batch_outputs
    with torch.inference_mode():
        pre_relu = resnet.fc1(resnet.pooled(batch[:1]))
    assert (pre_relu < 0).any()
    torch.testing.assert_close(feats[:1], pre_relu.clamp_min(0))


def test_forward_with_features_equals_separate_calls(resnet, batch, batch_outputs):
    logits, feats = batch_outputs
    one = batch[:1]  # one face keeps the test fast; batch consistency is tested below
    with torch.inference_mode():
        torch.testing.assert_close(resnet(one), logits[:1])
        torch.testing.assert_close(resnet.features(one), feats[:1])
        torch.testing.assert_close(resnet.fc2(feats), logits)  # fc2 reads the post-ReLU feature


def test_batch_equals_one_by_one(resnet, batch, batch_outputs):
    logits, feats = batch_outputs
    with torch.inference_mode():
        singles = [resnet.forward_with_features(face[None]) for face in batch]
    torch.testing.assert_close(torch.cat([s[0] for s in singles]), logits, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(torch.cat([s[1] for s in singles]), feats, atol=1e-4, rtol=1e-4)
    assert not torch.allclose(logits[0], logits[1], atol=1e-3)  # different faces, different outputs


# --- temporal model ------------------------------------------------------------------------------


def reference_lstm(x: torch.Tensor, w_ih, w_hh, b_ih, b_hh) -> torch.Tensor:
    """A step-by-step LSTM (gate order i, f, g, o; zero initial state), batch first."""
    hidden = w_hh.shape[1]
    h = x.new_zeros(x.shape[0], hidden)
    c = x.new_zeros(x.shape[0], hidden)
    outputs = []
    for t in range(x.shape[1]):
        i, f, g, o = (x[:, t] @ w_ih.T + b_ih + h @ w_hh.T + b_hh).chunk(4, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        outputs.append(h)
    return torch.stack(outputs, dim=1)


def lstm_tensors(state: dict[str, torch.Tensor], layer: str) -> list[torch.Tensor]:
    return [state[f"{layer}.{part}_l0"] for part in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]


def windows(n: int, seed: int = 3, steps: int = 10) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return 3 * torch.rand(n, steps, 512, generator=gen)  # non-negative, like ReLU(fc1)


def test_lstm_matches_a_step_by_step_reference_and_returns_logits(lstm, lstm_path):
    state = torch.load(lstm_path, weights_only=True)
    seq = windows(4)
    x = reference_lstm(seq, *lstm_tensors(state, "lstm1"))
    x = reference_lstm(x, *lstm_tensors(state, "lstm2"))
    expected = x[:, -1] @ state["fc.weight"].T + state["fc.bias"]  # no softmax
    with torch.inference_mode():
        out = lstm(seq)
    assert out.shape == (4, 7)
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=1e-4)


def test_lstm_depends_on_order_and_on_the_last_step(lstm):
    seq = windows(2)
    changed_last = seq.clone()
    changed_last[:, -1] = windows(2, seed=9, steps=1)[:, 0]
    changed_first = seq.clone()
    changed_first[:, 0] = windows(2, seed=9, steps=1)[:, 0]
    with torch.inference_mode():
        out = lstm(seq)
        assert not torch.allclose(lstm(seq.flip(1)), out, atol=1e-4)
        last_shift = (lstm(changed_last) - out).abs().max()
        first_shift = (lstm(changed_first) - out).abs().max()
        # The batch must not be mixed up with time: each row only sees its own window.
        torch.testing.assert_close(lstm(seq[1:]), out[1:])
    assert last_shift > 1e-3
    assert last_shift > first_shift  # the fc reads the last step, where the newest frame counts most


def test_labels_and_file_names():
    assert EMO_AFFECTNET_LABELS == ("Neutral", "Happiness", "Sadness", "Surprise", "Fear", "Disgust", "Anger")
    assert ResNet50Affect().fc2.out_features == EmotionLSTM().fc.out_features == len(EMO_AFFECTNET_LABELS)
    assert [lstm_filename(c) for c in LSTM_CORPORA] == [
        "FER_dinamic_LSTM_Aff-Wild2.pt",
        "FER_dinamic_LSTM_CREMA-D.pt",
        "FER_dinamic_LSTM_IEMOCAP.pt",
        "FER_dinamic_LSTM_RAMAS.pt",
        "FER_dinamic_LSTM_RAVDESS.pt",
        "FER_dinamic_LSTM_SAVEE.pt",
    ]
    with pytest.raises(ValueError, match="corpus"):
        lstm_filename("AffWild2")
