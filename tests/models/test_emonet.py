"""EmoNet: checkpoint layout, strict loading, forward logic and eval-mode behaviour.

Checkpoints are random fakes built from the manifests (tests/support/checkpoints/emonet.py), never from the
model class, so a layout mistake in the model cannot hide itself. One EmoNet forward at 256 px costs
about 0.5 s per face on CPU: batches are tiny and the networks and traced outputs are module-scoped.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from fer_demo.models.emonet import ConvBlock, EmoNet, HourGlass, strip_module_prefix
from tests.support.checkpoints.emonet import emonet_manifest, write_emonet_checkpoint

# Modules whose (first input, output) the traced forward pass records.
TRACED = (
    "conv2",
    "conv3",
    "conv4",
    "m0",
    "m1",
    "bn_end0",
    "l0",
    "bl0",
    "al0",
    "bn_end1",
    "l1",
    "m0.b2_plus_1",
    "conv1x1_input_emo_2",
    "emo_net_2",
    "emo_fc_2",
)


Trace = tuple[torch.Tensor, dict[str, tuple[torch.Tensor, torch.Tensor]]]


def load_net(path: Path, n_expression: int) -> EmoNet:
    net = EmoNet(n_expression)
    net.load_state_dict(strip_module_prefix(torch.load(path, weights_only=True)), strict=True)
    return net.eval()


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    folder = tmp_path_factory.mktemp("emonet")
    return {n: write_emonet_checkpoint(folder / f"emonet_{n}.pth", n_expression=n) for n in (5, 8)}


@pytest.fixture(scope="module")
def net8(checkpoints: dict[int, Path]) -> EmoNet:
    return load_net(checkpoints[8], 8)


@pytest.fixture(scope="module")
def faces() -> torch.Tensor:
    """Two clearly different (2, 3, 256, 256) RGB inputs in [0, 1]: a dark noisy one, a bright ramp."""
    gen = torch.Generator().manual_seed(1)
    dark = 0.3 * torch.rand(3, 256, 256, generator=gen)
    ramp = torch.linspace(0.4, 1.0, 256).expand(3, 256, 256)
    return torch.stack([dark, ramp])


def run_traced(net: EmoNet, x: torch.Tensor) -> Trace:
    """Forward ``x`` and return the output plus (first input, output) of every module in TRACED."""
    record: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
    handles = [
        net.get_submodule(name).register_forward_hook(
            lambda _m, inputs, out, name=name: record.__setitem__(name, (inputs[0], out))
        )
        for name in TRACED
    ]
    try:
        with torch.no_grad():
            return net(x), record
    finally:
        for handle in handles:
            handle.remove()


@pytest.fixture(scope="module")
def traced(net8: EmoNet, faces: torch.Tensor) -> Trace:
    """One forward of the 8-class net on both faces, shared by the tests that inspect internals."""
    return run_traced(net8, faces)


def layout(state: dict[str, torch.Tensor]) -> dict[str, tuple[list[int], str]]:
    return {name: (list(t.shape), str(t.dtype).removeprefix("torch.")) for name, t in state.items()}


@pytest.mark.parametrize("n_expression", [8, 5])
def test_state_dict_matches_the_published_manifest(n_expression):
    expected = emonet_manifest(n_expression)
    got = layout(EmoNet(n_expression).state_dict())
    assert set(got) - set(expected) == set(), "unexpected keys"
    assert set(expected) - set(got) == set(), "missing keys"
    assert got == expected
    assert list(got) == list(expected), "key order differs from the checkpoint"


def test_strip_module_prefix_only_removes_a_leading_prefix():
    t = torch.zeros(1)
    stripped = strip_module_prefix({"module.conv1.weight": t, "bn1.bias": t, "emo.module.x": t})
    assert list(stripped) == ["conv1.weight", "bn1.bias", "emo.module.x"]


def test_prefixed_checkpoint_loads_strictly_with_every_value(checkpoints, net8):
    raw = torch.load(checkpoints[8], weights_only=True)
    assert len(raw) == 682 and all(key.startswith("module.") for key in raw)
    loaded = net8.state_dict()
    for key, value in raw.items():
        assert torch.equal(loaded[key.removeprefix("module.")], value), key


def test_strict_loading_rejects_wrong_files(checkpoints):
    with pytest.raises(RuntimeError, match="Unexpected key"):  # prefix not stripped
        EmoNet(8).load_state_dict(torch.load(checkpoints[8], weights_only=True), strict=True)
    with pytest.raises(RuntimeError, match="size mismatch"):  # 5-class file into the 8-class net
        EmoNet(8).load_state_dict(strip_module_prefix(torch.load(checkpoints[5], weights_only=True)))


def test_importing_emonet_does_not_patch_instance_norm():
    from torch.nn.modules.instancenorm import InstanceNorm2d

    assert nn.InstanceNorm2d is InstanceNorm2d
    assert nn.InstanceNorm2d is not nn.BatchNorm2d


def test_norm_layers_are_batch_norms_with_upstream_eps():
    norms = [m for m in EmoNet(5).modules() if isinstance(m, nn.modules.batchnorm._NormBase)]
    assert norms and all(isinstance(m, nn.BatchNorm1d | nn.BatchNorm2d) for m in norms)
    assert all(m.eps == 1e-5 and m.track_running_stats and m.affine for m in norms)


def test_eval_is_the_standard_one():
    net = EmoNet(5)
    assert net.eval() is net
    assert not any(m.training for m in net.modules())


def test_eight_class_forward_shape_and_finite(traced):
    out, _ = traced
    assert out.shape == (2, 10)
    assert torch.isfinite(out).all()


def test_five_class_forward_shape_and_finite(checkpoints, faces):
    with torch.no_grad():
        out = load_net(checkpoints[5], 5)(faces)
    assert out.shape == (2, 7)
    assert torch.isfinite(out).all()


def test_batch_equals_faces_run_one_by_one(net8, faces, traced):
    batch, _ = traced
    assert (batch[0] - batch[1]).abs().max() > 1e-3, "inputs too similar for the test to mean anything"
    with torch.no_grad():
        for i in range(len(faces)):
            single = net8(faces[i : i + 1])  # batch size 1 must work in eval mode (BatchNorm1d)
            assert single.shape == (1, 10)
            torch.testing.assert_close(single[0], batch[i], atol=1e-4, rtol=0)


def test_stem_pools_after_conv2_and_resolutions(traced):
    _, rec = traced
    assert rec["conv2"][0].shape == (2, 64, 128, 128)  # conv2 runs before the max-pool
    assert rec["conv3"][0].shape == (2, 128, 64, 64)
    torch.testing.assert_close(rec["conv3"][0], F.max_pool2d(rec["conv2"][1], 2, stride=2))
    assert rec["conv4"][1].shape == (2, 256, 64, 64)
    assert rec["m0.b2_plus_1"][0].shape == (2, 256, 4, 4)  # deepest hourglass level: 64 / 2**4
    assert rec["l1"][1].shape == (2, 68, 64, 64)
    assert rec["emo_net_2"][1].shape == (2, 256, 4, 4)


def test_second_stack_input_adds_projected_features_and_heatmaps(traced):
    _, rec = traced
    conv4 = rec["conv4"][1]
    torch.testing.assert_close(rec["m0"][0], conv4)
    torch.testing.assert_close(rec["m1"][0], conv4 + rec["bl0"][1] + rec["al0"][1])
    stack0 = F.relu(rec["bn_end0"][1])
    torch.testing.assert_close(rec["l0"][0], stack0)
    torch.testing.assert_close(rec["bl0"][0], stack0)
    assert torch.equal(rec["al0"][0], rec["l0"][1])  # al0 reads the raw stack-0 heatmaps


def test_head_input_is_conv4_then_stacks_masked_by_last_heatmaps(traced):
    _, rec = traced
    mask = rec["l1"][1].sum(dim=1, keepdim=True)
    stack0 = rec["bl0"][1] * mask  # stack 0 contributes its bl0 projection
    stack1 = F.relu(rec["bn_end1"][1]) * mask  # stack 1 contributes its post-ReLU features
    expected = torch.cat([rec["conv4"][1], stack0, stack1], dim=1)  # conv4 features are not masked
    torch.testing.assert_close(rec["conv1x1_input_emo_2"][0], expected, atol=1e-5, rtol=1e-5)


def test_output_is_the_raw_fc_output_of_the_averaged_map(traced):
    out, rec = traced
    torch.testing.assert_close(rec["emo_fc_2"][0], rec["emo_net_2"][1].mean(dim=(2, 3)))
    assert torch.equal(out, rec["emo_fc_2"][1])  # no softmax, tanh or clamp


def test_zeroed_last_heatmap_head_blanks_stack_features_and_changes_output(net8, faces, traced):
    net = copy.deepcopy(net8)
    with torch.no_grad():
        net.l1.weight.zero_()
        net.l1.bias.zero_()
    out, rec = run_traced(net, faces[:1])
    reference, reference_rec = traced
    assert torch.isfinite(out).all()
    assert (out[0] - reference[0]).abs().max() > 1e-3
    head_input = rec["conv1x1_input_emo_2"][0]
    assert head_input.shape == (1, 768, 64, 64)
    torch.testing.assert_close(head_input[:, :256], reference_rec["conv4"][1][:1])  # not masked
    assert (head_input[:, 256:] == 0).all()


def test_conv_block_is_pre_activation_with_no_relu_after_the_sum():
    block = ConvBlock(8, 8).eval()
    with torch.no_grad():
        for conv in (block.conv1, block.conv2, block.conv3):
            conv.weight.zero_()
        x = torch.randn(1, 8, 5, 5)
        assert (x < 0).any()
        torch.testing.assert_close(block(x), x)  # identity residual, negatives kept
    assert block.downsample is None
    assert ConvBlock(64, 128).downsample is not None
    assert ConvBlock(64, 128).eval()(torch.rand(1, 64, 6, 6)).shape == (1, 128, 6, 6)


def reference_hourglass(hg: HourGlass, level: int, x: torch.Tensor) -> torch.Tensor:
    """The recursion of the fact sheet, written out with the module's own blocks."""
    up = hg.get_submodule(f"b1_{level}")(x)
    low = hg.get_submodule(f"b2_{level}")(F.max_pool2d(x, 2, stride=2))
    low = reference_hourglass(hg, level - 1, low) if level > 1 else hg.get_submodule("b2_plus_1")(low)
    low = hg.get_submodule(f"b3_{level}")(low)
    return up + low.repeat_interleave(2, dim=2).repeat_interleave(2, dim=3)  # nearest upsampling


def test_hourglass_matches_the_reference_recursion():
    torch.manual_seed(0)
    hg = HourGlass().eval()
    x = torch.randn(1, 256, 16, 16)
    with torch.no_grad():
        out = hg(x)
        assert out.shape == x.shape
        torch.testing.assert_close(out, reference_hourglass(hg, 4, x))
