"""Renderings of one edit list: a word diff for people, a unified diff for `patch`, JSON for programs."""

from __future__ import annotations

import bisect
import difflib
import json
import unicodedata

from .edits import Edit

# One palette for every rendering (terminal and HTML use the same meaning per kind).
KIND_STYLE = {"restore": ("31", "32"), "clean": ("31;2", "32"), "repair": ("33", "32")}
_RESET = "\x1b[0m"


def cells(text: str) -> int:
    """Terminal columns ``text`` takes: wide East Asian characters and emoji take two, combining marks none."""
    if text.isascii():
        return len(text)
    width = 0
    for ch in text:
        if unicodedata.combining(ch) or ch in "\u200b\u200c\u200d\ufe0f":
            continue
        width += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return width


def printable(text: str) -> str:
    """Text safe to show: control characters other than newline, tab and the CR of a CRLF
    line ending written as \\xNN.

    Scraped text can carry escape sequences and mojibake controls; printed raw they would
    recolour or clear the reader's terminal, or hide what an edit changes.
    """
    if text.isprintable():
        return text
    out = []
    for i, ch in enumerate(text):
        code = ord(ch)
        control = (code < 32 and ch not in "\n\t") or 127 <= code < 160
        if control and not (ch == "\r" and text.startswith("\n", i + 1)):
            out.append(f"\\x{code:02x}")
        else:
            out.append(ch)
    return "".join(out)


def word_diff(source: str, edits: list[Edit], *, color: bool, name: str = "") -> str:
    """The changed lines only, each edit shown in place as [-before-]{+after+} (or in colour)."""
    if not edits:
        return f"{printable(name)}: no changes\n" if name else "no changes\n"
    line_starts = [0] + [i + 1 for i, c in enumerate(source) if c == "\n"]
    out: list[str] = []
    if name:
        out.append(f"{printable(name)}: {len(edits)} edit{'s' if len(edits) != 1 else ''}")
    by_line: dict[int, list[Edit]] = {}
    for edit in edits:
        by_line.setdefault(bisect.bisect_right(line_starts, edit.start) - 1, []).append(edit)
    for line_no in sorted(by_line):
        line_edits = sorted(by_line[line_no], key=lambda e: e.start)
        start = line_starts[line_no]
        end = max(
            max(e.end for e in line_edits),
            source.find("\n", start) if "\n" in source[start:] else len(source),
        )
        pieces, pos = [], start
        for edit in line_edits:
            pieces.append(printable(source[pos : edit.start]))
            pieces.append(_mark(edit, color))
            pos = edit.end
        tail = _without_line_end(source[pos:end])
        if source.startswith("\n", end):  # the "\r" of a CRLF line
            tail = tail.removesuffix("\r")
        pieces.append(printable(tail))
        text = "".join(pieces)
        out.append(f"{line_no + 1:>5}: {text}")
        for edit in line_edits:
            out.append(f"       {edit.kind} {edit.confidence:.2f}  {printable(edit.reason)}")
    return "\n".join(out) + "\n"


def _without_line_end(text: str) -> str:
    """``text`` less the line endings it ends with: "\r\n" too, which printable() would show as \\x0d."""
    return text.rstrip("\n").removesuffix("\r") if text.endswith("\n") else text


def _mark(edit: Edit, color: bool) -> str:
    before = printable(_without_line_end(edit.before))
    after = printable(edit.after)
    if color:
        old, new = KIND_STYLE.get(edit.kind, ("31", "32"))
        shown = f"\x1b[{old};9m{before}{_RESET}" if before else ""
        if after:
            shown += f"\x1b[{new};1m{after}{_RESET}"
        return shown
    shown = f"[-{before}-]" if before else ""
    if after:
        shown += f"{{+{after}+}}"
    return shown


def _patch_lines(text: str) -> list[str]:
    """Lines as patch(1) counts them: ended by "\n" only (a stray "\r" is part of its line)."""
    lines = [line + "\n" for line in text.split("\n")]
    lines[-1] = lines[-1][:-1]
    return lines if lines[-1] else lines[:-1]


def unified_diff(source: str, result: str, name: str = "text") -> str:
    """A unified diff that `patch -p1` applies to the input file."""
    label = name if name not in ("-", "") else "stdin"
    lines = difflib.unified_diff(
        _patch_lines(source),
        _patch_lines(result),
        fromfile=f"a/{label}",
        tofile=f"b/{label}",
    )
    out = []
    for line in lines:
        out.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return "".join(out)


def to_json(payload: dict) -> str:
    return json.dumps(payload, ensure_ascii=False)
