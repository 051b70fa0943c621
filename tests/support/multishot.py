"""A synthesised multi-shot clip with known shots, persons and face boxes (tests and bench_tracking).

Two people, the astronaut (person 1, NASA, public domain) and the White
House portrait (person 2, public domain), through four shots cut hard on
distinct backgrounds, each shot posing one problem a tracker meets in
interview or stage footage:

1. wide: person 1 small, walking; person 2 enters mid-shot from the right edge;
2. close-up of person 1 moving fast (about a third of the frame a second);
3. close-up of person 2, standing still: the shot after a cut between two people;
4. both people, mid-size, crossing each other.

Every frame's true face boxes follow from where each tile is drawn and the
face's box inside that tile, measured once with the detector at rest.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np
from PIL import Image

from tests.support.synthetic_video import Clip, face_tiles, write_mp4

SIZE = (640, 360)
FPS = 25.0
REFERENCE_HEIGHT = 150  # tile height at which the face inside each tile is measured

# (seconds, background colours (left, right), {person: t -> (x, y, tile height)}), t from the shot start
Pose = Callable[[float], tuple[float, float, int]]
SCRIPT: list[tuple[float, tuple[tuple[int, int, int], tuple[int, int, int]], dict[int, Pose]]] = [
    (2.4, ((40, 90, 110), (120, 60, 110)), {
        0: lambda t: (20 + 60 * t, 230, 110),
        1: lambda t: (640 - 90 * max(t - 1.0, 0.0) if t >= 1.0 else None, 30, 110),
    }),
    (1.6, ((150, 130, 90), (200, 170, 120)), {0: lambda t: (10 + 230 * t, 40, 300)}),
    (1.6, ((60, 70, 80), (30, 40, 60)), {1: lambda t: (150 + 10 * t, 30, 300)}),
    (2.8, ((90, 120, 70), (50, 80, 40)), {
        0: lambda t: (20 + 150 * t, 190, 150),
        1: lambda t: (500 - 150 * t, 20, 150),
    }),
]  # fmt: skip


@dataclass
class MultiShotClip:
    """The clip's file, its cuts (seconds) and, per frame, {person: (x, y, tile height)}."""

    path: Path
    fps: float
    size: tuple[int, int]
    cuts: list[float]
    poses: list[dict[int, tuple[int, int, int]]] = field(default_factory=list)
    shots: list[int] = field(default_factory=list)  # per frame, 1-based

    @property
    def frames(self) -> int:
        return len(self.poses)

    @property
    def persons(self) -> int:
        return len({person for pose in self.poses for person in pose})

    def true_faces(self, face_in_tile: dict[int, np.ndarray]) -> list[dict[int, np.ndarray]]:
        """Per frame, {person: face box} for faces wholly inside the picture (a half face is no target)."""
        width, height = self.size
        out = []
        for pose in self.poses:
            faces = {}
            for person, (x, y, tile_height) in pose.items():
                box = face_in_tile[person] * tile_height / REFERENCE_HEIGHT + np.array([x, y, x, y])
                if box[0] >= 0 and box[1] >= 0 and box[2] <= width and box[3] <= height:
                    faces[person] = box.astype(np.float32)
            out.append(faces)
        return out


@cache
def _tile(person: int, height: int) -> np.ndarray:
    return face_tiles(height)[person]


def _background(left: tuple[int, int, int], right: tuple[int, int, int]) -> np.ndarray:
    width, height = SIZE
    share = np.linspace(0, 1, width)[None, :, None]
    row = (1 - share) * np.array(left) + share * np.array(right)
    shade = np.linspace(0.85, 1.1, height)[:, None, None]
    return np.clip(row * shade, 0, 255).astype(np.uint8)


def _frames(clip: MultiShotClip, backgrounds: list[np.ndarray]) -> Iterator[np.ndarray]:
    width, height = clip.size
    for pose, shot in zip(clip.poses, clip.shots, strict=True):
        frame = backgrounds[shot - 1].copy()
        for person, (x, y, tile_height) in pose.items():
            tile = _tile(person, tile_height)
            left, top = max(x, 0), max(y, 0)
            right, bottom = min(x + tile.shape[1], width), min(y + tile.shape[0], height)
            if right > left and bottom > top:
                frame[top:bottom, left:right] = tile[top - y : bottom - y, left - x : right - x]
        yield frame


def make_multishot_clip(path: Path, fps: float = FPS) -> MultiShotClip:
    """Write the four-shot clip as H.264 MP4 and return its truth."""
    clip = MultiShotClip(Path(path), fps, SIZE, cuts=[])
    for shot, (seconds, _, people) in enumerate(SCRIPT, start=1):
        if shot > 1:
            clip.cuts.append(round(len(clip.poses) / fps, 4))
        for i in range(round(seconds * fps)):
            t = i / fps
            pose = {}
            for person, where in people.items():
                x, y, tile_height = where(t)
                if x is not None:
                    pose[person] = (round(x), round(y), tile_height)
            clip.poses.append(pose)
            clip.shots.append(shot)
    backgrounds = [_background(*colours) for _, colours, _ in SCRIPT]
    frames = len(clip.poses)
    write_mp4(Clip(clip.path, fps, SIZE, frames, []), _frames(clip, backgrounds))
    return clip


def save_contact_sheet(clip: MultiShotClip, path: Path, every: int = 12) -> Path:
    """Every ``every``-th frame side by side, for a person to look at the clip (not used by tests)."""
    backgrounds = [_background(*colours) for _, colours, _ in SCRIPT]
    frames = [f for i, f in enumerate(_frames(clip, backgrounds)) if i % every == 0]
    thumbs = [Image.fromarray(f).resize((160, 90)) for f in frames]
    sheet = Image.new("RGB", (160 * 8, 90 * (-(-len(thumbs) // 8))))
    for i, thumb in enumerate(thumbs):
        sheet.paste(thumb, (160 * (i % 8), 90 * (i // 8)))
    sheet.save(path)
    return path
