// One ONNX model on onnxruntime-web's WebAssembly backend, off the page's main thread, so the
// camera and the overlay never wait for a network. The page runs two: the detector and the
// classifier, each on one thread of its own.
let ort = null;
let session = null;

async function start({ runtime, model, threads }) {
  ort = await import(runtime.module);
  ort.env.wasm.numThreads = threads;
  ort.env.wasm.wasmPaths = { mjs: runtime.loader };
  ort.env.wasm.wasmBinary = runtime.wasm;
  session = await ort.InferenceSession.create(model, { executionProviders: ["wasm"], graphOptimizationLevel: "all" });
  return { inputs: session.inputNames, outputs: session.outputNames };
}

async function run({ input, dims }) {
  const began = performance.now();
  const results = await session.run({ [session.inputNames[0]]: new ort.Tensor("float32", input, dims) });
  const outputs = {};
  for (const name of session.outputNames) outputs[name] = results[name].data;
  return { outputs, ms: performance.now() - began };
}

self.onmessage = async ({ data }) => {
  try {
    const reply = data.kind === "start" ? await start(data) : await run(data);
    self.postMessage({ id: data.id, ok: true, ...reply });
  } catch (error) {
    self.postMessage({ id: data.id, ok: false, error: String(error?.message ?? error) });
  }
};
