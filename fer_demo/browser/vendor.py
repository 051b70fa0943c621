"""Put onnxruntime-web's files in a folder, for ``FER_DEMO_ORT_DIR`` (an app that never uses the CDN).

    python -m fer_demo.browser.vendor ~/.cache/fer-demo/onnxruntime-web

Runs ``npm pack onnxruntime-web@<pinned version>`` (the npm registry only),
keeps the three files the live mode loads and checks their hashes. A folder
that already holds the right files is left as it is.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

from fer_demo.browser.assets import integrity_of
from fer_demo.browser.runtime import FILES, VERSION


def local_folder() -> Path:
    """Where the tests and benchmarks keep the runtime: ``FER_DEMO_ORT_DIR``, else a user cache."""
    default = Path.home() / ".cache" / "fer-demo" / "onnxruntime-web"
    return Path(os.environ.get("FER_DEMO_ORT_DIR") or default)


def has_runtime(folder: Path) -> bool:
    """Whether ``folder`` holds the pinned files, byte for byte."""
    files = [(folder / name, sri) for name, (sri, _) in FILES.items()]
    return all(path.is_file() and integrity_of(path) == sri for path, sri in files)


def vendor_runtime(folder: Path) -> Path:
    """``folder`` holding the pinned runtime files, fetched with npm if needed."""
    if has_runtime(folder):
        return folder
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is not installed: it fetches onnxruntime-web from the npm registry")
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([npm, "pack", f"onnxruntime-web@{VERSION}", "--silent"], cwd=tmp, check=True,
                       capture_output=True, timeout=600)  # fmt: skip
        (tarball,) = Path(tmp).glob("onnxruntime-web-*.tgz")
        with tarfile.open(tarball) as archive:
            for name in FILES:
                member = archive.extractfile(f"package/dist/{name}")
                partial = folder / f"{name}.part"
                partial.write_bytes(member.read())
                partial.replace(folder / name)
    if not has_runtime(folder):
        raise RuntimeError(f"the files npm gave for onnxruntime-web {VERSION} do not match the pinned hashes")
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    folder = vendor_runtime(parser.parse_args().folder)
    print(f"onnxruntime-web {VERSION} is in {folder}: FER_DEMO_ORT_DIR={folder}")


if __name__ == "__main__":
    main()
