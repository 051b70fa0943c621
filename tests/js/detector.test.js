// The live page's detector maths (pipeline.js): anchors, the squares the detector sees, its
// input tensor, and its raw outputs back to faces in frame pixels.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, it } from "node:test";

import {
  DETECTOR_SIDE, blazefaceAnchors, closeUps, decodeFaces, detectorInput, letterbox, regionFit, scanTiles,
  weightedNms, wholeInTile,
} from "../../fer_demo/browser/js/pipeline.js";

const PIPELINE = new URL("../../fer_demo/browser/js/pipeline.js", import.meta.url).href;
const close = (actual, expected, tolerance = 1e-9) =>
  assert.ok(Math.abs(actual - expected) <= tolerance, `${actual} is not ${expected} (±${tolerance})`);
const box = (x1, y1, x2, y2, score) => ({ x1, y1, x2, y2, score });
/** A box's corners are ``expected`` (the weighted average of one box by its score may miss by an ulp). */
const corners = (face, expected, tolerance = 1e-9) =>
  expected.forEach((v, k) => close([face.x1, face.y1, face.x2, face.y2][k], v, tolerance));
/** Where frame point (x, y) lands in the detector's square under ``fit``. */
const toInput = (fit, x, y) => [x * fit.scale + fit.left, y * fit.scale + fit.top];

describe("blazefaceAnchors", () => {
  const anchors = blazefaceAnchors();
  const centre = (i) => [anchors[2 * i], anchors[2 * i + 1]];

  it("has MediaPipe's 896 anchors: 2 per cell of 16x16, then 6 per cell of 8x8", () => {
    assert.equal(anchors.length, 2 * 896);
    assert.deepEqual(centre(0), [1 / 32, 1 / 32]);
    assert.deepEqual(centre(1), [1 / 32, 1 / 32]); // the cell's second anchor, same centre
    assert.deepEqual(centre(2), [3 / 32, 1 / 32]); // next cell along x
    assert.deepEqual(centre(32), [1 / 32, 3 / 32]); // next row: 16 cells of 2
    assert.deepEqual(centre(511), [31 / 32, 31 / 32]); // the 16x16 grid's last
    for (let i = 512; i < 518; i++) assert.deepEqual(centre(i), [1 / 16, 1 / 16]); // 8x8's first cell
    assert.deepEqual(centre(518), [3 / 16, 1 / 16]);
    assert.deepEqual(centre(895), [15 / 16, 15 / 16]);
  });
});

describe("letterbox and regionFit", () => {
  it("fits a landscape frame to the square's width, centred vertically", () => {
    const fit = letterbox(640, 480);
    assert.equal(fit.side, DETECTOR_SIDE);
    assert.equal(fit.scale, 0.2);
    assert.deepEqual([fit.left, fit.top], [0, 16]);
    assert.deepEqual(fit.source, [0, 0, 640, 480]);
    assert.deepEqual(fit.target, [0, 16, 128, 96]);
  });

  it("fits a portrait frame to the square's height, centred horizontally", () => {
    const fit = letterbox(480, 640);
    assert.deepEqual([fit.left, fit.top], [16, 0]);
    assert.deepEqual(fit.target, [16, 0, 96, 128]);
  });

  it("rounds the drawn size and leaves an odd spare pixel below or right", () => {
    assert.deepEqual(letterbox(300, 200).target, [0, 21, 128, 85]); // 85.3 px tall, 43 px to share
    assert.deepEqual(letterbox(200, 300).target, [21, 0, 85, 128]);
  });

  it("maps the frame's corners onto the drawn rectangle's corners", () => {
    for (const [w, h] of [[300, 200], [1280, 720], [333, 1000], [128, 128]]) {
      const fit = letterbox(w, h);
      const [left, top, tw, th] = fit.target;
      assert.deepEqual(toInput(fit, 0, 0), [left, top]);
      const [x, y] = toInput(fit, w, h);
      close(x, left + tw, 0.5); // the drawn size is rounded to whole pixels
      close(y, top + th, 0.5);
      assert.ok(left >= 0 && top >= 0 && left + tw <= 128 && top + th <= 128);
    }
  });

  it("maps a square region of the frame onto the whole square", () => {
    const fit = regionFit(100, 50, 256);
    assert.equal(fit.scale, 0.5);
    assert.deepEqual(fit.source, [100, 50, 256, 256]);
    assert.deepEqual(fit.target, [0, 0, 128, 128]);
    assert.deepEqual(toInput(fit, 100, 50), [0, 0]);
    assert.deepEqual(toInput(fit, 356, 306), [128, 128]);
  });
});

