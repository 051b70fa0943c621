"""Corpus mode: inputs found, one table and summary per file, a manifest, a combined table,
resumable runs, failures kept to their file, worker processes and a killed worker."""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import signal
import threading
from pathlib import Path

import pandas as pd
import pytest

from fer_demo.analysis.timeline import record_columns
from fer_demo.config import Settings
from fer_demo.corpus import CorpusSettings, analyze_corpus, find_media
from tests.support.paths import EXAMPLES
from tests.support.synthetic_video import make_clip


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """Two photos, two short clips (one in a subfolder), a broken video and a hidden file."""
    folder = tmp_path_factory.mktemp("corpus")
    shutil.copy(EXAMPLES / "astronaut.jpg", folder / "astronaut.jpg")
    shutil.copy(EXAMPLES / "two-faces.jpg", folder / "two faces.jpg")
    (folder / "session 2").mkdir()
    make_clip(folder / "interview.mp4", seconds=1.5, fps=10.0, second_face=None)
    make_clip(folder / "session 2" / "interview.mp4", seconds=1.0, fps=10.0, second_face=None)
    (folder / "broken.mp4").write_bytes(b"not a video at all")
    (folder / ".hidden").mkdir()
    shutil.copy(EXAMPLES / "astronaut.jpg", folder / ".hidden" / "copy.jpg")
    (folder / "notes.txt").write_text("not media")
    return folder


@pytest.fixture(scope="module")
def app_settings(tmp_path_factory) -> Settings:
    return Settings(weights_dir=tmp_path_factory.mktemp("weights"))


SETTINGS = CorpusSettings(model="mini_xception", detect_every=5, persons=False)


def run(corpus: Path, out: Path, app_settings: Settings, **options) -> list:
    return list(analyze_corpus([corpus], options.pop("settings", SETTINGS), out, app_settings=app_settings,
                               **options))  # fmt: skip


def test_inputs_are_files_folders_and_patterns_each_once(corpus):
    media, unmatched = find_media(
        [corpus, corpus / "astronaut.jpg", f"{corpus}/**/*.mp4", corpus / "nothing*"]
    )
    names = sorted(str(m.path.relative_to(corpus)) for m in media)
    assert names == [
        "astronaut.jpg",
        "broken.mp4",
        "interview.mp4",
        "session 2/interview.mp4",
        "two faces.jpg",
    ]
    assert {m.kind for m in media if m.path.suffix == ".jpg"} == {"photo"}
    assert unmatched == [f"{corpus}/nothing*"]  # a pattern that found nothing is said, not ignored


def test_a_run_writes_a_table_and_summary_per_file_a_manifest_and_a_combined_table(
    corpus, tmp_path, app_settings
):
    results = run(corpus, tmp_path, app_settings)
    statuses = {Path(r.source).name + (" (2)" if "session" in r.source else ""): r.status for r in results}
    assert statuses == {"astronaut.jpg": "done", "two faces.jpg": "done", "interview.mp4": "done",
                        "interview.mp4 (2)": "done", "broken.mp4": "failed"}  # fmt: skip
    failed = next(r for r in results if r.status == "failed")
    assert "not a video" in failed.error  # the file's own message; the run went on

    clip = next(r for r in results if r.source.endswith("session 2/interview.mp4"))
    table = pd.read_csv(clip.table)
    assert list(table.columns) == ["source", *record_columns("mini_xception", video=True)]
    assert len(table) == 10 and set(table["source"]) == {clip.source}
    summary = json.loads(Path(clip.summary).read_text())
    assert {"shots", "persons", "summary", "fingerprint", "settings", "model_identity"} <= set(summary)
    assert summary["summary"][0]["dominant_emotion"] and summary["summary"][0]["time_on_screen_s"] > 0
    assert "records" not in summary  # the rows are in the table
    assert not (tmp_path / "videos").exists()  # no annotated video unless asked

    photo = pd.read_csv(next(r for r in results if r.source.endswith("two faces.jpg")).table)
    assert list(photo["face_id"]) == [1, 2] and list(photo["frame"]) == [0, 0]

    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["totals"]["done"] == 4 and manifest["totals"]["failed"] == 1
    assert manifest["settings"]["model"] == "mini_xception" and manifest["versions"]["torch"]
    assert all(len(sha) == 64 for sha in manifest["model_identity"]["weights_sha256"].values())
    assert {f["status"] for f in manifest["files"]} == {"done", "failed"}
    combined = pd.read_csv(tmp_path / "combined.csv")
    done = [r for r in results if r.status == "done"]
    assert len(combined) == sum(len(pd.read_csv(r.table)) for r in done)
    assert not list(tmp_path.rglob("*.tmp"))  # every write was renamed into place


