"""What the camera does between frames: a pause, a new resolution, a frozen picture."""

from __future__ import annotations

import numpy as np


class CameraWatch:
    """Tells a camera that paused or changed resolution (tracking must restart: old boxes mean
    nothing) and a picture that stopped changing (a stalled camera sends copies)."""

    def __init__(self, gap_seconds: float, frozen_seconds: float) -> None:
        self.gap_seconds = gap_seconds
        self.frozen_seconds = frozen_seconds
        self._waiting_since: float | None = None  # when the last frame's analysis ended
        self._shape: tuple[int, ...] | None = None
        self._thumb: np.ndarray | None = None
        self._changed_at = 0.0  # session time of the last frame that differed from the one before

    def answered(self, when: float) -> None:
        """The last frame's analysis ended at clock reading ``when``: the wait for the next starts,
        so a frame that took long to analyse is not mistaken for a camera that stopped."""
        self._waiting_since = when

    def break_before(self, frame: np.ndarray, now: float) -> str | None:
        """Why tracking must restart before ``frame`` (received at clock reading ``now``), or None."""
        waited = 0.0 if self._waiting_since is None else now - self._waiting_since
        restart = None
        if self._shape is not None and frame.shape != self._shape:
            restart = f"Camera resolution changed to {frame.shape[1]}x{frame.shape[0]}: tracking restarted."
        elif waited > self.gap_seconds:
            restart = f"Camera resumed after {waited:.0f} s: tracking restarted."
        self._shape = frame.shape
        if restart:
            self._thumb = None
        return restart

    def is_frozen(self, frame: np.ndarray, time: float, shown: bool = True) -> bool:
        """True when the picture is identical to the last one seen (at session time ``time``) and
        the last one was analysed and shown (``shown``); a new picture is remembered."""
        thumb = frame[::16, ::16]
        if shown and self._thumb is not None and np.array_equal(thumb, self._thumb):
            return True
        self._thumb = thumb.copy()
        self._changed_at = time
        return False

    def frozen_text(self, time: float) -> str | None:
        """What to say once the picture has stayed the same for ``frozen_seconds``."""
        still = time - self._changed_at
        if still >= self.frozen_seconds:
            return f"**The picture has not changed for {still:.0f} s.** Is the camera frozen or paused?"
        return None

    def reset(self) -> None:
        self._waiting_since = self._shape = self._thumb = None
        self._changed_at = 0.0
