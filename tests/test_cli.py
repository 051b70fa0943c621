"""The command line's detection flags: what counts as a face, and a clear refusal of bad values."""

from __future__ import annotations

import csv
import shutil

from fer_demo.cli import main
from tests.support.paths import EXAMPLES


def faces_in(path) -> list[dict]:
    return list(csv.DictReader(path.read_text().splitlines()))


def test_minimum_face_size_drops_the_smaller_faces(tmp_path, capsys):
    photos = tmp_path / "photos"
    photos.mkdir()
    shutil.copy(EXAMPLES / "two-faces.jpg", photos)  # faces about 88 and 150 px wide
    assert main(["images", str(photos), "--csv", str(tmp_path / "all.csv")]) == 0
    assert main(["images", str(photos), "--csv", str(tmp_path / "big.csv"), "--min-face-size", "120"]) == 0
    assert len(faces_in(tmp_path / "all.csv")) == 2 and len(faces_in(tmp_path / "big.csv")) == 1


def test_a_bad_threshold_is_one_clear_error(tmp_path, capsys):
    assert main(["images", str(EXAMPLES), "--csv", str(tmp_path / "x.csv"), "--min-confidence", "2"]) == 1
    assert "threshold must be between 0 and 1; got 2" in capsys.readouterr().err


def test_batch_reports_what_it_did_and_fails_when_a_file_did(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("FER_DEMO_WEIGHTS_DIR", str(tmp_path / "weights"))
    monkeypatch.setenv("FER_DEMO_OFFLINE", "1")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(EXAMPLES / "two-faces.jpg", corpus / "two.jpg")
    (corpus / "bad.mp4").write_bytes(b"not a video")
    out = tmp_path / "out"
    command = ["batch", str(corpus), "--out", str(out), "--model", "mini_xception", "--workers", "1"]
    assert main(command) == 1  # a file failed: the exit status says so
    output = capsys.readouterr()
    last = output.out.splitlines()
    assert last[-2] == "1 done, 0 skipped, 1 failed in " + last[-2].split(" in ")[1]
    assert "video" not in output.err  # photos (and a file that is no video): no bar over video seconds
    assert (out / "manifest.json").is_file() and (out / "combined.csv").is_file()
    assert main(command) == 1 and "0 done, 1 skipped, 1 failed" in capsys.readouterr().out

    assert main(["batch", str(tmp_path / "nowhere"), "--out", str(tmp_path / "o")]) == 2
    assert "no photo or video found for" in capsys.readouterr().err
