// The live mode's maths, free of the DOM: detector input and output, face crops, the models'
// preprocessing (ported from fer_demo/analysis/faces.py and fer_demo/models/preprocess.py, bit for bit
// where Python rounds), tracking and smoothing. Every function is pure or owns only its state.

// ---- BlazeFace short range -------------------------------------------------------------------
export const DETECTOR_SIDE = 128;

/** Anchor centres (x, y in [0, 1]) of BlazeFace short range: 2 per cell of 16x16, then 6 of 8x8. */
export function blazefaceAnchors() {
  const centres = [];
  for (const [grid, perCell] of [[16, 2], [8, 6]]) {
    for (let y = 0; y < grid; y++) {
      for (let x = 0; x < grid; x++) {
        for (let k = 0; k < perCell; k++) centres.push((x + 0.5) / grid, (y + 0.5) / grid);
      }
    }
  }
  return Float32Array.from(centres);
}

/**
 * Where a width x height frame lands in the detector's square: scaled to fit, centred. A fit maps
 * frame pixels to input pixels (input = frame * scale + (left, top)); ``source`` and ``target``
 * say what to draw where.
 */
export function letterbox(width, height, side = DETECTOR_SIDE) {
  const scale = side / Math.max(width, height);
  const w = Math.round(width * scale);
  const h = Math.round(height * scale);
  const left = Math.floor((side - w) / 2);
  const top = Math.floor((side - h) / 2);
  return { scale, left, top, side, source: [0, 0, width, height], target: [left, top, w, h] };
}

/** The detector's square over a square region of the frame (corner x0, y0; side ``size``). */
export function regionFit(x0, y0, size, side = DETECTOR_SIDE) {
  const scale = side / size;
  return { scale, left: -x0 * scale, top: -y0 * scale, side, source: [x0, y0, size, size], target: [0, 0, side, side] };
}

/**
 * Close-ups of the small faces being tracked: a face that is a small part of the whole frame is a
 * few input pixels for the detector, which then misses it now and then; in a square of ``context``
 * times its size it is large. Faces not numbered yet first (a face a tile found needs a second
 * sighting), then the longest unseen, at most ``limit``.
 */
export function closeUps(tracks, width, height, { maxShare = 0.2, context = 3, limit = 3 } = {}) {
  return tracks
    .map((track) => ({ track, size: Math.max(track.box.x2 - track.box.x1, track.box.y2 - track.box.y1) }))
    .filter(({ size }) => size < maxShare * Math.max(width, height))
    .sort((a, b) => Boolean(a.track.id) - Boolean(b.track.id) || a.track.seen - b.track.seen || a.size - b.size)
    .slice(0, limit)
    .map(({ track, size }) => {
      const side = size * context;
      return regionFit((track.box.x1 + track.box.x2 - side) / 2, (track.box.y1 + track.box.y2 - side) / 2, side);
    });
}

/**
 * Overlapping squares covering the frame, ``share`` of its longer side each: the page scans one a
 * frame, so faces too small for the whole-frame pass (a group in front of the camera) are found
 * within a few frames, then kept by close-ups.
 */
export function scanTiles(width, height, { share = 0.4, overlap = 0.25 } = {}) {
  const side = Math.ceil(Math.max(width, height) * share);
  const starts = (length) => {
    const count = length > side ? Math.ceil((length - side) / (side * (1 - overlap))) + 1 : 1;
    return Array.from({ length: count }, (_, k) => (count === 1 ? (length - side) / 2 : (k * (length - side)) / (count - 1)));
  };
  const tiles = [];
  for (const y of starts(height)) for (const x of starts(width)) tiles.push(regionFit(x, y, side));
  return tiles;
}

/**
 * Whether a face found in a tile is whole and small there: a face cut by the tile's edge (unless
 * that is the frame's edge) or half the tile's size is the whole-frame pass's to find.
 */
export function wholeInTile(face, fit, width, height, margin = 2) {
  const [x0, y0, size] = fit.source;
  const inside = (low, high, start, end) => (low > start + margin || start <= 0) && (high < start + size - margin || start + size >= end);
  return Math.max(face.x2 - face.x1, face.y2 - face.y1) <= size / 2
    && inside(face.x1, face.x2, x0, width) && inside(face.y1, face.y2, y0, height);
}

