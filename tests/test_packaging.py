"""The package installs as a library: its wheel carries what runs offline, and its pins are the Space's."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def requirements(name: str) -> list[str]:
    """A requirements file's own lines (no comments, no ``-r`` includes)."""
    lines = (ROOT / name).read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith(("#", "-r"))]


def test_the_package_pins_what_the_space_installs():
    assert PROJECT["dependencies"] == requirements("requirements.txt")
    assert PROJECT["optional-dependencies"]["corpus"] == requirements("requirements-corpus.txt")
    dev = [d for d in PROJECT["optional-dependencies"]["dev"] if not d.startswith("fer-demo")]
    assert dev == requirements("requirements-dev.txt")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("wheel")
    command = [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-q", "-w", str(folder)]
    built = subprocess.run(command, capture_output=True, text=True, timeout=600)
    if built.returncode != 0:
        pytest.fail(f"pip wheel failed:\n{built.stderr[-2000:]}")
    (path,) = folder.glob("fer_demo-*.whl")
    return path


def test_the_wheel_carries_the_embedded_model_the_detector_and_the_live_page(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    package_files = {p.relative_to(ROOT).as_posix() for p in (ROOT / "fer_demo").rglob("*")
                     if p.is_file() and "__pycache__" not in p.parts}  # fmt: skip
    assert package_files <= names  # every module, asset and script of the source tree
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert re.search(r"^fer-demo = fer_demo\.cli:main$", text, re.M)
    assert any(n.endswith("licenses/fer_demo/assets/blazeface/LICENSE-Apache-2.0.txt") for n in names)


def test_the_installed_package_analyses_a_photo_from_outside_the_repository(wheel, tmp_path):
    """Installed without the source tree on the path, the console script's corpus mode runs."""
    target = tmp_path / "site"
    command = [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)]
    subprocess.run(command, check=True, capture_output=True, timeout=600)
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "three.jpg").write_bytes((ROOT / "examples" / "three-people.jpg").read_bytes())
    script = "import sys; from fer_demo.cli import main; sys.exit(main())"
    env = {"PYTHONPATH": str(target), "FER_DEMO_OFFLINE": "1", "PATH": "/usr/bin:/bin",
           "HOME": str(tmp_path), "FER_DEMO_WEIGHTS_DIR": str(tmp_path / "weights")}  # fmt: skip
    ran = subprocess.run([sys.executable, "-c", script, "batch", str(photos), "--out", str(tmp_path / "out")],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)  # fmt: skip
    assert ran.returncode == 0, ran.stderr[-2000:]
    assert "1 done, 0 skipped, 0 failed" in ran.stdout
    import fer_demo

    located = subprocess.run([sys.executable, "-c", "import fer_demo; print(fer_demo.__file__)"],
                             cwd=tmp_path, env=env, capture_output=True, text=True, check=True)  # fmt: skip
    assert Path(located.stdout.strip()).is_relative_to(target) and fer_demo.__file__ != located.stdout.strip()
