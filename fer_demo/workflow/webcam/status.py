"""The live status line's words (a pure function of what the session knows)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StatusFacts:
    """What the status line reports about the latest frame and the session."""

    faces: int  # faces shown now
    seconds: float  # session time
    frames_per_s: float  # frames analysed per second lately
    dark: bool = False  # the picture is almost black
    none_found: bool = False  # a detection ran and found no face
    too_small: int = 0  # faces too small to read (grey boxes)
    notice: str | None = None  # a one-off event: a restart, a new model


def status_text(facts: StatusFacts) -> str:
    if facts.faces:
        found = f"**{facts.faces} face{'s' if facts.faces != 1 else ''}**"
    elif facts.dark:
        found = "**The picture is black**: is the lens covered or the room dark?"
    elif facts.none_found:  # only a detection that ran and found nothing says so
        found = "**No face found**: face the camera in good light"
    else:
        found = "Looking for faces…"
    parts = [found, f"{facts.frames_per_s:.1f} frames/s analysed", f"{facts.seconds:.0f} s recorded"]
    if facts.too_small:
        parts.insert(1, f"{facts.too_small} more too small to read (grey boxes)")
    if facts.notice:
        parts.append(facts.notice)
    return " · ".join(parts)
