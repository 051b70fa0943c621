"""The running app against hostile clients and hostile files, over raw HTTP.

Every case is one request a public Space may receive. Each asserts the class of
its answer (a specific message, or a result with a property a user would
notice) and then that the server still analyses a normal photo. No case may
get Gradio's empty error or our generic "Something went wrong".
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread

import pytest
from gradio.utils import get_upload_folder

from fer_demo.config import Settings
from fer_demo.ui import build_demo
from fer_demo.workflow.studio import Studio
from tests.support import hostile_media as media
from tests.support.paths import EXAMPLES, free_port
from tests.support.raw_api import Answer, RawApi
from tests.support.stream_client import AppSession

PLEASE_UPLOAD = r"^Please upload the file: this app only analyses files uploaded to it\.$"
NOT_IMAGE = r"not an image we can read"
EMPTY = r"empty \(0 bytes\)"
TRUNCATED = r"truncated or corrupt"
DAMAGED = r"damaged or uses a feature"
TOO_LARGE = r"too large.*the limit is 20 megapixels"
TOO_SMALL = r"too small \(\d+x\d+ pixels\)"
TEXT_CHUNK = r"text \(metadata\) chunk larger than"
UNKNOWN_MODEL = r"unknown model|not in the list of choices"
TOO_FEW = r"takes \d+ inputs and the call sent \d+"
NOT_VIDEO = r"not a video we can read"
STILL_IMAGE = r"still image, not a video"
NO_VIDEO_TRACK = r"no video track"
INCOMPLETE_MP4 = r"incomplete or damaged"


@dataclass
class Context:
    api: RawApi
    folder: Path  # the test's own files, outside the app's upload folder
    secret: Path  # a server file no request may read: a real photo, so opening it would "work"

    def upload(self, path: Path) -> dict:
        return self.api.upload(path)

    def planted(self, name: str) -> Path:
        """A fresh folder inside Gradio's upload folder, as if an upload had created it."""
        folder = Path(get_upload_folder()) / f"hostile-{uuid.uuid4().hex}"
        folder.mkdir(parents=True)
        return folder / name


@dataclass(frozen=True)
class Case:
    name: str
    endpoint: str
    data: Callable[[Context], list]
    expect: str | Callable[[list], bool]  # a message regex, or a check of the outputs

    def __str__(self) -> str:
        return self.name


def image(payload: Callable[[Context], object], model: object = "mini_xception", *rest: object):
    """/analyze-style inputs: a file payload, a model name, threshold and minimum face size."""
    extra = list(rest) or [0.95, 20]
    return lambda ctx: [payload(ctx), model, *extra]


ETC_PASSWD = "/etc/passwd"


def ui_image(payload: Callable[[Context], object], model: object = "mini_xception", *rest: object):
    """/analyze_image inputs: /analyze's, then whether to draw landmarks."""
    inputs = image(payload, model, *rest)
    return lambda ctx: [*inputs(ctx), False]


def explain_inputs(
    payload: Callable[[Context], object], model: object = "mini_xception", target: object = ""
):
    """/explain inputs: file, model, class ("" for each face's top label), arrays, detection."""
    return lambda ctx: [payload(ctx), model, target, True, 0.95, 20]


def video_inputs(payload: Callable[[Context], object], *settings: object):
    """/analyze_video inputs: file, model, LSTM, detect every, detection side, smoothing, detection,
    person linking and its threshold."""
    chosen = list(settings) or [5, 640, 0.3]
    return lambda ctx: [payload(ctx), "mini_xception", "none", *chosen, 0.95, 20, True, 0.55]


def upload(make: Callable[[Path], Path]) -> Callable[[Context], dict]:
    return lambda ctx: ctx.upload(make(ctx.folder))


def path_only(where: Callable[[Context], object]) -> Callable[[Context], dict]:
    return lambda ctx: {"path": str(where(ctx))}


def with_meta(where: Callable[[Context], object]) -> Callable[[Context], dict]:
    return lambda ctx: {"path": str(where(ctx)), "meta": {"_type": "gradio.FileData"}}


