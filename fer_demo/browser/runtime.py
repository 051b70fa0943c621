"""onnxruntime-web, the WebAssembly runtime the live page runs its models on: pinned files.

By default the page fetches the three files of the CPU (WebAssembly) build
from a public CDN, each checked against the hash below (Subresource
Integrity), so a tampered CDN copy is refused. With ``FER_DEMO_ORT_DIR`` set
to a folder holding the same files (``npm pack onnxruntime-web@1.30.0``, then
its ``package/dist``), the app serves them itself: offline, and what the
tests and CI do. A local file whose hash differs is refused at start-up.
"""

from __future__ import annotations

from pathlib import Path

from fer_demo.browser.assets import Asset, AssetServer, integrity_of

VERSION = "1.30.0"  # npm onnxruntime-web, MIT
CDN = f"https://cdn.jsdelivr.net/npm/onnxruntime-web@{VERSION}/dist/"
# Hashes of the npm package's files (jsDelivr serves the package as published).
FILES = {
    "ort.wasm.min.mjs": (
        "sha384-SfFfy/pvthiOsgaw3KX0bV5TfQ6Iq+oY9KutMe4SxIuHH4cl+DCSD4rTsYOoG1tJ",
        50_126,
    ),
    "ort-wasm-simd-threaded.mjs": (
        "sha384-XcXA/MtAf0WpB8e023xQH9CM7RIjiugakT7x99DIwpFf7k56BIFFcAPerIF7FDad",
        24_381,
    ),
    "ort-wasm-simd-threaded.wasm": (
        "sha384-vjBJ1z7qrhkTyYsNqKeF6c7N+nOJSU94czEo+tvZcu8G75JparGq9kB+kTnEUNVM",
        14_239_897,
    ),
}
ROLES = {
    "module": "ort.wasm.min.mjs",
    "loader": "ort-wasm-simd-threaded.mjs",
    "wasm": "ort-wasm-simd-threaded.wasm",
}


def runtime_assets(server: AssetServer, local_dir: Path | None) -> dict[str, Asset]:
    """The runtime's files by role (module, loader, wasm), from the CDN or served from ``local_dir``.

    Raises:
        ValueError: a local file is missing or is not the pinned version.
    """
    if local_dir is None:
        return {role: Asset(CDN + name, *FILES[name]) for role, name in ROLES.items()}
    for name, (expected, _) in FILES.items():
        path = local_dir / name
        if not path.is_file():
            raise ValueError(f"{path} is missing (npm pack onnxruntime-web@{VERSION}; use its package/dist)")
        if integrity_of(path) != expected:
            raise ValueError(f"{path} is not onnxruntime-web {VERSION}'s {name}")
    served = server.add_folder(local_dir, list(FILES))
    return {role: served[name] for role, name in ROLES.items()}
