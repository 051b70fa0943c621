// What the live page does with the faces it found (pipeline.js): stable ids, captions that never
// hide one another, smoothing over time, and the summary row the server reads.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { Tracker, placeLabels, smooth, summaryFace } from "../../fer_demo/browser/js/pipeline.js";

const close = (actual, expected, tolerance = 1e-12) =>
  assert.ok(Math.abs(actual - expected) <= tolerance, `${actual} is not ${expected} (±${tolerance})`);
const face = (x, y, side = 50) => ({ x1: x, y1: y, x2: x + side, y2: y + side, score: 0.9 });
const ids = (tracks) => tracks.map((track) => track.id);

describe("Tracker", () => {
  it("numbers a face on its second sighting and keeps the number while it moves", () => {
    const tracker = new Tracker();
    assert.deepEqual(tracker.update([face(100, 100)], 0), []);
    for (let k = 1; k <= 20; k++) { // 10 px a frame
      const shown = tracker.update([face(100 + 10 * k, 100)], k / 10);
      assert.deepEqual(ids(shown), [1]);
      assert.deepEqual(shown[0].box, face(100 + 10 * k, 100)); // the latest box
    }
    assert.deepEqual(ids(tracker.update([face(340, 100)], 2.1)), [1]); // a jump of 0.8 faces: IoU 0.11
  });

  it("keeps neighbours apart: each face keeps its own id, whatever the order of the detections", () => {
    const tracker = new Tracker();
    tracker.update([face(100, 100), face(160, 100)], 0);
    const first = tracker.update([face(100, 100), face(160, 100)], 0.1);
    const idAt = (tracks, x) => tracks.find((track) => track.box.x1 === x).id;
    const [left, right] = [idAt(first, 100), idAt(first, 160)];
    assert.deepEqual([left, right].sort(), [1, 2]);
    // Both move 15 px right: the left face now overlaps the right one's old box a little.
    const moved = tracker.update([face(175, 100), face(115, 100)], 0.2);
    assert.deepEqual([idAt(moved, 115), idAt(moved, 175)], [left, right]);
  });

  it("gives a new face the next id, and a one-off detection none", () => {
    const tracker = new Tracker();
    tracker.update([face(100, 100)], 0);
    tracker.update([face(100, 100)], 0.1);
    assert.deepEqual(ids(tracker.update([face(100, 100), face(400, 100)], 0.2)), [1]); // seen once
    assert.deepEqual(ids(tracker.update([face(100, 100)], 0.3)), [1]); // ... and gone: never numbered
    assert.deepEqual(ids(tracker.update([face(100, 100), face(300, 300)], 0.4)), [1]);
    assert.deepEqual(ids(tracker.update([face(100, 100), face(300, 300)], 0.5)), [1, 2]);
  });

  it("shows a lost face for the coast, gives its id back within the memory, then forgets it", () => {
    const tracker = new Tracker(); // coast 0.3 s, memory 1 s
    tracker.update([face(100, 100)], 0);
    tracker.update([face(100, 100)], 0.1);
    for (const k of [2, 3]) assert.deepEqual(ids(tracker.update([], k / 10)), [1]); // at its last place
    tracker.update([], 0.4);
    for (const k of [5, 6, 7, 8]) assert.deepEqual(ids(tracker.update([], k / 10)), []); // hidden, remembered
    assert.deepEqual(ids(tracker.update([face(105, 100)], 0.9)), [1]); // back after 0.8 s: at once, same id
    for (let k = 10; k <= 21; k++) tracker.update([], k / 10); // 1.2 s without it
    assert.deepEqual(tracker.tracks, []);
    assert.deepEqual(ids(tracker.update([face(105, 100)], 2.2)), []);
    assert.deepEqual(ids(tracker.update([face(105, 100)], 2.3)), [2]); // a new face now
  });

  it("counts a stalled page's long gap as one short step, so it does not forget", () => {
    const stalled = (options) => {
      const tracker = new Tracker(options);
      tracker.update([face(100, 100)], 0);
      tracker.update([face(100, 100)], 0.1);
      tracker.update([], 5.1); // a hidden tab for 5 s, then a frame that misses the face
      return ids(tracker.update([face(100, 100)], 5.2));
    };
    assert.deepEqual(stalled(), [1]);
    assert.deepEqual(stalled({ maxStep: Infinity }), []); // real time: forgotten, a new face again
  });

  it("numbers a face after minHits sightings", () => {
    const tracker = new Tracker({ minHits: 3 });
    assert.deepEqual(ids(tracker.update([face(100, 100)], 0)), []);
    assert.deepEqual(ids(tracker.update([face(100, 100)], 0.1)), []);
    assert.deepEqual(ids(tracker.update([face(100, 100)], 0.2)), [1]);
  });

  it("numbers at once with minHits 1, and restarts the ids on reset", () => {
    const tracker = new Tracker({ minHits: 1 });
    assert.deepEqual(ids(tracker.update([face(100, 100), face(300, 100)], 0)), [1, 2]);
    tracker.reset();
    assert.deepEqual(ids(tracker.update([face(300, 100)], 0)), [1]);
  });
});

