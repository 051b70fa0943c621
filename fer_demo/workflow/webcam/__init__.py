"""A live webcam session, in pieces with one job each.

- ``session``: :class:`WebcamSession`, one per browser session: frames (or the live
  page's numbers) in, a :class:`WebcamUpdate` out; it coordinates the pieces below.
- ``recording``: every analysed frame into the session CSV; the last minute for the plots.
- ``camera``: what the camera does between frames: a pause, a new resolution, a frozen picture.
- ``schedule``: when the status and the two live plots are redrawn.
- ``status``: the status line's words.
- ``load``: how much each session slows down when many share the server's cores.

Nothing here knows Gradio: the tests and the benchmark drive what the webcam tab runs.
"""

from fer_demo.workflow.webcam.load import LiveLoad
from fer_demo.workflow.webcam.recording import SESSION_COLUMNS
from fer_demo.workflow.webcam.session import WebcamSession, WebcamUpdate

__all__ = ["SESSION_COLUMNS", "LiveLoad", "WebcamSession", "WebcamUpdate"]
