"""Where each model's weight files are, and whether they are there.

Resolution order: files shipped inside the package, then the local weights
folder (``FER_DEMO_WEIGHTS_DIR``) under each file's published name.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fer_demo.models.specs import ASSETS, ModelSpec, WeightFile


@dataclass(frozen=True)
class Availability:
    """Whether a model can run now; if not, why and how to fix it, in words for users."""

    available: bool
    reason: str = ""
    fix: str = ""


def local_path(weight: WeightFile, weights_dir: Path) -> Path:
    """Where a weight file lives when present: the package assets or the weights folder."""
    return ASSETS / weight.filename if weight.embedded else Path(weights_dir) / weight.filename


def availability(spec: ModelSpec, weights_dir: Path) -> Availability:
    """Check that every weight file of ``spec`` is on disk, without loading anything."""
    missing = [w for w in spec.weights if not local_path(w, weights_dir).is_file()]
    if not missing:
        return Availability(True)
    names = ", ".join(w.filename for w in missing)
    return Availability(
        False,
        reason=f"weights not found: {names} is not in {weights_dir}",
        fix=f"put {names} into {weights_dir} (set FER_DEMO_WEIGHTS_DIR to use another folder)",
    )
