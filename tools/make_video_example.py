"""Rebuild ``examples/four-shots.mp4``, the video tab's example, from the public-domain photos.

    python tools/make_video_example.py

The same synthesised clip the tracking tests and benchmark use (tests/support/multishot.py): the
astronaut (NASA) and the White House portrait (US federal government work), both public
domain, through four hard cuts. 8.4 s, 640x360, 25 fps, H.264.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.support.multishot import make_multishot_clip  # noqa: E402


def main() -> None:
    clip = make_multishot_clip(ROOT / "examples" / "four-shots.mp4")
    size = clip.path.stat().st_size / 1e3
    print(f"{clip.path}: {clip.frames} frames, cuts at {clip.cuts} s, {size:.0f} kB")


if __name__ == "__main__":
    main()
