"""Every registered model, loaded from a checkpoint in its exact published container.

The checkpoints hold random values (real weights cannot be downloaded here)
but real names, shapes and containers; they go through the real resolution
path: a local weights folder with files under their published names.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fer_demo.analysis.labels import canonical_order
from fer_demo.analysis.pipeline import analyze_image
from fer_demo.errors import ModelUnavailableError
from fer_demo.models.specs import MODEL_SPECS, TEMPORAL_SPECS, ModelSpec
from fer_demo.models.zoo import ModelZoo
from tests.support.checkpoints.emo_affectnet import write_lstm_checkpoint, write_static_checkpoint
from tests.support.checkpoints.emonet import write_emonet_checkpoint
from tests.support.checkpoints.esr9 import write_esr9_files
from tests.support.checkpoints.hsemotion import write_whole_model_pickle

DOWNLOADED = sorted(name for name, spec in MODEL_SPECS.items() if not spec.weights[0].embedded)


def write_published_checkpoint(spec: ModelSpec, folder: Path, **options) -> Path:
    """Write a random checkpoint for ``spec`` where and how its authors publish it."""
    path = folder / spec.weights[0].filename
    if spec.family == "ESR-9":
        return write_esr9_files(folder, [weight.filename for weight in spec.weights])[0]
    if spec.family == "EmoNet":
        return write_emonet_checkpoint(path, n_expression=len(spec.labels), module_prefix=True)
    if spec.family == "EMO-AffectNet":
        return write_static_checkpoint(path)
    return write_whole_model_pickle(path, backbone=spec.architecture, num_classes=spec.num_outputs, **options)


@pytest.fixture(scope="module")
def weights_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("weights")
    for name in DOWNLOADED:
        write_published_checkpoint(MODEL_SPECS[name], folder)
    for spec in TEMPORAL_SPECS.values():
        write_lstm_checkpoint(folder / spec.weights.filename)
    return folder


@pytest.fixture(scope="module")
def zoo(weights_dir) -> ModelZoo:
    return ModelZoo(weights_dir)


@pytest.mark.parametrize("name", DOWNLOADED)
def test_model_loads_from_the_weights_folder_and_predicts(zoo, name, astronaut):
    spec = MODEL_SPECS[name]
    assert zoo.availability(name).available and not zoo.availability(name).needs_download
    model = zoo.get(name)
    crops = [astronaut[60:180, 170:280], astronaut[:50, :80]]  # a face and an odd-shaped patch
    predictions = model.predict(crops)
    assert predictions.probabilities.shape == (2, len(spec.labels))
    np.testing.assert_allclose(predictions.probabilities.sum(axis=1), 1.0, rtol=1e-5)
    if spec.has_valence_arousal:
        assert predictions.valence.shape == predictions.arousal.shape == (2,)
        assert np.all(np.abs(predictions.valence) <= 1) and np.all(np.abs(predictions.arousal) <= 1)
    else:
        assert predictions.valence is None and predictions.arousal is None


@pytest.mark.parametrize("name", ["emonet_5", "enet_b0_8_va_mtl", "enet_b0_7"])
def test_results_use_canonical_labels_and_va_only_where_the_model_has_it(zoo, name, astronaut, studio):
    spec = MODEL_SPECS[name]
    analysis = analyze_image(astronaut, zoo.get(name), studio.detector)
    (face,) = analysis.faces
    assert list(face.probabilities) == canonical_order(spec.labels)
    assert (face.valence is not None) == spec.has_valence_arousal


def test_emonet_5_index_4_is_anger():
    assert MODEL_SPECS["emonet_5"].labels[4] == "Anger"
    assert "Fear" not in canonical_order(MODEL_SPECS["emonet_5"].labels)


def test_hsemotion_pickle_is_cached_as_safetensors_and_reused(zoo, weights_dir):
    zoo.get("enet_b0_8_best_afew")
    cached = weights_dir / "safetensors-cache" / "enet_b0_8_best_afew.safetensors"
    assert cached.is_file()
    again = ModelZoo(weights_dir).get("enet_b0_8_best_afew")
    original = zoo.get("enet_b0_8_best_afew")
    for key, value in original.network.state_dict().items():
        assert np.array_equal(value.numpy(), again.network.state_dict()[key].numpy()), key


def test_sequential_classifier_pickle_loads(tmp_path):
    spec = MODEL_SPECS["enet_b2_7"]
    write_published_checkpoint(spec, tmp_path, sequential_classifier=True)
    model = ModelZoo(tmp_path).get("enet_b2_7")
    assert model.predict([np.zeros((80, 60, 3), np.uint8)]).probabilities.shape == (1, 7)


def test_a_checkpoint_of_the_wrong_model_is_refused_with_the_mismatch(tmp_path):
    # An 8-class EmoNet file saved under the 5-class name.
    write_emonet_checkpoint(tmp_path / "emonet_5.pth", n_expression=8)
    with pytest.raises(ModelUnavailableError) as info:
        ModelZoo(tmp_path).get("emonet_5")
    message = str(info.value)
    assert "emonet_5.pth" in message and "emo_fc_2.3.weight (10, 128) != (7, 128)" in message


def test_a_corrupt_file_is_refused_not_crashing(tmp_path):
    (tmp_path / "FER_static_ResNet50_AffectNet.pt").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(ModelUnavailableError, match="could not be read"):
        ModelZoo(tmp_path).get("emo_affectnet_resnet50")


@pytest.mark.parametrize("name", sorted(TEMPORAL_SPECS))
def test_every_lstm_loads_and_reads_a_window(zoo, name):
    import torch

    lstm = zoo.get_temporal(name)
    window = torch.rand(3, TEMPORAL_SPECS[name].window, 512)
    with torch.inference_mode():
        logits = lstm(window)
    assert tuple(logits.shape) == (3, 7)
