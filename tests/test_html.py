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


def test_a_page_that_cannot_be_written_fails_before_any_work(tmp_path):
    # the whole run came first, then exit 4; here --model names no model, so running the
    # engine would stop with exit 5: exit 4 shows the page was checked before it
    blocker = tmp_path / "a-file"
    blocker.write_text("x", encoding="utf-8")
    taken = tmp_path / "taken.html"
    taken.mkdir()
    for page in (taken, blocker / "report.html"):
        proc = run("fix", str(SAMPLE), "--diff", "html", "-o", str(page), "--model", str(tmp_path / "none"))
        assert proc.returncode == 4, proc.stderr
        assert str(page) in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    old = tmp_path / "old.html"  # like any -o of `fix`, an existing page is replaced (fix has no --force)
    old.write_text("an earlier page", encoding="utf-8")
    assert run("fix", str(SAMPLE), "--diff", "html", "-o", str(old)).returncode == 0
    assert old.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_batch_checks_its_pages_directory_and_report_before_the_run(tmp_path):
    source = tmp_path / "in.jsonl"
    source.write_text('{"id": 1, "text": "The council met on Tuesday."}\n', encoding="utf-8")
    blocker = tmp_path / "a-file"
    blocker.write_text("x", encoding="utf-8")
    for where, bad in (("--html", blocker), ("--report", blocker / "report.json")):
        proc = run("batch", str(source), str(tmp_path / "out.jsonl"), where, str(bad), "--no-restore")
        assert proc.returncode == 4, proc.stderr
        assert str(bad) in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
        assert not (tmp_path / "out.jsonl").exists() and not list(tmp_path.glob(".*"))  # nothing ran


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
