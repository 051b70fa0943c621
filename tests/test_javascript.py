"""The live page's JavaScript held to the Python's standard: unit tests (node --test) and ESLint.

The unit tests (``tests/js``) need Node alone. ESLint and its rules, pinned by
``package-lock.json``, are installed with ``npm ci`` into a cache outside the
repository (``FER_DEMO_JS_TOOLS``, else ``~/.cache/fer-demo/js-tools``), once
and again whenever the lock changes; the repository's ``eslint.config.js`` is copied
beside them, because ESLint resolves the config's imports from the config's own
folder (with ``--config`` the file patterns stay relative to the repository).
Without Node or npm these tests skip, unless ``FER_DEMO_REQUIRE_BROWSER=1`` (CI)
makes that a failure.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
JS_TESTS = ROOT / "tests" / "js"
TOOL_FILES = ("package.json", "package-lock.json")


def require_node(message: str) -> None:
    """Skip, or fail where the JavaScript must be checked (CI sets FER_DEMO_REQUIRE_BROWSER=1)."""
    if os.environ.get("FER_DEMO_REQUIRE_BROWSER") == "1":
        pytest.fail(message)
    pytest.skip(message)


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        require_node(f"{name} is not installed (Node.js and npm check the live page's JavaScript)")
    return path


def run(command: list[str], cwd: Path, timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def passed(result: subprocess.CompletedProcess, what: str) -> None:
    """Fail with the tool's own report (its last lines) unless it exited cleanly."""
    if result.returncode != 0:
        pytest.fail(f"{what}:\n{result.stdout[-6000:]}\n{result.stderr[-2000:]}", pytrace=False)


@pytest.fixture(scope="module")
def eslint() -> list[str]:
    """The command that runs the pinned ESLint with the repository's config, from the cache."""
    node, npm = tool("node"), tool("npm")
    cache = Path(os.environ.get("FER_DEMO_JS_TOOLS") or Path.home() / ".cache" / "fer-demo" / "js-tools")
    lock = (ROOT / "package-lock.json").read_text()
    stamp = cache / "installed.lock"  # written after a successful npm ci: a failed one is retried
    binary = cache / "node_modules" / "eslint" / "bin" / "eslint.js"
    if not (binary.is_file() and stamp.is_file() and stamp.read_text() == lock):
        cache.mkdir(parents=True, exist_ok=True)
        stamp.unlink(missing_ok=True)
        for name in TOOL_FILES:
            shutil.copyfile(ROOT / name, cache / name)
        installed = run([npm, "ci", "--no-audit", "--no-fund"], cache, timeout=600)
        if installed.returncode != 0:
            require_node(f"npm ci could not install the JavaScript tools:\n{installed.stderr[-2000:]}")
        stamp.write_text(lock)
    shutil.copyfile(ROOT / "eslint.config.js", cache / "eslint.config.js")
    # The arguments of the project's own `npm run lint`, so both check the same files.
    script = shlex.split(json.loads((ROOT / "package.json").read_text())["scripts"]["lint"])
    assert script[0] == "eslint"
    config = cache / "eslint.config.js"
    return [node, str(binary), "--config", str(config), "--max-warnings", "0", *script[1:]]


def test_the_pure_functions_of_the_live_page_pass_their_unit_tests():
    node = tool("node")
    files = sorted(str(path) for path in JS_TESTS.glob("*.test.js"))
    assert files, "no JavaScript tests found"
    passed(run([node, "--test", *files], ROOT, timeout=300), "node --test failed")


def test_the_javascript_is_lint_clean(eslint):
    passed(run(eslint, ROOT, timeout=300), "ESLint found problems")
