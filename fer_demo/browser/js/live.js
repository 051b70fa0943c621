// The webcam analysed on the visitor's device: the camera plays in a <video>, BlazeFace finds
// faces in every frame it can, the chosen model classifies each tracked face a few times a
// second, and boxes and labels are drawn on a canvas over the video. Both networks run in Web
// Workers (onnxruntime-web, WebAssembly, one thread each), so the page never waits for them.
// No frame leaves the device: once a second the page sends the server only the numbers.
import {
  DETECTOR_SIDE, Tracker, blazefaceAnchors, closeUps, cropRect, decodeFaces, detectorInput, interpret,
  letterbox, placeLabels, prepareInput, scanTiles, smooth, summaryFace, weightedNms, wholeInTile,
} from "./pipeline.js";

const COLOURS = ["#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#9a6324"];
const SIMD_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10,
  10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11]); // a function returning an i8x16 splat: SIMD or not

const absolute = (url) => new URL(url, window.location.href).href;
const base64 = (buffer) => btoa(String.fromCharCode(...new Uint8Array(buffer)));

const CACHE = "fer-demo-live"; // addresses carry the file's hash: an entry never goes stale
const CACHE_ENTRIES = 8; // the runtime, the detector and a few models

/**
 * A file the page was told about: from the browser's Cache API when a visit already fetched it
 * (the HTTP cache may refuse files this large), else from the network with progress. Its hash is
 * checked either way.
 */
async function download(asset, onBytes) {
  const url = absolute(asset.url);
  const store = window.caches ? await caches.open(CACHE).catch(() => null) : null;
  const cached = store ? await store.match(url) : undefined;
  const response = cached ?? await fetch(url);
  if (!response.ok) throw new Error(`${asset.url}: HTTP ${response.status}`);
  const reader = response.body.getReader();
  const chunks = [];
  let received = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    received += value.length;
    onBytes(value.length);
  }
  const bytes = new Uint8Array(received);
  let at = 0;
  for (const chunk of chunks) { bytes.set(chunk, at); at += chunk.length; }
  const [algorithm, expected] = [asset.integrity.slice(0, 6), asset.integrity.slice(7)];
  const digest = await crypto.subtle.digest({ sha384: "SHA-384", sha256: "SHA-256" }[algorithm], bytes);
  let actual = "";
  for (let i = 0; i < digest.byteLength; i += 4096) actual += base64(digest.slice(i, i + 4096));
  if (actual !== expected) {
    if (cached) await store.delete(url);
    throw new Error(`${asset.url} is not the expected file (integrity check failed)`);
  }
  if (store && !cached) {
    await store.put(url, new Response(bytes)).catch(() => {}); // a full disk only costs a download
    const keys = await store.keys();
    await Promise.all(keys.slice(0, Math.max(0, keys.length - CACHE_ENTRIES)).map((key) => store.delete(key)));
  }
  return bytes.buffer;
}

/** One ONNX model in a Web Worker (onnx-worker.js). */
class Runner {
  constructor(workerUrl) {
    this.worker = new Worker(workerUrl, { type: "module" });
    this.waiting = new Map();
    this.next = 1;
    this.busy = false;
    this.worker.onmessage = ({ data }) => {
      const done = this.waiting.get(data.id);
      this.waiting.delete(data.id);
      if (data.ok) done.resolve(data); else done.reject(new Error(data.error));
    };
    this.worker.onerror = (event) => {
      for (const done of this.waiting.values()) done.reject(new Error(event.message || "worker failed"));
      this.waiting.clear();
    };
  }

  call(message, transfer = []) {
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker.postMessage({ ...message, id }, transfer);
    });
  }

  start(runtime, model) {
    return this.call({ kind: "start", runtime, model, threads: 1 }, [model]);
  }

  async run(input, dims) {
    this.busy = true;
    try {
      return await this.call({ kind: "run", input, dims }, [input.buffer]);
    } finally {
      this.busy = false;
    }
  }

  stop() {
    this.worker.terminate();
  }
}

const downloads = {}; // url -> ArrayBuffer promise: each file is fetched once per page

/** Fetch ``asset`` once per page (later calls share the first download). */
function fetchOnce(asset, onBytes = () => {}) {
  downloads[asset.url] ??= download(asset, onBytes);
  return downloads[asset.url];
}

