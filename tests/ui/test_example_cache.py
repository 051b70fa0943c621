"""The example cache: only the app's example files, only identical settings, never a purged download."""

from __future__ import annotations

import shutil

from fer_demo.ui.example_cache import ExampleCache
from tests.support.paths import EXAMPLES


def test_an_example_with_the_same_settings_is_served_from_the_cache(tmp_path):
    cache = ExampleCache([EXAMPLES / "astronaut.jpg"])
    download = tmp_path / "faces.csv"
    download.write_text("face\n1\n")
    copy = shutil.copy(EXAMPLES / "astronaut.jpg", tmp_path / "uploaded-again.jpg")  # same bytes, new path

    cache.put(cache.key(EXAMPLES / "astronaut.jpg", "mini_xception", 0.9), ("result",), files=[download])

    assert cache.get(cache.key(copy, "mini_xception", 0.9)) == ("result",)
    assert cache.get(cache.key(copy, "mini_xception", 0.95)) is None  # another setting
    assert cache.get(cache.key(copy, "enet_b0_8_best_vgaf", 0.9)) is None  # another model


def test_a_visitors_own_photo_is_never_kept(tmp_path):
    cache = ExampleCache([EXAMPLES / "astronaut.jpg"])
    upload = tmp_path / "mine.jpg"
    upload.write_bytes((EXAMPLES / "astronaut.jpg").read_bytes()[:-1] + b"\x00")  # same size, other bytes
    assert cache.key(upload, "mini_xception") is None
    assert cache.key(tmp_path / "missing.jpg", "mini_xception") is None
    cache.put(cache.key(upload, "mini_xception"), ("result",))
    assert cache.get(cache.key(EXAMPLES / "astronaut.jpg", "mini_xception")) is None


def test_a_result_whose_download_was_purged_is_computed_again(tmp_path):
    cache = ExampleCache([EXAMPLES / "astronaut.jpg"])
    download = tmp_path / "faces.csv"
    download.write_text("face\n1\n")
    key = cache.key(EXAMPLES / "astronaut.jpg", "mini_xception")
    cache.put(key, ("result",), files=[download, None])
    download.unlink()  # the export folder was cleaned up
    assert cache.get(key) is None


def test_the_cache_keeps_the_most_recently_used_entries(tmp_path):
    cache = ExampleCache([EXAMPLES / "astronaut.jpg"], max_entries=2)
    keys = [cache.key(EXAMPLES / "astronaut.jpg", threshold) for threshold in (0.7, 0.8, 0.9)]
    cache.put(keys[0], ("a",))
    cache.put(keys[1], ("b",))
    assert cache.get(keys[0]) == ("a",)  # now the most recent
    cache.put(keys[2], ("c",))
    assert [cache.get(k) for k in keys] == [("a",), None, ("c",)]
