"""The HTML review page: self-contained, and it works in a real browser.

The browser test drives Debian's Chromium (`/usr/bin/chromium`, installed by .ci/run) with
Playwright: it toggles one edit off, downloads the text and checks it is exactly the input with
every other edit applied. Without Chromium it is skipped with the reason (CI always has it).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from conftest import ROOT
from test_cli import run

from restore import Restorer, apply_edits
from restore.html import render_html

SAMPLE = ROOT / "samples" / "spun_article.txt"
CHROMIUM = os.environ.get("RESTORE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def page_and_result(tmp_path_factory):
    text = SAMPLE.read_text(encoding="utf-8")
    result = Restorer().restore(text)
    path = tmp_path_factory.mktemp("html") / "report.html"
    path.write_text(render_html(text, result, title="spun_article.txt"), encoding="utf-8")
    return path, text, result


def test_page_is_self_contained(page_and_result):
    path, _, result = page_and_result
    html = path.read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html), "no network requests"
    assert "<script src" not in html and "<link" not in html
    assert html.count('class="tog"') == len(result.edits)
    for edit in result.edits[:5]:
        assert edit.reason.replace("'", "&#x27;") in html or edit.reason in html


def test_cli_writes_the_page_to_o(tmp_path):
    out = tmp_path / "report.html"
    proc = run("fix", str(SAMPLE), "--diff", "html", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert "phone call" in proc.stdout  # the restored text still goes to stdout
    assert run("fix", str(SAMPLE), "--diff", "html").returncode == 2  # a page needs -o


def test_toggle_and_download_in_a_real_browser(page_and_result, tmp_path):
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the browser test, but there is no Chromium at {CHROMIUM}")
        pytest.skip(f"no Chromium at {CHROMIUM} (.ci/run installs Debian's chromium)")
    from playwright import sync_api

    path, text, result = page_and_result
    assert len(result.edits) >= 2
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(accept_downloads=True, viewport={"width": 390, "height": 844})
            page = context.new_page()
            page.goto(path.as_uri())
            toggles = page.locator("input.tog")
            assert toggles.count() == len(result.edits)
            toggles.nth(1).uncheck()  # reject the second edit
            with page.expect_download() as info:
                page.click("#download")
            target = tmp_path / "download.txt"
            info.value.save_as(target)
            page.set_viewport_size({"width": 1366, "height": 768})
            page.screenshot(path=str(tmp_path / "laptop.png"))
        finally:
            browser.close()
    expected = apply_edits(text, [e for i, e in enumerate(result.edits) if i != 1])
    assert target.read_text(encoding="utf-8") == expected
    assert (tmp_path / "laptop.png").stat().st_size > 10_000


def test_download_is_right_after_characters_outside_the_bmp(tmp_path):
    # Python offsets count code points, JavaScript strings count UTF-16 units: 😀 is one and two
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the browser test, but there is no Chromium at {CHROMIUM}")
        pytest.skip(f"no Chromium at {CHROMIUM} (.ci/run installs Debian's chromium)")
    from playwright import sync_api

    text = (
        "Officials feared a soiled bomb 😀😀. The minister 𝐫𝐞𝐚𝐥𝐥𝐲 mentioned it in a telephone name "
        "on Sunday 🚀, and officers mentioned the invoice had been handed.\n"
    )
    result = Restorer().restore(text)
    assert len(result.edits) >= 3
    path = tmp_path / "emoji.html"
    path.write_text(render_html(text, result, title="emoji.txt"), encoding="utf-8")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(accept_downloads=True).new_page()
            page.goto(path.as_uri())
            with page.expect_download() as info:
                page.click("#download")
            target = tmp_path / "download.txt"
            info.value.save_as(target)
        finally:
            browser.close()
    assert target.read_text(encoding="utf-8") == result.text


def test_batch_writes_one_page_per_document_with_safe_names(tmp_path):
    source = tmp_path / "in.jsonl"
    source.write_text(
        '{"id": "../../evil", "text": "In a telephone name, the minister mentioned that a soiled bomb was built."}\n'
        '{"id": 7, "text": "The council met on Tuesday."}\n',
        encoding="utf-8",
    )
    pages = tmp_path / "pages"
    proc = run("batch", str(source), str(tmp_path / "out.jsonl"), "--html", str(pages), "--workers", "1")
    assert proc.returncode == 0, proc.stderr
    names = sorted(p.name for p in pages.iterdir())
    assert names == ["in.jsonl-0000000-evil.html", "in.jsonl-0000001-7.html"]
    assert not (tmp_path / "evil.html").exists()
    first = (pages / names[0]).read_text(encoding="utf-8")
    assert first.startswith("<!DOCTYPE html>") and "soiled" in first and "dirty" in first


def test_a_crlf_document_shows_no_carriage_returns():
    # every line of a CRLF file ended in a visible "\x0d" on the page, a removed line too
    from restore import Edit

    source = "Advertisement\r\nThe mayor mentioned it\r\nNo change here.\r\n"
    edits = [
        Edit(0, 15, "Advertisement\r\n", "", "clean", "rule:ad-marker"),
        Edit(25, 34, "mentioned", "said", "restore", "spinner-table"),
    ]
    page = render_html(source, edits, title="crlf.txt")
    body = page.split('<script type="application/json"')[0]
    assert "x0d" not in body, re.findall(r".{20}x0d", body)
    assert "<del>Advertisement</del>" in body
