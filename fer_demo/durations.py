"""Durations in the words people use: "9 min 40 s", not "580.0 s" or "9.7 min"."""

from __future__ import annotations


def duration_text(seconds: float, precise: bool = False) -> str:
    """``42 s``, ``9 min 40 s``, ``10 min``, ``1 h 5 min``; tenths below 10 s, or always if ``precise``."""
    if seconds < 10 or (precise and seconds < 3600):
        if seconds < 60:
            return f"{seconds:.1f} s"
        minutes, rest = divmod(seconds, 60)
        return f"{minutes:.0f} min {rest:.1f} s"
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        minutes, rest = divmod(whole, 60)
        return f"{minutes} min {rest} s" if rest else f"{minutes} min"
    hours, rest = divmod(whole, 3600)
    minutes = round(rest / 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def over_limit_text(seconds: float, limit: float) -> tuple[str, str]:
    """Both durations, the first with tenths when rounding would make it read as the limit itself."""
    text, limit_text = duration_text(seconds), duration_text(limit)
    return (duration_text(seconds, precise=True) if text == limit_text else text), limit_text