let runtime = null;

/** onnxruntime-web's files, fetched and checked once per page, as the workers load them. */
async function loadRuntime(files, onBytes = () => {}) {
  const [moduleCode, loaderCode, wasm] = await Promise.all(
    [files.module, files.loader, files.wasm].map((asset) => fetchOnce(asset, onBytes)),
  );
  const script = (code) => URL.createObjectURL(new Blob([code], { type: "text/javascript" }));
  runtime ??= { module: script(moduleCode), loader: script(loaderCode), wasm };
  return runtime;
}

/** A worker running the ONNX model ``asset`` (config: the page's configuration). */
export async function startRunner(config, asset, onBytes = () => {}) {
  const [files, bytes] = await Promise.all([loadRuntime(config.runtime, onBytes), fetchOnce(asset, onBytes)]);
  const runner = new Runner(absolute(config.scripts["onnx-worker.js"].url));
  await runner.start(files, bytes.slice(0));
  return runner;
}

/** Frames per second over the last ``window`` seconds, from the times events happened. */
class Rate {
  constructor(window = 2) { this.window = window; this.times = []; }
  forget(now) { while (this.times.length && this.times[0] < now - this.window * 1000) this.times.shift(); }
  tick(now) { this.times.push(now); this.forget(now); }
  value(now) { this.forget(now); return this.times.length / this.window; }
}

const mean = (values) => (values.length ? values.reduce((s, v) => s + v, 0) / values.length : 0);

class LiveView {
  constructor(element, hooks) {
    this.hooks = hooks;
    this.root = document.createElement("div");
    this.root.className = "fer-live";
    this.root.innerHTML = `
      <div class="fer-live-stage">
        <video playsinline muted></video>
        <canvas class="fer-live-overlay"></canvas>
        <div class="fer-live-stats" aria-live="off"></div>
        <div class="fer-live-message" role="status"></div>
        <div class="fer-live-controls">
          <button class="fer-live-toggle" type="button">Start the camera</button>
          <progress class="fer-live-progress" max="1" value="0" hidden></progress>
          <span class="fer-live-loading"></span>
          <button class="fer-live-fallback" type="button" hidden>Analyse on the server instead</button>
        </div>
      </div>`;
    element.appendChild(this.root);
    const $ = (selector) => this.root.querySelector(selector);
    Object.assign(this, {
      video: $("video"), overlay: $(".fer-live-overlay"), stats: $(".fer-live-stats"),
      message: $(".fer-live-message"), toggle: $(".fer-live-toggle"), progress: $(".fer-live-progress"),
      loading: $(".fer-live-loading"), fallbackButton: $(".fer-live-fallback"),
    });
    this.toggle.onclick = () => (this.running ? this.stop("Camera stopped.") : this.start());
    this.fallbackButton.onclick = () => this.hooks.fallback();
    this.frame = document.createElement("canvas");
    this.frameContext = this.frame.getContext("2d", { willReadFrequently: true });
    this.square = document.createElement("canvas");
    this.square.width = this.square.height = DETECTOR_SIDE;
    this.squareContext = this.square.getContext("2d", { willReadFrequently: true });
    this.anchors = blazefaceAnchors();
    this.running = false;
    this.origin = performance.now();
    this.debug = window.__ferLive = {
      state: "idle", detections: 0, classifications: 0, summariesSent: 0,
      faces: [], errors: [], overlays: 0,
    };
  }

  // ---- configuration and loading --------------------------------------------------------------
  configure(config) {
    const modelChanged = this.config?.model?.url !== config.model.url;
    this.config = config;
    if (config.problem) return this.fail(config.problem);
    if (config.model.url) this.modelNamed?.();
    if (modelChanged && this.classifier) {
      this.classifier.stop();
      this.classifier = null;
      this.outputs = new Map();
      if (this.running) this.loadModel().catch((error) => this.fail(String(error.message ?? error)));
    }
    this.say(this.running ? "" : `${config.model.display_name}, live in this browser, faces found by `
      + `${config.detector.name}: no camera frame leaves this device. Press Start.`);
  }

