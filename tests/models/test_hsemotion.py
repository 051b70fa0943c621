"""HSEmotion whole-model pickles: read without running code, rebuilt with the installed timm."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from fer_demo.models import hsemotion
from fer_demo.models.hsemotion import (
    UnsafePickleError,
    build_hsemotion,
    load_hsemotion,
    normalise_classifier_keys,
    read_pickled_model_state,
)
from tests.support.checkpoints.hsemotion import (
    MALICIOUS_GLOBALS,
    make_hsemotion_model,
    save_whole_model_pickle,
    write_malicious_pickle,
    write_whole_model_pickle,
)

MANIFESTS = Path(__file__).resolve().parents[1] / "support" / "manifests"
B0, B2 = "tf_efficientnet_b0", "tf_efficientnet_b2"
# Half the native 224 / 260: equal weights give equal outputs at any size, for less CPU time.
INPUT_SIZE = {B0: 112, B2: 130}
CASES = [(B0, 7), (B0, 8), (B0, 10), (B2, 8)]


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """One intra-op thread: on a shared 2-core box, spinning OpenMP workers made forwards 10-100x slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def manifest(backbone: str, num_classes: int) -> dict[str, tuple[tuple[int, ...], str]]:
    data = json.loads((MANIFESTS / f"hsemotion_{backbone}_{num_classes}.json").read_text())
    return {name: (tuple(shape), dtype) for name, (shape, dtype) in data["tensors"].items()}


def random_faces(backbone: str, batch: int = 2) -> torch.Tensor:
    size = INPUT_SIZE[backbone]
    return torch.randn(batch, 3, size, size, generator=torch.Generator().manual_seed(1))


@pytest.mark.parametrize(("backbone", "num_classes"), CASES)
def test_built_model_matches_manifest(backbone, num_classes):
    state = build_hsemotion(backbone, num_classes).state_dict()
    got = {k: (tuple(v.shape), str(v.dtype).removeprefix("torch.")) for k, v in state.items()}
    expected = manifest(backbone, num_classes)
    assert list(got) == list(expected)
    assert got == expected


@pytest.mark.parametrize(("backbone", "num_classes"), CASES)
def test_old_timm_whole_model_pickle_rebuilds_exactly(tmp_path, backbone, num_classes):
    original = make_hsemotion_model(backbone, num_classes, seed=num_classes)
    path = save_whole_model_pickle(original, tmp_path / "enet.pt", old_timm_names=True)
    pickled_globals = torch.serialization.get_unsafe_globals_in_checkpoint(str(path))
    assert "timm.models.efficientnet_blocks.InvertedResidual" in pickled_globals
    assert "timm.models.layers.conv2d_same.Conv2dSame" in pickled_globals
    assert not [g for g in pickled_globals if g.startswith(("timm.layers.", "timm.models._"))]

    model = load_hsemotion(path, backbone, num_classes)

    expected, got = original.state_dict(), model.state_dict()
    assert list(got) == list(expected)
    assert [k for k in expected if not torch.equal(got[k], expected[k])] == []
    assert not model.training
    faces = random_faces(backbone)
    with torch.inference_mode():
        out, ref = model(faces), original(faces)
    assert out.shape == (2, num_classes)
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=0)


def test_sequential_classifier_and_state_keys(tmp_path):
    original = make_hsemotion_model(B0, 8, sequential_classifier=True, seed=3)
    path = save_whole_model_pickle(original, tmp_path / "enet_seq.pt")

    state = read_pickled_model_state(path)
    assert list(state) == list(original.state_dict())  # same names as model.state_dict()
    assert {"classifier.0.weight", "classifier.0.bias", "bn1.num_batches_tracked"} <= set(state)
    assert int(state["bn1.num_batches_tracked"]) == int(original.bn1.num_batches_tracked) > 0

    model = load_hsemotion(path, B0, 8)
    assert torch.equal(model.classifier.weight, original.classifier[0].weight)
    assert torch.equal(model.classifier.bias, original.classifier[0].bias)
    faces = random_faces(B0)
    with torch.inference_mode():
        out = model(faces)
        torch.testing.assert_close(out, original(faces), atol=1e-5, rtol=0)
        untrained = build_hsemotion(B0, 8)(faces)
    assert not torch.allclose(out, untrained, atol=1e-3)  # the weights did get loaded


def test_normalise_classifier_keys_leaves_other_keys_alone():
    t = torch.zeros(1)
    state = {
        "classifier.0.weight": t,
        "classifier.0.bias": t,
        "blocks.0.0.bn1.weight": t,
        "classifier.weight0": t,
    }
    assert list(normalise_classifier_keys(state)) == [
        "classifier.weight",
        "classifier.bias",
        "blocks.0.0.bn1.weight",
        "classifier.weight0",
    ]


def test_plain_state_dict_checkpoint_is_accepted(tmp_path):
    original = make_hsemotion_model(B0, 7, seed=5)
    path = tmp_path / "state.pt"
    torch.save(original.state_dict(), path)
    state = read_pickled_model_state(path)
    assert list(state) == list(original.state_dict())
    assert torch.equal(load_hsemotion(path, B0, 7).conv_stem.weight, original.conv_stem.weight)


@pytest.mark.parametrize("payload", sorted(MALICIOUS_GLOBALS))
def test_malicious_payload_is_real_when_loaded_unsafely(tmp_path, payload):
    """Control: without our loader the file does run its command (so the next test means something)."""
    sentinel = tmp_path / "pwned"
    path = write_malicious_pickle(tmp_path / "evil.pt", payload, sentinel)
    torch.load(path, weights_only=False, map_location="cpu")  # the unsafe way, on purpose
    assert sentinel.exists()


@pytest.mark.parametrize("payload", sorted(MALICIOUS_GLOBALS))
def test_malicious_pickle_is_refused_without_side_effects(tmp_path, payload):
    sentinel = tmp_path / "pwned"
    path = write_malicious_pickle(tmp_path / "evil.pt", payload, sentinel)
    with pytest.raises(UnsafePickleError, match=MALICIOUS_GLOBALS[payload].replace(".", r"\.")):
        read_pickled_model_state(path)
    with pytest.raises(UnsafePickleError):
        load_hsemotion(path, B0, 8)
    assert not sentinel.exists()


def test_wrong_classifier_size_names_key_and_shapes(tmp_path):
    path = write_whole_model_pickle(tmp_path / "enet_b0_7.pt", B0, num_classes=7)
    with pytest.raises(ValueError, match=r"classifier\.weight") as info:
        load_hsemotion(path, B0, 8)
    message = str(info.value)
    assert "(7, 1280)" in message and "(8, 1280)" in message
    assert not isinstance(info.value, UnsafePickleError)


def test_wrong_backbone_is_reported_readably(tmp_path):
    path = write_whole_model_pickle(tmp_path / "enet_b0_8.pt", B0, num_classes=8)
    with pytest.raises(
        ValueError,
        match=r"tf_efficientnet_b2, 8 classes\) does not fit the architecture: .*wrong shape: .*\(\+\d+ more",
    ):
        load_hsemotion(path, B2, 8)


def test_non_checkpoint_file_is_a_value_error(tmp_path):
    path = tmp_path / "junk.pt"
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match=r"junk\.pt"):
        read_pickled_model_state(path)


def test_unknown_backbone_is_refused():
    with pytest.raises(ValueError, match="tf_efficientnet_b0"):
        build_hsemotion("resnet50", 8)


def test_source_never_unpickles_unsafely():
    source = Path(hsemotion.__file__).read_text()
    assert "weights_only=False" not in source
    assert "pickle.load(" not in source and "pickle.loads(" not in source
