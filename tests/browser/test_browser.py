"""Every tab used the way people use it, in Chromium."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest

from tests.support.paths import ARTIFACTS, EXAMPLES
from tests.support.synthetic_video import make_clip
from tests.support.webcam_meter import meter_script, summarise

MODEL_NAMES = ["mini_xception", "emonet_8", "emonet_5", "emo_affectnet_resnet50", "enet_b0_7", "enet_b2_7",
               "enet_b0_8_best_afew", "enet_b0_8_best_vgaf", "enet_b2_8", "enet_b0_8_va_mtl",
               "esr_9"]  # fmt: skip


def open_tab(page, url: str, name: str) -> None:
    page.goto(url)
    page.get_by_role("tab", name=name).click()  # inactive tabs are not rendered until clicked


def upload(page, selector: str, path) -> None:
    """Choose a file and wait until the server has received it (a busy machine uploads slowly)."""
    with page.expect_response(lambda r: "/gradio_api/upload" in r.url and r.request.method == "POST"):
        page.locator(selector).set_input_files(str(path))


def test_image_tab_annotates_an_example_and_downloads_the_csv(page, app_url):
    open_tab(page, app_url, "Image")
    page.locator("#image-input input[type=file]").set_input_files(str(EXAMPLES / "two-faces.jpg"))
    page.get_by_role("button", name="Analyse faces").click()
    page.locator("#image-output img").wait_for()
    page.locator("#image-chart .js-plotly-plot").wait_for()
    assert "2 faces" in page.locator("#image-status").inner_text()
    with page.expect_download() as download:
        page.locator("#image-csv a").first.click()
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    assert len(rows) == 2 and {row["model"] for row in rows} == {"mini_xception"}
    assert any(row["top_label"] == "Happiness" for row in rows)


STATUS_RECORDER = """(selector) => {
  const element = document.querySelector(selector);
  window.__statusTexts = [element.innerText];
  new MutationObserver(() => window.__statusTexts.push(element.innerText))
    .observe(element, { subtree: true, childList: true, characterData: true });
}"""


def test_video_tab_shows_progress_plays_the_result_and_draws_the_timeline(page, app_url, tmp_path):
    clip = make_clip(tmp_path / "clip.mp4", seconds=6.0, fps=15.0, second_face=None)
    open_tab(page, app_url, "Video")
    upload(page, "#video-input input[type=file]", clip.path)
    page.locator("#video-input video").wait_for()  # the upload finished
    # Every text the status shows is recorded: a 0.9 s analysis can pass its progress between two
    # polls of a wait, so the progress is asserted from the record, not raced for.
    page.evaluate(STATUS_RECORDER, "#video-status")
    page.get_by_role("button", name="Analyse video").click()
    status = page.locator("#video-status")
    status.filter(has_text="Done").wait_for(timeout=120_000)
    shown = page.evaluate("window.__statusTexts")
    assert any(re.search(r"Analysing: frame \d+ / 90", text) for text in shown), shown  # while it ran
    video = page.locator("#video-output video")
    video.wait_for()
    page.wait_for_function(
        "el => el.readyState >= 1 && isFinite(el.duration)", arg=video.element_handle(), timeout=30_000
    )
    assert video.evaluate("el => el.duration") == pytest.approx(6.0, abs=0.2)
    traces = page.locator("#video-timeline .js-plotly-plot .scatterlayer .trace")
    traces.first.wait_for()
    assert traces.count() >= 7  # a line per expression


def test_why_shows_where_the_model_looked_on_each_face_for_the_class_asked(page, app_url):
    open_tab(page, app_url, "Image")
    page.get_by_label("Why? Show where the model looked").check()
    page.get_by_text("Two faces", exact=True).first.click()
    maps = page.locator("#image-why-maps")
    maps.get_by_text("#2 Neutral").wait_for()
    assert maps.locator("img").count() == 2 and maps.get_by_text("#1 Happiness").is_visible()
    page.locator("#image-why-target input").click()
    page.get_by_role("option", name="Surprise").click()
    maps.get_by_text("#1 for Surprise").wait_for()
    assert "for Surprise" in maps.inner_text() and maps.locator("img").count() == 2
    page.get_by_label("Why? Show where the model looked").uncheck()
    maps.wait_for(state="hidden")


def test_an_image_example_click_shows_its_result_and_a_new_photo_replaces_it(page, app_url):
    open_tab(page, app_url, "Image")
    page.get_by_text("Two faces", exact=True).first.click()
    status = page.locator("#image-status")
    status.filter(has_text="2 faces").wait_for()  # analysed on the click, no button pressed
    cards = page.locator("#image-faces .fer-card")
    assert cards.count() == 2 and cards.first.locator("img").evaluate("img => img.naturalWidth") > 0
    assert "Happiness" in cards.first.locator(".verdict").inner_text()
    upload(page, "#image-input input[type=file]", EXAMPLES / "biden-portrait.jpg")
    status.filter(has_text="1 face").wait_for()  # the old result does not linger beside the new photo
    traces = page.locator("#image-chart .js-plotly-plot .bars .point")
    assert traces.count() == 7  # one face's bars


def test_the_video_example_runs_on_click_and_clearing_the_video_clears_its_result(page, app_url):
    open_tab(page, app_url, "Video")
    page.get_by_text("Two people, four shots (8 s)", exact=True).first.click()
    status = page.locator("#video-status")
    status.filter(has_text="Done").wait_for(timeout=120_000)
    assert "faces" in status.inner_text() or "persons" in status.inner_text()
    assert not page.locator("#video-preview").is_visible()  # the result takes the preview's place
    page.locator("#video-output video").wait_for()
    page.locator("#video-timeline .js-plotly-plot").wait_for()
    page.locator("#video-input").get_by_role("button", name="Clear").click()  # to upload another
    status.filter(has_text="Upload a video and press").wait_for()
    page.locator("#video-timeline .js-plotly-plot").wait_for(state="detached")
    assert page.locator("#video-output video").count() == 0


def test_cancel_in_the_page_keeps_the_partial_video(page, app_url, tmp_path):
    clip = make_clip(tmp_path / "long.mp4", seconds=60.0, fps=30.0, second_face=None)
    open_tab(page, app_url, "Video")
    upload(page, "#video-input input[type=file]", clip.path)
    page.locator("#video-input video").wait_for()
    page.get_by_role("button", name="Analyse video").click()
    status = page.locator("#video-status")
    status.filter(has_text=re.compile(r"Analysing: frame \d+ / 1800")).wait_for()
    page.get_by_role("button", name="Cancel").click()
    status.filter(has_text="Cancelled").wait_for(timeout=10_000)
    video = page.locator("#video-output video")
    page.wait_for_function(
        "el => el.readyState >= 1 && isFinite(el.duration)", arg=video.element_handle(), timeout=30_000
    )
    assert 0 < video.evaluate("el => el.duration") < 59


def test_an_animated_image_is_offered_to_the_video_tab(page, app_url, tmp_path):
    from tests.support.hostile_media import multi_frame

    open_tab(page, app_url, "Image")
    page.locator("#image-input input[type=file]").set_input_files(str(multi_frame(tmp_path, "gif", frames=6)))
    offer = page.get_by_role("button", name="Analyse every frame in the Video tab")
    offer.click()
    page.locator("#video-input video").wait_for()  # the Video tab is open with the animation loaded
    page.get_by_role("button", name="Analyse video").click()
    page.locator("#video-status").filter(has_text="Done: 6 frames").wait_for(timeout=60_000)


def test_webcam_tab_looks_live_and_says_what_it_sees(laptop, app_url):
    """At 1366x768: the live picture beside the camera, the timeline on screen, annotated frames
    that keep coming and a status that agrees with them (the frame rate is bench_webcam_browser.py's)."""
    page = laptop
    page.add_init_script(meter_script())
    open_tab(page, app_url, "Webcam")
    page.get_by_label("On the server").check()
    webcam = page.locator("#webcam-input")
    webcam.get_by_role("button", name=re.compile("webcam", re.I)).click()  # "Click to access webcam"
    # Gradio labels its Record button "capture photo" for screen readers; its text says Record.
    webcam.get_by_role("button").filter(has_text="Record").click()  # the fake camera plays two faces
    page.locator("#webcam-output img").wait_for(timeout=60_000)
    status = page.locator("#webcam-status")
    status.filter(has_text="2 faces").wait_for()
    page.evaluate("window.__meter.loads = []")
    said = []
    while page.evaluate("window.__meter.loads.length") < 30:  # 30 annotated frames shown, one by one
        count = page.evaluate("window.__meter.loads.length")
        page.wait_for_function("(n) => window.__meter.loads.length > n", arg=count)
        said.append(status.inner_text())
    loads = page.evaluate("window.__meter.loads")
    figures = summarise(loads, posted=0, seconds=1.0, clip_frames=90, fps=30)
    assert figures.displayed >= 20  # new camera frames, annotated, not one frame shown again and again
    # Never a wrong word while two faces are on camera (on a loaded machine a long wait between
    # frames honestly restarts tracking, "Looking for faces…", and then finds them again).
    assert all("frames/s analysed" in text for text in said), said
    assert not any("No face found" in text or "could not" in text for text in said), said
    status.filter(has_text="2 faces").wait_for()
    traces = page.locator("#webcam-timeline .js-plotly-plot .scatterlayer .trace")
    assert traces.count() == 14  # a line per expression of each face
    boxes = {name: page.locator(f"#webcam-{name}").bounding_box() for name in ("input", "output", "timeline")}
    assert boxes["output"]["y"] == boxes["input"]["y"] and boxes["output"]["x"] > boxes["input"]["x"]
    assert boxes["timeline"]["y"] + boxes["timeline"]["height"] <= 768  # on screen without scrolling
    assert not page.locator("#webcam-plane").is_visible()  # the embedded model gives no valence/arousal


def test_models_tab_lists_every_model_with_its_status(page, app_url):
    open_tab(page, app_url, "About the models")
    table = page.locator("#model-table table")
    rows = table.locator("tbody tr")
    assert rows.count() == len(MODEL_NAMES) + 1  # every model, and the face-recognition network
    statuses = [rows.nth(i).locator("td").nth(2).inner_text() for i in range(rows.count())]
    assert statuses.count("ready") == 2 and all(  # the embedded model and face-recognition network
        s in ("ready", "downloads on first use") or s.startswith("unavailable: ") for s in statuses
    ), statuses
    assert page.locator("#model-table").bounding_box()["height"] < 700  # one screen, not 5,000 px
    page.get_by_text("Model cards: papers, labels, input contracts, sources").click()  # folded below
    cards = page.locator("#model-cards")
    cards.locator("h3").first.wait_for()
    assert cards.locator("h3").count() == len(MODEL_NAMES)  # one card per model
    text = cards.inner_text()
    assert all(name in text for name in MODEL_NAMES)
    status = r"Weights: (ready|downloaded from its pinned source on first use|unavailable)"
    statuses = re.findall(status, text)
    assert len(statuses) == len(MODEL_NAMES) and statuses.count("ready") == 1  # only the embedded model


@pytest.mark.parametrize("tab", ["Image", "Video", "Webcam", "About the models"])
def test_every_tab_is_readable_at_phone_width(phone, app_url, tab):
    open_tab(phone, app_url, tab)
    phone.get_by_role("tabpanel").first.wait_for()  # the tab is rendered
    phone.evaluate("() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")
    overflow = phone.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1  # nothing wider than the screen: no sideways scrolling


def test_every_control_has_a_label_and_is_keyboard_reachable(page, app_url):
    open_tab(page, app_url, "Image")
    unnamed = page.evaluate(
        """() => [...document.querySelectorAll('button, input, select, textarea, [role=tab]')]
            .filter(el => el.offsetParent !== null && el.type !== 'file')
            .filter(el => !(el.getAttribute('aria-label') || el.labels?.length
                            || el.getAttribute('aria-labelledby') || el.textContent.trim()
                            || el.getAttribute('title')))
            .map(el => el.outerHTML.slice(0, 120))"""
    )
    assert unnamed == []
    for _ in range(60):  # Tab through the page until the main action has the focus
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent.trim()") == "Analyse faces":
            break
    else:
        pytest.fail("'Analyse faces' cannot be reached with the keyboard")


FONT_WEIGHTS_JS = """async () => {
  await document.fonts.ready;
  const used = [...document.querySelectorAll("h1, h2, button, strong")]
    .filter((e) => e.offsetParent !== null && getComputedStyle(e).fontFamily.includes("Source Sans Pro"))
    .map((e) => getComputedStyle(e).fontWeight);
  const declared = [...document.fonts].filter((f) => f.family.replace(/['"]/g, "") === "Source Sans Pro")
    .map((f) => f.weight);
  return { used: [...new Set(used)], declared: [...new Set(declared)] };
}"""


def test_the_model_menu_puts_ready_models_first_and_says_what_each_needs(page, app_url):
    open_tab(page, app_url, "Image")
    page.locator("#image-tab-model input").click()
    options = page.get_by_role("option").all_inner_texts()
    assert options[0].endswith("(ready)") and len(options) == len(MODEL_NAMES)
    assert all(o.endswith(("(ready)", "(downloads on first use)", "(unavailable)")) for o in options)


CLIPPED_TICKS_JS = """() => {
  const svg = document.querySelector("#image-chart .main-svg");
  const frame = svg.getBoundingClientRect();
  return [...document.querySelectorAll("#image-chart .xtick text, #image-chart .ytick text")].map((t) => {
    const box = t.getBoundingClientRect();
    const inside = box.left >= frame.left - 1 && box.right <= frame.right + 1;
    return { text: t.textContent, inside, rotated: (t.getAttribute("transform") || "").includes("rotate") };
  });
}"""


def test_chart_labels_are_whole_and_upright_on_a_phone(phone, app_url):
    open_tab(phone, app_url, "Image")
    phone.get_by_text("Two faces", exact=True).first.click()
    phone.locator("#image-chart .ytick text").first.wait_for()
    ticks = phone.evaluate(CLIPPED_TICKS_JS)
    names = {t["text"] for t in ticks}
    assert {"Neutral", "Happiness", "Surprise", "Disgust"} <= names  # whole words, not "Happines"
    assert all(t["inside"] and not t["rotated"] for t in ticks), [t for t in ticks if not t["inside"]]


TOOLBAR_AND_LABEL_JS = """() => {
  const box = (selector) => document.querySelector(selector).getBoundingClientRect().toJSON();
  return { toolbar: box("#image-chart .modebar"), label: box("#image-chart label, #image-chart .float") };
}"""


def test_the_chart_toolbar_leaves_the_panel_label_readable_on_a_phone(phone, app_url):
    open_tab(phone, app_url, "Image")
    phone.get_by_text("Two faces", exact=True).first.click()
    chart = phone.locator("#image-chart")
    chart.locator(".ytick text").first.wait_for()
    chart.hover(position={"x": 200, "y": 200})  # Plotly shows its toolbar while the pointer is over the chart
    boxes = phone.evaluate(TOOLBAR_AND_LABEL_JS)
    toolbar, label = boxes["toolbar"], boxes["label"]
    assert toolbar["width"] > 0 and label["width"] > 0
    overlap_x = min(toolbar["right"], label["right"]) - max(toolbar["left"], label["left"])
    overlap_y = min(toolbar["bottom"], label["bottom"]) - max(toolbar["top"], label["top"])
    assert overlap_x <= 0 or overlap_y <= 0, boxes


def test_compare_names_the_models_it_ran_and_those_it_skipped_with_why(page, app_url):
    open_tab(page, app_url, "Image")
    page.get_by_text("Two faces", exact=True).first.click()
    page.locator("#image-status").filter(has_text="2 faces").wait_for()
    page.get_by_role("button", name="Compare all available models").click()
    status = page.locator("#image-status")
    status.filter(has_text="Skipped").wait_for()
    text = status.inner_text()
    assert "Ran 1 model: Mini-Xception FER2013" in text
    skipped = [int(n) for n in re.findall(r"Skipped (\d+) \(", text)]  # grouped by why
    assert sum(skipped) == 10 and "EmoNet 8-class" in text and "weights not downloaded yet" in text


def test_a_web_visitor_can_fetch_a_models_weights_and_sees_why_when_it_fails(page, app_url):
    """Offline here, so the download fails: the page says why, and the menu then says unavailable."""
    open_tab(page, app_url, "Image")
    page.locator("#image-tab-model input").click()
    page.get_by_role("option", name="HSEmotion EfficientNet-B0, 7 classes").click()
    fetch = page.get_by_role("button", name="Download this model's weights now")
    fetch.click()
    page.get_by_text("Could not get the weights.").first.wait_for(timeout=60_000)
    page.locator("#image-tab-model input").click()
    option = page.get_by_role("option", name=re.compile("HSEmotion EfficientNet-B0, 7 classes"))
    assert option.inner_text().endswith("(unavailable)")


def test_every_font_weight_the_page_uses_is_one_it_loads(page, app_url):
    """No heading or button falls back to a heavier system font for want of its weight's file."""
    page.goto(app_url)
    page.locator("h1").first.wait_for()
    fonts = page.evaluate(FONT_WEIGHTS_JS)
    assert fonts["used"] and set(fonts["used"]) <= set(fonts["declared"]), fonts


def analyses_logged(server_log) -> int:
    return server_log.read_text().count("fer_demo.ui.image_handlers: image ")


def test_a_group_photo_on_a_phone_shows_its_result_on_the_first_screen(phone, app_url, server_log, tmp_path):
    """A real three-person photo: the result sits under the photo within the first screen, each
    face's caption readable, one analysis per upload even when a photo is dropped onto another,
    and moving a detection slider runs it again."""
    page = phone
    open_tab(page, app_url, "Image")
    photo = tmp_path / "group.jpg"  # not an example file: the example cache must not answer
    photo.write_bytes((EXAMPLES / "three-people.jpg").read_bytes() + b"\0")
    before = analyses_logged(server_log)
    upload(page, "#image-input input[type=file]", photo)
    status = page.locator("#image-status")
    status.filter(has_text="3 faces").wait_for()
    output = page.locator("#image-output").bounding_box()
    assert output["y"] + output["height"] / 2 < 844  # the result is on the first screen
    drop = tmp_path / "two.jpg"
    drop.write_bytes((EXAMPLES / "two-faces.jpg").read_bytes() + b"\0")
    upload(page, "#image-input input[type=file]", drop)  # onto the photo shown
    status.filter(has_text="2 faces").wait_for()
    page.locator("#image-faces").filter(has_text="#2").wait_for()
    assert analyses_logged(server_log) - before == 2, server_log.read_text()[-2000:]
    page.get_by_text("Face detection").first.click()
    number = page.locator("input[type=number][aria-label*='Minimum face size']").first
    number.fill("300")  # larger than both faces
    number.press("Tab")  # the slider's release: as when a finger lets go of it
    status.filter(has_text="No faces found").wait_for()
    assert "too small to read" in status.inner_text()


def test_an_unavailable_model_shows_one_message_and_no_old_result(page, app_url):
    open_tab(page, app_url, "Image")
    upload(page, "#image-input input[type=file]", EXAMPLES / "two-faces.jpg")
    page.locator("#image-status").filter(has_text="2 faces").wait_for()
    page.locator("#image-tab-model input").click()
    page.get_by_role("option", name=re.compile("EmoNet 8-class")).click()
    status = page.locator("#image-status").filter(has_text="unavailable here")
    status.wait_for()
    assert "Please choose another model" in status.inner_text()
    assert page.locator("#image-faces .fer-card").count() == 0  # the last model's cards are gone
    assert not page.locator("#image-output img").count()
    assert page.get_by_text("Error", exact=True).count() == 0  # no red badge on every output
    assert not any(part in page.locator("body").inner_text() for part in (".pth", "python -m fer_demo"))


@pytest.mark.parametrize("width", [1366, 390])
def test_the_real_footage_example_is_honest_about_persons_and_small_faces(browser, app_url, width, request):
    """Intel's real four-shot clip: four people in the first two shots (the woman of shot 1 walks up
    again in shot 2), tiny faces after. The embedded face-recognition network, offline, links her
    two tracks into one person: the page says 4 persons from 5 tracks, shows a thumbnail per person,
    says how many faces were too small, and the timeline has a panel for each of the four."""
    context = browser.new_context(viewport={"width": width, "height": 900 if width > 600 else 844})
    page = context.new_page()
    page.set_default_timeout(120_000)
    try:
        open_tab(page, app_url, "Video")
        page.get_by_text("Real footage: 2 to 5 people, four shots (14 s)", exact=True).first.click()
        status = page.locator("#video-status")
        status.filter(has_text="Done").wait_for()
        text = status.inner_text()
        assert "4 persons (from 5 tracks linked by face)" in text and "too small to read" in text
        assert "http" not in text and "/tmp" not in text
        page.locator("#video-timeline").filter(has_text="Person 4").wait_for()  # a panel per person
        assert page.locator("#video-persons .thumbnail-item").count() == 4
        page.get_by_text("Advanced settings").click()
        box = page.get_by_label("Link tracks into persons (face re-identification)")
        assert box.is_checked() and box.is_enabled()  # the network ships with the app: no download
        timeline = page.locator("#video-timeline").bounding_box()
        assert timeline["width"] <= width
    finally:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"real-footage-video-{width}.png"), full_page=True)
        context.close()