def test_a_second_run_skips_what_is_finished_and_redoes_what_changed(corpus, tmp_path, app_settings):
    mine = tmp_path / "corpus"
    shutil.copytree(corpus, mine)
    out = tmp_path / "out"
    run(mine, out, app_settings)
    again = {Path(r.source).name: r.status for r in run(mine, out, app_settings)}
    assert again == {
        "astronaut.jpg": "skipped",
        "two faces.jpg": "skipped",
        "interview.mp4": "skipped",
        "broken.mp4": "failed",
    }  # fmt: skip (a failure is tried again)

    shutil.copy(EXAMPLES / "biden-portrait.jpg", mine / "astronaut.jpg")  # same name, new content
    changed = {Path(r.source).name: r.status for r in run(mine, out, app_settings)}
    assert changed["astronaut.jpg"] == "done" and changed["two faces.jpg"] == "skipped"

    stricter = CorpusSettings(model="mini_xception", detect_every=5, persons=False, min_confidence=0.99)
    redone = [r.status for r in run(mine, out, app_settings, settings=stricter)]
    assert redone.count("done") == 4  # a setting changed: every readable file again
    forced = [r.status for r in run(mine, out, app_settings, settings=stricter, force=True)]
    assert forced.count("done") == 4


def test_parquet_tables_hold_the_same_rows(corpus, tmp_path, app_settings):
    csv_run = run(corpus, tmp_path / "csv", app_settings)
    parquet = CorpusSettings(model="mini_xception", detect_every=5, persons=False, format="parquet")
    run(corpus, tmp_path / "parquet", app_settings, settings=parquet)
    combined = pd.read_parquet(tmp_path / "parquet" / "combined.parquet")
    as_csv = pd.read_csv(tmp_path / "csv" / "combined.csv")
    assert list(combined.columns) == list(as_csv.columns) and len(combined) == len(as_csv)
    assert combined["Happiness"].dtype == float and len(csv_run) == 5


def test_two_worker_processes_give_the_same_tables(corpus, tmp_path, app_settings):
    run(corpus, tmp_path / "one", app_settings)
    results = run(corpus, tmp_path / "two", app_settings, workers=2)
    assert sorted(r.status for r in results) == ["done"] * 4 + ["failed"]
    one = pd.read_csv(tmp_path / "one" / "combined.csv")
    two = pd.read_csv(tmp_path / "two" / "combined.csv")
    pd.testing.assert_frame_equal(one, two, atol=2e-3, check_exact=False)


def test_a_killed_worker_costs_a_retry_of_the_files_in_flight_and_no_result(tmp_path, app_settings):
    folder = tmp_path / "clips"
    folder.mkdir()
    for i in range(6):
        make_clip(folder / f"clip{i}.mp4", seconds=2.0, fps=10.0, second_face=None)
    results, first = [], threading.Event()

    def consume() -> None:
        for result in analyze_corpus(
            [folder], SETTINGS, tmp_path / "out", workers=2, app_settings=app_settings
        ):
            results.append(result)
            first.set()

    runner = threading.Thread(target=consume)
    runner.start()
    assert first.wait(120)
    victim = multiprocessing.active_children()[0]
    os.kill(victim.pid, signal.SIGKILL)  # as the out-of-memory killer would
    runner.join(300)
    # The pool went down with two files in flight: a new pool analysed them again.
    assert sorted(r.status for r in results) == ["done"] * 6
    assert [r.status for r in run(folder, tmp_path / "out", app_settings)] == ["skipped"] * 6


def test_an_annotated_video_is_written_only_when_asked(tmp_path, app_settings):
    folder = tmp_path / "clip"
    folder.mkdir()
    make_clip(folder / "talk.mp4", seconds=1.0, fps=10.0, second_face=None)
    with_video = CorpusSettings(model="mini_xception", detect_every=5, persons=False, annotated_video=True)
    (result,) = run(folder, tmp_path / "out", app_settings, settings=with_video)
    summary = json.loads(Path(result.summary).read_text())
    video = Path(summary["annotated_video"])
    assert result.status == "done" and video.parent == tmp_path / "out" / "videos"
    assert video.stat().st_size > 0


def test_an_unexpected_error_on_one_file_is_recorded_and_the_run_goes_on(
    corpus, tmp_path, app_settings, monkeypatch
):
    import fer_demo.corpus.files as files

    real = files.decode_image

    def fragile(path, *args, **kwargs):
        if Path(path).name == "astronaut.jpg":
            raise RuntimeError("a library failed on this file")
        return real(path, *args, **kwargs)

    monkeypatch.setattr(files, "decode_image", fragile)
    results = {Path(r.source).name: r for r in run(corpus, tmp_path, app_settings)}
    assert results["astronaut.jpg"].error == "Unexpected RuntimeError: a library failed on this file"
    assert results["two faces.jpg"].status == "done"


def test_names_with_pattern_characters_are_files_and_the_results_folder_is_never_an_input(tmp_path):
    shutil.copy(EXAMPLES / "astronaut.jpg", tmp_path / "clip [final] v2*.jpg")
    (tmp_path / "results" / "videos").mkdir(parents=True)
    make_clip(tmp_path / "results" / "videos" / "annotated.mp4", seconds=0.5, fps=10.0, second_face=None)
    media, unmatched = find_media([tmp_path / "clip [final] v2*.jpg"])
    assert [m.path.name for m in media] == ["clip [final] v2*.jpg"] and not unmatched
    media, _ = find_media([tmp_path], exclude=tmp_path / "results")
    assert [m.path.name for m in media] == ["clip [final] v2*.jpg"]
