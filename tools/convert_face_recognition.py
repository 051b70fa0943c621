"""Ship face-api.js's FaceRecognitionNet weights with the package, as published (uint8), in safetensors.

Run once by a maintainer; the result is ``fer_demo/assets/face_recognition_dlib.safetensors``
(6.4 MB) and the package's MIT license beside it. Nothing is converted but the container:
each uint8 tensor keeps its bytes, with the scale and minimum its TF.js manifest gives
(value = q x scale + min); the few float32 tensors stay float32.

    cd /tmp && npm pack @vladmandic/face-api@1.7.15 && tar xzf vladmandic-face-api-1.7.15.tgz
    python tools/convert_face_recognition.py /tmp/package
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np
from safetensors.numpy import save_file

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from fer_demo.models.face_recognition import ASSET, load_network  # noqa: E402

PACKAGE = "@vladmandic/face-api"
VERSION = "1.7.15"
MODEL = "model/face_recognition_model"
LICENSE = ASSET.parent / "LICENSE-face-api.txt"


def read_tfjs(package: Path) -> tuple[list[dict], bytes]:
    """The manifest's tensor entries, in file order, and the weight file's bytes."""
    manifest = json.loads((package / f"{MODEL}-weights_manifest.json").read_text())
    if len(manifest) != 1 or manifest[0]["paths"] != ["face_recognition_model.bin"]:
        raise SystemExit("unexpected manifest: one group in one file was expected")
    return manifest[0]["weights"], (package / f"{MODEL}.bin").read_bytes()


def split(entries: list[dict], data: bytes) -> dict[str, np.ndarray]:
    """Each tensor's stored values: ``name.q`` (uint8) with ``name.scale`` and ``name.min``, or ``name.f``."""
    tensors, offset = {}, 0
    for entry in entries:
        count = int(np.prod(entry["shape"]))
        quantization = entry.get("quantization")
        if quantization is not None:
            if quantization["dtype"] != "uint8":
                raise SystemExit(f"{entry['name']}: {quantization['dtype']} quantization is not handled")
            values = np.frombuffer(data, np.uint8, count, offset).reshape(entry["shape"])
            tensors[f"{entry['name']}.q"] = values.copy()
            tensors[f"{entry['name']}.scale"] = np.array([quantization["scale"]], np.float32)
            tensors[f"{entry['name']}.min"] = np.array([quantization["min"]], np.float32)
            offset += count
        else:
            if entry["dtype"] != "float32":
                raise SystemExit(f"{entry['name']}: {entry['dtype']} is not handled")
            values = np.frombuffer(data, np.float32, count, offset).reshape(entry["shape"])
            tensors[f"{entry['name']}.f"] = values.copy()
            offset += 4 * count
    if offset != len(data):
        raise SystemExit(f"the manifest covers {offset} of the file's {len(data)} bytes")
    return tensors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("package", type=Path, help="the unpacked npm package (its package.json is checked)")
    args = parser.parse_args()
    meta = json.loads((args.package / "package.json").read_text())
    if (meta["name"], meta["version"], meta["license"]) != (PACKAGE, VERSION, "MIT"):
        raise SystemExit(f"expected {PACKAGE}@{VERSION} (MIT), found {meta['name']}@{meta['version']}")
    entries, data = read_tfjs(args.package)
    manifest_bytes = (args.package / f"{MODEL}-weights_manifest.json").read_bytes()
    metadata = {
        "source": f"npm {PACKAGE}@{VERSION}, {MODEL}.bin and its weights manifest",
        "license": "MIT (Vladimir Mandic; face-api.js by Vincent Muehler); a port of dlib's model",
        "bin_sha256": hashlib.sha256(data).hexdigest(),
        "manifest_sha256": hashlib.sha256(manifest_bytes).hexdigest(),
        "stored": "name.q uint8 with name.scale and name.min (value = q * scale + min), or name.f float32",
    }
    save_file(split(entries, data), str(ASSET), metadata=metadata)
    LICENSE.write_text((args.package / "LICENSE").read_text())
    network = load_network(ASSET)  # the file loads strictly into the port: every tensor has its place
    parameters = sum(p.numel() for p in network.parameters())
    size = ASSET.stat().st_size / 1e6
    print(f"wrote {ASSET} ({size:.2f} MB, {len(entries)} tensors, {parameters} parameters)")


if __name__ == "__main__":
    main()
