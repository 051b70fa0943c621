"""Widget and API values, checked: a hostile or out-of-range value gets a message naming the setting."""

from __future__ import annotations

from typing import Any

from fer_demo.config import DetectionOptions
from fer_demo.errors import InputError

NO_TEMPORAL = "none"  # the temporal-model picker's "no LSTM" choice


def as_number(value: Any, label: str, low: float, high: float, whole: bool = False) -> float:
    """An API or widget value as a number in [low, high], or a message naming the setting and its range."""
    kind = "a whole number" if whole else "a number"
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        raise InputError(f"{label} must be {kind} from {low:g} to {high:g}; got {value!r}.") from None
    if not low <= number <= high or (whole and number != int(number)):
        raise InputError(f"{label} must be {kind} from {low:g} to {high:g}; got {value!r}.")
    return int(number) if whole else number


def detection_options(threshold: Any, min_face: Any) -> DetectionOptions:
    """The detection settings of a request, checked."""
    return DetectionOptions(
        as_number(threshold, "The face detection threshold", 0.0, 1.0),
        as_number(min_face, "The minimum face size", 0, 10_000, whole=True),
    )


def chosen_lstm(temporal: str | None) -> str | None:
    """The temporal-model picker's value as an LSTM name, or None for smoothing."""
    return None if temporal in (None, "", NO_TEMPORAL) else temporal
