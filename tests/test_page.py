"""The page at / in a real browser: Debian's chromium driven by Playwright against a real server.

Screenshots of each step go to tests/artifacts/page/. The flow is the one a newcomer follows: pick a
document, drop a photo, read the report and its overlay, fix, switch the background, download.
"""

from __future__ import annotations

import io
import math
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

    def __init__(self, browser, base: str, name: str, viewport: tuple[int, int] = (1280, 1000)) -> None:
        self.context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]},
                                           accept_downloads=True, locale="en-GB")
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


def open_tab(browser, server, request, viewport=(1280, 1000)):
    t = Page(browser, server.base, request.node.name.replace("[", "-").replace("]", ""), viewport)
    t.page.goto(server.base + "/")
    yield t
    t.shot("last")
    t.close()


@pytest.fixture
def tab(browser, server, request):
    yield from open_tab(browser, server, request)


@pytest.fixture
def laptop(browser, server, request):
    """A 1280 x 800 screen: a small laptop's."""
    yield from open_tab(browser, server, request, (1280, 800))


@pytest.fixture
def phone(browser, server, request):
    """A 375 px wide phone."""
    yield from open_tab(browser, server, request, (375, 740))


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


COORDINATES = ("x", "y", "x1", "y1", "x2", "y2", "cx", "cy", "width", "height")


def assert_inside(svg, size) -> None:
    """Every element of the overlay lies inside the photo: no negative (or beyond-the-edge) coordinate
    in an attribute or a path."""
    w, h = size
    found = svg.evaluate(
        """(svg, names) => [...svg.querySelectorAll('*')].map((el) => ({
             tag: el.tagName, cls: el.getAttribute('class'),
             attrs: Object.fromEntries(names.filter((n) => el.hasAttribute(n)).map((n) => [n, el.getAttribute(n)])),
             d: el.getAttribute('d')}))""", list(COORDINATES))
    assert found
    for el in found:
        for name, value in el["attrs"].items():
            v = float(value)
            assert v >= 0, el
            limit = w if name in ("x", "x1", "x2", "cx", "width") else h
            assert v <= limit + 1e-6, el
        if el["d"]:
            numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", el["d"])]
            assert numbers and min(numbers) >= 0, el
            assert max(numbers[0::2]) <= w and max(numbers[1::2]) <= h, el


UNIT_SHOWN = {"px": " px", "°": "°", "%": "%", "ΔE": " ΔE", "": " / 100", "bytes": " bytes", "dpi": " dpi"}


def assert_values_shown(page, table: str, checks: list[dict]) -> None:
    """The Measured cell of every row with a number carries the number and its unit, whatever the verdict."""
    passing = 0
    for row in checks:
        if not isinstance(row["value"], int | float) or isinstance(row["value"], bool):
            continue
        cell = page.locator(f'{table} tr[data-check="{row["check"]}"] td').nth(1)
        text = cell.inner_text()
        assert UNIT_SHOWN[row["unit"]] in text, (row["check"], row["unit"], text)
        v = row["value"]
        js_round = lambda x: math.floor(x + 0.5)  # noqa: E731 - JavaScript's Math.round
        number = str(js_round(v)) if abs(v) >= 10 else str(js_round(v * 10) / 10).removesuffix(".0")
        assert number in text.replace(",", ""), (row["check"], v, text)
        passing += row["status"] == "pass"
    assert passing >= 10, "the photo should pass most checks"


RECORD_FORMS = """() => {
  // Playwright does not expose a multipart body that carries a file, so the fields the page hands
  // to fetch are recorded here, as sent (the photo apart).
  window.sentForms = [];
  const send = window.fetch;
  window.fetch = (url, init) => {
    if (init && init.body instanceof FormData) {
      const fields = Object.fromEntries([...init.body.entries()].filter(([, v]) => typeof v === "string"));
      window.sentForms.push({ url: String(url), fields, file: init.body.get("file") instanceof Blob });
    }
    return send(url, init);
  };
}"""


def fixed_request(page, action) -> tuple[dict[str, str], dict]:
    """Run ``action``; the form fields of the one /api/fix request it made and the server's answer (200)."""
    sent = page.evaluate("window.sentForms.length")
    with page.expect_response(lambda r: r.url.endswith("/api/fix"), timeout=120_000) as info:
        action()
    resp = info.value
    assert resp.status == 200, resp.text()[:500]
    forms = page.evaluate("window.sentForms")[sent:]
    assert [f["url"] for f in forms] == ["/api/fix"] and forms[0]["file"], forms
    return forms[0]["fields"], resp.json()


