"""ONNX Runtime backend: same outputs as PyTorch (dynamic batch), cached export, safe failures."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
import timm
import torch
from torch import nn

from fer_demo.models import onnx_backend
from fer_demo.models.base import EmotionModel
from fer_demo.models.emo_affectnet import ResNet50Affect
from fer_demo.models.emonet import EmoNet
from fer_demo.models.mini_xception import MiniXception
from fer_demo.models.onnx_backend import OnnxRunner, export_onnx, onnx_runner_for
from fer_demo.models.specs import MODEL_SPECS
from fer_demo.models.zoo import ModelZoo

NETWORKS = {
    "mini_xception": (lambda: MiniXception(), (1, 64, 64)),
    "tf_efficientnet_b0": (lambda: timm.create_model("tf_efficientnet_b0", num_classes=10), (3, 224, 224)),
    "resnet50_affect": (lambda: ResNet50Affect(), (3, 224, 224)),
}


def assert_same(expected: torch.Tensor, actual: torch.Tensor, rtol: float = 1e-4) -> None:
    """Equal within ``rtol`` of the output magnitude (random-weight outputs can be tiny)."""
    assert actual.shape == expected.shape and actual.dtype == torch.float32
    atol = rtol * max(float(expected.abs().max()), 1e-6)
    torch.testing.assert_close(actual, expected, atol=atol, rtol=0)


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory):
    """Each network exported once, shared by the batch-size cases: name -> (network, shape, path)."""
    folder = tmp_path_factory.mktemp("onnx")
    cache: dict[str, tuple[nn.Module, tuple[int, int, int], Path]] = {}

    def get(name: str) -> tuple[nn.Module, tuple[int, int, int], Path]:
        if name not in cache:
            torch.manual_seed(0)
            make, shape = NETWORKS[name]
            network = make().eval()
            cache[name] = (network, shape, export_onnx(network, shape, folder / f"{name}.onnx"))
        return cache[name]

    return get


@pytest.mark.parametrize("batch_size", [1, 3])
@pytest.mark.parametrize("name", list(NETWORKS))
def test_runner_matches_pytorch_for_any_batch_size(exported, name, batch_size):
    network, shape, path = exported(name)
    batch = torch.randn(batch_size, *shape, generator=torch.Generator().manual_seed(batch_size))
    with torch.inference_mode():
        expected = network(batch)
    assert_same(expected, OnnxRunner(path)(batch))


def test_emonet_exports_and_matches_pytorch(tmp_path):
    # EmoNet at 256 px is slow (~0.3-0.5 s per forward): one case, batch 1. It covers
    # F.interpolate(mode="nearest") -> Resize and AvgPool2d -> AveragePool.
    torch.manual_seed(0)
    network = EmoNet(8).eval()
    runner = onnx_runner_for(network, (3, 256, 256), tmp_path, "emonet_8")
    batch = torch.rand(1, 3, 256, 256, generator=torch.Generator().manual_seed(1))
    with torch.inference_mode():
        expected = network(batch)
    assert_same(expected, runner(batch))
    assert runner.num_outputs == 10


def test_empty_batch_gives_zero_rows_without_running(exported):
    _, shape, path = exported("mini_xception")
    runner = OnnxRunner(path)
    runner.session = None  # any call into ONNX Runtime would fail
    out = runner(torch.zeros(0, *shape))
    assert out.shape == (0, 7) and out.dtype == torch.float32


def test_concurrent_calls_give_the_same_results(exported):
    network, shape, path = exported("mini_xception")
    runner = OnnxRunner(path)
    batches = [torch.randn(2, *shape, generator=torch.Generator().manual_seed(i)) for i in range(8)]
    results: dict[int, torch.Tensor] = {}

    def work(i: int) -> None:
        for _ in range(5):
            results[i] = runner(batches[i])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(batches))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with torch.inference_mode():
        for i, batch in enumerate(batches):
            assert_same(network(batch), results[i])


@pytest.fixture
def count_exports(monkeypatch) -> list[Path]:
    calls: list[Path] = []
    real = onnx_backend.export_onnx

    def counting(network, input_shape, path):
        calls.append(path)
        return real(network, input_shape, path)

    monkeypatch.setattr(onnx_backend, "export_onnx", counting)
    return calls


def test_cached_export_is_reused(tmp_path, count_exports):
    network = MiniXception().eval()
    first = onnx_runner_for(network, (1, 64, 64), tmp_path, "mx-1")
    mtime = first.path.stat().st_mtime_ns
    second = onnx_runner_for(network, (1, 64, 64), tmp_path, "mx-1")
    assert count_exports == [tmp_path / "mx-1.onnx"]
    assert second.path == first.path and second.path.stat().st_mtime_ns == mtime
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mx-1.onnx"]  # no temp file left


def test_corrupt_cached_file_is_exported_again(tmp_path, count_exports):
    network = MiniXception().eval()
    (tmp_path / "mx-1.onnx").write_bytes(b"not an onnx model")
    runner = onnx_runner_for(network, (1, 64, 64), tmp_path, "mx-1")
    assert len(count_exports) == 1
    batch = torch.randn(2, 1, 64, 64)
    with torch.inference_mode():
        assert_same(network(batch), runner(batch))


def test_cached_file_for_another_input_shape_is_exported_again(tmp_path, count_exports):
    network = MiniXception().eval()
    onnx_runner_for(network, (1, 64, 64), tmp_path, "mx")
    runner = onnx_runner_for(network, (1, 48, 48), tmp_path, "mx")
    assert len(count_exports) == 2 and runner.input_shape == (1, 48, 48)


class Raising(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise ValueError("cannot trace this")


class Drifting(nn.Module):
    """Returns something different on every call, so the traced graph cannot match PyTorch."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        return x.mean(dim=(2, 3)) + float(self.calls)


@pytest.mark.parametrize(
    ("network", "message"),
    [(Raising(), "ONNX export of Raising failed"), (Drifting(), "differs from PyTorch")],
)
def test_failures_are_readable_runtime_errors_and_leave_no_file(tmp_path, network, message):
    with pytest.raises(RuntimeError, match=message):
        onnx_runner_for(network, (1, 8, 8), tmp_path, "bad")
    assert list(tmp_path.iterdir()) == []


def test_key_must_be_a_file_name(tmp_path):
    with pytest.raises(ValueError, match="plain file name"):
        onnx_runner_for(MiniXception(), (1, 64, 64), tmp_path, "../escape")


def test_emotion_model_on_onnxruntime_predicts_like_pytorch(tmp_path):
    spec = MODEL_SPECS["mini_xception"]
    network = ModelZoo(tmp_path).get("mini_xception").network
    runner = onnx_runner_for(network, (1, 64, 64), tmp_path / "onnx", "mini_xception")
    pytorch_model = EmotionModel(spec, network)
    onnx_model = EmotionModel(spec, network, runner=runner, backend="onnxruntime")
    assert onnx_model.backend == "onnxruntime"
    rng = np.random.default_rng(0)
    crops = [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for h, w in [(64, 64), (120, 97), (33, 40)]]
    expected, actual = pytorch_model.predict(crops), onnx_model.predict(crops)
    np.testing.assert_allclose(actual.probabilities, expected.probabilities, atol=1e-4, rtol=0)
    assert actual.probabilities.shape == (3, 7)