describe("placeLabels", () => {
  const rect = (x1, y1, x2, y2) => ({ x1, y1, x2, y2 });
  const overlap = (a, b) => Math.min(a.x2, b.x2) > Math.max(a.x1, b.x1) && Math.min(a.y2, b.y2) > Math.max(a.y1, b.y1);
  /** A seeded generator of floats in [0, 1) (mulberry32): the same layouts on every run. */
  const random = (seed) => () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  /** Faces scattered like a group photo, their captions wider than they are (as test_label_layout.py). */
  const crowd = (next, faces, width = 640, height = 480) => {
    const boxes = [];
    const sizes = [];
    for (let k = 0; k < faces; k++) {
      const side = 20 + 40 * next();
      const [x, y] = [next() * (width - side), next() * (height - side)];
      boxes.push(rect(x, y, x + side, y + side));
      sizes.push([70 + 70 * next(), 16]);
    }
    return { boxes, sizes, width, height };
  };

  it("puts a lone caption just above its face, below it at the top edge, inside at the side", () => {
    assert.deepEqual(placeLabels([rect(100, 50, 140, 90)], [[80, 14]], 640, 480), [[100, 36]]);
    assert.deepEqual(placeLabels([rect(100, 5, 140, 45)], [[80, 14]], 640, 480), [[100, 45]]);
    assert.deepEqual(placeLabels([rect(600, 50, 640, 90)], [[80, 14]], 640, 480), [[560, 36]]);
  });

  it("moves a neighbour's caption below its face rather than over the first caption", () => {
    const boxes = [rect(100, 100, 140, 140), rect(150, 100, 190, 140)];
    assert.deepEqual(placeLabels(boxes, [[80, 14], [80, 14]], 640, 480), [[100, 86], [150, 140]]);
  });

  it("never lets two captions of a group overlap, nor leave the picture", () => {
    const next = random(25);
    for (const faces of [2, 5, 8, 12]) {
      for (let run = 0; run < 50; run++) {
        const { boxes, sizes, width, height } = crowd(next, faces);
        const placed = placeLabels(boxes, sizes, width, height).map(([x, y], i) => rect(x, y, x + sizes[i][0], y + sizes[i][1]));
        for (const r of placed) assert.ok(r.x1 >= 0 && r.y1 >= 0 && r.x2 <= width && r.y2 <= height, "inside");
        for (let i = 0; i < faces; i++) {
          for (let j = 0; j < i; j++) assert.ok(!overlap(placed[i], placed[j]), `captions ${i} and ${j} of ${faces}`);
        }
      }
    }
  });

  it("answers in the order of the boxes it was given", () => {
    const { boxes, sizes, width, height } = crowd(random(3), 6);
    const corners = placeLabels(boxes, sizes, width, height);
    const reversed = placeLabels([...boxes].reverse(), [...sizes].reverse(), width, height);
    assert.deepEqual(reversed, [...corners].reverse());
  });
});

