// face-api.js's own FaceRecognitionNet in Node, on faces the Python side prepared: the reference
// the PyTorch port (fer_demo/models/face_recognition.py) is compared with.
//
//   node tools/face_api_descriptors.mjs PROJECT FACES.u8 COUNT > descriptors.json
//
// PROJECT is an npm folder with @vladmandic/face-api@1.7.15, @tensorflow/tfjs@4.22.0 and
// @tensorflow/tfjs-backend-wasm@4.22.0 installed (the Node build of face-api.js needs them;
// the plain-JavaScript CPU backend runs it). FACES.u8 holds COUNT faces of 150x150 RGB uint8,
// row after row. Prints {"descriptors": [[128 numbers], ...], "backend", "tfjs"}.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const [project, facesPath, countText] = process.argv.slice(2);
const require = createRequire(join(project, "package.json"));
const faceapi = require("@vladmandic/face-api/dist/face-api.node-wasm.js");
const { tf } = faceapi;
await tf.setBackend("cpu");
await tf.ready();

const packageDir = dirname(require.resolve("@vladmandic/face-api/package.json"));
const model = join(packageDir, "model", "face_recognition_model");
const manifest = JSON.parse(readFileSync(`${model}-weights_manifest.json`, "utf8"));
const bytes = readFileSync(`${model}.bin`);
const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
const net = faceapi.nets.faceRecognitionNet;
net.loadFromWeightMap(tf.io.decodeWeights(buffer, manifest[0].weights));

const count = Number(countText);
const faces = new Uint8Array(readFileSync(facesPath));
const side = 150;
const descriptors = [];
for (let i = 0; i < count; i += 1) {
  const face = tf.tensor3d(faces.subarray(i * side * side * 3, (i + 1) * side * side * 3), [side, side, 3], "int32");
  descriptors.push(Array.from(await net.computeFaceDescriptor(face)));
  face.dispose();
}
process.stdout.write(JSON.stringify({ descriptors, backend: tf.getBackend(), tfjs: tf.version_core }));
