"""face-api.js itself, in Node: the reference the PyTorch FaceRecognitionNet is checked against.

The npm packages (face-api.js and the TensorFlow.js it runs on, pinned) are installed once
into ``FER_DEMO_FACE_API_DIR`` (default ``~/.cache/fer-demo/face-api-node``) from the npm
registry; ``tools/face_api_descriptors.mjs`` runs the original network there.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np

from tests.support.paths import ROOT

PACKAGES = ["@vladmandic/face-api@1.7.15", "@tensorflow/tfjs@4.22.0", "@tensorflow/tfjs-backend-wasm@4.22.0"]


def project_dir() -> Path:
    default = Path.home() / ".cache" / "fer-demo" / "face-api-node"
    return Path(os.environ.get("FER_DEMO_FACE_API_DIR") or default)


def installed() -> Path | None:
    """The Node project with face-api.js, installed if needed; None without node and npm."""
    folder = project_dir()
    if (folder / "node_modules" / "@vladmandic" / "face-api" / "model").is_dir():
        return folder
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        return None
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "package.json").write_text(json.dumps({"name": "fer-demo-face-api-reference", "private": True}))
    subprocess.run([npm, "install", "--no-audit", "--no-fund", "--ignore-scripts", *PACKAGES], cwd=folder,
                   check=True, capture_output=True, timeout=600)  # fmt: skip
    return folder


def reference_descriptors(faces: list[np.ndarray], scratch: Path) -> np.ndarray:
    """face-api.js's descriptors of 150x150 RGB uint8 faces: (N, 128)."""
    folder = installed()
    assert folder is not None, "node and npm are needed for the face-api.js reference"
    path = scratch / "faces.u8"
    np.stack(faces).astype(np.uint8).tofile(path)
    script = ROOT / "tools" / "face_api_descriptors.mjs"
    done = subprocess.run(["node", str(script), str(folder), str(path), str(len(faces))], capture_output=True,
                          text=True, check=True, timeout=600)  # fmt: skip
    return np.array(json.loads(done.stdout)["descriptors"], np.float32)