  async loadAll() {
    const { runtime, detector, model } = this.config;
    const needed = [runtime.module, runtime.loader, runtime.wasm, detector, model]
      .filter((asset) => asset.url && !downloads[asset.url]);
    const total = needed.reduce((s, a) => s + a.bytes, 0);
    let received = 0;
    const began = performance.now();
    const onBytes = (n) => {
      received += n;
      this.progress.value = total ? received / total : 1;
      this.loading.textContent = `Loading the models: ${(received / 1e6).toFixed(1)} of ${(total / 1e6).toFixed(1)} MB`;
    };
    this.progress.hidden = total === 0;
    const detecting = this.detector ? null : startRunner(this.config, detector, onBytes);
    await this.loadModel(onBytes);
    this.detector ??= await detecting;
    this.progress.hidden = true;
    this.loading.textContent = "";
    this.debug.loadSeconds = (performance.now() - began) / 1000;
    this.debug.loadedBytes = received;
  }

  async loadModel(onBytes = () => {}) {
    if (!this.config.model.url) { // the server is still loading it: its file is named when ready
      this.say(`Preparing ${this.config.model.display_name} on the server…`);
      await new Promise((resolve) => { this.modelNamed = resolve; });
      this.say("Loading the models…");
    }
    const model = this.config.model;
    const runner = await startRunner(this.config, model, onBytes);
    if (this.config.model.url !== model.url) return runner.stop(); // switched meanwhile
    this.classifier = runner;
    this.classifierModel = model;
    this.outputs = new Map();
    this.tracker.reset();
  }

  // ---- start and stop -------------------------------------------------------------------------
  async start() {
    if (!WebAssembly.validate(SIMD_PROBE)) {
      return this.fail("This browser cannot run the models here (no WebAssembly SIMD).");
    }
    if (!navigator.mediaDevices?.getUserMedia || !window.crypto?.subtle) {
      return this.fail("The camera needs a secure page (https) and a browser that offers it.");
    }
    this.running = true;
    this.toggle.textContent = "Stop the camera";
    this.debug.state = "loading";
    this.tracker = new Tracker({ minHits: this.config.min_hits, memory: this.config.memory });
    this.outputs = new Map();
    try {
      const side = this.config.camera_side;
      const camera = navigator.mediaDevices.getUserMedia({
        video: { width: { ideal: side }, height: { ideal: Math.round(side * 3 / 4) }, facingMode: "user" },
        audio: false,
      });
      this.say("Loading the models…");
      const [stream] = await Promise.all([camera, this.loadAll()]);
      if (!this.running) return stream.getTracks().forEach((track) => track.stop());
      this.stream = stream;
      stream.getVideoTracks()[0].addEventListener("ended", () => this.stop("The camera stopped (unplugged or taken by another app)."));
      this.video.srcObject = stream;
      await this.video.play();
    } catch (error) {
      const denied = error?.name === "NotAllowedError" || error?.name === "NotFoundError";
      return this.fail(denied ? "No camera is available or access was refused." : String(error.message ?? error));
    }
    this.say("");
    this.debug.state = "running";
    this.rows = [];
    this.rates = { detect: new Rate(), classify: new Rate() };
    this.timings = { detect: [], classify: [] };
    this.summaryTimer = setInterval(() => this.tick(), this.config.summary_every * 1000);
    this.video.requestVideoFrameCallback(this.onFrame);
  }

  stop(message) {
    this.running = false;
    clearInterval(this.summaryTimer);
    this.stream?.getTracks().forEach((track) => track.stop());
    this.stream = null;
    this.video.srcObject = null;
    this.overlay.getContext("2d").clearRect(0, 0, this.overlay.width, this.overlay.height);
    this.toggle.textContent = "Start the camera";
    this.debug.state = "stopped";
    this.say(message);
    this.sendSummary();
  }

  fail(message) {
    if (this.running) this.stop(message);
    this.debug.state = "failed";
    this.debug.errors.push(message);
    this.progress.hidden = true;
    this.loading.textContent = "";
    this.fallbackButton.hidden = false;
    this.say(`${message} The server-side mode can still analyse the camera.`);
  }

  say(text) {
    this.message.textContent = text;
    this.message.hidden = !text;
  }

  // ---- the loop -------------------------------------------------------------------------------
  /** Once a second: the summary, or the camera let go when the view was hidden (another mode or tab). */
  tick() {
    if (this.root.offsetParent === null) this.stop("Camera stopped: the live view was hidden.");
    else this.sendSummary();
  }