describe("closeUps", () => {
  const track = (id, seen, x, y, w, h = w) => ({ id, seen, box: { x1: x, y1: y, x2: x + w, y2: y + h } });

  it("frames each small face in a square of three times its size, centred on it", () => {
    const [fit] = closeUps([track(1, 0, 100, 200, 20, 30)], 640, 480);
    assert.deepEqual(fit.source, [65, 170, 90, 90]); // the longer side (30) times 3, around (110, 215)
    assert.equal(fit.scale, 128 / 90);
  });

  it("leaves out large faces and takes new faces first, then the longest unseen, at most three", () => {
    const tracks = [
      track(1, 0.5, 0, 0, 20), track(0, 1.0, 100, 0, 20), track(2, 0.2, 200, 0, 20),
      track(3, 0.0, 300, 0, 130), // 130 px is over a fifth of 640: large enough for the whole frame
      track(4, 0.2, 400, 0, 10), // seen when 2 was: the smaller first
    ];
    const order = (fits) => fits.map((fit) => fit.source[0] + fit.source[2] / 2); // centres: which track
    assert.deepEqual(order(closeUps(tracks, 640, 480)), [110, 405, 210]);
    assert.deepEqual(order(closeUps(tracks, 640, 480, { limit: 5 })), [110, 405, 210, 10]);
    assert.deepEqual(closeUps([track(1, 0, 0, 0, 130)], 640, 480), []);
  });
});

describe("scanTiles", () => {
  /** Starts of the tiles along one axis (x: the first row; y: the first column). */
  const starts = (tiles, axis) => [...new Set(tiles.map((t) => t.source[axis]))];

  it("covers a 640x480 frame with 3x3 squares of 40% of its width, row by row", () => {
    const tiles = scanTiles(640, 480);
    assert.equal(tiles.length, 9);
    assert.deepEqual(starts(tiles, 0), [0, 192, 384]);
    assert.deepEqual(starts(tiles, 1), [0, 112, 224]);
    assert.deepEqual(tiles[1].source, [192, 0, 256, 256]);
    assert.deepEqual(tiles[3].source, [0, 112, 256, 256]);
    assert.ok(tiles.every((t) => t.scale === 128 / 256));
  });

  it("overlaps neighbours by at least a quarter and stays inside the frame, any frame", () => {
    for (const [w, h] of [[640, 480], [1280, 720], [1920, 1080], [480, 640], [700, 1000]]) {
      const tiles = scanTiles(w, h);
      const side = tiles[0].source[2];
      assert.equal(side, Math.ceil(Math.max(w, h) * 0.4));
      for (const [axis, length] of [[0, w], [1, h]]) {
        const at = starts(tiles, axis);
        assert.equal(at[0], 0);
        close(at.at(-1) + side, length, 1e-9);
        for (let k = 1; k < at.length; k++) assert.ok(at[k] - at[k - 1] <= 0.75 * side + 1e-9);
      }
    }
  });

  it("centres a single tile on a side shorter than the tile", () => {
    const tiles = scanTiles(640, 480, { share: 1 });
    assert.equal(tiles.length, 1);
    assert.deepEqual(tiles[0].source, [0, -80, 640, 640]);
  });
});

describe("wholeInTile", () => {
  const tile = regionFit(200, 100, 200); // inside a 640x480 frame, away from its edges

  it("keeps a small face well inside the tile", () => {
    assert.ok(wholeInTile(box(250, 150, 290, 190), tile, 640, 480));
  });

  it("refuses a face cut by the tile's edge, or half the tile's size", () => {
    assert.ok(!wholeInTile(box(201, 150, 241, 190), tile, 640, 480)); // at the left edge
    assert.ok(!wholeInTile(box(350, 150, 399, 190), tile, 640, 480)); // at the right edge
    assert.ok(!wholeInTile(box(250, 101, 290, 141), tile, 640, 480)); // at the top
    assert.ok(!wholeInTile(box(250, 250, 290, 299), tile, 640, 480)); // at the bottom
    assert.ok(!wholeInTile(box(220, 150, 321, 200), tile, 640, 480)); // 101 px wide
  });

  it("keeps a face at a tile edge that is the frame's edge", () => {
    assert.ok(wholeInTile(box(0.5, 0.5, 40, 40), regionFit(0, 0, 200), 640, 480));
    assert.ok(wholeInTile(box(600, 440, 639.5, 479.5), regionFit(440, 280, 200), 640, 480));
    assert.ok(!wholeInTile(box(600, 440, 639.5, 479.5), regionFit(440, 270, 200), 640, 480)); // 10 px short
  });
});

