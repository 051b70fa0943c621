"""Where each face's caption goes so that no caption hides another: a pure function of rectangles.

On a group photo the captions of neighbouring faces are wider than the faces, so putting each
above its box made "#1 Happiness 99%" vanish under "#2 Neutral 66%". Faces are taken top to
bottom; each caption takes the first free place among: above its box, below it, aligned left or
right, then further above or below (stacked), then inside the box's top. "Free" means inside
the picture, over no caption placed yet and, if possible, over no other face. The live page's
``placeLabels`` (browser/js/pipeline.js) is the same algorithm.
"""

from __future__ import annotations

from collections.abc import Sequence

Rect = tuple[float, float, float, float]  # x1, y1, x2, y2 in pixels

STACK_STEPS = 6  # captions this many heights away from their box at most, before giving up on free


def _overlap(a: Rect, b: Rect) -> float:
    """Area shared by two rectangles."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return w * h if w > 0 and h > 0 else 0.0


def _candidates(
    box: Rect, size: tuple[float, float], width: float, height: float
) -> list[tuple[float, float]]:
    """Top-left corners for a ``size`` (w, h) caption of ``box``, most natural first, inside the
    picture (a caption taller than the picture goes at its top)."""
    x1, y1, x2, y2 = box
    w, h = size
    lefts = [min(max(0.0, x1), max(0.0, width - w)), min(max(0.0, x2 - w), max(0.0, width - w))]
    tops = [y1 - h, y2]
    for step in range(1, STACK_STEPS + 1):
        tops += [y1 - h * (step + 1), y2 + h * step]
    tops.append(y1)  # inside the box, along its top
    places = []
    for top in tops:
        if top < 0 or top + h > height:
            continue
        for left in dict.fromkeys(lefts):  # one left when both alignments agree
            places.append((left, top))
    return places or [(lefts[0], 0.0)]


def place_labels(
    boxes: Sequence[Rect], sizes: Sequence[tuple[float, float]], width: float, height: float
) -> list[tuple[float, float]]:
    """The top-left corner of each face's caption, in the order of ``boxes``.

    Args:
        boxes: face boxes (x1, y1, x2, y2), pixels of the picture.
        sizes: each caption's (width, height), pixels.
        width, height: the picture's size.
    """
    placed: dict[int, Rect] = {}
    order = sorted(range(len(boxes)), key=lambda i: (boxes[i][1], boxes[i][0]))
    for i in order:
        others = [box for j, box in enumerate(boxes) if j != i]
        w, h = sizes[i]
        options = [(x, y, x + w, y + h) for x, y in _candidates(boxes[i], sizes[i], width, height)]

        def cost(rect: Rect, others: list[Rect] = others) -> tuple[bool, bool, float]:
            on_labels = sum(_overlap(rect, label) for label in placed.values())
            on_faces = sum(_overlap(rect, box) for box in others)
            return (on_labels > 0, on_faces > 0, on_labels + on_faces)

        placed[i] = min(options, key=cost)  # the first of the cheapest: the most natural free place
    return [(placed[i][0], placed[i][1]) for i in range(len(boxes))]