  onFrame = () => {
    if (!this.running) return;
    this.video.requestVideoFrameCallback(this.onFrame);
    if (!this.detector.busy) this.detect().catch((error) => this.fail(String(error.message ?? error)));
  };

  async detect() {
    const { videoWidth: width, videoHeight: height } = this.video;
    if (!width || !height) return;
    this.latest = null; // the canvas is about to hold a frame whose faces are not found yet
    if (this.frame.width !== width || this.frame.height !== height) {
      Object.assign(this.frame, { width, height });
      Object.assign(this.overlay, { width, height });
      this.tracker.reset();
    }
    const began = performance.now();
    this.frameContext.drawImage(this.video, 0, 0, width, height);
    const { detector } = this.config;
    const options = {
      threshold: detector.threshold, iou: detector.overlap, minSize: detector.min_face, boxFit: detector.box_fit,
    };
    const found = [];
    // The whole frame, then in turn: close-ups of the small faces being tracked (new ones and the
    // longest unseen first), or one tile of the frame for faces too small to see whole. Taking
    // turns keeps the detector's cost near what two faces cost before a crowd could be seen.
    const turn = this.debug.detections % 2;
    const tiles = scanTiles(width, height);
    const tile = turn ? tiles[((this.debug.detections - 1) / 2) % tiles.length] : null;
    const closer = turn ? [] : closeUps(this.tracker.tracks, width, height);
    for (const fit of [letterbox(width, height), ...(tile ? [tile] : []), ...closer]) {
      this.squareContext.fillStyle = "#000";
      this.squareContext.fillRect(0, 0, DETECTOR_SIDE, DETECTOR_SIDE);
      this.squareContext.drawImage(this.frame, ...fit.source, ...fit.target);
      const pixels = this.squareContext.getImageData(0, 0, DETECTOR_SIDE, DETECTOR_SIDE).data;
      const { outputs } = await this.detector.run(detectorInput(pixels), [1, 3, DETECTOR_SIDE, DETECTOR_SIDE]);
      if (!this.running) return;
      const faces = decodeFaces(outputs.regressors, outputs.classificators, this.anchors, fit, options);
      found.push(...(fit === tile ? faces.filter((face) => wholeInTile(face, fit, width, height)) : faces));
    }
    const faces = weightedNms(found, detector.overlap); // a face seen whole and close up is one face
    const time = (began - this.origin) / 1000;
    const tracks = this.tracker.update(faces, time);
    this.timings.detect.push(performance.now() - began);
    this.rates.detect.tick(performance.now());
    this.debug.detections += 1;
    this.latest = { tracks, time }; // the frame on the canvas and its faces, until the next detection
    this.classify(tracks, time);
    this.record(time, tracks);
    this.draw(tracks);
  }

  classify(tracks, time) {
    const model = this.classifierModel;
    if (!this.classifier || this.classifier.busy || !tracks.length) return;
    const period = 1 / this.config.classify_rate;
    const due = tracks
      .filter((track) => time - (this.outputs.get(track.id)?.classified ?? -Infinity) >= period)
      .sort((a, b) => (this.outputs.get(a.id)?.classified ?? -Infinity) - (this.outputs.get(b.id)?.classified ?? -Infinity));
    if (!due.length) return;
    const track = due[0];
    const rect = cropRect(track.box, this.frame.width, this.frame.height, model.crop);
    if (!rect) return;
    const { outer, inside } = rect;
    const [w, h] = [outer.x2 - outer.x1, outer.y2 - outer.y1];
    const crop = new Uint8ClampedArray(w * h * 4); // black where the box leaves the frame
    const part = this.frameContext.getImageData(inside.x1, inside.y1, inside.x2 - inside.x1, inside.y2 - inside.y1);
    for (let y = 0; y < part.height; y++) {
      const from = y * part.width * 4;
      crop.set(part.data.subarray(from, from + part.width * 4), ((y + inside.y1 - outer.y1) * w + inside.x1 - outer.x1) * 4);
    }
    const pre = model.preprocessing;
    const channels = pre.color === "gray" ? 1 : 3;
    const input = prepareInput(crop, w, h, pre);
    const began = performance.now();
    const previous = this.outputs.get(track.id);
    this.outputs.set(track.id, { ...previous, classified: time }); // not due again while in flight
    this.classifier.run(input, [1, channels, pre.size, pre.size]).then(({ outputs }) => {
      if (model !== this.classifierModel) return;
      const raw = Object.values(outputs)[0];
      const result = smooth(previous?.result, interpret(raw, model), time - (previous?.time ?? time), this.config.smoothing);
      this.outputs.set(track.id, { result, time, classified: time });
      this.timings.classify.push(performance.now() - began);
      this.rates.classify.tick(performance.now());
      this.debug.classifications += 1;
      // Next face at once, while the canvas still holds the frame its box was found on.
      if (this.running && !this.detector.busy && this.latest) this.classify(this.latest.tracks, this.latest.time);
    }).catch((error) => this.fail(String(error.message ?? error)));
  }

