"""The package's layers: every import, lazy ones included, points down, and no module imports
itself back through others. A newcomer reads the layers in the README's Architecture section."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.support.paths import ROOT

PACKAGE = ROOT / "fer_demo"
# Lowest first; a module may import from its own layer or any below.
LAYERS = [
    {"config", "errors", "durations"},
    {"models", "media"},
    {"analysis"},
    {"presentation", "browser"},
    {"workflow"},
    {"corpus", "ui"},
    {"api"},
    {"cli"},
    {"__main__"},
]
RANK = {part: rank for rank, parts in enumerate(LAYERS) for part in parts}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_module(name: str) -> bool:
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def imports(path: Path) -> set[str]:
    """Every fer_demo module ``path`` imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("fer_demo"):
            if node.module == "fer_demo":  # the root package: its version (the base) or the API it exposes
                found |= {"fer_demo.api" for alias in node.names if alias.name != "__version__"}
                continue
            for alias in node.names:  # "from fer_demo.workflow import video_job" names a module
                submodule = f"{node.module}.{alias.name}"
                found.add(submodule if is_module(submodule) else node.module)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("fer_demo.")}
    return found


def layer(module: str) -> str:
    return "api" if module == "fer_demo" else module.split(".")[1]  # the root package exposes the API


GRAPH = {module_name(path): imports(path) for path in PACKAGE.rglob("*.py")}


def test_every_import_points_down_the_layers():
    upward = [
        f"{module} imports {target}"
        for module, targets in GRAPH.items()
        for target in targets
        if RANK[layer(target)] > RANK[layer(module)]
    ]
    assert not upward, upward
    assert {layer(module) for module in GRAPH} == set(RANK)  # every layer is named


def test_no_module_imports_itself_back():
    def resolve(target: str) -> str | None:  # "fer_demo.a.b" may name a module or a package
        return target if target in GRAPH else None

    state: dict[str, str] = {}
    cycles = []

    def visit(module: str, trail: list[str]) -> None:
        state[module] = "open"
        for target in sorted(filter(None, map(resolve, GRAPH[module]))):
            if state.get(target) == "open":
                cycles.append(" -> ".join([*trail[trail.index(target):], target]))
            elif target not in state:
                visit(target, [*trail, target])
        state[module] = "done"

    for module in sorted(GRAPH):
        if module not in state:
            visit(module, [module])
    # A package's __init__ importing its own modules is how it names what it offers: not a cycle.
    def own_package(cycle: str) -> bool:
        parts = cycle.split(" -> ")
        return all(part.startswith(parts[-1]) or parts[-1].startswith(part) for part in parts)

    real = [cycle for cycle in cycles if not own_package(cycle)]
    assert not real, real