describe("smooth", () => {
  const output = (probabilities, valence = null, arousal = null) => ({ probabilities, valence, arousal });

  it("passes the first output through, and every output when smoothing is off", () => {
    const current = output({ A: 0.2, B: 0.8 }, 0.1, 0.2);
    assert.equal(smooth(null, current, 0.1, 0.5), current);
    assert.equal(smooth(output({ A: 1, B: 0 }), current, 0.1, 0), current);
  });

  it("moves 63% of the way to the new output in one time constant", () => {
    const a = 1 - Math.exp(-1);
    const out = smooth(output({ A: 1, B: 0 }, 0, 0.5), output({ A: 0, B: 1 }, 1, null), 0.4, 0.4);
    close(out.probabilities.A, 1 - a);
    close(out.probabilities.B, a);
    close(out.valence, a);
    assert.equal(out.arousal, null); // nothing to move to
    assert.equal(smooth(output({ A: 1 }, null), output({ A: 1 }, 0.4), 0.4, 0.4).valence, 0.4); // a first value
  });

  it("depends on the time elapsed, not on the number of frames", () => {
    const [previous, current] = [output({ A: 0.9, B: 0.1 }, -0.5), output({ A: 0.3, B: 0.7 }, 0.5)];
    const once = smooth(previous, current, 0.2, 0.5);
    const twice = smooth(smooth(previous, current, 0.1, 0.5), current, 0.1, 0.5);
    close(twice.probabilities.A, once.probabilities.A);
    close(twice.valence, once.valence);
    assert.ok(once.probabilities.A < 0.9 && once.probabilities.A > 0.3);
    close(once.probabilities.A + once.probabilities.B, 1);
  });

  it("holds the previous output over no time (or a clock going back), and starts a new label at 0", () => {
    const [previous, current] = [output({ A: 0.9, B: 0.1 }, 0.2), output({ A: 0.3, B: 0.7 }, 0.6)];
    for (const dt of [0, -1]) assert.deepEqual(smooth(previous, current, dt, 0.5), previous);
    const out = smooth(output({ A: 1 }), output({ A: 0.5, B: 0.5 }), 0.5, 0.5);
    const a = 1 - Math.exp(-1);
    close(out.probabilities.B, 0.5 * a);
    close(out.probabilities.A, 1 - 0.5 * a);
  });
});

describe("summaryFace", () => {
  const model = { canonical_order: ["Neutral", "Happiness", "Anger"], has_valence_arousal: false };
  const box = { x1: 10.04, y1: 20.06, x2: 110.5, y2: 140.26, score: 0.987654 };
  const output = (valence, arousal) => ({
    probabilities: { Anger: 0.123456, Happiness: 0.654321, Neutral: 0.222223 }, valence, arousal,
  });

  it("writes [id, score, x1, y1, x2, y2, p in canonical order], rounded, for a model without V/A", () => {
    assert.deepEqual(summaryFace(7, box, output(0.5, 0.5), model),
      [7, 0.9877, 10, 20.1, 110.5, 140.3, 0.22222, 0.65432, 0.12346]);
  });

  it("appends valence and arousal for a model that has them, clamped to [-1, 1]", () => {
    const va = { ...model, has_valence_arousal: true };
    assert.deepEqual(summaryFace(3, box, output(1.3, -0.25), va).slice(6), [0.22222, 0.65432, 0.12346, 1, -0.25]);
    assert.deepEqual(summaryFace(3, box, output(-2, 0.123456), va).slice(-2), [-1, 0.1235]);
    assert.deepEqual(summaryFace(3, box, output(null, null), va).slice(-2), [0, 0]);
  });
});