  record(time, tracks) {
    const model = this.classifierModel;
    const faces = [];
    for (const track of tracks.slice(0, this.config.max_faces)) { // the server refuses more
      const output = this.outputs.get(track.id)?.result;
      if (output && model) faces.push(summaryFace(track.id, track.box, output, model));
    }
    this.rows.push([Math.round(time * 1e4) / 1e4, Math.min(tracks.length, this.config.max_faces), faces]);
    if (this.rows.length > 100) this.rows.splice(0, this.rows.length - 100);
    this.debug.faces = faces.map(([id]) => ({ id, label: this.topLabel(id)?.label }));
  }

  topLabel(id) {
    const output = this.outputs.get(id)?.result;
    if (!output) return null;
    const [label, p] = Object.entries(output.probabilities).reduce((a, b) => (b[1] > a[1] ? b : a));
    return { label, p };
  }

  draw(tracks) {
    const context = this.overlay.getContext("2d");
    const { width, height } = this.overlay;
    context.clearRect(0, 0, width, height);
    const size = Math.max(12, Math.round(height / 24));
    context.font = `600 ${size}px "Source Sans Pro", system-ui, sans-serif`;
    context.lineWidth = Math.max(2, height / 240);
    const shown = tracks.map((track) => {
      const { x1, y1, x2, y2 } = track.box;
      const top = this.topLabel(track.id);
      const text = top ? `#${track.id} ${top.label} ${Math.round(top.p * 100)}%` : `#${track.id}`;
      const box = { x1: width - x2, y1, x2: width - x1, y2 }; // the video is shown mirrored, like a mirror
      return { colour: COLOURS[(track.id - 1) % COLOURS.length], box, text, size: [context.measureText(text).width + 8, size + 6] };
    });
    const corners = placeLabels(shown.map((s) => s.box), shown.map((s) => s.size), width, height);
    shown.forEach(({ colour, box, text, size: [w, h] }, i) => {
      context.strokeStyle = colour;
      context.strokeRect(box.x1, box.y1, box.x2 - box.x1, box.y2 - box.y1);
      const [left, top] = corners[i];
      context.fillStyle = colour;
      context.fillRect(left, top, w, h);
      context.fillStyle = "#fff";
      context.fillText(text, left + 4, top + size);
    });
    this.debug.overlays += 1;
    for (const stage of ["detect", "classify"]) { // the last 30 of each, for the corner and the benchmark
      this.timings[stage] = this.timings[stage].slice(-30);
    }
    const now = performance.now();
    const perFace = this.rates.classify.value(now) / Math.max(1, tracks.length);
    this.stats.textContent = `${this.rates.detect.value(now).toFixed(0)} fps`
      + ` · detect ${mean(this.timings.detect).toFixed(0)} ms · classify ${mean(this.timings.classify).toFixed(0)} ms`
      + ` · ${perFace.toFixed(1)}/s per face`;
    Object.assign(this.debug, { detectMs: this.timings.detect, classifyMs: this.timings.classify });
  }

  // ---- the server's share: numbers for the timeline and the CSV --------------------------------
  sendSummary() {
    if (!this.rows?.length || !this.classifierModel) return;
    // One string: Gradio walks every list of an event's data (summary.py says why).
    this.hooks.summary({ model: this.classifierModel.name, frames: JSON.stringify(this.rows.splice(0)) });
    this.debug.summariesSent += 1;
  }
}

/** Build the live view in ``element``; ``hooks`` reach Python (summary, fallback). */
export function mount(element, config, hooks) {
  const view = new LiveView(element, hooks);
  view.configure(config);
  return view;
}
