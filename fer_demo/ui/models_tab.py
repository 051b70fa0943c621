"""The "About the models" tab: a card per model with its weight status."""

from __future__ import annotations

import gradio as gr

from fer_demo.models.specs import MODEL_SPECS
from fer_demo.presentation.model_cards import model_card, status_table
from fer_demo.workflow.studio import Studio

INTRO = """Every model the studio serves, with its paper, outputs, input contract, the authors'
reported accuracy, license and weight status. Weights are downloaded from pinned sources
on first use and checked against published hashes; a model whose weights are missing says
how to provide them (`python -m fer_demo weights download NAME`, or put the files into the
weights folder). The embedded mini-Xception always works offline."""


def all_cards(studio: Studio) -> str:
    return "\n\n---\n\n".join(
        model_card(spec, studio.availability(name)) for name, spec in MODEL_SPECS.items()
    )


def summary(studio: Studio) -> str:
    rows = [(spec, studio.availability(name)) for name, spec in MODEL_SPECS.items()]
    return status_table(rows, (studio.zoo.embedder.display_name, studio.zoo.embedder_availability()))


def build_models_tab(studio: Studio) -> None:
    with gr.Tab("About the models", id="models"):
        gr.Markdown(INTRO)
        refresh = gr.Button("Refresh weight status", size="sm")
        table = gr.Markdown(summary(studio), elem_id="model-table")
        with gr.Accordion("Model cards: papers, labels, input contracts, sources", open=False):
            cards = gr.Markdown(all_cards(studio), elem_id="model-cards")
    refresh.click(lambda: (summary(studio), all_cards(studio)), None, [table, cards], api_name="model_cards",
                  queue=False)  # fmt: skip