def in_viewport(box, viewport) -> bool:
    return (box is not None and box["x"] >= 0 and box["y"] >= 0 and box["x"] + box["width"] <= viewport["width"] + 0.5
            and box["y"] + box["height"] <= viewport["height"] + 0.5)


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
        if window[1] <= 0:  # above the photo (this head is short for the visa): an arrow at the top edge
            expect(rect).to_have_count(0)
            expect(svg.locator(f".{cls}-group path.offscreen-arrow[data-edge=top]")).to_have_count(1)
            continue
        assert float(rect.get_attribute("y")) == max(window[0], 0)
        assert float(rect.get_attribute("height")) == pytest.approx(min(window[1], o["size"][1]) - max(window[0], 0))
    assert o["crown_window"][1] <= 0 <= o["eye_window"][0], o  # both cases above were met
    assert_inside(svg, o["size"])
    assert svg.bounding_box()["width"] > 200  # drawn over the photo, not collapsed
    page.uncheck("#show-overlay")
    expect(svg).to_be_hidden()
    page.check("#show-overlay")
    expect(svg).to_be_visible()

    # Every row, passing ones too, shows the measured value with its unit.
    assert_values_shown(page, "#report", report["checks"])

    # Fix it: the result with its own report.
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


def test_the_fixed_photo_stays_in_view_with_its_controls(laptop, faces_dir):
    """After "Fix it" on a 1280 x 800 screen the fixed photo, the background switch and the downloads
    are on screen together, without the person scrolling."""
    page = laptop.page
    laptop.choose_spec("schengen")
    page.set_input_files("#file", str(faces_dir / PHOTO))
    expect(page.locator("#report-section")).to_be_visible()
    page.click("#fix")
    expect(page.locator("#fix-section")).to_be_visible()
    page.wait_for_function("() => document.getElementById('fixed').complete"
                           " && document.getElementById('fixed').naturalWidth > 0")
    page.wait_for_timeout(300)  # the page's own scroll to the result
    viewport = page.viewport_size
    for sel in ("#fixed", "#download-photo", "#download-transparent", "#bg-colors", "#download-sheet", "#fix-verdict"):
        box = page.locator(sel).bounding_box()
        assert in_viewport(box, viewport), (sel, box, page.evaluate("scrollY"))
    assert page.locator("#fixed").bounding_box()["height"] > 300  # big enough to judge
    laptop.shot("in-view")
    assert not laptop.errors, laptop.errors