/** RGBA pixels of the letterboxed square -> 1x3xSxS float32 in [-1, 1] (what BlazeFace takes). */
export function detectorInput(rgba, side = DETECTOR_SIDE) {
  const plane = side * side;
  const out = new Float32Array(3 * plane);
  for (let i = 0; i < plane; i++) {
    out[i] = rgba[4 * i] / 127.5 - 1;
    out[plane + i] = rgba[4 * i + 1] / 127.5 - 1;
    out[2 * plane + i] = rgba[4 * i + 2] / 127.5 - 1;
  }
  return out;
}

function iou(a, b) {
  const w = Math.min(a.x2, b.x2) - Math.max(a.x1, b.x1);
  const h = Math.min(a.y2, b.y2) - Math.max(a.y1, b.y1);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  return inter / ((a.x2 - a.x1) * (a.y2 - a.y1) + (b.x2 - b.x1) * (b.y2 - b.y1) - inter);
}

/** MediaPipe's weighted non-maximum suppression: overlapping boxes are averaged by score. */
export function weightedNms(candidates, threshold) {
  const left = [...candidates].sort((a, b) => b.score - a.score);
  const kept = [];
  while (left.length) {
    // The best is in its own group whatever its IoU with itself: a box of no area (IoU 0) stayed
    // in ``rest`` and the loop never ended; a NaN box fell out of both and took every face along.
    const [best, ...others] = left;
    const group = [best, ...others.filter((c) => iou(best, c) > threshold)];
    const rest = others.filter((c) => !(iou(best, c) > threshold));
    const total = group.reduce((s, c) => s + c.score, 0);
    const mean = (key) => group.reduce((s, c) => s + c[key] * c.score, 0) / total;
    kept.push({ x1: mean("x1"), y1: mean("y1"), x2: mean("x2"), y2: mean("y2"), score: best.score });
    left.length = 0;
    left.push(...rest);
  }
  return kept;
}

/**
 * Raw outputs -> faces in frame pixels. ``regressors`` is 896x16 (centre offset and size in input
 * pixels), ``logits`` 896 scores; ``fit`` is the letterbox the input was made with. ``boxFit``
 * turns BlazeFace's tight box into the box the app's models were measured with (MTCNN's).
 */
export function decodeFaces(regressors, logits, anchors, fit, options) {
  const { threshold, iou: overlap, minSize, boxFit } = options;
  const logit = Math.log(threshold / (1 - threshold));
  const candidates = [];
  for (let i = 0; i < logits.length; i++) {
    if (logits[i] < logit) continue;
    const r = regressors.subarray(16 * i, 16 * i + 16);
    const cx = anchors[2 * i] * fit.side + r[0];
    const cy = anchors[2 * i + 1] * fit.side + r[1];
    const x = (cx - fit.left) / fit.scale;
    const y = (cy - fit.top) / fit.scale;
    const w = r[2] / fit.scale;
    const h = r[3] / fit.scale;
    const fx = x + boxFit.dx * w;
    const fy = y + boxFit.dy * h;
    const fw = w * boxFit.sw;
    const fh = h * boxFit.sh;
    candidates.push({
      x1: fx - fw / 2, y1: fy - fh / 2, x2: fx + fw / 2, y2: fy + fh / 2,
      score: 1 / (1 + Math.exp(-Math.max(-100, Math.min(100, logits[i])))),
    });
  }
  return weightedNms(candidates, overlap).filter((f) => Math.min(f.x2 - f.x1, f.y2 - f.y1) >= minSize);
}

