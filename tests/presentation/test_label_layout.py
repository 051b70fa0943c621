"""Face captions never hide one another, in the Python drawing and on the live page alike."""

from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image

from fer_demo.config import DetectionOptions
from fer_demo.presentation.label_layout import place_labels
from fer_demo.presentation.render import layout_captions
from tests.support.paths import ROOT
from tests.support.real_footage import CLASSROOM, THREE_PEOPLE, clip_frames

PIPELINE_JS = ROOT / "fer_demo" / "browser" / "js" / "pipeline.js"


PLACE_JS = """
import { placeLabels } from PIPELINE;
let input = "";
process.stdin.on("data", (chunk) => (input += chunk));
process.stdin.on("end", () => {
  const cases = JSON.parse(input);
  const toBox = ([x1, y1, x2, y2]) => ({ x1, y1, x2, y2 });
  const placed = cases.map(([boxes, sizes, w, h]) => placeLabels(boxes.map(toBox), sizes, w, h));
  console.log(JSON.stringify(placed));
});
"""


def overlap(a, b) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return w * h if w > 0 and h > 0 else 0.0


def crowd_layout(rng: np.random.Generator, faces: int, width=640, height=480):
    """Faces side by side in rows, like a group photo: captions wider than the faces."""
    boxes, sizes = [], []
    for _ in range(faces):
        side = float(rng.uniform(20, 60))
        x, y = float(rng.uniform(0, width - side)), float(rng.uniform(0, height - side))
        boxes.append((x, y, x + side, y + side))
        sizes.append((float(rng.uniform(70, 140)), 16.0))
    return boxes, sizes, width, height


def rects(boxes, sizes, corners):
    return [(x, y, x + w, y + h) for (x, y), (w, h) in zip(corners, sizes, strict=True)]


def test_a_lone_face_gets_its_caption_just_above_it_or_below_at_the_top_edge():
    assert place_labels([(100, 50, 140, 90)], [(80, 14)], 640, 480) == [(100, 36)]
    assert place_labels([(100, 5, 140, 45)], [(80, 14)], 640, 480) == [(100, 45)]
    assert place_labels([(600, 50, 640, 90)], [(80, 14)], 640, 480) == [(560, 36)]  # kept inside


@pytest.mark.parametrize("faces", [2, 5, 8, 12])
def test_captions_of_a_group_never_overlap_and_stay_in_the_picture(faces):
    rng = np.random.default_rng(faces)
    for _ in range(50):
        boxes, sizes, width, height = crowd_layout(rng, faces)
        placed = rects(boxes, sizes, place_labels(boxes, sizes, width, height))
        assert all(r[0] >= 0 and r[2] <= width + 1e-6 and r[1] >= 0 and r[3] <= height + 1e-6 for r in placed)
        clashes = [(i, j) for i in range(faces) for j in range(i) if overlap(placed[i], placed[j]) > 0]
        assert not clashes


@pytest.mark.parametrize("source", ["three people", "classroom"])
def test_captions_on_real_group_footage_never_overlap(studio, source, tmp_path):
    """The case the issue found: a neighbour's caption covered the first on a group photo."""
    if source == "three people":
        path, options = THREE_PEOPLE, None
    else:  # a real classroom frame, faces 9-20 px: captions far wider than faces
        path, options = tmp_path / "classroom.png", DetectionOptions(0.9, 8)
        Image.fromarray(clip_frames(CLASSROOM)[30]).save(path)
    image, analysis = studio.analyze_file(str(path), "mini_xception", options=options)
    assert len(analysis.faces) >= 3
    height, width = image.pixels.shape[:2]
    captions = [c.box for c in layout_captions(analysis.faces, width, height)]
    assert not [(i, j) for i in range(len(captions)) for j in range(i) if overlap(captions[i], captions[j])]
    assert all(x1 >= 0 and x2 <= width and y1 >= 0 and y2 <= height for x1, y1, x2, y2 in captions)


def test_the_live_page_places_captions_exactly_as_python(tmp_path):
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js is not installed")
    rng = np.random.default_rng(7)
    cases = [crowd_layout(rng, int(rng.integers(1, 12))) for _ in range(100)]
    script = tmp_path / "place.mjs"
    script.write_text(PLACE_JS.replace("PIPELINE", json.dumps(PIPELINE_JS.as_uri())))
    answer = subprocess.run([node, str(script)], input=json.dumps(cases), capture_output=True, text=True,
                            check=True, timeout=60)  # fmt: skip
    for case, corners in zip(cases, json.loads(answer.stdout), strict=True):
        expected = [v for corner in place_labels(*case) for v in corner]
        assert [v for corner in corners for v in corner] == pytest.approx(expected, abs=1e-9)
