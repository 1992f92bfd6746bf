"""The page at / in a real browser: Debian's chromium driven by Playwright against a real server.

Screenshots of each step go to tests/artifacts/page/. The flow is the one a newcomer follows: pick a
document, drop a photo, read the report and its overlay, fix, switch the background, download.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import signal
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import checker
from checker.keys import KeyStore
from checker.specs import load_spec

from .conftest import ARTIFACTS
from .servers import Server

playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is a dev dependency (make test)")
expect = playwright_api.expect

SHOTS = ARTIFACTS / "page"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
                 # a synthetic camera (a moving test pattern, no face) and no permission prompt
                 "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]
SPEC = "schengen-visa"
PHOTO = "hivision_idphoto_2.jpg"  # a level head framed for another document: the fix can pass
INCH = 25.4


def chromium_path() -> str:
    path = os.environ.get("CHECKER_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if path:
        return path
    reason = "Debian's chromium is not installed (make test installs it when run as root: .ci/system-packages)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser():
    executable = chromium_path()
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory, faces_dir):
    srv = Server(tmp_path_factory.mktemp("page") / "tasks")
    srv.start()
    assert f"open {srv.base}/ to check and fix a photo" in srv.stderr  # what `make run` tells a newcomer
    yield srv
    srv.kill(signal.SIGTERM)


class Page:
    """A browser tab on the server, recording every request and every console error."""

    def __init__(self, browser, base: str, name: str) -> None:
        self.context = browser.new_context(viewport={"width": 1280, "height": 1000}, accept_downloads=True,
                                           locale="en-GB")
        self.page = self.context.new_page()
        self.base, self.name = base, name
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        # Listening from the start turns on Playwright's file-chooser interception before any key is
        # pressed; turned on lazily by expect_file_chooser it races a chooser opened by Enter.
        self.choosers: list = []
        self.page.on("filechooser", lambda chooser: self.choosers.append(chooser))

    def file_chooser(self):
        for _ in range(50):
            if self.choosers:
                return self.choosers.pop()
            self.page.wait_for_timeout(100)
        pytest.fail("no file chooser opened")

    def shot(self, step: str) -> None:
        SHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SHOTS / f"{self.name}-{step}.png"), full_page=True)

    def choose_spec(self, query: str) -> None:
        self.page.fill("#spec-search", query)
        expect(self.page.locator("#spec option")).to_have_count(1)
        self.page.select_option("#spec", index=0)

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def tab(browser, server, request):
    t = Page(browser, server.base, request.node.name.replace("[", "-").replace("]", ""))
    t.page.goto(server.base + "/")
    yield t
    t.shot("last")
    t.close()


def rows(page) -> dict[str, str]:
    """check -> status of every row of a report table."""
    out = {}
    for tr in page.locator("#report tbody tr").all():
        out[tr.get_attribute("data-check")] = tr.get_attribute("data-status")
    return out


def downloaded(page, button: str) -> tuple[bytes, str]:
    with page.expect_download() as info:
        page.click(button)
    d = info.value
    path = d.path()
    return Path(path).read_bytes(), d.suggested_filename


def test_upload_report_fix_download(tab, faces_dir, tmp_path):
    page = tab.page
    spec = load_spec(SPEC)
    tab.choose_spec("schengen")
    expect(page.locator("#spec-info")).to_contain_text("413 × 531 px")
    page.set_input_files("#file", str(faces_dir / PHOTO))
    expect(page.locator("#report-section")).to_be_visible()
    tab.shot("1-report")

    # Every check the API reports is a row, with the API's verdict.
    report = checker.check(str(faces_dir / PHOTO), spec=SPEC)
    want = {r["check"]: r["status"] for r in report["checks"]}
    assert set(want) == {k for k in report["result"] if k not in ("name", "spec_id")} | {
        n["check"] for n in report["not_applicable"]}
    assert rows(page) == want
    expect(page.locator("#report thead th")).to_have_text(["Result", "Check", "Measured", "Expected", "Reason"])
    assert want["head_length"] == "fail"  # the photo is not framed for the visa: the page must say so
    failing = page.locator('#report tr[data-check="head_length"]')
    expect(failing).to_contain_text(" px")
    shown = int(re.search(r"(\d+) px", failing.inner_text()).group(1))
    assert abs(shown - report["value_dict"]["head_length"]) <= 1, (shown, report["value_dict"]["head_length"])
    window = report["expected"]["head_length"]
    expect(failing).to_contain_text(f"between {round(window['min'])} and {round(window['max'])} px")

    # The overlay draws the API's geometry in the photo's pixels.
    o = report["overlay"]
    svg = page.locator("#overlay")
    assert svg.get_attribute("viewBox") == f"0 0 {o['size'][0]} {o['size'][1]}"
    box = svg.locator("rect.face-box")
    assert [float(box.get_attribute(a)) for a in ("x", "y", "width", "height")] == o["face_box"]
    assert float(svg.locator("line.chin-line").get_attribute("y1")) == o["chin_y"]
    assert float(svg.locator("line.crown-line").get_attribute("y1")) == o["crown_y"]
    eye_line = svg.locator("line.eye-line")
    (x1, y1), (x2, y2) = o["eyes"]
    assert float(eye_line.get_attribute("x1")) < x1 < x2 < float(eye_line.get_attribute("x2"))
    for cls, window in (("crown-window", o["crown_window"]), ("eye-window", o["eye_window"])):
        rect = svg.locator(f"rect.{cls}")
        assert float(rect.get_attribute("y")) == window[0]
        assert float(rect.get_attribute("height")) == pytest.approx(window[1] - window[0])
    assert svg.bounding_box()["width"] > 200  # drawn over the photo, not collapsed
    page.uncheck("#show-overlay")
    expect(svg).to_be_hidden()
    page.check("#show-overlay")
    expect(svg).to_be_visible()

    # Fix it: the result beside the original, with its own report.
    page.click("#fix")
    expect(page.locator("#fix-section")).to_be_visible()
    expect(page.locator("#fixed-figure")).to_be_visible()
    expect(page.locator("#fix-verdict")).to_have_class("verdict pass")
    assert page.locator("#report-after tbody tr").count() >= len(want) - 3
    expect(page.locator('#report-after tr[data-check="head_length"]')).to_have_attribute("data-status", "pass")
    tab.shot("2-fixed")

    data, name = downloaded(page, "#download-photo")
    assert name == "schengen-visa.jpg"
    img = Image.open(io.BytesIO(data))
    assert img.size == tuple(spec.size_px)
    (tmp_path / name).write_bytes(data)
    after = checker.check(str(tmp_path / name), spec=SPEC)
    assert after["check_result"] == 1, after["failures"] + after["not_check_result"]

    # The background switches at once, from the transparent result, without asking the server.
    before = len([u for u in tab.requests if "/api/" in u])
    page.get_by_label("light blue").check()
    expect(page.locator("#fixed")).to_have_attribute("style", "background-color: rgb(142, 197, 233);")
    assert len([u for u in tab.requests if "/api/" in u]) == before
    tab.shot("3-light-blue")
    data, _ = downloaded(page, "#download-photo")
    rgb = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=int)
    assert np.abs(rgb[5, 5] - [0x8E, 0xC5, 0xE9]).max() <= 4  # the file now has the chosen background
    assert Image.open(io.BytesIO(data)).size == tuple(spec.size_px)

    # Print sheets at the spec's dpi: 5-inch (3.5 x 5 in), 6-inch (4 x 6 in), A4 (210 x 297 mm).
    for size, (w_mm, h_mm) in {"5inch": (3.5 * INCH, 5 * INCH), "6inch": (4 * INCH, 6 * INCH),
                               "a4": (210, 297)}.items():
        page.select_option("#sheet-size", size)
        data, name = downloaded(page, "#download-sheet")
        assert name == f"schengen-visa-sheet-{size}.jpg"
        sheet = Image.open(io.BytesIO(data))
        want_px = sorted(round(mm / INCH * spec.dpi) for mm in (w_mm, h_mm))
        assert sorted(sheet.size) == pytest.approx(want_px, abs=1), size
    assert not tab.errors, tab.errors


def test_chinese(tab, faces_dir):
    page = tab.page
    page.click('[data-lang="zh"]')
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.locator("h1")).to_have_text("证件照检测")
    tab.choose_spec("申根")
    page.set_input_files("#file", str(faces_dir / PHOTO))
    expect(page.locator("#report-section")).to_be_visible()
    report = checker.check(str(faces_dir / PHOTO), spec=SPEC)
    for row in report["checks"]:
        tr = page.locator(f'#report tr[data-check="{row["check"]}"]')
        expect(tr.locator("th")).to_have_text(row["title_zh"])
    expect(page.locator('#report tr[data-check="head_length"] td.status')).to_contain_text("不通过")
    expect(page.locator("#report thead th")).to_have_text(["结果", "检测项", "测量值", "要求", "原因"])
    expect(page.locator("#verdict")).to_contain_text("不符合")
    tab.shot("zh")
    page.click('[data-lang="en"]')  # and back, without reloading
    expect(page.locator('#report tr[data-check="head_length"] th')).to_have_text("Head height (crown to chin)")
    assert not tab.errors, tab.errors


def test_keyboard_only(tab, faces_dir):
    page = tab.page
    page.keyboard.press("Tab")
    expect(page.locator(".skip")).to_be_focused()
    page.locator("#spec-search").focus()
    page.keyboard.type("schengen")
    expect(page.locator("#spec option")).to_have_count(1)
    page.keyboard.press("Tab")
    expect(page.locator("#spec")).to_be_focused()
    page.keyboard.press("ArrowDown")
    assert page.locator("#spec").input_value() == str(load_spec(SPEC).id)
    expect(page.locator("#spec-info")).to_contain_text("413 × 531 px")
    page.locator("#choose").focus()
    page.keyboard.press("Enter")
    tab.file_chooser().set_files(str(faces_dir / PHOTO))
    expect(page.locator("#report tbody tr").first).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("passed")
    # Every control has an accessible name.
    key_label = "API key (needed only when this server has keys)"
    for label in ("Search documents", "Document", "Show the overlay", key_label):
        expect(page.get_by_label(label, exact=True)).to_have_count(1)
    page.locator("#fix").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#download-photo")).to_be_focused()
    assert not tab.errors, tab.errors


def test_a_dropped_photo_is_checked(tab, faces_dir):
    page = tab.page
    tab.choose_spec("schengen")
    data = list((faces_dir / PHOTO).read_bytes())
    transfer = page.evaluate_handle(
        "bytes => { const t = new DataTransfer();"
        " t.items.add(new File([new Uint8Array(bytes)], 'dropped.jpg', {type: 'image/jpeg'})); return t; }", data)
    page.dispatch_event("#drop", "dragover", {"dataTransfer": transfer})
    expect(page.locator("#drop")).to_have_class("drop over")
    page.dispatch_event("#drop", "drop", {"dataTransfer": transfer})
    expect(page.locator("#report-section")).to_be_visible()
    assert rows(page)["head_length"] == "fail"
    assert not tab.errors, tab.errors


def test_the_camera_takes_a_photo(tab):
    """Chromium's synthetic camera shows a test pattern: the captured frame reaches the check, which
    finds no face in it."""
    page = tab.page
    tab.choose_spec("schengen")
    expect(page.locator("#camera-open")).to_be_visible()
    page.click("#camera-open")
    expect(page.locator("#camera")).to_be_visible()
    expect(page.locator("#camera-shoot")).to_be_focused()
    with page.expect_response(lambda r: r.url.endswith("/api/check_pic")) as answer:
        page.click("#camera-shoot")
    # The frame decoded as an image (not CORRUPT_IMAGE or EMPTY_IMAGE): the check looked for a face.
    assert answer.value.json()["status"] == "NO_FACE_DETECTED"
    expect(page.locator("#camera")).to_be_hidden()
    expect(page.get_by_role("status")).to_have_text("No face was found in this photo.")


def test_bad_photos_are_explained(tab, faces_dir, tmp_path):
    page = tab.page
    tab.choose_spec("schengen")
    junk = tmp_path / "notes.jpg"
    junk.write_bytes(b"this is not a photo")
    page.set_input_files("#file", str(junk))
    expect(page.get_by_role("status")).to_have_class("error")
    expect(page.get_by_role("status")).to_contain_text("This file is not a photo, or it is damaged.")
    expect(page.locator("#report-section")).to_be_hidden()
    page.click('[data-lang="zh"]')
    page.set_input_files("#file", str(faces_dir / "two_people.jpg"))
    expect(page.get_by_role("status")).to_contain_text("照片中有不止一张人脸。")
    page.click('[data-lang="en"]')
    page.set_input_files("#file", str(faces_dir / "dogs_no_face.jpg"))
    expect(page.get_by_role("status")).to_have_text("No face was found in this photo.")


def test_a_format_the_browser_cannot_show_is_still_checked(tab, faces_dir, tmp_path):
    page = tab.page
    tab.choose_spec("schengen")
    tiff = tmp_path / "scan.tiff"
    Image.open(faces_dir / PHOTO).save(tiff, "TIFF")
    page.set_input_files("#file", str(tiff))
    expect(page.locator("#report-section")).to_be_visible()
    expect(page.locator("#original-note")).to_be_visible()
    assert rows(page)["photo_format"] == "fail"  # Schengen asks for a JPEG
    page.set_input_files("#file", str(faces_dir / PHOTO))
    expect(page.locator("#original-note")).to_be_hidden()


def test_everything_comes_from_this_server(tab, faces_dir):
    page = tab.page
    tab.choose_spec("schengen")
    page.set_input_files("#file", str(faces_dir / PHOTO))
    page.click("#fix")
    expect(page.locator("#fix-section")).to_be_visible()
    foreign = [u for u in tab.requests if not u.startswith((tab.base, "data:", "blob:"))]
    assert not foreign and tab.requests


def test_a_keyed_server_asks_for_the_key(browser, tmp_path, faces_dir):
    srv = Server(tmp_path / "tasks")
    key = KeyStore(srv.keys_db).create("page", credits=100)
    srv.start()
    t = Page(browser, srv.base, "keyed")
    try:
        page = t.page
        page.goto(srv.base + "/")
        t.choose_spec("schengen")
        page.set_input_files("#file", str(faces_dir / PHOTO))
        expect(page.get_by_role("status")).to_contain_text("needs an API key")
        expect(page.locator("#api-key")).to_be_focused()
        page.fill("#api-key", key)
        page.keyboard.press("Enter")
        page.locator("#api-key").blur()  # "change" fires: the check runs again with the key
        expect(page.locator("#report-section")).to_be_visible()
        page.click("#fix")
        expect(page.locator("#fix-section")).to_be_visible()
        assert KeyStore(srv.keys_db).list()[0].used == 6  # one generated photo, seed 002's price
        t.shot("keyed")
    finally:
        t.close()
        srv.kill(signal.SIGTERM)