// ---- face crops (fer_demo/analysis/faces.py) ------------------------------------------------------------
/** Python's round(): halves go to the even neighbour. */
export function roundHalfEven(v) {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * expand_boxes + crop: the pixel rectangle a model sees (``outer``, black where it leaves the
 * frame when ``pad``) and the part of it inside the frame. Computed in float32 like numpy.
 */
export function cropRect(box, width, height, policy) {
  const f = Math.fround;
  let w = f(f(box.x2) - f(box.x1));
  let h = f(f(box.y2) - f(box.y1));
  const cx = f(f(f(box.x1) + f(box.x2)) / 2);
  const cy = f(f(f(box.y1) + f(box.y2)) / 2);
  if (policy.square) w = h = Math.max(w, h);
  const hw = f(w * f(0.5 + policy.margin));
  const hh = f(h * f(0.5 + policy.margin));
  const x1 = roundHalfEven(f(cx - hw));
  const y1 = roundHalfEven(f(cy - hh));
  const x2 = Math.max(roundHalfEven(f(cx + hw)), x1 + 1);
  const y2 = Math.max(roundHalfEven(f(cy + hh)), y1 + 1);
  const inside = { x1: Math.max(x1, 0), y1: Math.max(y1, 0), x2: Math.min(x2, width), y2: Math.min(y2, height) };
  if (inside.x2 <= inside.x1 || inside.y2 <= inside.y1) return null;
  return policy.pad ? { outer: { x1, y1, x2, y2 }, inside } : { outer: inside, inside };
}

// ---- preprocessing (fer_demo/models/preprocess.py) ---------------------------------------------
/** cv2.COLOR_RGB2GRAY on 8-bit pixels: ITU-R 601 luma in OpenCV's 15-bit fixed point (all 2^24 colours checked). */
function luma(r, g, b) {
  return (r * 9798 + g * 19235 + b * 3735 + 16384) >> 15;
}

const PRECISION_BITS = 22; // PIL's fixed point for 8-bit images (32 - 8 - 2)

/** PIL's resampling coefficients (Resample.c precompute_coeffs + normalize_coeffs_8bpc). */
function pilCoefficients(inSize, outSize, filter, support) {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const reach = support * filterScale;
  const ss = 1 / filterScale;
  const bounds = [];
  for (let xx = 0; xx < outSize; xx++) {
    const centre = (xx + 0.5) * scale;
    const xmin = Math.max(Math.trunc(centre - reach + 0.5), 0);
    const xmax = Math.min(Math.trunc(centre + reach + 0.5), inSize) - xmin;
    const k = [];
    let total = 0;
    for (let x = 0; x < xmax; x++) {
      const w = filter((x + xmin - centre + 0.5) * ss);
      k.push(w);
      total += w;
    }
    const fixed = k.map((w) => {
      const v = (total === 0 ? w : w / total) * (1 << PRECISION_BITS);
      return v < 0 ? Math.trunc(v - 0.5) : Math.trunc(v + 0.5);
    });
    bounds.push({ xmin, k: fixed });
  }
  return bounds;
}

const clip8 = (v) => (v <= 0 ? 0 : v >= 255 * 2 ** PRECISION_BITS ? 255 : Math.floor(v / 2 ** PRECISION_BITS));

/** PIL Image.resize with BILINEAR (antialiased on shrinking), 8-bit: horizontal then vertical pass. */
function resizePilBilinear(src, w, h, channels, size) {
  const filter = (x) => { x = Math.abs(x); return x < 1 ? 1 - x : 0; };
  const half = 2 ** (PRECISION_BITS - 1);
  let image = src;
  let width = w;
  if (w !== size) {
    const coeffs = pilCoefficients(w, size, filter, 1);
    const out = new Uint8ClampedArray(size * h * channels);
    for (let y = 0; y < h; y++) {
      for (let xx = 0; xx < size; xx++) {
        const { xmin, k } = coeffs[xx];
        for (let c = 0; c < channels; c++) {
          let ss = half;
          for (let x = 0; x < k.length; x++) ss += image[(y * width + x + xmin) * channels + c] * k[x];
          out[(y * size + xx) * channels + c] = clip8(ss);
        }
      }
    }
    image = out;
    width = size;
  }
  if (h === size) return image;
  const coeffs = pilCoefficients(h, size, filter, 1);
  const out = new Uint8ClampedArray(size * size * channels);
  for (let yy = 0; yy < size; yy++) {
    const { xmin: ymin, k } = coeffs[yy];
    for (let x = 0; x < size; x++) {
      for (let c = 0; c < channels; c++) {
        let ss = half;
        for (let y = 0; y < k.length; y++) ss += image[((y + ymin) * width + x) * channels + c] * k[y];
        out[(yy * size + x) * channels + c] = clip8(ss);
      }
    }
  }
  return out;
}

/** PIL Image.resize with NEAREST: the source pixel under each output pixel's centre. */
function resizePilNearest(src, w, h, channels, size) {
  const out = new Uint8ClampedArray(size * size * channels);
  for (let y = 0; y < size; y++) {
    const sy = Math.min(Math.trunc((y + 0.5) * h / size), h - 1);
    for (let x = 0; x < size; x++) {
      const sx = Math.min(Math.trunc((x + 0.5) * w / size), w - 1);
      for (let c = 0; c < channels; c++) out[(y * size + x) * channels + c] = src[(sy * w + sx) * channels + c];
    }
  }
  return out;
}

/**
 * cv2.resize(..., INTER_LINEAR) on 8-bit pixels, bit for bit: 11-bit fixed-point weights from float32
 * offsets, a horizontal pass in integers, then the vertical pass of OpenCV's SIMD kernel (each row
 * product >> 4, high 16 bits of the product with the weight, rounded by 2 bits). Columns clamp their
 * weight at the border; rows keep theirs and repeat the edge row, as OpenCV does.
 */
function resizeCv2Linear(src, w, h, channels, size) {
  const ONE = 2048;
  const taps = (inSize, clampWeight) => Array.from({ length: size }, (_, d) => {
    const scale = 1 / (size / inSize);
    const f0 = Math.fround((d + 0.5) * scale - 0.5);
    let i = Math.floor(f0);
    let f = Math.fround(f0 - i);
    if (clampWeight && i < 0) { f = 0; i = 0; }
    if (clampWeight && i >= inSize - 1) { f = 0; i = inSize - 1; }
    const edge = (k) => Math.min(Math.max(k, 0), inSize - 1);
    const a0 = roundHalfEven(Math.fround(Math.fround(1 - f) * ONE));
    return { i0: edge(i), i1: edge(i + 1), a0, a1: roundHalfEven(Math.fround(f * ONE)) };
  });
  const xs = taps(w, true);
  const ys = taps(h, false);
  const rowWidth = size * channels;
  const rows = Array.from({ length: h }, (_, y) => {
    const row = new Int32Array(rowWidth);
    xs.forEach(({ i0, i1, a0, a1 }, x) => {
      for (let c = 0; c < channels; c++) {
        row[x * channels + c] = src[(y * w + i0) * channels + c] * a0 + src[(y * w + i1) * channels + c] * a1;
      }
    });
    return row;
  });
  const out = new Uint8ClampedArray(size * rowWidth);
  ys.forEach(({ i0, i1, a0, a1 }, y) => {
    const top = rows[i0];
    const bottom = rows[i1];
    for (let x = 0; x < rowWidth; x++) {
      out[y * rowWidth + x] = ((((top[x] >> 4) * a0) >> 16) + (((bottom[x] >> 4) * a1) >> 16) + 2) >> 2;
    }
  });
  return out;
}

const RESIZERS = { pil_bilinear: resizePilBilinear, pil_nearest: resizePilNearest, cv2_linear: resizeCv2Linear };

/**
 * One RGBA face crop (w x h) -> the network's 1xCxSxS float32 input, as ``prepare`` in
 * fer_demo/models/preprocess.py: colour mode, resize, x * scale, (x - mean) / std.
 */
export function prepareInput(rgba, w, h, pre) {
  const channels = pre.color === "gray" ? 1 : 3;
  const pixels = new Uint8ClampedArray(w * h * channels);
  for (let i = 0; i < w * h; i++) {
    if (channels === 1) pixels[i] = luma(rgba[4 * i], rgba[4 * i + 1], rgba[4 * i + 2]);
    else for (let c = 0; c < 3; c++) pixels[3 * i + c] = rgba[4 * i + c];
  }
  const resized = RESIZERS[pre.resize](pixels, w, h, channels, pre.size);
  const plane = pre.size * pre.size;
  const out = new Float32Array(channels * plane);
  for (let c = 0; c < channels; c++) {
    const from = pre.color === "bgr" ? 2 - c : c;
    for (let i = 0; i < plane; i++) out[c * plane + i] = (resized[i * channels + from] * pre.scale - pre.mean[c]) / pre.std[c];
  }
  return out;
}

/** Raw network outputs (K logits, then valence and arousal) -> canonical probabilities and V/A. */
export function interpret(raw, model) {
  const k = model.labels.length;
  const top = Math.max(...raw.slice(0, k));
  const exps = Array.from(raw.slice(0, k), (v) => Math.exp(v - top));
  const total = exps.reduce((s, v) => s + v, 0);
  const probabilities = {};
  for (const label of model.canonical_order) probabilities[label] = 0;
  exps.forEach((e, i) => { probabilities[model.canonical_labels[i]] = e / total; });
  const clip = (v) => Math.max(-1, Math.min(1, v));
  return model.has_valence_arousal
    ? { probabilities, valence: clip(raw[k]), arousal: clip(raw[k + 1]) }
    : { probabilities, valence: null, arousal: null };
}

// ---- tracking and smoothing --------------------------------------------------------------------
/** Distance between box centres in face sizes (the mean side of the two boxes), as fer_demo/analysis/tracking.py. */
function centreDistance(a, b) {
  const dx = (a.x1 + a.x2 - b.x1 - b.x2) / 2;
  const dy = (a.y1 + a.y2 - b.y1 - b.y2) / 2;
  const side = (a.x2 - a.x1 + a.y2 - a.y1 + b.x2 - b.x1 + b.y2 - b.y1) / 4;
  return Math.hypot(dx, dy) / Math.max(side, 1e-6);
}

/**
 * Faces of consecutive frames -> stable ids. Detection runs on every frame, so a face is where
 * it was: a track and a face match when their boxes overlap (``minOverlap``) or their centres
 * are at most ``maxDistance`` face sizes apart (a fast face), best pairs first. A face is
 * numbered once seen in ``minHits`` frames (a one-off false detection never gets an id); a lost
 * face keeps its id for ``memory`` seconds and stays shown, at its last place, for ``coast``
 * seconds (a small face the detector misses now and then).
 *
 * Those seconds are the tracker's own: a gap between two frames counts at most ``maxStep``, so a
 * page that stalls (a busy CPU, a hidden tab) does not forget the faces it was following.
 */
export class Tracker {
  constructor({ minHits = 2, memory = 1.0, minOverlap = 0.2, maxDistance = 1.0, coast = 0.3, maxStep = 0.25 } = {}) {
    Object.assign(this, { minHits, memory, minOverlap, maxDistance, coast, maxStep });
    this.reset();
  }

  update(faces, time) {
    const now = this.advance(time);
    const pairs = [];
    this.tracks.forEach((track, t) => faces.forEach((face, f) => {
      const overlap = iou(track.box, face);
      const distance = centreDistance(track.box, face);
      if (overlap >= this.minOverlap || distance <= this.maxDistance) pairs.push([1 - overlap + distance, t, f]);
    }));
    pairs.sort((a, b) => a[0] - b[0]);
    const usedTracks = new Set();
    const usedFaces = new Set();
    for (const [, t, f] of pairs) {
      if (usedTracks.has(t) || usedFaces.has(f)) continue;
      usedTracks.add(t);
      usedFaces.add(f);
      const track = this.tracks[t];
      Object.assign(track, { box: faces[f], seen: now, hits: track.hits + 1 });
      if (!track.id && track.hits >= this.minHits) track.id = this.nextId++;
    }
    faces.forEach((face, f) => {
      if (!usedFaces.has(f)) {
        const track = { id: 0, box: face, seen: now, hits: 1 };
        if (this.minHits <= 1) track.id = this.nextId++;
        this.tracks.push(track);
      }
    });
    this.tracks = this.tracks.filter((track) => now - track.seen <= (track.id ? this.memory : 0));
    return this.tracks.filter((track) => track.id && now - track.seen <= this.coast);
  }

  /** The tracker's clock at frame ``time`` (seconds): real time, with long gaps cut to ``maxStep``. */
  advance(time) {
    if (this.last !== null) this.clock += Math.min(Math.max(time - this.last, 0), this.maxStep);
    this.last = time;
    return this.clock;
  }

  reset() {
    Object.assign(this, { tracks: [], nextId: 1, clock: 0, last: null });
  }
}

// ---- captions (fer_demo/presentation/label_layout.py) ------------------------------------------------------
const STACK_STEPS = 6;

function overlap(a, b) {
  const w = Math.min(a.x2, b.x2) - Math.max(a.x1, b.x1);
  const h = Math.min(a.y2, b.y2) - Math.max(a.y1, b.y1);
  return w > 0 && h > 0 ? w * h : 0;
}

/** Top-left corners for a w x h caption of ``box``, most natural first, inside the picture. */
function captionPlaces(box, [w, h], width, height) {
  const lefts = [...new Set([
    Math.min(Math.max(0, box.x1), Math.max(0, width - w)), Math.min(Math.max(0, box.x2 - w), Math.max(0, width - w)),
  ])];
  const tops = [box.y1 - h, box.y2];
  for (let step = 1; step <= STACK_STEPS; step++) tops.push(box.y1 - h * (step + 1), box.y2 + h * step);
  tops.push(box.y1);
  const places = [];
  for (const top of tops) {
    if (top < 0 || top + h > height) continue;
    for (const left of lefts) places.push([left, top]);
  }
  return places.length ? places : [[lefts[0], 0]];
}

/**
 * Where each face's caption goes so that none hides another (boxes {x1, y1, x2, y2}, sizes
 * [w, h], pixels): the first free place among above, below, stacked further, inside the box's
 * top; free means over no caption placed yet and, if possible, over no other face.
 */
export function placeLabels(boxes, sizes, width, height) {
  const placed = new Map();
  const order = boxes.map((_, i) => i).sort((a, b) => boxes[a].y1 - boxes[b].y1 || boxes[a].x1 - boxes[b].x1);
  for (const i of order) {
    const [w, h] = sizes[i];
    let best = null;
    let bestCost = null;
    for (const [x, y] of captionPlaces(boxes[i], sizes[i], width, height)) {
      const rect = { x1: x, y1: y, x2: x + w, y2: y + h };
      let onLabels = 0;
      for (const label of placed.values()) onLabels += overlap(rect, label);
      let onFaces = 0;
      boxes.forEach((box, j) => { if (j !== i) onFaces += overlap(rect, box); });
      const cost = [onLabels > 0, onFaces > 0, onLabels + onFaces];
      if (!bestCost || cost[0] < bestCost[0] || (cost[0] === bestCost[0] && (cost[1] < bestCost[1]
        || (cost[1] === bestCost[1] && cost[2] < bestCost[2])))) {
        best = rect;
        bestCost = cost;
      }
    }
    placed.set(i, best);
  }
  return boxes.map((_, i) => [placed.get(i).x1, placed.get(i).y1]);
}

/** Exponential smoothing over time (time constant ``tau`` s), as fer_demo/analysis/temporal.py. */
export function smooth(previous, current, dt, tau) {
  if (!previous || tau <= 0) return current;
  const a = 1 - Math.exp(-Math.max(dt, 0) / tau);
  const mix = (p, c) => (p === null || c === null ? c : p + a * (c - p));
  const probabilities = {};
  for (const label of Object.keys(current.probabilities)) {
    probabilities[label] = mix(previous.probabilities[label] ?? 0, current.probabilities[label]);
  }
  return { probabilities, valence: mix(previous.valence, current.valence), arousal: mix(previous.arousal, current.arousal) };
}

/**
 * One face of a summary, as fer_demo/browser/summary.py reads it:
 * [id, score, x1, y1, x2, y2, p (canonical order)..., valence, arousal], the last two only for a
 * model that has them (clamped to the circumplex, as the server refuses anything outside it).
 */
export function summaryFace(id, box, output, model) {
  const round = (v, digits) => Math.round(v * 10 ** digits) / 10 ** digits;
  const face = [id, round(box.score, 4), ...[box.x1, box.y1, box.x2, box.y2].map((v) => round(v, 1)),
    ...model.canonical_order.map((label) => round(output.probabilities[label], 5))];
  if (model.has_valence_arousal) {
    const clamp = (v) => round(Math.min(1, Math.max(-1, v ?? 0)), 4);
    face.push(clamp(output.valence), clamp(output.arousal));
  }
  return face;
}
