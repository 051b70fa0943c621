"""Tracking quality on a synthesised multi-shot clip and on real footage: persons, cuts, id
switches, recall, precision, how well boxes stay on faces.

    python benchmarks/bench_tracking.py [--detect-every 10,5,3] [--weights DIR] [--sweep] [--real-only]

The clip (tests/support/multishot.py) has two public-domain faces through four hard
cuts: a face entering mid-shot, a fast close-up, the other person alone, the
two crossing. For each detection interval it runs the video pipeline as the
app does and prints, against the clip's truth and against MTCNN run on every
full-resolution frame (the reference a user would compare with):

* persons found (truth: 2), tracks, tracks that cross a cut;
* id switches (a true face's track changes within a shot) and fragmentations
  (a true face's track is lost and found again within a shot);
* recall and precision of the boxes against the per-frame reference (IoU >= 0.5);
* speed as a multiple of real time.

Persons are linked with the embedded face-recognition network (dlib's, from
face-api.js), or with FaceNet VGGFace2 when ``--weights`` holds its file.
``--sweep`` prints the persons found at each linking threshold.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from fer_demo.analysis.faces import FaceDetector
from fer_demo.analysis.persons import TrackSamples, link_tracks
from fer_demo.analysis.tracking import assign, iou_matrix
from fer_demo.config import Settings, StreamSettings, VideoLimits
from fer_demo.errors import ModelUnavailableError
from fer_demo.media.video_io import read_frames
from fer_demo.models.specs import FACENET
from fer_demo.models.zoo import ModelZoo
from fer_demo.workflow.studio import Studio
from fer_demo.workflow.video import VideoResult, analyze_video
from tests.support.multishot import MultiShotClip, make_multishot_clip

MATCH_IOU = 0.5


def reference_boxes(clip: MultiShotClip) -> list[np.ndarray]:
    """MTCNN on every frame at full resolution: (N, 4) boxes per frame."""
    detector = FaceDetector(max_side=max(clip.size))
    return [
        np.asarray(detector.detect(frame.image).boxes, float).reshape(-1, 4)
        for frame in read_frames(clip.path)
    ]


def boxes_by_frame(result: VideoResult, frames: int) -> list[tuple[np.ndarray, list[dict]]]:
    records: dict[int, list[dict]] = defaultdict(list)
    for record in result.reported_records():
        records[record["frame"]].append(record)
    out = []
    for frame in range(frames):
        rows = records.get(frame, [])
        boxes = np.array([[r["x1"], r["y1"], r["x2"], r["y2"]] for r in rows], float).reshape(-1, 4)
        out.append((boxes, rows))
    return out


def recall_precision(
    found: list[tuple[np.ndarray, list[dict]]], reference: list[np.ndarray]
) -> tuple[float, float]:
    """Share of reference boxes found, and of found boxes that are reference boxes (one-to-one, IoU)."""
    hits = total_ref = total_found = 0
    for (boxes, _), ref in zip(found, reference, strict=True):
        total_ref, total_found = total_ref + len(ref), total_found + len(boxes)
        overlap = iou_matrix(ref, boxes)
        hits += len(assign(1.0 - overlap, overlap >= MATCH_IOU))
    return hits / max(total_ref, 1), hits / max(total_found, 1)


def identity_errors(clip: MultiShotClip, found: list[tuple[np.ndarray, list[dict]]], truth) -> dict[str, int]:
    """Id switches and fragmentations of each true face within each shot, and person switches overall."""
    switches = fragments = person_switches = 0
    last_track: dict[tuple[int, int], int] = {}
    last_person: dict[int, int] = {}
    lost: dict[tuple[int, int], bool] = {}
    for frame, ((boxes, rows), faces) in enumerate(zip(found, truth, strict=True)):
        shot = clip.shots[frame]
        for person, box in faces.items():
            key = (shot, person)
            overlap = iou_matrix(box[None], boxes)[0] if len(boxes) else np.zeros(0)
            if not len(overlap) or overlap.max() < MATCH_IOU:
                lost[key] = key in last_track
                continue
            row = rows[int(np.argmax(overlap))]
            if key in last_track and row["face_id"] != last_track[key]:
                switches += 1
            if lost.get(key):
                fragments += 1
                lost[key] = False
            if person in last_person and row["person"] != last_person[person]:
                person_switches += 1
            last_track[key], last_person[person] = row["face_id"], row["person"]
    return {"id switches": switches, "fragmentations": fragments, "person switches": person_switches}


def face_in_tile() -> dict[int, np.ndarray]:
    """Each tile's face box at the reference height, measured by the detector on the tile at rest."""
    from tests.support.multishot import REFERENCE_HEIGHT
    from tests.support.synthetic_video import face_tiles

    detector = FaceDetector(max_side=640)
    inside = {}
    for person, tile in enumerate(face_tiles(REFERENCE_HEIGHT)):
        canvas = np.full((tile.shape[0] + 40, tile.shape[1] + 40, 3), 100, np.uint8)
        canvas[20:-20, 20:-20] = tile
        inside[person] = np.asarray(detector.detect(canvas).boxes[0], float) - 20
    return inside