def no_overflow(page) -> None:
    """Nothing is wider than the screen: the page does not scroll sideways, every table sits in a
    container that fits (the table may scroll inside it), and no element outside those reaches past the edge."""
    width = page.viewport_size["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    wraps = page.locator(".table-wrap").all()
    assert page.locator("table").count() == len(wraps) == 2
    for wrap in wraps:
        if wrap.is_visible():
            box = wrap.bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= width + 0.5, box
            expect(wrap.locator("table")).to_have_count(1)
            # At phone width the rows reflow: nothing is left to scroll to inside the container either.
            assert wrap.evaluate("(el) => el.scrollWidth <= el.clientWidth"), wrap.get_attribute("aria-labelledby")
    wide = page.evaluate("""(width) => [...document.body.querySelectorAll('*')]
        .filter((el) => !el.closest('.table-wrap, .skip, .sr-only'))
        .filter((el) => { const r = el.getBoundingClientRect();
                          return r.width > 0 && (r.right > width + 0.5 || r.left < -0.5); })
        .map((el) => `${el.tagName}#${el.id}.${el.className} ${Math.round(el.getBoundingClientRect().right)}`)
        """, width)
    assert not wide, wide


def test_phone_width(phone, faces_dir):
    page = phone.page
    phone.choose_spec("schengen")
    page.set_input_files("#file", str(faces_dir / PHOTO))
    expect(page.locator("#report tbody tr").first).to_be_visible()
    page.locator("#options summary").click()
    page.check('input[name="size-mode"][value="mm"]')
    page.check("#opt-auto_smooth")
    no_overflow(page)
    phone.shot("1-report")
    page.check('input[name="size-mode"][value="spec"]')
    page.uncheck("#opt-auto_smooth")
    page.locator("#options summary").click()
    page.click("#fix")
    expect(page.locator("#fix-section")).to_be_visible()
    # One column: the download button comes within one screen below the top of the fixed photo.
    photo, button = page.locator("#fixed").bounding_box(), page.locator("#download-photo").bounding_box()
    assert 0 < button["y"] + button["height"] - photo["y"] <= page.viewport_size["height"], (photo, button)
    page.locator("#sheet-options summary").click()
    page.check("#bg-gradient")
    no_overflow(page)
    phone.shot("2-fixed")
    assert not phone.errors, phone.errors


def label_fits(label, svg) -> None:
    """The label is drawn inside the photo as shown, not cut off at its right edge."""
    box, shown = label.bounding_box(), svg.bounding_box()
    assert box["x"] >= shown["x"] and box["x"] + box["width"] <= shown["x"] + shown["width"] + 1, (box, shown)
    assert box["y"] >= shown["y"] - 1, (box, shown)


def test_a_window_above_the_photo_is_an_arrow(tab, faces_dir, tmp_path):
    """A head cropped tightly at the top: the spec's crown window lies above the photo. The overlay
    draws it as an arrow at the top edge, pointing up, with its label, and no coordinate is negative."""
    page = tab.page
    report = checker.check(str(faces_dir / PHOTO), spec=SPEC)
    crown = int(report["overlay"]["crown_y"])
    tight = tmp_path / "tight.jpg"
    img = Image.open(faces_dir / PHOTO)
    img.crop((0, crown - 2, img.width, img.height)).save(tight, quality=95)  # the hair touches the top edge
    tab.choose_spec("schengen")
    with page.expect_response(lambda r: r.url.endswith("/api/check_pic")) as info:
        page.set_input_files("#file", str(tight))
    o = info.value.json()["overlay"]
    assert o["crown_y"] < 10 and o["crown_window"][1] < 0, o
    svg = page.locator("#overlay")
    expect(svg.locator("rect.crown-window")).to_have_count(0)
    arrow = svg.locator(".crown-window-group path.offscreen-arrow")
    expect(arrow).to_have_count(1)
    assert arrow.get_attribute("data-edge") == "top"
    d = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", arrow.get_attribute("d"))]
    tip_y, other_y = d[1], d[3::2]
    assert tip_y < min(other_y), d  # the tip is the highest point: it points up, out of the photo
    label = svg.locator(".crown-window-group text.offscreen")
    low, high = round(-o["crown_window"][1]), round(-o["crown_window"][0])
    expect(label).to_have_text(f"↑ where the top of the head should be (head height){low}–{high} px above the photo")
    assert_inside(svg, o["size"])
    label_fits(label, svg)
    expect(page.locator("#overlay-desc")).to_contain_text(f"{low}–{high} px above the photo")
    page.click('[data-lang="zh"]')
    expect(label).to_contain_text(f"在照片上方 {low}–{high} 像素处")
    label_fits(label, svg)
    assert_inside(svg, o["size"])
    tab.shot("arrow")
    assert not tab.errors, tab.errors


def test_options_reach_the_fix(tab, faces_dir):
    """The Options panel, the gradient and the print-sheet options are /api/fix fields, one per control;
    the server answers 200 and the page shows what it answered."""
    page = tab.page
    page.evaluate(RECORD_FORMS)
    spec = load_spec(SPEC)
    tab.choose_spec("schengen")
    page.set_input_files("#file", str(faces_dir / PHOTO))
    expect(page.locator("#report-section")).to_be_visible()
    expect(page.locator("#opt-px_width")).to_be_hidden()  # out of the way until asked for
    page.locator("#options summary").click()
    page.check('input[name="size-mode"][value="px"]')

    # An invalid value is refused on the page, before any request.
    page.fill("#opt-px_width", "5")
    page.fill("#opt-px_height", "472")
    page.click("#fix")
    expect(page.get_by_role("status")).to_contain_text("Width (px)")
    expect(page.locator("#opt-px_width")).to_be_focused()
    assert not [u for u in tab.requests if u.endswith("/api/fix")]

    page.fill("#opt-px_width", "354")
    page.fill("#opt-dpi", "300")
    page.fill("#opt-kb", "40")
    page.check("#opt-auto_bright")
    page.locator("#opt-bright_factor").fill("0.3")
    page.check("#opt-auto_sharp")
    fields, body = fixed_request(page, lambda: page.click("#fix"))
    assert fields == {"spec_id": str(spec.id), "px_width": "354", "px_height": "472", "dpi": "300", "kb": "40",
                      "auto_bright": "1", "bright_factor": "0.3", "auto_sharp": "1", "sharp_factor": "0.5",
                      "transparent": "1"}, fields
    assert body["size_px"] == [354, 472] and body["dpi"] == 300
    assert abs(body["bytes"] - 40 * 1024) <= 1024, body["bytes"]
    expect(page.locator("#fix-section")).to_be_visible()
    assert page.locator("#fixed").get_attribute("src") == body["transparent"]
    assert page.evaluate("document.getElementById('fixed').naturalWidth") == 354
    expect(page.locator("#fixed-caption")).to_contain_text("354 × 472 px, 300 dpi")
    expect(page.locator("#options-stale")).to_be_hidden()

    # The transparent cut-out downloads as it came, with no request.
    data, name = downloaded(page, "#download-transparent")
    assert name == "schengen-visa-transparent.png"
    cut = Image.open(io.BytesIO(data))
    assert cut.mode == "RGBA" and cut.size == (354, 472) and cut.getpixel((2, 2))[3] == 0

    # A centre gradient: shown at once over the cut-out, sent with the download with the same options.
    page.check("#bg-gradient")
    page.locator("#bg-color2").fill("#ffffff")
    page.select_option("#bg-render", "2")
    assert "radial-gradient" in page.locator("#fixed").get_attribute("style")
    with page.expect_download() as dl:
        fields, body = fixed_request(page, lambda: page.click("#download-photo"))
    assert fields == {"spec_id": str(spec.id), "px_width": "354", "px_height": "472", "dpi": "300", "kb": "40",
                      "auto_bright": "1", "bright_factor": "0.3", "auto_sharp": "1", "sharp_factor": "0.5",
                      "bg_color": "FFFFFF", "bg_color2": "FFFFFF", "render": "2"}, fields
    assert Image.open(dl.value.path()).size == (354, 472)

    # The print sheet with its options.
    page.select_option("#sheet-size", "6inch")
    page.locator("#sheet-options summary").click()
    page.check("#sheet-vertical")
    page.check("#sheet-marks")
    page.locator("#sheet-bg").fill("#eeeeee")
    with page.expect_download() as dl:
        fields, body = fixed_request(page, lambda: page.click("#download-sheet"))
    assert {k: fields[k] for k in ("layout", "layout_size", "layout_vertical", "crop_marks", "layout_bg_color",
                                   "px_width", "bg_color2")} == {
        "layout": "1", "layout_size": "6inch", "layout_vertical": "1", "crop_marks": "1",
        "layout_bg_color": "EEEEEE", "px_width": "354", "bg_color2": "FFFFFF"}, fields
    sheet = Image.open(dl.value.path())
    assert sheet.height > sheet.width, sheet.size  # portrait
    assert body["sheet_info"], body.keys()

    # Millimetres (through the dpi) and the watermarked preview: the page says the options changed and
    # fixes again; a preview has no transparent cut-out, so the server's photo is shown.
    page.check('input[name="size-mode"][value="mm"]')
    page.fill("#opt-mm_width", "35")
    page.fill("#opt-mm_height", "45")
    page.fill("#opt-kb", "")
    page.uncheck("#opt-auto_sharp")
    page.check("#opt-preview")
    expect(page.locator("#options-stale")).to_be_visible()
    fields, body = fixed_request(page, lambda: page.click("#refix"))
    assert fields == {"spec_id": str(spec.id), "mm_width": "35", "mm_height": "45", "dpi": "300",
                      "auto_bright": "1", "bright_factor": "0.3", "preview": "1",
                      "bg_color": "FFFFFF", "bg_color2": "FFFFFF", "render": "2"}, fields
    assert body["size_px"] == [413, 531]
    assert page.locator("#fixed").get_attribute("src") == body["photo"]
    expect(page.locator("#download-transparent")).to_be_hidden()
    expect(page.locator("#fixed-caption")).to_contain_text("watermarked preview")
    tab.shot("options")
    assert not tab.errors, tab.errors


def test_the_outfit_picker_sends_a_garment_and_refuses_half_a_garment(tab, faces_dir, tmp_path):
    """The picker shows the 50 garments with their thumbnails; the one picked goes to /api/fix as
    clothes_id; a garment PNG without its anchors is refused on the page, before any request."""
    page = tab.page
    page.evaluate(RECORD_FORMS)
    tab.choose_spec("schengen")
    page.set_input_files("#file", str(faces_dir / PHOTO))
    expect(page.locator("#report-section")).to_be_visible()
    page.locator("#options summary").click()
    expect(page.locator(".garment")).to_have_count(51)  # own clothes + 50
    page.locator("#clothes-man_3").scroll_into_view_if_needed()
    thumb = page.locator('label:has(#clothes-man_3) img')
    expect(thumb).to_be_visible()
    page.wait_for_function("el => el.complete && el.naturalWidth > 0", arg=thumb.element_handle())
    page.check("#clothes-man_3")
    fields, body = fixed_request(page, lambda: page.click("#fix"))
    assert fields["clothes_id"] == "man_3" and body["after"]["result"]["head_length"] == 1
    page.check("#clothes-none")
    (tmp_path / "g.png").write_bytes(_png())
    page.set_input_files("#opt-clothes_file", str(tmp_path / "g.png"))
    before = len([u for u in tab.requests if u.endswith("/api/fix")])
    page.click("#refix") if page.locator("#refix").is_visible() else page.click("#fix")
    expect(page.get_by_role("status")).to_contain_text("anchors")
    assert len([u for u in tab.requests if u.endswith("/api/fix")]) == before


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGBA", (40, 40), (0, 0, 80, 255)).save(buf, format="PNG")
    return buf.getvalue()
