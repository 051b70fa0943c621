"""ESR-9: the published parts load strictly, the ensemble computes what the authors' branches do,
its agreement counts votes, and its ten files arrive all or none.

The files are random fakes in the published container (legacy torch.save, storages tagged
``cuda:0``), built from the manifests only (tests/support/checkpoints/esr9.py).
"""

from __future__ import annotations

import dataclasses
import functools
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from fer_demo.analysis.timeline import by_face, record_columns
from fer_demo.config import Settings, StreamSettings
from fer_demo.errors import ModelUnavailableError
from fer_demo.models.esr9 import ESR9
from fer_demo.models.loading import build_model
from fer_demo.models.predictions import branch_agreement
from fer_demo.models.specs import MODEL_SPECS
from fer_demo.models.weights import WeightsError, WeightStore, git_blob_sha1
from fer_demo.models.zoo import ModelZoo
from fer_demo.presentation.export import face_columns, face_rows
from fer_demo.presentation.face_cards import face_cards
from fer_demo.presentation.plots import AGREEMENT_NAME, emotion_timeline
from fer_demo.workflow.studio import Studio
from fer_demo.workflow.video import VideoLimits, VideoResult, analyze_video
from tests.support.checkpoints.esr9 import write_esr9_files
from tests.support.checkpoints.manifest_state import load_manifest
from tests.support.paths import EXAMPLES
from tests.support.synthetic_video import make_clip

SPEC = MODEL_SPECS["esr_9"]
FILENAMES = [weight.filename for weight in SPEC.weights]


@pytest.fixture(scope="module")
def esr9_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("esr9")
    write_esr9_files(folder, FILENAMES)
    return folder


@pytest.fixture(scope="module")
def model(esr9_dir):
    return build_model(SPEC, [esr9_dir / name for name in FILENAMES], esr9_dir / "cache")


def test_the_network_has_exactly_the_published_tensors():
    state = ESR9().state_dict()
    expected = {f"base.{k}": v for k, v in load_manifest("esr9_base").items()}
    for i in range(9):
        expected.update({f"branches.{i}.{k}": v for k, v in load_manifest("esr9_branch").items()})
    assert {k: list(v.shape) for k, v in state.items()} == {k: shape for k, (shape, _) in expected.items()}
    assert sum(p.numel() for p in ESR9().parameters()) == 374_784 + 9 * 2_219_418


def test_the_published_files_need_map_location_and_load_weights_only(esr9_dir):
    with pytest.raises(RuntimeError, match="CUDA"):
        torch.load(esr9_dir / FILENAMES[1], weights_only=True)  # as the authors' files on a CPU machine
    assert len(torch.load(esr9_dir / FILENAMES[1], weights_only=True, map_location="cpu")) == 32


def _conv_bn_relu(x, state, i, padding=0):
    x = F.conv2d(x, state[f"conv{i}.weight"], state[f"conv{i}.bias"], padding=padding)
    bn = [state[f"bn{i}.{name}"] for name in ("running_mean", "running_var", "weight", "bias")]
    return F.relu(F.batch_norm(x, *bn, training=False, eps=1e-5))


