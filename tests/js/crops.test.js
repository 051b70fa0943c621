// A face's way into a model on the live page (pipeline.js), as fer_demo/analysis/faces.py and
// fer_demo/models/preprocess.py do it on the server: the crop, the input tensor, the outputs.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { cropRect, interpret, prepareInput, roundHalfEven } from "../../fer_demo/browser/js/pipeline.js";

const close = (actual, expected, tolerance = 1e-6) =>
  assert.ok(Math.abs(actual - expected) <= tolerance, `${actual} is not ${expected} (±${tolerance})`);
const rect = (x1, y1, x2, y2) => ({ x1, y1, x2, y2 });

describe("roundHalfEven", () => {
  it("rounds like Python's round(): halves to the even neighbour, either sign", () => {
    const cases = [[0.5, 0], [1.5, 2], [2.5, 2], [3.5, 4], [-0.5, 0], [-1.5, -2], [-2.5, -2], [1e6 + 0.5, 1e6]];
    for (const [v, expected] of cases) assert.ok(roundHalfEven(v) === expected, `round(${v}) is ${expected}`);
  });

  it("rounds everything else to the nearest integer", () => {
    const cases = [[2.4, 2], [2.6, 3], [-2.4, -2], [-2.6, -3], [3, 3], [-7, -7], [0.49999999999999994, 0]];
    for (const [v, expected] of cases) assert.ok(roundHalfEven(v) === expected, `round(${v}) is ${expected}`);
  });
});

describe("cropRect", () => {
  const squareMargin = { square: true, margin: 0.1, pad: true }; // mini-Xception's
  const asIs = { square: false, margin: 0, pad: true };

  it("squares the box on its longer side around its centre, then adds the margin on every side", () => {
    // 40 x 60 around (120, 80) -> 60 x 60 -> 72 x 72
    assert.deepEqual(cropRect(rect(100, 50, 140, 110), 640, 480, squareMargin),
      { outer: rect(84, 44, 156, 116), inside: rect(84, 44, 156, 116) });
    const wide = cropRect(rect(100, 50, 180, 70), 640, 480, { ...squareMargin, margin: 0 });
    assert.deepEqual(wide.outer, rect(100, 20, 180, 100));
  });

  it("keeps a box as it is without square or margin, rounding halves to even as Python", () => {
    assert.deepEqual(cropRect(rect(10.5, 21.5, 50.5, 71.5), 640, 480, asIs).outer, rect(10, 22, 50, 72));
  });

  it("computes in float32 as numpy: 51.4999999 is 51.5 there, which rounds to 52", () => {
    assert.equal(cropRect(rect(11.5, 20, 51.4999999, 60), 640, 480, asIs).outer.x2, 52);
  });

  it("pads a box that leaves the frame, or clips it without pad", () => {
    const box = rect(-20, -10, 40, 50);
    assert.deepEqual(cropRect(box, 640, 480, { ...asIs, square: true }),
      { outer: rect(-20, -10, 40, 50), inside: rect(0, 0, 40, 50) });
    assert.deepEqual(cropRect(box, 640, 480, { ...asIs, pad: false }),
      { outer: rect(0, 0, 40, 50), inside: rect(0, 0, 40, 50) });
    assert.deepEqual(cropRect(rect(600, 440, 680, 520), 640, 480, asIs),
      { outer: rect(600, 440, 680, 520), inside: rect(600, 440, 640, 480) });
    assert.deepEqual(cropRect(rect(600, 440, 680, 520), 640, 480, { ...asIs, pad: false }).outer,
      rect(600, 440, 640, 480));
  });

  it("gives nothing for a box wholly outside the frame, and at least a pixel for a point", () => {
    assert.equal(cropRect(rect(700, 10, 750, 60), 640, 480, asIs), null);
    assert.equal(cropRect(rect(10, -60, 50, 0), 640, 480, { ...asIs, pad: false }), null);
    assert.deepEqual(cropRect(rect(10.2, 20.2, 10.2, 20.2), 640, 480, asIs).outer, rect(10, 20, 11, 21));
  });
});

