"""The Gradio app: widgets wired to the pipeline, nothing more.

Every event has an ``api_name``; every failure a user can cause becomes a
``gr.Error`` with a message, never a traceback.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import gradio as gr
from starlette.middleware import Middleware

from fer_demo.browser.assets import AssetMiddleware, AssetServer
from fer_demo.browser.page import LivePage, LiveSettings
from fer_demo.media.animation import animation_to_mp4
from fer_demo.ui.api import register_api
from fer_demo.ui.common import QUICK, user_errors
from fer_demo.ui.downloads import new_export_dir
from fer_demo.ui.image_tab import build_image_tab
from fer_demo.ui.models_tab import build_models_tab
from fer_demo.ui.request_guard import explain_refused_requests
from fer_demo.ui.video_jobs import VideoJobs
from fer_demo.ui.video_tab import build_video_tab
from fer_demo.ui.webcam_tab import build_webcam_tab
from fer_demo.workflow.studio import Studio

INTRO = """# Facial expression recognition studio
See what published facial expression models say about a photo, a video or your webcam, live:
every face is found (MTCNN; BlazeFace in the webcam's live mode, in your browser), tracked and
classified by the model you choose. Uploads and results are deleted after the session.
"""


def build_demo(studio: Studio) -> gr.Blocks:
    """The whole app. Loads no model: they load on first use."""
    # Faces are biometric data: Gradio deletes uploads and outputs older than 30 min every 10 min.
    jobs = VideoJobs()
    assets = AssetServer(studio.zoo.cache_dir / "live-assets")
    page = LivePage(assets, studio.settings.ort_dir, LiveSettings(camera_side=studio.settings.webcam_side))
    with gr.Blocks(title="FER studio", delete_cache=(600, 1800), analytics_enabled=False) as demo:
        gr.Markdown(INTRO)
        with gr.Tabs(overflow_behavior="wrap") as tabs:  # every tab visible on a phone, none in a menu
            image_in, as_video = build_image_tab(studio)
            video_in = build_video_tab(studio, jobs)
            on_load = build_webcam_tab(studio, page)
            build_models_tab(studio)
        on_load(demo)
        as_video.click(
            animation_as_video(studio), image_in, [video_in, tabs], api_name="animation_to_video", **QUICK
        )
        register_api(studio)
        demo.unload(release_session_state(demo, jobs))
    explain_refused_requests(demo)
    demo.queue(default_concurrency_limit=2, max_size=64)
    relax_queue_polling(demo)
    demo.live_assets = assets  # served by the middleware launch_options adds
    demo.live_page = page
    demo.studio = studio
    return demo


def relax_queue_polling(demo: gr.Blocks, every: float = 0.01, progress_every: float = 0.05) -> None:
    """Poll Gradio's idle queue every 10 ms instead of every millisecond, and progress every 50 ms.

    Gradio 6.31 wakes up 1,000 times a second while its queue is empty: measured, about 5% of a
    core with nobody connected, taken from the 2 cores every user shares. Polling every 10 ms
    adds at most 10 ms before an event starts; progress bars still move 20 times a second.
    Left as it is if Gradio's internals change.
    """
    queue = getattr(demo, "_queue", None)
    if queue is not None and hasattr(queue, "sleep_when_free"):
        queue.sleep_when_free = max(queue.sleep_when_free, every)
    if queue is not None and hasattr(queue, "progress_update_sleep_when_free"):
        queue.progress_update_sleep_when_free = max(queue.progress_update_sleep_when_free, progress_every)


# Gradio's default theme loads Source Sans Pro at 400 and 600 only, so the bold heading fell back
# to a heavier system font; its 700 file ships with Gradio too.
THEME = gr.themes.Default(
    font=[
        gr.themes.LocalFont("Source Sans Pro", weights=(400, 600, 700)),
        "ui-sans-serif",
        "system-ui",
        "sans-serif",
    ]
)

# On a phone a chart's Plotly toolbar covered the panel's label (both sit on the chart's top edge):
# there it moves one line down, into the space above the legend. The live charts change every
# second: they have no toolbar (it covered their first panel). On a phone the photo and its result
# are 300 px tall (mostly letterbox at 420), so the result starts within the first screen.
# The Why? gallery is as tall as its maps (Gradio gives galleries without a pixel height at least
# 450 px, empty below two faces), starts below its label, and has two columns on a phone so the
# captions stay whole.
PAGE_CSS = """
@media (max-width: 640px) {
  .js-plotly-plot .modebar-container { top: 30px !important; }
  #image-input, #image-output { height: 300px !important; }
  .wrap-inner input { font-size: 14px !important; }  /* a model's name whole in its menu */
}
#webcam-timeline .modebar-container, #webcam-plane .modebar-container { display: none !important; }
#image-why-maps .grid-wrap { min-height: 0 !important; max-height: none !important; padding-top: 32px; }
@media (max-width: 640px) {
  #image-why-maps .grid-container { grid-template-columns: repeat(2, minmax(100px, 1fr)) !important; }
}
"""


def launch_options(demo: gr.Blocks) -> dict:
    """What ``demo.launch`` needs besides its own arguments: the live mode's file server, the theme."""
    return {
        "app_kwargs": {"middleware": [Middleware(AssetMiddleware, server=demo.live_assets)]},
        "theme": THEME,
        "css": PAGE_CSS,
    }


def animation_as_video(studio: Studio) -> Callable:
    """The image tab's animation as an MP4 in the Video tab, ready to analyse."""

    @user_errors
    def convert(path: str | None) -> tuple:
        if not path:
            raise gr.Error("Please upload an animated image first.", print_exception=False)
        limits = studio.settings
        output = new_export_dir() / f"{Path(path).stem}.mp4"
        with studio.analysis_slots:
            video = animation_to_mp4(path, output, limits.max_image_pixels, limits.video_max_frames)
        return str(video), gr.Tabs(selected="video")

    return convert


def release_session_state(demo: gr.Blocks, jobs: VideoJobs | None = None) -> Callable[[gr.Request], None]:
    """Free a browser session's state (webcam buffers, files) and stop its video as soon as its tab closes.

    Gradio itself keeps a closed session's state for an hour in case the tab reopens.
    """

    def release(request: gr.Request) -> None:
        if jobs is not None:
            jobs.cancel(request.session_hash)
        holder = getattr(demo, "state_holder", None)
        if holder is not None and request.session_hash in holder:
            holder.delete_state(request.session_hash)

    return release


__all__ = ["build_demo", "release_session_state"]