def authors_branch(image: torch.Tensor, base: dict, branch: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """One branch of the authors' esr_9.py written out with functional ops, from the raw files."""
    x = _conv_bn_relu(image, base, 1)
    x = F.max_pool2d(_conv_bn_relu(x, base, 2), 2)
    x = _conv_bn_relu(x, base, 3)
    x = F.max_pool2d(_conv_bn_relu(x, base, 4), 2)
    x = _conv_bn_relu(x, branch, 1)
    x = F.max_pool2d(_conv_bn_relu(x, branch, 2), 2)
    x = _conv_bn_relu(x, branch, 3)
    x = _conv_bn_relu(x, branch, 4, padding=1).mean(dim=(2, 3))
    logits = F.linear(x, branch["fc.weight"], branch["fc.bias"])
    affect = F.linear(F.relu(logits), branch["fc_dimensional.weight"], branch["fc_dimensional.bias"])
    return logits, affect


def test_the_ensemble_is_the_mean_of_the_authors_branches(esr9_dir, model):
    files = [torch.load(esr9_dir / name, weights_only=True, map_location="cpu") for name in FILENAMES]
    image = torch.rand(2, 3, 96, 96, generator=torch.Generator().manual_seed(3))
    branches = [authors_branch(image, files[0], branch) for branch in files[1:]]
    softmaxes = torch.stack([torch.softmax(logits, 1) for logits, _ in branches], 1).numpy()
    affect = torch.stack([va for _, va in branches], 1).mean(1).numpy()

    predicted = model.predict_batch(image)
    np.testing.assert_allclose(predicted.branch_probabilities, softmaxes, atol=2e-5)
    np.testing.assert_allclose(predicted.probabilities, softmaxes.mean(1), atol=2e-5)
    np.testing.assert_allclose(predicted.valence, np.clip(affect[:, 0], -1, 1), atol=2e-5)
    np.testing.assert_allclose(predicted.arousal, np.clip(affect[:, 1], -1, 1), atol=2e-5)
    votes = softmaxes.argmax(2) == softmaxes.mean(1).argmax(1)[:, None]
    np.testing.assert_allclose(predicted.agreement, votes.mean(1))


def test_agreement_counts_the_members_voting_for_the_ensembles_top_class():
    happy, sad = [0.1, 0.8, 0.1], [0.1, 0.1, 0.8]
    branches = np.array([[happy] * 6 + [sad] * 3, [happy] * 9])
    mean = branches.mean(axis=1)
    np.testing.assert_allclose(branch_agreement(mean, branches), [6 / 9, 1.0])


def test_a_face_crop_goes_in_as_the_authors_bgr_input(model):
    import cv2

    crop = np.random.default_rng(0).integers(0, 256, (120, 100, 3), dtype=np.uint8)
    bgr = cv2.resize(crop[..., ::-1].copy(), (96, 96)).astype(np.float32) / 255  # controller/cvision.py
    expected = model.predict_batch(torch.from_numpy(bgr.transpose(2, 0, 1)[None].copy()))
    np.testing.assert_allclose(model.predict([crop]).probabilities, expected.probabilities, atol=1e-6)


def test_the_zoo_serves_it_on_onnx_runtime_with_pytorchs_numbers(esr9_dir, model, monkeypatch):
    monkeypatch.delenv("FER_DEMO_BACKEND", raising=False)
    served = ModelZoo(esr9_dir).get("esr_9")
    assert served.backend == "onnxruntime"  # one exported file for the whole ensemble
    image = torch.rand(3, 3, 96, 96, generator=torch.Generator().manual_seed(5))
    fast, reference = served.predict_batch(image), model.predict_batch(image)
    np.testing.assert_allclose(fast.probabilities, reference.probabilities, atol=1e-4)
    np.testing.assert_allclose(fast.branch_probabilities, reference.branch_probabilities, atol=1e-4)
    np.testing.assert_allclose(fast.valence, reference.valence, atol=1e-4)


def test_a_missing_branch_makes_the_model_unavailable_naming_it(esr9_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("FER_DEMO_OFFLINE", "1")
    for name in FILENAMES[:-1]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes((esr9_dir / name).read_bytes())
    zoo = ModelZoo(tmp_path)
    status = zoo.availability("esr_9")
    assert not status.available and "Net-Branch_9.pt" in status.reason and "Net-Branch_8" not in status.reason
    with pytest.raises(ModelUnavailableError, match=r"Net-Branch_9\.pt"):
        zoo.get("esr_9")


class FileServer:
    """Serves a folder over HTTP on loopback and records the paths asked for."""

    def __init__(self, folder: Path) -> None:
        self.requested: list[str] = []
        server = self

        class Handler(SimpleHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requested.append(self.path)
                super().do_GET()

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(folder)))
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture
def file_server(esr9_dir):
    server = FileServer(esr9_dir)
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


def served_weights(esr9_dir: Path, url: str, corrupt: int | None = None):
    """The spec's ten files, served locally; the ``corrupt`` one's published hash does not match."""
    weights = []
    for i, weight in enumerate(SPEC.weights):
        sha1 = git_blob_sha1(esr9_dir / weight.filename) if i != corrupt else "0" * 40
        weights.append(dataclasses.replace(weight, url=f"{url}/{weight.filename}", git_sha1=sha1))
    return weights


def test_the_ten_files_download_all_or_none(esr9_dir, file_server, tmp_path, monkeypatch):
    monkeypatch.delenv("FER_DEMO_OFFLINE", raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    store = WeightStore(tmp_path / "weights", retries=1)

    with pytest.raises(WeightsError, match=r"Net-Branch_7\.pt .*hash check"):
        store.fetch_all(served_weights(esr9_dir, file_server.url, corrupt=7))
    assert not list((tmp_path / "weights" / "esr_9").glob("*.pt"))  # nothing half-there to load
    status = store.availability(SPEC.weights)
    assert not status.available and "hash check" in status.reason  # said until the retry delay passes

    store = WeightStore(tmp_path / "weights", retries=1)  # a later try, with the right file
    file_server.requested.clear()
    reported = []
    weights = served_weights(esr9_dir, file_server.url)
    paths = store.fetch_all(weights, lambda done, total: reported.append(done))
    assert [p.name for p in paths] == [Path(name).name for name in FILENAMES]
    assert all(git_blob_sha1(p) == git_blob_sha1(esr9_dir / n) for p, n in zip(paths, FILENAMES, strict=True))
    assert file_server.requested == [f"/{name}" for name in FILENAMES[7:]]  # verified parts are kept
    assert reported == sorted(reported) and reported[-1] == sum(p.stat().st_size for p in paths)
    assert ModelZoo(tmp_path / "weights").availability("esr_9").available


@pytest.fixture(scope="module")
def studio(esr9_dir):
    return Studio(Settings(weights_dir=esr9_dir))


def test_a_photo_gets_each_faces_agreement_and_votes_in_the_result_table_and_card(studio):
    image, analysis = studio.analyze_file(EXAMPLES / "two-faces.jpg", "esr_9")
    assert len(analysis.faces) == 2
    for face in analysis.faces:
        assert len(face.branch_votes) == 9
        assert face.agreement == pytest.approx(face.branch_votes.count(face.top_label) / 9, abs=1e-4)
        assert face.agreement >= 1 / 9 and face.valence is not None
    document = analysis.to_dict()  # the API's JSON
    assert {"agreement", "branch_votes"} <= set(document["faces"][0])
    columns = face_columns("esr_9")
    assert columns[:4] == ["face", "top_label", "top_probability", "agreement"]
    assert [row["agreement"] for row in face_rows(analysis)] == [face.agreement for face in analysis.faces]
    cards = face_cards(image.pixels, analysis)
    first = analysis.faces[0]
    assert f"{first.branch_votes.count(first.top_label)}/9 agree" in cards and "<details>" in cards
    assert "agreement" not in face_columns("enet_b0_8_va_mtl")  # one network: no such column


def test_a_video_records_agreement_per_frame_and_draws_it_over_time(studio, tmp_path):
    clip = make_clip(tmp_path / "clip.mp4", seconds=1.0, fps=10.0, second_face=None)
    analyzer = studio.stream_analyzer("esr_9", StreamSettings(detect_every=2, smoothing=0.3))
    events = analyze_video(clip.path, analyzer, tmp_path / "out.mp4", VideoLimits(), progress_every=0.0)
    (result,) = [event for event in events if isinstance(event, VideoResult)]
    assert "agreement" in record_columns("esr_9", video=True)
    shares = {record["agreement"] for record in result.records}
    assert shares and all(round(share * 9) in range(1, 10) for share in shares)
    figure = emotion_timeline(by_face(result.records))
    assert [trace.name for trace in figure.data].count(AGREEMENT_NAME) == 1
    (face,) = result.summary
    assert face["mean_agreement"] == pytest.approx(
        np.mean([r["agreement"] for r in result.records]), abs=1e-4
    )