describe("prepareInput", () => {
  /** RGBA pixels of ``w`` x ``h`` from [r, g, b] triples, opaque. */
  const image = (pixels) => Uint8ClampedArray.from(pixels.flatMap(([r, g, b]) => [r, g, b, 255]));
  const grey = (values) => image(values.map((v) => [v, v, v]));
  const raw = { scale: 1, mean: [0], std: [1] }; // the resized 8-bit values as they are
  const gray = (resize, size) => ({ ...raw, color: "gray", resize, size });
  const values = (out) => Array.from(out);

  it("turns colour to gray with OpenCV's ITU-R 601 luma, white staying 255", () => {
    const rgba = image([[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 255]]);
    for (const resize of ["pil_bilinear", "cv2_linear", "pil_nearest"]) { // 2 x 2 to 2: no resizing at all
      assert.deepEqual(values(prepareInput(rgba, 2, 2, gray(resize, 2))), [76, 150, 29, 255]);
    }
  });

  it("scales and normalises: x * scale, then (x - mean) / std", () => {
    const pre = { color: "gray", resize: "cv2_linear", size: 2, scale: 1 / 255, mean: [0.5], std: [0.5] };
    const out = prepareInput(grey([0, 255, 51, 255]), 2, 2, pre);
    assert.ok(out instanceof Float32Array);
    [-1, 1, -0.6, 1].forEach((v, i) => close(out[i], v));
  });

  it("lays colour out in planes, in RGB or BGR order, each channel with its mean and std", () => {
    const rgba = image([[10, 20, 30], [40, 50, 60]]); // 2 x 1, stretched to 2 x 2
    const pre = { size: 2, resize: "pil_nearest", scale: 1, mean: [0, 0, 0], std: [1, 1, 1] };
    assert.deepEqual(values(prepareInput(rgba, 2, 1, { ...pre, color: "rgb" })),
      [10, 40, 10, 40, 20, 50, 20, 50, 30, 60, 30, 60]);
    const normalised = { ...pre, size: 1, mean: [1, 2, 3], std: [1, 2, 4] };
    const pixel = image([[10, 20, 30]]);
    assert.deepEqual(values(prepareInput(pixel, 1, 1, { ...normalised, color: "rgb" })), [9, 9, 6.75]);
    assert.deepEqual(values(prepareInput(pixel, 1, 1, { ...normalised, color: "bgr" })), [29, 9, 1.75]);
  });

  it("shrinks as each library does: PIL antialiased, OpenCV from the two nearest, nearest", () => {
    const row = grey([0, 100, 200, 40]); // 4 x 1 -> 2 x 2
    // PIL: a triangle two source pixels wide, weights 3/7, 3/7, 1/7 -> 71.4 and 117.1, floored after +0.5
    assert.deepEqual(values(prepareInput(row, 4, 1, gray("pil_bilinear", 2))), [71, 117, 71, 117]);
    assert.deepEqual(values(prepareInput(row, 4, 1, gray("cv2_linear", 2))), [50, 120, 50, 120]);
    assert.deepEqual(values(prepareInput(row, 4, 1, gray("pil_nearest", 2))), [100, 40, 100, 40]);
  });

  it("enlarges as each library does: both bilinears from pixel centres, the edges repeated", () => {
    const ramp = grey([0, 200]); // 2 x 1 -> 4 x 4
    for (const resize of ["pil_bilinear", "cv2_linear"]) {
      assert.deepEqual(values(prepareInput(ramp, 2, 1, gray(resize, 4))), Array(4).fill([0, 50, 150, 200]).flat());
    }
    assert.deepEqual(values(prepareInput(ramp, 2, 1, gray("pil_nearest", 4))), Array(4).fill([0, 0, 200, 200]).flat());
  });

  it("keeps a flat colour flat, whatever the resize and the crop's shape", () => {
    for (const resize of ["pil_bilinear", "cv2_linear", "pil_nearest"]) {
      for (const [w, h, size] of [[7, 5, 4], [3, 9, 6], [64, 64, 48], [10, 30, 64]]) {
        const rgba = image(Array(w * h).fill([200, 120, 40]));
        const out = prepareInput(rgba, w, h, { ...raw, mean: [0, 0, 0], std: [1, 1, 1], color: "rgb", resize, size });
        assert.equal(out.length, 3 * size * size);
        const planes = [0, 1, 2].map((c) => new Set(out.subarray(c * size * size, (c + 1) * size * size)));
        assert.deepEqual(planes.map((p) => [...p]), [[200], [120], [40]], `${resize} ${w}x${h} -> ${size}`);
      }
    }
  });
});

describe("interpret", () => {
  const model = {
    labels: ["angry", "happy", "neutral"], // the network's order
    canonical_labels: ["Anger", "Happiness", "Neutral"],
    canonical_order: ["Neutral", "Happiness", "Anger"],
    has_valence_arousal: false,
  };

  it("softmaxes the logits into canonical labels, in canonical order, without overflow", () => {
    const { probabilities, valence, arousal } = interpret(Float32Array.from([1001, 1002, 1000]), model);
    assert.deepEqual(Object.keys(probabilities), ["Neutral", "Happiness", "Anger"]);
    const total = 1 + Math.E + Math.E ** 2;
    close(probabilities.Anger, Math.E / total, 1e-12);
    close(probabilities.Happiness, Math.E ** 2 / total, 1e-12);
    close(probabilities.Neutral, 1 / total, 1e-12);
    assert.deepEqual([valence, arousal], [null, null]);
  });

  it("reads valence and arousal after the logits, clipped to [-1, 1]", () => {
    const va = { ...model, has_valence_arousal: true };
    const out = interpret(Float32Array.from([0, 0, 0, 1.7, -0.3]), va);
    assert.equal(out.valence, 1);
    close(out.arousal, -0.3);
    close(out.probabilities.Anger, 1 / 3, 1e-12);
    assert.equal(interpret(Float32Array.from([0, 0, 0, -4, 0.5]), va).valence, -1);
  });
});
