"""When the live status and plots are redrawn: Plotly JSON is costly to make and to send."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Redraw:
    """Which plots a refresh redraws."""

    timeline: bool
    circumplex: bool


class PlotSchedule:
    """A refresh at most every ``refresh_every`` seconds; the two plots take turns (both on the
    first refresh after a restart), so each costs half the refreshes."""

    def __init__(self, refresh_every: float) -> None:
        self.refresh_every = refresh_every
        self._last = float("-inf")
        self._turn = 0  # refreshes since the last full redraw

    def due(self, time: float) -> bool:
        """Whether a refresh is due at session time ``time``; if so, it counts as done."""
        if time - self._last < self.refresh_every:
            return False
        self._last = time
        return True

    def next_redraw(self) -> Redraw:
        """The plots of the refresh that is due: both first, then by turns."""
        turn, self._turn = self._turn, self._turn + 1
        return Redraw(timeline=turn == 0 or turn % 2 == 1, circumplex=turn % 2 == 0)

    def redraw_now(self) -> None:
        """Status and both plots on the next frame (a restart, a new model)."""
        self._last = float("-inf")
        self._turn = 0
