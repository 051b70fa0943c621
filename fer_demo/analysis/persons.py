"""Persons from tracks: one person's tracks across cuts and occlusions linked by face embeddings.

A tracker's id lasts while it can follow a face; a cut or a turn of the
head ends it. Re-identification samples a few detected crops of each
track as the video streams (:class:`TrackSamples`), embeds them with a
face-recognition network, and links tracks whose mean embeddings are close
(:func:`link_tracks`): average-linkage clustering on cosine distance that
stops at ``threshold`` and never puts two tracks seen in the same frame
into one person. Persons are numbered 1..N in order of appearance.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from fer_demo.analysis.alignment import face_chip
from fer_demo.analysis.faces import crop


@dataclass
class TrackSamples:
    """A few well-spaced crops' embeddings per track, taken on detection frames as the video streams.

    ``embed`` turns crops into unit vectors (the face-recognition network);
    at most ``per_track`` samples, at least ``spacing`` seconds apart, are
    kept per track, so the cost is bounded by the number of tracks, not
    the video's length. Without ``embed`` (no network here) only each
    track's best thumbnail is kept: the persons gallery still shows every face.
    """

    embed: Callable[[Sequence[np.ndarray]], np.ndarray] | None
    aligned: bool = False  # ``embed`` takes faces aligned from 5 landmarks (dlib's chips), not box crops
    min_face_px: int = 0  # narrower faces are too small to identify: no vector, the track stays unlinked
    per_track: int = 5
    spacing: float = 0.4
    vectors: dict[int, list[np.ndarray]] = field(default_factory=lambda: defaultdict(list))
    thumbnails: dict[int, tuple[float, np.ndarray]] = field(default_factory=dict)  # track -> (score, crop)
    _last: dict[int, float] = field(default_factory=dict)
    _taken: dict[int, int] = field(default_factory=dict)

    @property
    def links(self) -> bool:
        """Whether these samples can link tracks into persons (a network embeds them)."""
        return self.embed is not None

    def add(
        self,
        image: np.ndarray,
        time: float,
        boxes: np.ndarray,
        scores: Sequence[float],
        tracks: Sequence[int],
        landmarks: np.ndarray | None = None,
    ) -> None:
        """Sample the detected faces of one frame (boxes (N, 4), scores (N,), track ids (N,),
        landmarks (N, 5, 2), which aligned networks need)."""
        due = [
            i for i, track in enumerate(tracks)
            if self._taken.get(int(track), 0) < self.per_track
            and time - self._last.get(int(track), -np.inf) >= self.spacing - 1e-6  # frame times round
        ]  # fmt: skip
        if not due:
            return
        crops = [crop(image, boxes[i], pad=True) for i in due]
        vectors = self._vectors(image, boxes, landmarks, due, crops)
        for i, vector, face in zip(due, vectors, crops, strict=True):
            track = int(tracks[i])
            if float(scores[i]) > self.thumbnails.get(track, (-1.0, None))[0]:
                self.thumbnails[track] = (float(scores[i]), face)
            if vector is None and self.embed is not None:  # not identifiable now: try a later frame
                continue
            self._taken[track] = self._taken.get(track, 0) + 1
            self._last[track] = time
            if vector is not None:
                self.vectors[track].append(vector)

    def identifiable(self, box: np.ndarray, image: np.ndarray) -> bool:
        """Whether a face can be told apart: wide enough, and whole (a box at the picture's edge
        holds part of a face, whose alignment and vector mean nothing)."""
        height, width = image.shape[:2]
        x1, y1, x2, y2 = (float(v) for v in box)
        whole = x1 > 1 and y1 > 1 and x2 < width - 1 and y2 < height - 1
        return whole and x2 - x1 >= self.min_face_px

    def _vectors(self, image: np.ndarray, boxes: np.ndarray, landmarks: np.ndarray | None,
                 due: list[int], crops: list[np.ndarray]) -> list[np.ndarray | None]:  # fmt: skip
        """The embedding of each due face, None for one not identifiable (or without a network)."""
        if self.embed is None:
            return [None] * len(due)
        known = [k for k, i in enumerate(due) if self.identifiable(boxes[i], image)]
        if self.aligned:
            if landmarks is None:
                raise ValueError("an aligned face-recognition network needs the faces' landmarks")
            faces = [face_chip(image, landmarks[due[k]]) for k in known]
        else:
            faces = [crops[k] for k in known]
        vectors: list[np.ndarray | None] = [None] * len(due)
        for k, vector in zip(known, self.embed(faces) if faces else [], strict=True):
            vectors[k] = vector
        return vectors

    def means(self) -> dict[int, np.ndarray]:
        """Each sampled track's mean embedding, back on the unit sphere."""
        means = {}
        for track, vectors in self.vectors.items():
            mean = np.mean(vectors, axis=0)
            means[track] = mean / max(float(np.linalg.norm(mean)), 1e-12)
        return means


def link_tracks(
    embeddings: Mapping[int, np.ndarray],
    frames: Mapping[int, Iterable[int]],
    threshold: float,
) -> dict[int, int]:
    """Track id -> person number (1..N, by first frame) for every track of ``frames``.

    Args:
        embeddings: a unit vector per track; a track without one stays a person of its own.
        frames: the frame indices each track appears in; two tracks sharing a frame are two people.
        threshold: largest mean cosine distance at which two groups of tracks are one person
            (each network has its own: ``EmbedderSpec.link_threshold``).
    """
    seen = {track: set(indices) for track, indices in frames.items()}
    groups = [[track] for track in sorted(seen)]
    vectors = {track: np.asarray(v, np.float64) for track, v in embeddings.items() if track in seen}
    distance = {
        (a, b): 1.0 - float(vectors[a] @ vectors[b]) for a, b in itertools.combinations(sorted(vectors), 2)
    }

    def apart(a: list[int], b: list[int]) -> float:
        """Average linkage; infinite when a track lacks an embedding or two tracks share a frame."""
        pairs = [(min(x, y), max(x, y)) for x in a for y in b]
        if any(pair not in distance or seen[pair[0]] & seen[pair[1]] for pair in pairs):
            return np.inf
        return float(np.mean([distance[pair] for pair in pairs]))

    while len(groups) > 1:
        best, i, j = min(
            (apart(a, b), i, j) for (i, a), (j, b) in itertools.combinations(enumerate(groups), 2)
        )
        if not best < threshold:
            break
        groups[i] = groups[i] + groups[j]
        del groups[j]
    first = {track: min(indices, default=0) for track, indices in seen.items()}
    groups.sort(key=lambda group: min(first[track] for track in group))
    return {track: person for person, group in enumerate(groups, start=1) for track in group}
