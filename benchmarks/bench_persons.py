"""Telling people apart: how far one person's tracks lie from each other, and from other people's.

    python benchmarks/bench_persons.py [--sheet identities.png]

Material (licensed, see examples/README.md): Intel's head-pose clip (a woman and a man
turning their heads) and walking-and-pause clip (three adults walking up; the woman of the
head-pose clip is one of them), each as shot and degraded four ways (half resolution,
blur, JPEG at quality 25, darker), and the two public-domain portraits with the same
degradations. Every clip is tracked as the app tracks it; each track's mean descriptor
(face-api.js's FaceRecognitionNet on faces aligned from MTCNN's 5 points, at most 8 faces,
every 5th frame) is one unit. Who a track is comes from where it is (the people keep their
side of the picture in these clips); ``--sheet`` writes each identity's faces to check that.

Prints, per threshold (Euclidean between descriptors, then cosine between unit descriptors,
which linking compares): the pairs of one person under it (linked, as they should be) and the
pairs of two people under it (wrongly linked); then the persons found per threshold on two
multi-shot clips whose people are known.

First run (2026-12-08, 37 units of 6 people): one person's pairs at most 0.492 apart (median
0.289), two people's at least 0.395 (median 0.692). At 0.45, 95.7% of one person's 116 pairs
are under the threshold and 4 of the 550 pairs of two people; at 0.40, 81.9% and 1. dlib's
single-photo 0.6 would put 129 pairs of two people together: means of tracks are closer.
"""

from __future__ import annotations

import argparse
import io
import sys
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from fer_demo.analysis.alignment import face_chip
from fer_demo.config import Settings, StreamSettings
from fer_demo.models.face_recognition import describe, load_network
from fer_demo.workflow.studio import Studio
from tests.support.paths import EXAMPLES
from tests.support.real_footage import HEAD_POSE, WALK_AND_PAUSE, clip_frames

FRAME_STEP = 5  # sample every 5th frame of a track...
PER_TRACK = 8  # ...at most this many faces


def jpeg(image: np.ndarray, quality: int = 25) -> np.ndarray:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG", quality=quality)
    return np.asarray(Image.open(buffer).convert("RGB"))


