"""`restore fix` end to end, as a user runs it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

SAMPLE = ROOT / "samples" / "spun_article.txt"


def run(*args: str, stdin: str | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-c", "from cli import main; main()", *args]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run(cmd, input=stdin, capture_output=True, text=True, cwd=cwd, env=env, timeout=120)


def test_fix_file_prints_restored_text():
    proc = run("fix", str(SAMPLE), "--no-clean", "--diff", "none")
    assert proc.returncode == 0, proc.stderr
    assert "telephone name" not in proc.stdout
    assert "phone call" in proc.stdout
    assert proc.stderr == ""


def test_fix_reads_stdin_and_writes_word_diff():
    proc = run(
        "fix",
        "--diff",
        "word",
        stdin="In a telephone name, the minister mentioned that a soiled bomb was being built.\n",
    )
    assert proc.returncode == 0, proc.stderr
    # "telephone call" is as good as "phone call": the spinner's "name" is what had to go
    assert proc.stdout in (
        "In a phone call, the minister said that a dirty bomb was being built.\n",
        "In a telephone call, the minister said that a dirty bomb was being built.\n",
    )
    assert "[-soiled-]{+dirty+}" in proc.stderr
    assert "restore" in proc.stderr and "spinner-table" in proc.stderr


def test_word_diff_shows_control_characters_instead_of_sending_them():
    # a scraped escape sequence beside an edit must not reach the terminal (it would clear it)
    proc = run(
        "fix",
        "--no-clean",
        "--diff",
        "word",
        stdin="In a telephone name \x1b[2J the minister mentioned a soiled bomb.\x07\n",
    )
    assert proc.returncode == 0, proc.stderr
    assert "\x1b" in proc.stdout  # the text itself is passed through untouched
    assert "\x1b" not in proc.stderr and "\x07" not in proc.stderr
    assert "\\x1b[2J" in proc.stderr and "\\x07" in proc.stderr
    assert "[-soiled-]{+dirty+}" in proc.stderr


def test_json_offsets_match_the_input():
    text = SAMPLE.read_text(encoding="utf-8")
    proc = run("fix", str(SAMPLE), "--format", "json", "--diff", "none")
    assert proc.returncode == 0, proc.stderr
    payload = json.loads(proc.stdout)
    assert payload["edits"], payload
    assert payload["judged_spun"] is True
    assert 0 < payload["spin_score"] <= 1
    rebuilt, pos = [], 0
    for edit in payload["edits"]:
        assert text[edit["start"] : edit["end"]] == edit["before"]
        assert {"after", "kind", "reason", "confidence"} <= edit.keys()
        rebuilt += [text[pos : edit["start"]], edit["after"]]
        pos = edit["end"]
    rebuilt.append(text[pos:])
    assert "".join(rebuilt) == payload["text"]


@pytest.mark.skipif(shutil.which("patch") is None, reason="the `patch` program is not installed")
def test_unified_diff_applies_with_patch(tmp_path):
    target = tmp_path / "article.txt"
    shutil.copy(SAMPLE, target)
    proc = run("fix", "article.txt", "--diff", "unified", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.startswith("--- a/article.txt")
    applied = subprocess.run(
        ["patch", "-p1"], input=proc.stderr, text=True, cwd=tmp_path, capture_output=True
    )
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert target.read_text(encoding="utf-8") == proc.stdout


def test_output_file_and_input_untouched(tmp_path):
    out = tmp_path / "out" / "restored.txt"
    before = SAMPLE.read_bytes()
    proc = run("fix", str(SAMPLE), "-o", str(out), "--diff", "none")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    assert "phone call" in out.read_text(encoding="utf-8")
    assert SAMPLE.read_bytes() == before
    assert not [p for p in out.parent.iterdir() if p.name.endswith(".tmp")]


def test_no_restore_leaves_wording():
    proc = run("fix", "--no-restore", "--diff", "none", stdin="The minister mentioned a soiled bomb.\n")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "The minister mentioned a soiled bomb.\n"


def test_threshold_controls_how_sure_an_edit_must_be():
    loose = run("fix", "--no-clean", "--format", "json", "--diff", "none", "--threshold", "0", str(SAMPLE))
    strict = run("fix", "--no-clean", "--format", "json", "--diff", "none", "--threshold", "8", str(SAMPLE))
    assert loose.returncode == strict.returncode == 0
    assert len(json.loads(strict.stdout)["edits"]) < len(json.loads(loose.stdout)["edits"])


@pytest.mark.parametrize(
    "make,message",
    [
        (lambda d: d / "missing.txt", "no such file"),
        (lambda d: d, "is a directory"),
        (lambda d: _write(d / "blob.bin", b"\x00\x01\x02binary"), "not a text file"),
        (lambda d: _write(d / "latin.txt", "caf\u00e9 society\n".encode("latin-1")), "not valid utf-8"),
        (lambda d: _write(d / "wide.txt", "The minister said it.\n".encode("utf-16")), "--encoding utf-16"),
    ],
)
def test_unreadable_input_exits_3_naming_the_file(tmp_path, make, message):
    path = make(tmp_path)
    proc = run("fix", str(path))
    assert proc.returncode == 3
    assert str(path) in proc.stderr and message in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_encoding_option_reads_other_encodings(tmp_path):
    path = _write(tmp_path / "latin.txt", "The caf\u00e9 owner said it was fine.\n".encode("latin-1"))
    proc = run("fix", str(path), "--encoding", "latin-1", "--diff", "none")
    assert proc.returncode == 0, proc.stderr
    assert "café" in proc.stdout


def test_encoding_option_reads_utf16_despite_its_nul_bytes(tmp_path):
    path = _write(tmp_path / "wide.txt", "The minister said it was fine.\n".encode("utf-16"))
    proc = run("fix", str(path), "--encoding", "utf-16", "--diff", "none")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "The minister said it was fine.\n"


def test_encoding_names_the_input_and_the_output_stays_utf8(tmp_path):
    # `--encoding latin-1 -o OUT` wrote UTF-8 without saying so: the help now says what is written how
    path = _write(tmp_path / "latin.txt", "The caf\u00e9 owner mentioned a soiled bomb.\n".encode("latin-1"))
    out = tmp_path / "out.txt"
    proc = run("fix", str(path), "--encoding", "latin-1", "--diff", "none", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert out.read_bytes().startswith("The caf\u00e9 owner".encode())  # UTF-8, as on stdout
    flat = {
        c: " ".join(run(c, "--help").stdout.replace("│", " ").split()) for c in ("fix", "batch", "review")
    }
    assert "stdout and -o are UTF-8 whatever this is; --in-place writes each file back in it" in flat["fix"]
    assert "Output files are UTF-8 whatever this is" in flat["batch"]
    assert "the reviewed text is written in it too" in flat["review"]


def test_usage_errors_exit_2():
    assert run("fix", "--encoding", "no-such-codec", "-").returncode == 2
    assert run("fix", "--diff", "sideways").returncode == 2
    assert run("fix", "--no-such-flag").returncode == 2
    assert run("fix", "a.txt", "b.txt", "-o", "x.txt").returncode == 2


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("command", ["fix", "scan", "batch", "review"])
def test_help_names_every_option_and_loses_no_text_to_markup(command):
    proc = run(command, "--help")
    assert proc.returncode == 0, proc.stderr
    flat = " ".join(proc.stdout.replace("│", " ").split())
    assert "--help" in flat
    if command in ("fix", "batch"):
        assert "--model" in flat and "mlm extra" in flat  # square brackets would vanish as markup


@pytest.mark.skipif(shutil.which("patch") is None, reason="the `patch` program is not installed")
@pytest.mark.parametrize(
    "ending",
    ["\r\n", "\r  \n", "\u2028\n", ""],
    ids=["crlf", "stray-cr", "line-separator", "no-final-newline"],
)
def test_unified_diff_applies_whatever_the_line_endings(tmp_path, ending):
    # patch(1) ends lines at "\n" only; a diff built on str.splitlines() broke it at a stray "\r"
    text = ending.join(
        ["[ad_1]", "The minister mentioned it  again.", "Share", "He mentioned a soiled bomb.", ""]
    )
    target = tmp_path / "article.txt"
    target.write_bytes(text.encode("utf-8"))
    cmd = [sys.executable, "-c", "from cli import main; main()", "fix", "article.txt", "--diff", "unified"]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run(cmd, capture_output=True, cwd=tmp_path, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    applied = subprocess.run(["patch", "-p1"], input=proc.stderr, cwd=tmp_path, capture_output=True)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert target.read_bytes() == proc.stdout


def test_in_place_overwrites_each_input_and_prints_nothing(tmp_path):
    spun = "The minister mentioned a soiled bomb in a telephone name.\n"
    first, second, clean = tmp_path / "a.txt", tmp_path / "b.txt", tmp_path / "c.txt"
    first.write_text(spun, encoding="utf-8")
    second.write_text(spun, encoding="utf-8")
    clean.write_text("The council met on Tuesday.\n", encoding="utf-8")
    before = clean.stat().st_mtime_ns
    proc = run("fix", str(first), str(second), str(clean), "--in-place", "--diff", "none")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    for path in (first, second):
        assert "dirty bomb" in path.read_text(encoding="utf-8")
    assert clean.stat().st_mtime_ns == before  # nothing to change: not rewritten
    marked = tmp_path / "bom.txt"
    marked.write_bytes(b"\xef\xbb\xbf" + spun.encode("utf-8"))
    assert run("fix", str(marked), "--in-place").returncode == 0
    assert marked.read_bytes().startswith(b"\xef\xbb\xbfThe minister said")


def test_output_onto_an_input_is_refused_without_in_place(tmp_path):
    target = tmp_path / "a.txt"
    target.write_text("The minister mentioned a soiled bomb.\n", encoding="utf-8")
    link = tmp_path / "link.txt"
    link.symlink_to(target)
    for out in (str(target), str(link)):
        proc = run("fix", str(target), "-o", out)
        assert proc.returncode == 2 and "--in-place" in proc.stderr
    assert target.read_text(encoding="utf-8") == "The minister mentioned a soiled bomb.\n"
    assert run("review", str(target), "-o", str(link), stdin="A").returncode == 2
    assert target.read_text(encoding="utf-8") == "The minister mentioned a soiled bomb.\n"
    assert run("fix", "-", "--in-place", stdin="x\n").returncode == 2
    assert run("fix", str(target), "--in-place", "-o", str(tmp_path / "o.txt")).returncode == 2
    assert run("fix", str(target), "--in-place", "--format", "json").returncode == 2


def test_in_place_and_o_write_through_a_symlink_and_into_a_fifo(tmp_path):
    # a rename onto the path replaced the link (the file it points to kept the spun text) and,
    # as root, `-o /dev/null` or `-o /dev/stdout` replaced the device node with a plain file
    import threading

    from restore.textio import write_text_atomic

    spun = "The minister mentioned a soiled bomb in a telephone name.\n"
    real = tmp_path / "real.txt"
    real.write_text(spun, encoding="utf-8")
    link = tmp_path / "link.txt"
    link.symlink_to(real)
    assert run("fix", str(link), "--in-place", "--diff", "none").returncode == 0
    assert link.is_symlink() and "dirty bomb" in real.read_text(encoding="utf-8")
    out_real, out_link = tmp_path / "out.txt", tmp_path / "out-link.txt"
    out_real.write_text("old\n", encoding="utf-8")
    out_link.symlink_to(out_real)
    assert run("fix", "-", "-o", str(out_link), stdin=spun).returncode == 0
    assert out_link.is_symlink() and "dirty bomb" in out_real.read_text(encoding="utf-8")

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[str] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_text(encoding="utf-8")), daemon=True)
    reader.start()
    write_text_atomic(fifo, "through the pipe\n")
    reader.join(5)
    assert got == ["through the pipe\n"]
    assert fifo.is_fifo()


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_full_stdout_exits_4_not_with_a_traceback():
    # scan exited 1 ("judged spun") with a traceback when its report could not be written
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    for args in (["fix", "-"], ["scan", "-"], ["fix", "-", "--format", "json"]):
        with open("/dev/full", "w") as full:
            proc = subprocess.run(
                [sys.executable, "-c", "from cli import main; main()", *args],
                input=b"The minister mentioned a soiled bomb.\n",
                stdout=full,
                stderr=subprocess.PIPE,
                env=env,
                timeout=120,
            )
        assert proc.returncode == 4, proc.stderr
        assert b"Traceback" not in proc.stderr and b"standard output" in proc.stderr


def test_word_diff_on_a_terminal_honours_no_color(tmp_path):
    # `restore review` honoured NO_COLOR, `restore fix --diff word` coloured its diff regardless
    import pexpect

    src = tmp_path / "a.txt"
    src.write_text("In a telephone name, the minister mentioned a soiled bomb.\n", encoding="utf-8")
    for no_color, coloured in (("1", False), ("", True)):
        env = dict(os.environ, PYTHONPATH=str(ROOT), NO_COLOR=no_color)
        out = pexpect.run(
            f"{sys.executable} -c 'from cli import main; main()' fix {src} --diff word",
            env=env,
            encoding="utf-8",
            timeout=60,
        )
        assert "dirty" in out
        assert ("\x1b[" in out) is coloured, out


def test_word_diff_of_a_crlf_file_shows_no_carriage_returns():
    # every line of a CRLF file ended in a visible "\x0d", and so did a removed chrome line
    from restore import Edit
    from restore.render import word_diff

    source = "Advertisement\r\nThe mayor mentioned it.\r\nNo change here.\r\n"
    edits = [
        Edit(0, 15, "Advertisement\r\n", "", "clean", "rule:ad-marker"),
        Edit(25, 34, "mentioned", "said", "restore", "spinner-table"),
    ]
    diff = word_diff(source, edits, color=False)
    assert "\\x0d" not in diff and "\r" not in diff, diff
    assert "    1: [-Advertisement-]\n" in diff
    assert "    2: The mayor [-mentioned-]{+said+} it.\n" in diff
    assert "[-a\\x0db-]" in word_diff("a\rb c\n", [Edit(0, 3, "a\rb", "ab", "repair", "r")], color=False)


@pytest.mark.parametrize("stdout_encoding", ["ascii", "latin-1", "cp1252"])
def test_stdout_is_utf8_whatever_the_locale_encoding(tmp_path, stdout_encoding):
    """`restore fix a.txt > b.txt` writes what `-o b.txt` writes, not a UnicodeEncodeError traceback
    under a non-UTF-8 locale (a redirected Windows console, an ISO-8859-1 locale)."""
    src = tmp_path / "a.txt"
    src.write_text("The minister — who mentioned the invoice in Zürich — spoke to 東京.\n", encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONIOENCODING=stdout_encoding)
    cli = [sys.executable, "-c", "from cli import main; main()"]
    for args in (["fix", str(src), "--diff", "none"], ["scan", str(src), "--format", "json"]):
        proc = subprocess.run([*cli, *args], capture_output=True, env=env, timeout=120)
        assert proc.returncode in (0, 1), proc.stderr.decode(errors="replace")
        assert "東京".encode() in proc.stdout or b'"words"' in proc.stdout
    assert run("fix", str(src), "--diff", "none", "-o", str(tmp_path / "b.txt")).returncode == 0
    proc = subprocess.run(
        [*cli, "fix", str(src), "--diff", "none"], capture_output=True, env=env, timeout=120
    )
    assert proc.stdout == (tmp_path / "b.txt").read_bytes()


def test_a_threshold_that_is_not_finite_is_a_usage_error():
    proc = run("fix", "--threshold", "nan", "--diff", "none", stdin="The minister mentioned it.\n")
    assert proc.returncode == 2 and "finite" in proc.stderr and "Traceback" not in proc.stderr


def test_version():
    proc = run("--version")
    assert proc.returncode == 0 and proc.stdout.startswith("restore ") and proc.stdout.split()[1][0].isdigit()