def symlink_out(ctx: Context) -> Path:
    link = ctx.planted("photo.jpg")
    link.symlink_to(ctx.secret)
    return link


def fifo(ctx: Context) -> Path:
    path = ctx.planted("photo.jpg")
    os.mkfifo(path)
    return path


def dot_dot(ctx: Context) -> str:
    depth = len(Path(get_upload_folder()).resolve().parts) - 1
    return get_upload_folder() + "/" + "../" * depth + str(ctx.secret).lstrip("/")


def faces(count: int) -> Callable[[list], bool]:
    return lambda outputs: len(outputs[0]["faces"]) == count


def note(pattern: str, count: int | None = None) -> Callable[[list], bool]:
    def check(outputs: list) -> bool:
        result = outputs[0]
        found = any(re.search(pattern, text) for text in result["notes"])
        return found and (count is None or len(result["faces"]) == count)

    return check


def status(pattern: str, index: int = 0) -> Callable[[list], bool]:
    """The status Markdown matches: output 0 of the video tab, output 1 of the image tab."""
    return lambda outputs: re.search(pattern, outputs[index]) is not None


CASES = [
    # Files the server holds: never opened, one message whether they exist or not.
    Case("plain-dict-path", "analyze", image(path_only(lambda c: c.secret)), PLEASE_UPLOAD),
    Case("path-with-meta", "analyze", image(with_meta(lambda c: c.secret)), PLEASE_UPLOAD),
    Case("missing-path", "analyze", image(path_only(lambda c: c.folder / "nothing.jpg")), PLEASE_UPLOAD),
    Case("relative-path", "analyze", image(path_only(lambda c: "examples/astronaut.jpg")), PLEASE_UPLOAD),
    Case("dot-dot-out-of-upload-folder", "analyze", image(path_only(dot_dot)), PLEASE_UPLOAD),
    Case("url-encoded-path", "analyze", image(path_only(lambda c: "%2Fetc%2Fpasswd")), PLEASE_UPLOAD),
    Case("symlink-in-cache-pointing-out", "analyze", image(path_only(symlink_out)), PLEASE_UPLOAD),
    Case("dev-zero", "analyze", image(path_only(lambda c: "/dev/zero")), PLEASE_UPLOAD),
    Case("proc-self-environ", "analyze", image(with_meta(lambda c: "/proc/self/environ")), PLEASE_UPLOAD),
    Case("fifo-in-cache", "analyze", image(path_only(fifo)), PLEASE_UPLOAD),
    Case("etc-passwd-ui-endpoint", "analyze_image", ui_image(path_only(lambda _: ETC_PASSWD)), PLEASE_UPLOAD),
    Case("secret-compare", "compare_models", lambda c: [{"path": str(c.secret)}, 0.95, 20], PLEASE_UPLOAD),
    Case("secret-video", "analyze_video", video_inputs(path_only(lambda c: c.secret)), PLEASE_UPLOAD),
    Case("path-is-a-list", "analyze", image(lambda c: {"path": ["/etc/passwd"]}), PLEASE_UPLOAD),
    Case("no-path-at-all", "analyze", image(lambda c: {"orig_name": "x.jpg"}), PLEASE_UPLOAD),
    Case("path-with-nul-byte", "analyze", image(path_only(lambda c: "/tmp/a\x00b.jpg")), PLEASE_UPLOAD),
    # Bad files, uploaded properly.
    Case(
        "text-file",
        "analyze",
        image(upload(lambda f: media.write_bytes(f, "a.png", b"words\n" * 50))),
        NOT_IMAGE,
    ),
    Case(
        "svg",
        "analyze",
        image(upload(lambda f: media.write_bytes(f, "a.svg", b"<svg xmlns='x'/>"))),
        NOT_IMAGE,
    ),
    Case(
        "eps-postscript", "analyze", image(upload(lambda f: media.other_format(f, "EPS", "eps"))), NOT_IMAGE
    ),
    Case(
        "targa-image",
        "analyze_image",
        ui_image(upload(lambda f: media.other_format(f, "TGA", "tga"))),
        NOT_IMAGE,
    ),
    Case("empty-file", "analyze", image(upload(lambda f: media.write_bytes(f, "a.jpg", b""))), EMPTY),
    Case("truncated-jpeg", "analyze", image(upload(media.truncated_jpeg)), TRUNCATED),
    Case("corrupt-png-data", "analyze_image", ui_image(upload(media.corrupt_png)), DAMAGED + "|" + TRUNCATED),
    Case(
        "header-claims-60mp",
        "analyze",
        image(upload(lambda f: media.png_header_only(f, 9000, 7000))),
        TOO_LARGE,
    ),
    Case(
        "pillow-bomb-400mp",
        "analyze",
        image(upload(lambda f: media.png_header_only(f, 20000, 20000))),
        r"too large: 400 megapixels; the limit is 20 megapixels",
    ),
    Case("tiny-12px", "analyze", image(upload(lambda f: media.solid(f, 12, 12))), TOO_SMALL),
    Case(
        "png-200mb-text-chunk",
        "analyze",
        image(upload(lambda f: media.png_with_text_chunk(f, 200))),
        TEXT_CHUNK,
    ),
    # Odd but valid images: a result, and what the user should know about it.
    Case(
        "float-tiff-with-nan",
        "analyze",
        image(upload(media.float_tiff)),
        note(r"NaN or infinite, set to 0", 1),
    ),
    Case(
        "animated-gif",
        "analyze",
        image(upload(lambda f: media.multi_frame(f, "gif"))),
        note(r"frame 1 of 3", 1),
    ),
    Case(
        "apng",
        "analyze",
        image(upload(lambda f: media.multi_frame(f, "png"))),
        note(r"animation of 3 frames", 1),
    ),
    Case(
        "animated-webp",
        "analyze",
        image(upload(lambda f: media.multi_frame(f, "webp"))),
        note(r"frame 1 of 3"),
    ),
    Case(
        "multi-page-tiff",
        "analyze",
        image(upload(lambda f: media.multi_frame(f, "tif"))),
        note(r"page 1 of 3"),
    ),
    Case("sliver-1280x38", "analyze", image(upload(lambda f: media.solid(f, 1280, 38))), faces(0)),
    Case("strip-20000x200", "analyze", image(upload(lambda f: media.solid(f, 20000, 200))), faces(0)),
    Case(
        "strip-200x20000",
        "analyze_image",
        ui_image(upload(lambda f: media.solid(f, 200, 20000))),
        status(r"No faces found", index=1),
    ),
    Case(
        "one-bit-image",
        "analyze",
        image(upload(lambda f: media.solid(f, 300, 300, "bw.png", mode="1"))),
        faces(0),
    ),
    Case(
        "animated-webp-sent-to-the-video-tab",
        "animation_to_video",
        lambda c: [c.upload(media.multi_frame(c.folder, "webp", frames=4))],
        lambda outputs: outputs[0]["path"].endswith(".mp4") and outputs[1]["selected"] == "video",
    ),
    Case(
        "still-photo-sent-to-the-video-tab",
        "animation_to_video",
        lambda c: [c.upload(EXAMPLES / "astronaut.jpg")],
        r"single frame",
    ),
    Case(
        "secret-sent-to-the-video-tab",
        "animation_to_video",
        lambda c: [{"path": str(c.secret), "meta": {"_type": "gradio.FileData"}}],
        PLEASE_UPLOAD,
    ),
    # Hostile parameters.
    Case(
        "model-is-a-list",
        "analyze",
        image(upload(lambda f: EXAMPLES / "astronaut.jpg"), ["mini_xception"]),
        UNKNOWN_MODEL,
    ),
    Case(
        "model-is-a-dict",
        "analyze_image",
        ui_image(upload(lambda f: EXAMPLES / "astronaut.jpg"), {"a": 1}),
        UNKNOWN_MODEL,
    ),
    Case(
        "threshold-not-a-number",
        "analyze",
        image(upload(lambda f: EXAMPLES / "astronaut.jpg"), "mini_xception", "high", 20),
        r"detection threshold must be a number from 0 to 1; got 'high'",
    ),
    Case(
        "threshold-out-of-range",
        "analyze_image",
        ui_image(upload(lambda f: EXAMPLES / "astronaut.jpg"), "mini_xception", 7, 20),
        r"from 0 to 1; got 7|greater than maximum value 1",
    ),
    Case(
        "min-face-negative",
        "analyze",
        image(upload(lambda f: EXAMPLES / "astronaut.jpg"), "mini_xception", 0.9, -3),
        r"minimum face size",
    ),
    Case("too-few-inputs", "analyze", lambda c: [c.upload(EXAMPLES / "astronaut.jpg")], TOO_FEW),
    # The saliency API: the same file checks, and a class or model it does not have.
    Case("explain-secret-path", "explain", explain_inputs(path_only(lambda c: c.secret)), PLEASE_UPLOAD),
    Case("explain-etc-passwd", "explain", explain_inputs(with_meta(lambda c: ETC_PASSWD)), PLEASE_UPLOAD),
    Case(
        "explain-class-the-model-lacks",
        "explain",
        explain_inputs(upload(lambda f: EXAMPLES / "astronaut.jpg"), target="Contempt"),
        r"has no class 'Contempt'; it has Neutral, Happiness",
    ),
    Case(
        "explain-huge-class-name",
        "explain",
        explain_inputs(upload(lambda f: EXAMPLES / "astronaut.jpg"), target="x" * 100_000),
        r"has no class 'x{40}';",
    ),
    Case(
        "explain-unknown-model",
        "explain",
        explain_inputs(upload(lambda f: EXAMPLES / "astronaut.jpg"), model="../../etc/passwd"),
        r"Unknown model|unknown model",
    ),
    Case(
        "detect-every-not-a-number",
        "analyze_video",
        video_inputs(upload(lambda f: media.video(f, "v.mp4", (64, 64), 0.5, 10)), "often", 640, 0.3),
        r"Detect faces every N frames must be a (whole )?number from 1 to 30; got 'often'",
    ),
    Case(
        "detection-side-too-small",
        "analyze_video",
        video_inputs(upload(lambda f: media.video(f, "v.mp4", (64, 64), 0.5, 10)), 5, 10, 0.3),
        r"Detection resolution must be|less than minimum value 320",
    ),
    Case(
        "smoothing-nan",
        "analyze_video",
        video_inputs(upload(lambda f: media.video(f, "v.mp4", (64, 64), 0.5, 10)), 5, 640, "nan"),
        r"Smoothing.* must be a number",
    ),
    # Bad and odd videos.
    Case(
        "video-16x16",
        "analyze_video",
        video_inputs(upload(lambda f: media.video(f, "t.mp4", (16, 16), 1, 10))),
        status(r"Done: 10 frames.*No faces found"),
    ),
    Case(
        "video-1920x48",
        "analyze_video",
        video_inputs(upload(lambda f: media.video(f, "w.mp4", (1920, 48), 1, 10))),
        status(r"Done: 10 frames"),
    ),
    Case(
        "video-240fps",
        "analyze_video",
        video_inputs(upload(lambda f: media.video(f, "fast.mp4", (128, 128), 1, 240))),
        status(r"Done: 3[01] frames(?s:.*)240 frames a second; 30 a second were used"),
    ),
    Case(
        "video-size-grows-past-limit",
        "analyze_video",
        video_inputs(upload(lambda f: media.size_switching_video(f, (320, 240), (2400, 1800)))),
        r"becomes 2400x1800; the largest accepted side is 2048 pixels",
    ),
    Case(
        "video-size-changes-within-limit",
        "analyze_video",
        video_inputs(upload(lambda f: media.size_switching_video(f, (320, 240), (480, 480)))),
        status(r"Done: 10 frames(?s:.*)changes size at .* \(320x240 to 480x480\)"),
    ),
    Case(
        "video-too-long",
        "analyze_video",
        video_inputs(upload(lambda f: media.video(f, "long.mp4", (64, 64), 6, 5))),
        r"This video is 6\.0 s long; the limit is 5\.0 s",
    ),
    Case(
        "video-is-text",
        "analyze_video",
        video_inputs(upload(lambda f: media.write_bytes(f, "v.mp4", b"hello\n" * 100))),
        NOT_VIDEO,
    ),
    Case(
        "video-is-a-photo",
        "analyze_video",
        video_inputs(upload(lambda f: EXAMPLES / "astronaut.jpg")),
        STILL_IMAGE,
    ),
    Case(
        "video-truncated-mp4",
        "analyze_video",
        video_inputs(
            upload(
                lambda f: media.write_bytes(
                    f, "cut.mp4", media.video(f, "whole.mp4", (64, 64), 1, 10).read_bytes()[:800]
                )
            )
        ),
        INCOMPLETE_MP4 + "|" + NOT_VIDEO,
    ),
    Case(
        "video-empty",
        "analyze_video",
        video_inputs(upload(lambda f: media.write_bytes(f, "e.mp4", b""))),
        EMPTY,
    ),
    Case(
        "video-animated-gif",
        "analyze_video",
        video_inputs(upload(lambda f: media.multi_frame(f, "gif"))),
        status(r"Done: 3 frames"),
    ),
]


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    os.environ["FER_DEMO_OFFLINE"] = "1"  # no download is tried for any model
    settings = Settings(
        weights_dir=tmp_path_factory.mktemp("weights"),
        max_image_pixels=20_000_000,
        video_max_seconds=5,
        video_max_side=2048,
        video_max_frames=300,
    )
    demo = build_demo(Studio(settings))
    demo.launch(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True)
    yield demo.local_url
    demo.close()
    os.environ.pop("FER_DEMO_OFFLINE", None)


