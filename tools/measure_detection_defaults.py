"""Choose the face detection threshold and minimum face size by measurement.

    python tools/measure_detection_defaults.py [--scenes 300]

Synthetic scenes of 1280x720 hold 0-3 faces cut from public-domain portraits
(the examples; scikit-image's camera photo too when it is installed),
scaled (face height 16-200 px), turned, dimmed, blurred and
JPEG-compressed, over public-domain or synthesised backgrounds, plus
face-less distractors (hair and shoulders cut from the same portraits, a cat,
textures). The app's detector runs with no threshold and no size limit; each
detection is a hit if it overlaps a true face (IoU >= 0.4), else a false face.
The table gives, for each threshold and minimum size, the share of true faces
found and the false faces per 100 scenes.
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance, ImageFilter

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from fer_demo.analysis.faces import FaceDetector
from fer_demo.config import DetectionOptions

ROOT = Path(__file__).resolve().parents[1]
THRESHOLDS = (0.7, 0.8, 0.9, 0.93, 0.95, 0.97, 0.98, 0.99, 0.995)
MIN_SIZES = (0, 16, 20, 24, 32)


def portraits() -> list[tuple[Image.Image, tuple[int, int, int, int]]]:
    """(head-and-shoulders photo, its face box) for every public-domain portrait at hand."""
    photos = [
        Image.open(ROOT / "examples" / name).convert("RGB")
        for name in ("astronaut.jpg", "biden-portrait.jpg")
    ]
    try:
        from skimage import data

        photos.append(Image.fromarray(data.camera()).convert("RGB"))  # CC0 (Lav Varshney)
    except ImportError:
        pass
    detector = FaceDetector(max_side=4096, options=DetectionOptions(0.9, 0))
    found = []
    for photo in photos:
        faces = detector.detect(np.asarray(photo))
        best = int(np.argmax(faces.scores))
        x1, y1, x2, y2 = (int(v) for v in faces.boxes[best])
        pad = (x2 - x1) // 2
        tile = photo.crop((max(0, x1 - pad), max(0, y1 - pad), x2 + pad, y2 + pad))
        found.append(
            (
                tile,
                (x1 - max(0, x1 - pad), y1 - max(0, y1 - pad), x2 - max(0, x1 - pad), y2 - max(0, y1 - pad)),
            )
        )
    return found


def distractors() -> list[Image.Image]:
    """Face-less tiles people photograph next to faces: hair, shoulders, a cat, textures."""
    tiles = []
    astronaut = Image.open(ROOT / "examples" / "astronaut.jpg").convert("RGB")
    tiles.append(astronaut.crop((150, 0, 300, 70)))  # hair above the forehead
    tiles.append(astronaut.crop((100, 250, 400, 512)))  # suit and badges
    portrait = Image.open(ROOT / "examples" / "biden-portrait.jpg").convert("RGB")
    tiles.append(portrait.crop((0, 0, 400, 500)))  # wall and flag
    tiles.append(portrait.crop((300, 600, 900, 1400)))  # suit, shirt, tie
    try:
        from skimage import data

        tiles += [
            Image.fromarray(data.chelsea()),
            Image.fromarray(data.coffee()),
            Image.fromarray(data.rocket()),
        ]
    except ImportError:
        pass
    return tiles


def background(rng: np.random.Generator) -> Image.Image:
    kind = rng.integers(3)
    if kind == 0:
        ramp = np.linspace(rng.integers(0, 120), rng.integers(120, 255), 1280)
        return Image.fromarray(np.repeat(np.tile(ramp, (720, 1))[..., None], 3, 2).astype(np.uint8))
    if kind == 1:
        noise = rng.normal(128, 40, (90, 160, 3)).clip(0, 255).astype(np.uint8)
        return Image.fromarray(noise).resize((1280, 720), Image.BICUBIC)
    stripes = ((np.arange(1280) // rng.integers(4, 40)) % 2 * 150 + 50).astype(np.uint8)
    return Image.fromarray(np.repeat(np.tile(stripes, (720, 1))[..., None], 3, 2))


def degrade(tile: Image.Image, rng: np.random.Generator) -> Image.Image:
    tile = ImageEnhance.Brightness(tile).enhance(rng.uniform(0.5, 1.3))
    if rng.random() < 0.5:
        tile = tile.filter(ImageFilter.GaussianBlur(rng.uniform(0, 2)))
    return tile


def scene(rng, faces, others) -> tuple[np.ndarray, list[np.ndarray]]:
    """A 1280x720 JPEG: distractors first (clutter behind), then 0-3 faces, one per third of the width."""
    canvas = background(rng)
    for _ in range(rng.integers(0, 3)):
        other = others[rng.integers(len(others))]
        scale = rng.uniform(0.2, 1.0) * min(1280 / other.width, 720 / other.height)
        size = (max(1, round(other.width * scale)), max(1, round(other.height * scale)))
        place = (int(rng.integers(0, max(1, 1280 - size[0]))), int(rng.integers(0, max(1, 720 - size[1]))))
        canvas.paste(degrade(other.resize(size), rng), place)
    truth = []
    for third in rng.permutation(3)[: rng.integers(0, 4)]:
        tile, (x1, y1, x2, y2) = faces[rng.integers(len(faces))]
        scale = rng.uniform(16, 200) / (y2 - y1)
        size = (max(1, round(tile.width * scale)), max(1, round(tile.height * scale)))
        angle = rng.uniform(-25, 25)
        placed = degrade(tile.resize(size, Image.BILINEAR), rng).rotate(angle, expand=False)
        left = int(third * 1280 / 3 + rng.integers(0, max(1, round(1280 / 3 - size[0]))))
        top = int(rng.integers(0, max(1, 720 - size[1])))
        canvas.paste(placed, (left, top))
        centre = np.array([(x1 + x2) / 2, (y1 + y2) / 2]) * scale - np.array(size) / 2
        turn = np.deg2rad(angle)  # PIL turns counter-clockwise as seen; image y points down
        rotated = np.array([centre[0] * np.cos(turn) + centre[1] * np.sin(turn),
                            -centre[0] * np.sin(turn) + centre[1] * np.cos(turn)])  # fmt: skip
        cx, cy = rotated + np.array(size) / 2 + np.array([left, top])
        half = np.array([x2 - x1, y2 - y1]) * scale / 2
        truth.append(np.array([cx - half[0], cy - half[1], cx + half[0], cy + half[1]]))
    buffer = io.BytesIO()
    canvas.save(buffer, "JPEG", quality=int(rng.integers(30, 95)))
    return np.asarray(Image.open(buffer).convert("RGB")), truth


def iou(a: np.ndarray, b: np.ndarray) -> float:
    inter = np.clip(np.minimum(a[2:], b[2:]) - np.maximum(a[:2], b[:2]), 0, None).prod()
    union = (a[2:] - a[:2]).prod() + (b[2:] - b[:2]).prod() - inter
    return float(inter / union) if union > 0 else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    faces, others = portraits(), distractors()
    detector = FaceDetector(max_side=640, options=DetectionOptions(0.0, 0))  # the app's detection scale
    true_faces: list[float] = []  # the shorter side of every true face box
    detections: list[tuple[float, float, int | None]] = []  # score, side, index of the true face hit
    for _ in range(args.scenes):
        image, truth = scene(rng, faces, others)
        offset = len(true_faces)
        true_faces += [float(min(t[2] - t[0], t[3] - t[1])) for t in truth]
        matched: set[int] = set()
        found = detector.detect(image)
        for box, score in zip(found.boxes, found.scores, strict=True):
            side = float(min(box[2] - box[0], box[3] - box[1]))
            overlaps = [iou(box, t) for t in truth]
            best = int(np.argmax(overlaps)) if overlaps else None
            hit = best is not None and overlaps[best] >= 0.4 and best not in matched
            if hit:
                matched.add(best)
            detections.append((float(score), side, offset + best if hit else None))
    print(f"{args.scenes} scenes, {len(true_faces)} true faces (height 16-200 px), "
          f"{sum(d[2] is None for d in detections)} false detections before any threshold")  # fmt: skip
    print("recall % / false faces per 100 scenes")
    print("threshold " + "".join(f"  min {m:>3} px     " for m in MIN_SIZES))
    for threshold in THRESHOLDS:
        cells = []
        for min_size in MIN_SIZES:
            kept = [d for d in detections if d[0] >= threshold and d[1] >= min_size]
            eligible = sum(side >= min_size for side in true_faces)
            hits = len({d[2] for d in kept if d[2] is not None and true_faces[d[2]] >= min_size})
            false = sum(d[2] is None for d in kept)
            cells.append(f"{100 * hits / max(eligible, 1):5.1f} / {100 * false / args.scenes:5.1f}   ")
        print(f"{threshold:<9} " + "".join(cells))
    expression_by_face_size(faces)


def expression_by_face_size(faces) -> None:
    """How a face's size changes what the embedded model says about it (the minimum size's reason).

    Each portrait is shrunk until its face is N px tall, then enlarged back, which
    is what a small face in a big photo gives the classifier; the top label and
    its agreement with the full-size face are printed per size.
    """
    from fer_demo.analysis.pipeline import face_crops
    from fer_demo.models.zoo import ModelZoo

    with tempfile.TemporaryDirectory() as cache:  # the embedded model needs no folder; its ONNX export does
        model = ModelZoo(Path(cache)).get("mini_xception")
    detector = FaceDetector(max_side=4096, options=DetectionOptions(0.0, 0))
    print("\nface height px: top label agreement with the full-size face, mean |p - p_full|")
    full = {}
    for height in (200, 64, 48, 32, 24, 20, 16, 12):
        same, gaps = 0, []
        for index, (tile, (_, y1, _, y2)) in enumerate(faces):
            scale = height / (y2 - y1)
            small = tile.resize((max(1, round(tile.width * scale)), max(1, round(tile.height * scale))))
            image = np.asarray(small.resize(tile.size, Image.BILINEAR))
            found = detector.detect(image)
            if not len(found):
                continue
            probabilities = model.predict(face_crops(image, found[np.array([0])], model)).probabilities[0]
            full.setdefault(index, probabilities)
            same += int(np.argmax(probabilities) == np.argmax(full[index]))
            gaps.append(float(np.abs(probabilities - full[index]).mean()))
        gap = np.mean(gaps) if gaps else float("nan")
        print(f"{height:>4}: {same}/{len(faces)} same top label, mean gap {gap:.3f}")


if __name__ == "__main__":
    main()
