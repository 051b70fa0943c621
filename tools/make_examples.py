"""Rebuild the example images in ``examples/`` from public-domain sources.

    python tools/make_examples.py path/to/white-house-biden-portrait.jpg

astronaut.jpg comes from ``skimage.data.astronaut()`` (NASA, public domain);
two-faces.jpg puts it beside the head and shoulders of the White House
portrait (US federal government work, public domain) for a two-face example.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image
from skimage.data import astronaut

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def main() -> None:
    portrait = Image.open(sys.argv[1] if len(sys.argv) > 1 else EXAMPLES / "biden-portrait.jpg")
    left = Image.fromarray(astronaut())
    left.save(EXAMPLES / "astronaut.jpg", quality=92)
    width = portrait.width
    head = portrait.crop((0, 0, width, width)).resize((512, 512), Image.LANCZOS)
    pair = Image.new("RGB", (1024, 512))
    pair.paste(left, (0, 0))
    pair.paste(head, (512, 0))
    pair.save(EXAMPLES / "two-faces.jpg", quality=92)


if __name__ == "__main__":
    main()