def half(image: np.ndarray) -> np.ndarray:
    height, width = image.shape[:2]
    small = cv2.resize(image, (width // 2, height // 2), interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)


DEGRADATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "as shot": lambda image: image,
    "half resolution": half,
    "blur": lambda image: cv2.GaussianBlur(image, (0, 0), 1.5),
    "jpeg 25": jpeg,
    "darker": lambda image: np.clip(image.astype(np.float32) * 0.45, 0, 255).astype(np.uint8),
}


@dataclass(frozen=True)
class Clip:
    path: Path
    who: Callable[[float], str]  # a track's person, from its median centre (fraction of the width)


def walking_person(x: float) -> str:
    """Who walks where in the walking-and-pause clip: left, middle, right third of the picture."""
    if x < 0.33:
        return "woman, dark hair"  # the woman of the head-pose clip
    return "man, glasses" if x < 0.62 else "woman, glasses"


CLIPS = [
    Clip(HEAD_POSE, lambda x: "woman, dark hair" if x < 0.5 else "man, head pose"),
    Clip(WALK_AND_PAUSE, walking_person),
]
PORTRAITS = {"astronaut": EXAMPLES / "astronaut.jpg", "portrait": EXAMPLES / "biden-portrait.jpg"}


@dataclass(frozen=True)
class Unit:
    """One track (or one photo) of one person under one degradation: a mean descriptor."""

    person: str
    source: str
    degradation: str
    faces: tuple[np.ndarray, ...]
    descriptor: np.ndarray


def clip_units(studio: Studio, network, clip: Clip, name: str, degrade) -> list[Unit]:
    analyzer = studio.stream_analyzer("mini_xception", StreamSettings(background_detection=False))
    chips, centres = defaultdict(list), defaultdict(list)
    frames = clip_frames(clip.path)
    width = frames[0].shape[1]
    for index, frame in enumerate(frames):
        image = degrade(frame)
        result = analyzer.process(image, index / 25)
        if not result.detected or index % FRAME_STEP:
            continue
        for face in result.faces:
            centres[face.face].append((face.box[0] + face.box[2]) / 2 / width)
            if len(chips[face.face]) < PER_TRACK:
                chips[face.face].append(face_chip(image, np.array(face.landmarks)))
    units = []
    for track, faces in chips.items():
        if len(faces) < 2:  # a glimpse: too little to say who it is
            continue
        person = clip.who(float(np.median(centres[track])))
        units.append(Unit(person, f"{clip.path.stem} #{track}", name, tuple(faces),
                          describe(network, faces).mean(axis=0)))  # fmt: skip
    return units


def portrait_units(studio: Studio, network, name: str, degrade) -> list[Unit]:
    units = []
    for person, path in PORTRAITS.items():
        image = degrade(np.asarray(Image.open(path).convert("RGB")))
        found = studio.detector.detect(image)
        if len(found.boxes):
            chip = face_chip(image, found.landmarks[0])
            units.append(Unit(person, path.stem, name, (chip,), describe(network, [chip])[0]))
    return units


def contact_sheet(units: list[Unit], path: Path) -> None:
    """A row per person: the first face of each of their units, to check who is who."""
    rows = defaultdict(list)
    for unit in units:
        rows[unit.person].append(unit.faces[0])
    width = max(len(faces) for faces in rows.values())
    blank = np.zeros((150, 150, 3), np.uint8)
    sheet = [np.concatenate(faces + [blank] * (width - len(faces)), axis=1) for faces in rows.values()]
    Image.fromarray(np.concatenate(sheet, axis=0)).save(path)
    print(f"wrote {path}: rows {', '.join(rows)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sheet", type=Path, help="write each identity's faces, a row each, here")
    args = parser.parse_args()
    import tempfile

    studio = Studio(Settings(weights_dir=Path(tempfile.mkdtemp())))
    network = load_network()
    units: list[Unit] = []
    for name, degrade in DEGRADATIONS.items():
        for clip in CLIPS:
            units += clip_units(studio, network, clip, name, degrade)
        units += portrait_units(studio, network, name, degrade)
    people = sorted({unit.person for unit in units})
    counts = ", ".join(f"{person} {sum(unit.person == person for unit in units)}" for person in people)
    print(f"{len(units)} units (tracks or photos) of {len(people)} people, {len(DEGRADATIONS)} conditions:")
    print(f"  {counts}")
    if args.sheet:
        contact_sheet(units, args.sheet)
    for metric, distance, steps in (
        ("Euclidean distance between descriptors", euclidean, np.arange(0.30, 0.71, 0.025)),
        ("cosine distance between unit descriptors (what persons.link_tracks compares)", cosine,
         np.arange(0.02, 0.0801, 0.005)),
    ):  # fmt: skip
        pair_table(units, metric, distance, steps)
    persons_table(studio)


def persons_table(studio: Studio) -> None:
    """Persons found per threshold on multi-shot footage whose people are known: the real four-shot
    example (4 people large enough to identify: the woman of shot 1 is back in shot 2) and the
    synthesised four-shot clip of the two portraits (2 people, one entering mid-shot)."""
    import tempfile

    from fer_demo.analysis.persons import TrackSamples, link_tracks
    from fer_demo.config import VideoLimits
    from fer_demo.workflow.video import analyze_video
    from tests.support.multishot import make_multishot_clip
    from tests.support.real_footage import REAL_FOUR_SHOTS

    spec = studio.zoo.embedder
    embed = studio.zoo.get_embedder().embed
    clips = [("real-four-shots.mp4", REAL_FOUR_SHOTS, 4)]
    clips.append(("synthesised four shots", make_multishot_clip(Path(tempfile.mkdtemp()) / "c.mp4").path, 2))
    thresholds = [0.02, 0.03, 0.035, 0.04, 0.045, 0.05, 0.06, 0.08, 0.1]
    print("\npersons found per cosine threshold (truth in brackets)")
    print(f"{'clip':<26}" + "".join(f"{t:>7.3f}" for t in thresholds))
    for name, path, truth in clips:
        samples = TrackSamples(embed, aligned=spec.aligned, min_face_px=spec.min_face_px)
        analyzer = studio.stream_analyzer("mini_xception", StreamSettings())
        *_, result = analyze_video(path, analyzer, None, VideoLimits(), samples=samples)
        frames = defaultdict(set)
        for record in result.reported_records():
            frames[record["face_id"]].add(record["frame"])
        counts = [len(set(link_tracks(samples.means(), frames, t).values())) for t in thresholds]
        print(f"{name + f' ({truth})':<26}" + "".join(f"{c:>7d}" for c in counts))


def euclidean(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b))


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return 1.0 - float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def pair_table(units: list[Unit], metric: str, distance: Callable, thresholds: np.ndarray) -> None:
    """One person's and two people's pairs of units under each threshold of ``distance``."""
    same, apart = [], []
    for i, a in enumerate(units):
        for b in units[:i]:
            (same if a.person == b.person else apart).append(distance(a.descriptor, b.descriptor))
    same_d, apart_d = np.array(same), np.array(apart)
    print(f"\n{metric}")
    for label, values, extreme in (("one person", same_d, "max"), ("two people", apart_d, "min")):
        edge = values.max() if extreme == "max" else values.min()
        print(f"{label}: {len(values)} pairs, distance median {np.median(values):.3f}, {extreme} {edge:.3f}")
    print("threshold | one person linked | two people linked")
    for threshold in thresholds:
        linked = (same_d < threshold).mean()
        wrong = int((apart_d < threshold).sum())
        print(f"  {threshold:.3f}  | {linked:7.1%} of {len(same)}      | {wrong} of {len(apart)}")


if __name__ == "__main__":
    main()
