"""The webcam's live mode: a ``gr.HTML`` component whose page analyses the camera itself.

Python's part is small: it tells the page which files and model to use (the
component's value, a JSON configuration) and turns the page's once-a-second
summaries into the same timeline, circumplex, status line and CSV as the
server-side mode. A summary travels as the data of the component's
``summary`` event, through the queue: a server function would be quicker to
call, but in Gradio 6.31 it cannot tell which browser session called it, so
it could not reach the session's state.
"""

from __future__ import annotations

import json
from typing import Any

import gradio as gr

from fer_demo.browser.page import LivePage
from fer_demo.browser.summary import BrowserFrame, parse_summary
from fer_demo.config import DetectionOptions
from fer_demo.errors import InputError, UserFacingError
from fer_demo.models.specs import MODEL_SPECS, get_spec
from fer_demo.workflow.studio import Studio

# js_on_load runs as a plain function: the async work sits in an async arrow function.
# trigger("summary", data) and trigger("fallback") fire the component's custom events.
JS_ON_LOAD = """
(async () => {
  const script = JSON.parse(props.value).scripts["live.js"].url;
  const live = await import(new URL(script, window.location.href).href);
  // The value may have changed during the import: read it now, and watch it from now on.
  const view = live.mount(element.querySelector(".fer-live-mount"), JSON.parse(props.value), {
    summary: (payload) => trigger("summary", payload),
    fallback: () => trigger("fallback"),
  });
  watch("value", () => view.configure(JSON.parse(props.value)));
})();
"""

CSS = """
.fer-live-stage { position: relative; height: 270px; background: #111; border-radius: 8px; overflow: hidden; }
.fer-live-stage video, .fer-live-stage canvas { position: absolute; inset: 0; width: 100%; height: 100%;
  object-fit: contain; }
.fer-live-stage video { transform: scaleX(-1); }
.fer-live-stats { position: absolute; right: 6px; bottom: 6px; padding: 2px 6px; border-radius: 4px;
  background: rgba(0, 0, 0, 0.6); color: #fff; font: 12px/1.4 ui-monospace, monospace; }
.fer-live-stats:empty { display: none; }
.fer-live-message { position: absolute; left: 8px; right: 8px; top: 8px; padding: 6px 10px;
  border-radius: 6px; background: rgba(0, 0, 0, 0.7); color: #fff; }
.fer-live-controls { position: absolute; left: 8px; bottom: 8px; display: flex; flex-wrap: wrap;
  align-items: center; gap: 8px; max-width: calc(100% - 16px); }
.fer-live-controls button { padding: 6px 14px; border-radius: 6px; border: none; background: #f97316;
  color: #fff; font-weight: 600; cursor: pointer; }
.fer-live-controls .fer-live-fallback { background: #374151; }
.fer-live-progress { width: 160px; }
.fer-live-loading { color: #fff; font-size: 13px; text-shadow: 0 0 3px #000; }
@media (max-width: 640px) {
  .fer-live-stage { height: auto; aspect-ratio: 4 / 3; }
  .fer-live-stats { top: 6px; bottom: auto; }  /* clear of the button */
}
"""


def page_config(
    studio: Studio, page: LivePage, model_name: str, detection: DetectionOptions | None = None
) -> str:
    """The component's value for ``model_name`` and the page detector's ``detection`` settings."""
    spec = get_spec(model_name)
    if not spec.browser:
        problem = f"{spec.display_name} is too heavy for the browser: it runs on the server."
        return json.dumps(page.config(spec, None, problem, detection))
    try:
        return json.dumps(page.config(spec, studio.browser_model_file(model_name), detection=detection))
    except UserFacingError as error:
        return json.dumps(page.config(spec, None, str(error), detection))


def read_summary(payload: Any) -> tuple[str, list[BrowserFrame]]:
    """The model and frames of a summary event's data (anyone can send one: all is checked).

    Raises:
        InputError: not a summary of a model the live mode runs, or malformed.
    """
    model = payload.get("model") if isinstance(payload, dict) else None
    if not isinstance(model, str) or model not in MODEL_SPECS or not MODEL_SPECS[model].browser:
        raise InputError("live summary: unknown model")
    return model, parse_summary(payload, MODEL_SPECS[model])


def live_component(page: LivePage, model_name: str) -> gr.HTML:
    """The live view, configured for ``model_name`` without its file yet."""
    return gr.HTML(
        # The model's file is named once it is loaded (the page's load event): a page opens at once.
        value=json.dumps(page.config(get_spec(model_name), None)),
        html_template='<div class="fer-live-mount"></div>',
        css_template=CSS,
        js_on_load=JS_ON_LOAD,
        elem_id="webcam-live",
    )
