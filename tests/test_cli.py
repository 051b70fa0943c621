"""The command line's detection flags: what counts as a face, and a clear refusal of bad values."""

from __future__ import annotations

import csv
import shutil

from fer_demo.cli import main

from .conftest import EXAMPLES


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
