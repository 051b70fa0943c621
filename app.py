"""Launch the FER studio: ``python app.py`` (see README for settings)."""

from __future__ import annotations

import argparse
import logging
import os
import threading

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no usage data leaves the server
# Gradio's queue rebuilds a pandas table of its last 10,000 events after every event, for a
# monitoring page this app does not enable: 9 ms a second with one live webcam after 30 s, and
# growing with the server's age. Once per 1,000 events over at most 1,000 costs nothing.
os.environ.setdefault("GRADIO_ANALYTICS_CACHE_FREQUENCY", "1000")
os.environ.setdefault("GRADIO_ANALYTICS_MAX_EVENTS", "1000")

from fer_demo.cli import all_weight_files, download_weights
from fer_demo.config import Settings
from fer_demo.ui import build_demo, launch_options
from fer_demo.ui.memory import limit_malloc_arenas
from fer_demo.workflow.studio import Studio


def main() -> None:
    settings = Settings.from_env()
    parser = argparse.ArgumentParser(description="Facial expression recognition studio")
    parser.add_argument("--host", default=settings.host, help="address to listen on (FER_DEMO_HOST)")
    parser.add_argument("--port", type=int, default=settings.port, help="port (FER_DEMO_PORT)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    limit_malloc_arenas()
    studio = Studio(settings)
    if os.environ.get("FER_DEMO_PREFETCH") == "1":  # fetch every model's weights while the UI is already up
        names = list(all_weight_files())
        threading.Thread(target=download_weights, args=(studio.zoo.store, names), daemon=True).start()
    demo = build_demo(studio)
    demo.launch(
        server_name=args.host,
        server_port=args.port,
        max_file_size=f"{settings.max_upload_mb}mb",
        footer_links=["api", "settings"],
        **launch_options(demo),
    )


if __name__ == "__main__":
    main()
