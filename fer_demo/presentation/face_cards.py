"""Per-face cards for the image tab: each face's crop, verdict, bars and valence/arousal, as HTML.

A photo of a crowd is read face by face: the card puts a face's own numbers
beside its picture, before the table. Everything in the HTML comes from the
model's numbers and the spec's labels (escaped anyway); no user text is
inserted, and the crops are inline JPEG data, so the cards need no files.
"""

from __future__ import annotations

import base64
import html
import io
from collections import Counter

import numpy as np
from PIL import Image

from fer_demo.analysis.faces import crop
from fer_demo.analysis.pipeline import FaceResult, ImageAnalysis
from fer_demo.presentation.palette import EMOTION_COLOURS, face_colour_css

THUMBNAIL = 112  # pixels, the longest side of a card's face picture
MAX_CARDS = 24  # a crowd's further faces are in the chart, the table and the downloads

STYLE = """<style>
.fer-cards{display:flex;flex-wrap:wrap;gap:10px}
.fer-card{display:flex;gap:10px;padding:8px;border:1px solid var(--border-color-primary);border-radius:8px;
  flex:1 1 280px;max-width:420px;background:var(--block-background-fill)}
.fer-card img{width:72px;height:72px;object-fit:cover;border-radius:6px;border:3px solid var(--face)}
.fer-card .verdict{font-weight:600}
.fer-card .bars{display:grid;grid-template-columns:auto 1fr auto;gap:1px 6px;font-size:12px;
  align-items:center}
.fer-card .bar{display:block;height:8px;border-radius:4px;background:var(--c)}
.fer-card .va{font-size:12px;opacity:.85}
.fer-card .agree{display:inline-block;margin-left:6px;padding:0 6px;border-radius:9px;font-size:12px;
  font-weight:600;border:1px solid currentColor}
.fer-card details{font-size:12px;margin-top:2px}
</style>"""


def thumbnail_uri(image: np.ndarray, face: FaceResult) -> str:
    """The face's box, squared around its centre, as a small inline JPEG."""
    x1, y1, x2, y2 = face.box
    side = max(x2 - x1, y2 - y1) * 1.15
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    picture = Image.fromarray(
        crop(image, np.array([cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2]))
    )
    picture.thumbnail((THUMBNAIL, THUMBNAIL))
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", quality=85)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode()


def face_card(image: np.ndarray, face: FaceResult) -> str:
    """One face: picture, top label and probability, a bar per expression, valence/arousal."""
    bars = "".join(
        f'<span>{html.escape(label)}</span><span class="bar" style="--c:{EMOTION_COLOURS.get(label, "#888")};'
        f'width:{max(p, 0.0) * 100:.1f}%"></span><span>{p:.0%}</span>'
        for label, p in face.probabilities.items()
    )
    va = ""
    if face.valence is not None and face.arousal is not None:
        va = f'<div class="va">valence {face.valence:+.2f} · arousal {face.arousal:+.2f}</div>'
    verdict = f"#{face.face} {html.escape(face.top_label)} {face.top_probability:.0%}"
    return (
        f'<div class="fer-card" style="--face:{face_colour_css(face.face - 1)}">'
        f'<img src="{thumbnail_uri(image, face)}" alt="Face {face.face}">'
        f'<div style="flex:1"><div class="verdict">{verdict}{agreement_badge(face)}</div>'
        f'<div class="bars">{bars}</div>{va}{branch_votes(face)}</div></div>'
    )


def agreement_badge(face: FaceResult) -> str:
    """ "7/9 agree": how many of an ensemble's members vote for the top label; nothing for one network."""
    if face.branch_votes is None:
        return ""
    agreeing, members = face.branch_votes.count(face.top_label), len(face.branch_votes)
    title = "Ensemble members whose own top label is this one: a confident ensemble, not a correct one."
    return f'<span class="agree" title="{title}">{agreeing}/{members} agree</span>'


def branch_votes(face: FaceResult) -> str:
    """Each member's vote, folded: counts per label, then member by member."""
    if face.branch_votes is None:
        return ""
    counts = Counter(face.branch_votes).most_common()
    tally = ", ".join(f"{html.escape(label)} {n}" for label, n in counts)
    members = " · ".join(f"{i}: {html.escape(label)}" for i, label in enumerate(face.branch_votes, 1))
    return f"<details><summary>Votes: {tally}</summary>{members}</details>"


def face_cards(image: np.ndarray, analysis: ImageAnalysis) -> str:
    """The cards of an analysis (at most MAX_CARDS), or an empty string when it found no face."""
    if not analysis.faces:
        return ""
    cards = "".join(face_card(image, face) for face in analysis.faces[:MAX_CARDS])
    more = len(analysis.faces) - MAX_CARDS
    note = f"<p>{more} more faces are in the chart and the table.</p>" if more > 0 else ""
    return f'{STYLE}<div class="fer-cards">{cards}</div>{note}'
