"""Model cards: what a researcher needs to know about each model, as Markdown."""

from __future__ import annotations

from fer_demo.analysis.labels import canonical_label
from fer_demo.models.specs import TEMPORAL_SPECS, ModelSpec
from fer_demo.models.weights import Availability


def weights_status(availability: Availability) -> str:
    if availability.available and not availability.needs_download:
        return "ready"
    if availability.available:
        return "downloaded from its pinned source on first use, then checked against its hash"
    return (f"**unavailable**: {availability.visitor or availability.reason}. If you host this app, "
            "the README's *Weights* section says how to add them.")  # fmt: skip


def short_status(availability: Availability) -> str:
    """One or two words for a table or a menu: ready, downloads on first use, unavailable."""
    if availability.available:
        return "downloads on first use" if availability.needs_download else "ready"
    return "unavailable"


def outputs_text(spec: ModelSpec) -> str:
    members = f" + agreement of {spec.ensemble_branches}" if spec.ensemble_branches else ""
    return f"{len(spec.labels)} classes" + (" + V/A" if spec.has_valence_arousal else "") + members


def short_licence(spec: ModelSpec) -> str:
    """The licence's name without its explanation: "CC BY-NC-ND 4.0", "Apache-2.0"."""
    return spec.license.split("(")[0].split(";")[0].strip()


def status_table(rows: list[tuple[ModelSpec, Availability]], embedder: tuple[str, Availability]) -> str:
    """Every model on one screen: name, outputs (V/A: valence and arousal), weight status (with why
    when unavailable), license; short cells, so it reads on a phone."""
    lines = ["| model | outputs | weights | license |", "|---|---|---|---|"]
    for spec, availability in rows:
        status = short_status(availability)
        if not availability.available:
            status += f": {availability.visitor or availability.reason}"
        lines.append(f"| {spec.display_name} | {outputs_text(spec)} | {status} | {short_licence(spec)} |")
    name, availability = embedder
    lines.append(f"| {name}: links a person's tracks in videos | face embedding | "
                 f"{short_status(availability)} | MIT |")  # fmt: skip
    return "\n".join(lines)


def model_card(spec: ModelSpec, availability: Availability) -> str:
    """A Markdown card: paper, outputs, labels, input, accuracy, license, weights."""
    outputs = f"{len(spec.labels)} expression probabilities"
    if spec.has_valence_arousal:
        outputs += " + valence and arousal in [-1, 1]"  # the card says more than the table
    if spec.ensemble_branches:
        members = spec.ensemble_branches
        outputs += f" + agreement: the share of its {members} members voting for the top label, and each vote"
    labels = ", ".join(
        f"{i}: {label}" + (f" ({canonical_label(label)})" if canonical_label(label) != label else "")
        for i, label in enumerate(spec.labels)
    )
    pre = spec.preprocessing
    crop = spec.crop
    lines = [
        f"### {spec.display_name}",
        f"`{spec.name}` · family {spec.family} · [paper]({spec.paper_url})",
        "",
        f"- **Citation**: {spec.citation}",
        f"- **Outputs**: {outputs}",
        f"- **Labels in output order**: {labels}",
        f"- **Input**: {pre.size}x{pre.size} {pre.color.upper()}, resize `{pre.resize}`, "
        f"{'x/255' if abs(pre.scale - 1 / 255) < 1e-12 else f'x*{pre.scale:g}'}, "
        f"mean {pre.mean}, std {pre.std}" + (f" (authors' code: {pre.reference})" if pre.reference else ""),
        f"- **Crop**: {'square' if crop.square else 'detector box'}, margin {crop.margin:.0%} per side, "
        f"{'black padding' if crop.pad else 'clipped'} at the border",
        f"- **Reported accuracy**: {spec.reported_accuracy}",
        f"- **License**: {spec.license}",
        f"- **Weights**: {weights_status(availability)}",
    ]
    for weight in spec.weights:
        digest = f"git blob SHA-1 `{weight.git_sha1}`" if weight.git_sha1 else "hash not pinned upstream"
        hub = f"Hugging Face Hub `{weight.hub_repo}`" if weight.hub_repo else "in the package"
        source = weight.url or hub
        lines.append(f"  - `{weight.filename}` from {source}; {digest}")
    if spec.temporal_models:
        lines.append(
            "- **Temporal models (video)**: "
            + "; ".join(
                f"{TEMPORAL_SPECS[name].display_name} ({TEMPORAL_SPECS[name].reported})"
                for name in spec.temporal_models
            )
        )
    if spec.notes:
        lines.append(f"- **Notes**: {spec.notes}")
    return "\n".join(lines)