describe("detectorInput", () => {
  it("makes planar RGB in [-1, 1] and drops alpha", () => {
    const rgba = Uint8ClampedArray.from([0, 255, 51, 9, 255, 0, 102, 9, 51, 102, 255, 9, 0, 0, 0, 0]);
    const out = detectorInput(rgba, 2);
    assert.ok(out instanceof Float32Array);
    assert.equal(out.length, 12);
    const expected = [-1, 1, -0.6, -1, 1, -1, -0.2, -1, -0.6, -0.2, 1, -1]; // R plane, G plane, B plane
    expected.forEach((v, i) => close(out[i], v, 1e-6));
  });

  it("defaults to the detector's 128 x 128 square", () => {
    assert.equal(detectorInput(new Uint8ClampedArray(4 * 128 * 128)).length, 3 * 128 * 128);
  });
});

describe("weightedNms", () => {
  it("averages overlapping boxes by score and keeps the best score", () => {
    const [face, ...others] = weightedNms([box(1, 0, 11, 10, 0.25), box(0, 0, 10, 10, 0.75)], 0.3);
    assert.deepEqual(others, []); // IoU 90 / 110
    assert.deepEqual(face, box(0.25, 0, 10.25, 10, 0.75));
  });

  it("keeps boxes that overlap less than the threshold, strongest first", () => {
    const candidates = [box(6, 0, 16, 10, 0.5), box(0, 0, 10, 10, 0.75)]; // IoU 40 / 160
    assert.deepEqual(weightedNms(candidates, 0.3), [box(0, 0, 10, 10, 0.75), box(6, 0, 16, 10, 0.5)]);
    assert.equal(weightedNms(candidates, 0.2).length, 1);
    assert.deepEqual(candidates.map((c) => c.score), [0.5, 0.75]); // its input untouched
  });

  it("groups boxes with the best one only, not by chains of overlaps", () => {
    const kept = weightedNms([box(0, 0, 10, 10, 1), box(5, 0, 15, 10, 0.5), box(10, 0, 20, 10, 0.25)], 0.3);
    assert.equal(kept.length, 2); // the third overlaps the second (IoU 1/3) but not the best
    close(kept[0].x1, (5 * 0.5) / 1.5);
    assert.deepEqual(kept[1], box(10, 0, 20, 10, 0.25));
  });

  it("returns on boxes of no area or NaN, and keeps the faces beside them", () => {
    // In a child process: the bug this guards against was a loop that never ended.
    const script = `import { weightedNms } from ${JSON.stringify(PIPELINE)};
      const box = (x1, y1, x2, y2, score) => ({ x1, y1, x2, y2, score });
      console.log(JSON.stringify([
        weightedNms([box(5, 5, 5, 9, 0.75), box(0, 0, 10, 10, 0.5)], 0.3),
        weightedNms([box(5, 5, 3, 9, 0.75), box(0, 0, 10, 10, 0.5)], 0.3),
        weightedNms([box(NaN, 0, 10, 10, 0.75), box(0, 0, 10, 10, 0.5)], 0.3).map((b) => b.score),
      ]));`;
    const run = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8", timeout: 30_000 });
    assert.equal(run.status, 0, `weightedNms did not return: ${run.error ?? run.stderr}`);
    const [flat, negative, scores] = JSON.parse(run.stdout);
    assert.deepEqual(flat, [box(5, 5, 5, 9, 0.75), box(0, 0, 10, 10, 0.5)]);
    assert.deepEqual(negative, [box(5, 5, 3, 9, 0.75), box(0, 0, 10, 10, 0.5)]);
    assert.deepEqual(scores, [0.75, 0.5]);
  });
});