def real_footage(studio: Studio, folder: Path, intervals: list[int], upscale: bool = False) -> None:
    """The same pipeline on Intel's real four-shot clip (CC BY 4.0): per detection interval, recall
    and precision against MTCNN on every full frame, the median IoU of the matched boxes (do boxes
    stay on faces that turn and walk?), tracks per shot, faces too small, speed. ``upscale``: the
    clip at 1280x720 (lanczos), as a 720p upload would be."""
    from PIL import Image

    from fer_demo.media.video_io import VideoWriter
    from tests.support.real_footage import REAL_CUTS, REAL_FOUR_SHOTS

    path = REAL_FOUR_SHOTS
    if upscale:
        path = folder / "real-720p.mp4"
        with VideoWriter(path, 25, crf=18) as writer:
            for frame in read_frames(REAL_FOUR_SHOTS):
                writer.write(np.asarray(Image.fromarray(frame.image).resize((1280, 720), Image.LANCZOS)))
    frames = list(read_frames(path))
    detector = FaceDetector(max_side=max(frames[0].image.shape[:2]))
    reference = [np.asarray(detector.detect(f.image).boxes, float).reshape(-1, 4) for f in frames]
    shot_of = [1 + sum(f.time >= cut - 1e-3 for cut in REAL_CUTS) for f in frames]
    size = f"{frames[0].image.shape[1]}x{frames[0].image.shape[0]}"
    print(f"\nreal footage: {path.name}, {size}, {len(frames)} frames, 4 shots; reference: MTCNN on every "
          f"full frame ({sum(len(r) for r in reference)} faces of 24 px or more)")  # fmt: skip
    print(f"{'detect every':>12} {'faces':>6} {'tracks/shot':>12} {'recall':>7} {'precision':>9} "
          f"{'median IoU':>10} {'IoU p10':>8} {'too small':>10} {'x real time':>12}")  # fmt: skip
    for every in intervals:
        analyzer = studio.stream_analyzer("mini_xception", StreamSettings(detect_every=every))
        *_, result = analyze_video(path, analyzer, folder / "real-out.mp4", VideoLimits())
        found = boxes_by_frame(result, len(frames))
        recall, precision = recall_precision(found, reference)
        ious = []
        for (boxes, _), ref in zip(found, reference, strict=True):
            overlap = iou_matrix(ref, boxes)
            ious += [overlap[r, c] for r, c in assign(1.0 - overlap, overlap >= 0.3)]
        per_shot: dict[int, set[int]] = defaultdict(set)
        for record in result.reported_records():
            per_shot[shot_of[record["frame"]]].add(record["face_id"])
        tracks = "/".join(str(len(per_shot.get(shot, ()))) for shot in range(1, 5))
        print(f"{every:>12} {len(result.summary):>6} {tracks:>12} {recall:>7.3f} {precision:>9.3f} "
              f"{np.median(ious):>10.3f} {np.percentile(ious, 10):>8.3f} {result.too_small_max:>10} "
              f"{result.speed:>12.2f}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--detect-every", default="10,5,3,1", help="detection intervals to compare (frames)")
    parser.add_argument("--weights", type=Path, default=None, help="folder holding the FaceNet VGGFace2 file")
    parser.add_argument("--sweep", action="store_true", help="persons found per linking threshold")
    parser.add_argument("--real-only", action="store_true", help="only the real-footage tables")
    args = parser.parse_args()
    embedder = ModelZoo(Path(tempfile.mkdtemp())).get_embedder()
    if args.weights:
        try:
            embedder = ModelZoo(args.weights, embedder=FACENET).get_embedder()
        except ModelUnavailableError as error:
            print(f"FaceNet unavailable, using the embedded network: {error}")
    spec, recogniser = embedder.spec, embedder.spec.display_name
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        clip = make_multishot_clip(folder / "four-shots.mp4")
        truth = clip.true_faces(face_in_tile())
        reference = reference_boxes(clip)
        studio = Studio(Settings(weights_dir=folder / "weights"))
        intervals = [int(v) for v in args.detect_every.split(",")]
        if args.real_only:
            real_footage(studio, folder, intervals)
            real_footage(studio, folder, intervals, upscale=True)
            return
        print(f"clip: {clip.size[0]}x{clip.size[1]}, {clip.fps:g} fps, {clip.frames} frames, "
              f"{len(clip.cuts) + 1} shots, {clip.persons} persons; reference: MTCNN on every full frame "
              f"({sum(len(r) for r in reference)} faces); persons linked by: {recogniser}")  # fmt: skip
        print(f"{'detect every':>12} {'persons':>8} {'tracks':>7} {'cross cut':>9} {'id sw':>6} "
              f"{'frag':>5} {'pers sw':>8} {'recall':>7} {'precision':>9} {'x real time':>12}")  # fmt: skip
        for every in [int(v) for v in args.detect_every.split(",")]:
            analyzer = studio.stream_analyzer("mini_xception", StreamSettings(detect_every=every))
            samples = TrackSamples(embedder.embed, aligned=spec.aligned, min_face_px=spec.min_face_px)
            events = analyze_video(clip.path, analyzer, folder / "out.mp4", VideoLimits(), samples=samples,
                                   link_threshold=spec.link_threshold)  # fmt: skip
            *_, result = events
            found = boxes_by_frame(result, clip.frames)
            shots_of_track: dict[int, set[int]] = defaultdict(set)
            for record in result.records:
                shots_of_track[record["face_id"]].add(clip.shots[record["frame"]])
            crossing = sum(len(shots) > 1 for shots in shots_of_track.values())
            errors = identity_errors(clip, found, truth)
            recall, precision = recall_precision(found, reference)
            print(f"{every:>12} {len(result.summary):>8} {len(result.persons):>7} {crossing:>9} "
                  f"{errors['id switches']:>6} {errors['fragmentations']:>5} {errors['person switches']:>8} "
                  f"{recall:>7.3f} {precision:>9.3f} {result.speed:>12.2f}")  # fmt: skip
            if args.sweep:
                frames: dict[int, set[int]] = defaultdict(set)
                for record in result.reported_records():
                    frames[record["face_id"]].add(record["frame"])
                means = samples.means()
                for threshold in spec.link_threshold * np.arange(0.4, 2.01, 0.2):
                    persons = len(set(link_tracks(means, frames, float(threshold)).values()))
                    marker = " (default)" if abs(threshold - spec.link_threshold) < 1e-6 else ""
                    print(f"{'':>12}   threshold {threshold:.2f}: {persons} persons{marker}")
        real_footage(studio, folder, intervals)
        real_footage(studio, folder, intervals, upscale=True)


if __name__ == "__main__":
    main()