@pytest.fixture(scope="module")
def context(app_url, tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    secret = folder / "server-secret.jpg"
    shutil.copy(EXAMPLES / "astronaut.jpg", secret)
    api = RawApi(app_url)
    yield Context(api, folder, secret)
    api.close()


def still_serves(context: Context) -> None:
    photo = context.upload(EXAMPLES / "astronaut.jpg")
    answer = context.api.call("analyze", [photo, "mini_xception", 0.95, 20])
    assert answer.ok, answer.message
    assert answer.data[0]["faces"][0]["top_label"] == "Happiness"


def describe(answer: Answer) -> str:
    return f"ok: {str(answer.data)[:300]}" if answer.ok else f"error: {answer.message!r}"


def test_the_table_is_big_enough():
    assert len(CASES) >= 40 and len({case.name for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_hostile_request_gets_its_own_answer_and_the_server_keeps_serving(context, case):
    answer = context.api.call(case.endpoint, case.data(context))
    assert answer.message is None or "Something went wrong" not in answer.message, describe(answer)
    if isinstance(case.expect, str):
        assert not answer.ok and answer.message and re.search(case.expect, answer.message), describe(answer)
    else:
        assert answer.ok and case.expect(answer.data), describe(answer)
    still_serves(context)


def test_no_answer_tells_whether_a_server_file_exists(context):
    answers = {
        where: context.api.call("analyze", [{"path": where}, "mini_xception", 0.95, 20]).message
        for where in (str(context.secret), "/etc/passwd", "/no/such/file.jpg", str(context.folder))
    }
    assert len(set(answers.values())) == 1, answers


@pytest.mark.parametrize("meta", [True, False])
def test_the_webcam_stream_opens_no_server_file(app_url, context, meta):
    payload = {"path": str(context.secret), **({"meta": {"_type": "gradio.FileData"}} if meta else {})}
    session = AppSession(app_url)
    try:
        message = session.first_answer("webcam_stream", payload, "mini_xception", "none", 0.93, 24)
    finally:
        session.close()
    assert not message["success"] and re.search(PLEASE_UPLOAD, message["output"]["error"])
    still_serves(context)


def test_a_url_payload_makes_the_server_fetch_nothing(context):
    requests: list[str] = []

    class Recorder(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            requests.append(self.path)
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/photo.jpg"
        for payload in ({"url": url}, {"url": url, "meta": {"_type": "gradio.FileData"}}):
            answer = context.api.call("analyze", [payload, "mini_xception", 0.95, 20])
            assert not answer.ok and re.search(PLEASE_UPLOAD, answer.message)
    finally:
        server.shutdown()
    assert requests == []