describe("decodeFaces", () => {
  const anchors = blazefaceAnchors();
  const identity = { dx: 0, dy: 0, sw: 1, sh: 1 };
  const options = (more = {}) => ({ threshold: 0.5, iou: 0.3, minSize: 0, boxFit: identity, ...more });
  /** Raw outputs where only the given anchors ({i, r: [dx, dy, w, h], logit}) score above nothing. */
  const outputs = (...found) => {
    const regressors = new Float32Array(896 * 16);
    const logits = new Float32Array(896).fill(-10);
    for (const { i, r, logit } of found) {
      regressors.set(r, 16 * i);
      logits[i] = logit;
    }
    return [regressors, logits];
  };
  // Anchor 2 * (16 * 5 + 7) + 1: cell (7, 5) of the 16x16 grid, centre (60, 44) in input pixels.
  const FACE = { i: 2 * (16 * 5 + 7) + 1, r: [3, -2, 20, 24], logit: 2 };
  const tile = regionFit(64, 32, 256); // 2 frame pixels per input pixel, exactly

  it("decodes an anchor's offset and size into frame pixels, its logit into a score", () => {
    // centre (60 + 3, 44 - 2) input -> ((63 + 32) * 2, (42 + 16) * 2) = (190, 116); size 40 x 48
    const [face, ...others] = decodeFaces(...outputs(FACE), anchors, tile, options());
    assert.deepEqual(others, []);
    corners(face, [170, 92, 210, 140]);
    close(face.score, 1 / (1 + Math.exp(-2)));
  });

  it("undoes the letterbox of a whole frame", () => {
    const [face] = decodeFaces(...outputs(FACE), anchors, letterbox(640, 480), options());
    // centre (63, 42) -> (63 / 0.2, (42 - 16) / 0.2) = (315, 130); size 100 x 120
    corners(face, [265, 70, 365, 190]);
  });

  it("decodes the 8x8 grid's anchors", () => {
    const i = 512 + 6 * (8 * 2 + 3) + 4; // cell (3, 2): centre (56, 40) input
    const [face] = decodeFaces(...outputs({ i, r: [0, 0, 10, 10], logit: 1 }), anchors, tile, options());
    corners(face, [166, 102, 186, 122]); // centre (176, 112)
  });

  it("moves and scales the box by boxFit", () => {
    const boxFit = { dx: 0.1, dy: -0.25, sw: 1.5, sh: 0.5 };
    const [face] = decodeFaces(...outputs(FACE), anchors, tile, options({ boxFit }));
    // centre (190 + 0.1 * 40, 116 - 0.25 * 48) = (194, 104); size 60 x 24
    corners(face, [164, 92, 224, 116]);
  });

  it("drops scores under the threshold and faces under the minimum size", () => {
    const raw = outputs(FACE); // score 0.881, 40 x 48 px
    assert.equal(decodeFaces(...raw, anchors, tile, options({ threshold: 0.85 })).length, 1);
    assert.equal(decodeFaces(...raw, anchors, tile, options({ threshold: 0.9 })).length, 0);
    assert.equal(decodeFaces(...raw, anchors, tile, options({ minSize: 39 })).length, 1);
    assert.equal(decodeFaces(...raw, anchors, tile, options({ minSize: 41 })).length, 0); // the narrower side
    const wide = options({ minSize: 41, boxFit: { ...identity, sw: 1.1 } }); // 44 x 48 once fitted
    assert.equal(decodeFaces(...raw, anchors, tile, wide).length, 1);
  });

  it("merges the anchors that found the same face and keeps faces apart", () => {
    const twin = { i: FACE.i - 1, r: [5, -2, 20, 24], logit: 0.5 }; // the same cell, 2 px to the right
    const far = { i: 2 * (16 * 12 + 2), r: [0, 0, 16, 16], logit: 1 }; // cell (2, 12): (20, 100) input
    const faces = decodeFaces(...outputs(FACE, twin, far), anchors, tile, options());
    assert.equal(faces.length, 2);
    const [s1, s2] = [1 / (1 + Math.exp(-2)), 1 / (1 + Math.exp(-0.5))];
    close(faces[0].x1, 170 + (4 * s2) / (s1 + s2), 1e-6); // the twin's box is 4 frame px to the right
    close(faces[0].score, s1);
    corners(faces[1], [88, 216, 120, 248]); // centre (104, 232) in the frame, 32 px
  });
});
