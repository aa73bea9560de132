"""`restore review` driven in a pseudo-terminal as a person would, and review logs replayed by `fix`."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest
from conftest import ROOT

from restore import Edit, apply_edits
from restore.errors import InputError
from restore.html import render_html
from restore.review import ACCEPT, REJECT, Keys, Review, edits_from_log, read_log, render_edit, walk

SAMPLE = ROOT / "samples" / "spun_article.txt"
ENV = dict(os.environ, PYTHONPATH=str(ROOT), TERM="xterm-256color")
ENV.pop("NO_COLOR", None)


def cli(*args: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-c", "from cli import main; main()", *args]
    return subprocess.run(cmd, input=stdin, capture_output=True, text=True, cwd=cwd, env=ENV, timeout=60)


def article_with_chrome() -> str:
    """The sample with two chrome lines in it, so the review has clean and repair edits too."""
    paras = SAMPLE.read_text(encoding="utf-8").split("\n\n")
    return "\n\n".join(paras[:3] + ["Advertisement", "Share this article:  Facebook | Twitter"] + paras[3:])


def test_review_in_a_terminal_then_replay_the_log(tmp_path, restorer):
    source = article_with_chrome()
    src = tmp_path / "spun_article.txt"
    src.write_text(source, encoding="utf-8")
    edits = restorer.restore(source).edits
    n = len(edits)
    kinds = [e.kind for e in edits]
    first_other = next(i for i, k in enumerate(kinds) if k != "restore")
    assert kinds[:5] == ["restore"] * 5 and first_other > 5

    child = pexpect.spawn(
        sys.executable,
        ["-c", "from cli import main; main()", "review", src.name],
        cwd=str(tmp_path),
        env=ENV,
        encoding="utf-8",
        timeout=15,
        dimensions=(40, 120),
    )
    try:
        child.expect(f"edit 1 of {n}")
        child.expect(r"\[\?\]help > ")
        screen = child.before
        assert "restore" in screen and edits[0].reason in screen
        # original in red, struck; proposal in green (the wrapper colours word by word)
        assert all(f"\x1b[31;9m{word}" in screen for word in edits[0].before.split())
        assert all(f"\x1b[32;1m{word}" in screen for word in edits[0].after.split())
        child.send("a")  # one keypress, no Enter
        child.expect(f"edit 2 of {n}")
        child.send("r")
        child.expect(f"edit 3 of {n}")
        child.send("\x1b[D")  # left arrow = back: change the decision on edit 2
        child.expect(f"edit 2 of {n}.*now: rejected")
        child.send("a")
        child.expect(f"edit 3 of {n}")
        child.send("r")
        child.expect(f"edit 4 of {n}")
        child.send("e")  # rewrite edit 4 by hand
        child.expect("replacement for")
        child.sendline("in the coming month")
        child.expect(f"edit 5 of {n}")
        child.send("A")  # accept every remaining restore edit: stops at the first clean edit
        child.expect(rf"edit {first_other + 1} of {n}\S*  ·  {kinds[first_other]}")
        child.expect(r"\[\?\]help > ")
        assert "\x1b[31;2;9m" in child.before  # clean edits use their own KIND_STYLE colour
        child.send("?")
        child.expect("accept all remaining edits of this kind")
        child.expect(f"edit {first_other + 1} of {n}")
        child.send("q")  # quit: the undecided edits count as rejected
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0, child.before
    summary = child.before

    accepted = []
    for i, e in enumerate(edits):
        if i == 3:
            accepted.append(Edit(e.start, e.end, e.before, "in the coming month", e.kind, e.reason))
        elif i in (0, 1) or (i > 3 and e.kind == "restore"):
            accepted.append(e)
    expected = apply_edits(source, accepted)
    out = tmp_path / "spun_article.restored.txt"
    log = tmp_path / "spun_article.restored.review.json"
    assert out.read_text(encoding="utf-8") == expected
    assert src.read_text(encoding="utf-8") == source  # the input is never touched
    assert str(out.name) in summary and str(log.name) in summary
    assert re.search(rf"{len(accepted) - 1} accepted, 1 edited, {n - len(accepted)} rejected", summary)

    data = json.loads(log.read_text(encoding="utf-8"))
    assert data["format"] == "restore-review-log" and data["source"]["length"] == len(source)
    assert [d["decision"] for d in data["decisions"][:4]] == ["accept", "accept", "reject", "accept"]
    assert data["decisions"][3]["after"] == "in the coming month"
    assert data["decisions"][3]["proposed"] == edits[3].after

    proc = cli("fix", "--apply-log", log.name, src.name, "--diff", "none", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == expected
    proc = cli("fix", "--apply-log", log.name, src.name, "--diff", "word", "-o", "again.txt", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "again.txt").read_text(encoding="utf-8") == expected
    assert "in the coming month" in proc.stderr  # the diff shows the hand-edited replacement

    src.write_text(source.replace("Tuesday", "Wednesday"), encoding="utf-8")
    proc = cli("fix", "--apply-log", log.name, src.name, cwd=tmp_path)
    assert proc.returncode == 3
    assert proc.stdout == ""
    assert "spun_article.txt" in proc.stderr and "sha256" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_review_without_a_terminal_reads_one_key_per_line(tmp_path):
    src = tmp_path / "a.txt"
    src.write_text(SAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    proc = cli("review", "a.txt", "-o", "out/b.txt", "--log", "decisions.json", cwd=tmp_path, stdin="a\nq\n")
    assert proc.returncode == 0, proc.stderr
    assert "\x1b[" not in proc.stdout  # no colour when stdout is not a terminal
    assert "1 accepted, 0 edited" in proc.stdout
    text = (tmp_path / "out" / "b.txt").read_text(encoding="utf-8")
    assert text.startswith("Council delays") and "The city council mentioned" in text
    assert read_log(tmp_path / "decisions.json")["decisions"][1]["decision"] == "reject"
    assert cli("review", "a.txt", "-o", "x.txt", "--in-place", cwd=tmp_path).returncode == 2


def test_log_round_trip_and_html_log_shape(restorer):
    source = SAMPLE.read_text(encoding="utf-8")
    result = restorer.restore(source)
    review = Review(source, result.edits)
    review.decisions = ["accept" if i % 2 else "reject" for i in range(len(result.edits))]
    review.decisions[1] = "accept"
    review.afters[1] = "stated"
    log = json.loads(json.dumps(review.to_log("x.txt")))
    replayed = edits_from_log(source, log)
    assert apply_edits(source, replayed) == review.text()
    assert replayed[0].after == "stated"

    # The HTML page's "Download decisions" log (built as its script builds it) replays the same way.
    page = render_html(source, result, title="x.txt")
    payload = json.loads(re.search(r'id="restore-data">(.*?)</script>', page, re.S).group(1))
    html_log = {
        "format": "restore-review-log",
        "version": 1,
        "tool": "restore html review",
        "source": {"path": payload["title"], "sha256": payload["sha256"], "length": payload["length"]},
        "decisions": [
            dict(e, proposed=e["after"], decision="accept" if i < 3 else "reject")
            for i, e in enumerate(payload["edits"])
        ],
    }
    assert apply_edits(source, edits_from_log(source, html_log)) == apply_edits(source, result.edits[:3])

    with pytest.raises(InputError, match="sha256"):
        edits_from_log(source + " ", log, name="x.txt")


def _three_edit_review() -> Review:
    source = "The mayor mentioned a soiled bomb in a telephone name."
    edits = [
        Edit(10, 19, "mentioned", "said", "restore", "spinner-table", 0.9),
        Edit(22, 28, "soiled", "dirty", "restore", "spinner-table", 0.9),
        Edit(39, 53, "telephone name", "phone call", "restore", "spinner-table", 0.9),
    ]
    assert [source[e.start : e.end] for e in edits] == ["mentioned", "soiled", "telephone name"]
    return Review(source, edits)


def test_skipped_edits_come_round_again_and_back_goes_back():
    review = _three_edit_review()
    keys = Keys(io.StringIO("n\na\nb\nr\na\na\n"))  # skip 1, accept 2, back, reject 2, accept 3, then 1
    assert walk(review, keys, out=io.StringIO()) is True
    assert review.decisions == [ACCEPT, REJECT, ACCEPT]


def test_context_shows_accepted_edits_as_they_will_read():
    review = _three_edit_review()
    review.decisions[0] = ACCEPT
    screen = render_edit(review, 2, color=False)
    assert "The mayor said a soiled bomb in a [-telephone name-]{+phone call+}" in screen


def test_context_wraps_by_terminal_columns_not_characters():
    # CJK characters and emoji take two columns each: wrapping by len() overran the screen
    from restore.render import cells
    from restore.review import _wrap

    assert (cells("abc"), cells("日本語"), cells("😀"), cells("e\u0301")) == (3, 6, 2, 1)
    out = _wrap([("日本語の記事 " * 10, "")], 30, False)
    assert max(cells(line) for line in out.split("\n")) <= 30
    assert out.count("\n") >= 4


@pytest.mark.parametrize(
    "change",
    [
        lambda log: log.update(decisions={"0": "accept"}),  # not a list
        lambda log: log.update(decisions=["accept"]),  # not objects
        lambda log: log.update(source="x.txt"),  # not an object
        lambda log: log["decisions"][0].update(start=60, end=60, before=""),  # past the end
        lambda log: log["decisions"][0].update(start=-4, end=-4, before=""),  # before the start
    ],
)
def test_a_log_edited_by_hand_into_nonsense_is_refused_naming_it(tmp_path, change):
    # a hand-edited log crashed with AttributeError (exit 1) or put an insertion past the text's end
    review = _three_edit_review()
    review.decisions = [ACCEPT] * 3
    log = review.to_log("a.txt")
    change(log)
    (tmp_path / "a.txt").write_text(review.source, encoding="utf-8")
    (tmp_path / "edited.json").write_text(json.dumps(log), encoding="utf-8")
    proc = cli("fix", "a.txt", "--apply-log", "edited.json", cwd=tmp_path)
    assert proc.returncode == 3, proc.stderr
    assert "edited.json" in proc.stderr and "Traceback" not in proc.stderr
    assert proc.stdout == ""


@pytest.mark.parametrize("where", [["-o", "taken"], ["--log", "taken"]])
def test_an_output_that_cannot_be_written_is_refused_before_the_review(tmp_path, where):
    # the reviewer went through every edit, then `q` failed to save and the decisions were lost
    (tmp_path / "a.txt").write_text(
        "In a telephone name, the minister mentioned that a soiled bomb was being built.\n",
        encoding="utf-8",
    )
    (tmp_path / "taken").mkdir()
    proc = cli("review", "a.txt", *where, cwd=tmp_path, stdin="a\na\na\n")
    assert proc.returncode == 4, proc.stdout + proc.stderr
    assert "taken" in proc.stderr and "edit 1 of" not in proc.stdout


def test_a_review_quit_half_way_resumes_from_its_log(tmp_path):
    # `q` saves; running the review again started over and overwrote the saved decisions
    text = "In a telephone name, the minister mentioned that a soiled bomb was being built.\n"
    (tmp_path / "a.txt").write_text(text, encoding="utf-8")
    first = cli("review", "a.txt", cwd=tmp_path, stdin="a\ne\nstated\nq\n")
    assert first.returncode == 0, first.stderr
    log = read_log(tmp_path / "a.restored.review.json")
    assert [d["decision"] for d in log["decisions"]] == [ACCEPT, ACCEPT, REJECT]
    second = cli("review", "a.txt", cwd=tmp_path, stdin="a\n")  # only the undecided edit is asked
    assert second.returncode == 0, second.stderr
    assert "edit 3 of 3" in second.stdout and "edit 1 of 3" not in second.stdout
    assert "2 decisions" in second.stdout  # says it resumed
    restored = (tmp_path / "a.restored.txt").read_text(encoding="utf-8")
    assert "telephone name" not in restored  # the first session's decisions are kept
    assert "the minister stated" in restored and "a dirty bomb" in restored
    log = read_log(tmp_path / "a.restored.review.json")
    assert [d["decision"] for d in log["decisions"]] == [ACCEPT, ACCEPT, ACCEPT]


def test_keys_typed_ahead_in_one_read_are_each_taken():
    # "aaa" typed fast (or pasted) arrived in one read: the review took the first key and dropped the rest
    import signal

    def hung(*_):
        raise TimeoutError("a key was dropped: waiting for input that was already typed")

    master, slave = os.openpty()
    old = signal.signal(signal.SIGALRM, hung)
    signal.alarm(5)
    try:
        with open(slave, closefd=False) as stream, Keys(stream) as keys:
            os.write(master, "aa\x1b[Dré".encode())
            assert [keys.key() for _ in range(5)] == ["a", "a", "b", "r", "é"]
            os.write(master, b"estated\nn")
            assert keys.key() == "e" and keys.line("") == "stated" and keys.key() == "n"
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
        os.close(master)
        os.close(slave)


def test_review_context_of_a_crlf_line_shows_no_carriage_return():
    source = "The mayor mentioned it\r\nNext line.\r\n"
    review = Review(source, [Edit(10, 19, "mentioned", "said", "restore", "spinner-table")])
    screen = render_edit(review, 0, color=False)
    assert "x0d" not in screen and "\r" not in screen, screen
    assert "The mayor [-mentioned-]{+said+} it\n" in screen
    removal = Review("Advertisement\r\nText.\r\n", [Edit(0, 15, "Advertisement\r\n", "", "clean", "ad")])
    screen = render_edit(removal, 0, color=True)
    assert "\r" not in screen and "x0d" not in screen and "original: «Advertisement⏎»" in screen
