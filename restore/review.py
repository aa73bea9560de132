"""Interactive terminal review (`restore review`) and review logs (`restore fix --apply-log`).

The review walks the proposed edits one at a time; each keypress accepts, rejects or rewrites
one. The result is the input with exactly the accepted edits applied, plus a decision log in the
same JSON shape as the HTML page's "Download decisions" button (see :mod:`restore.html`)::

    {"format": "restore-review-log", "version": 1, "tool": "restore review",
     "source": {"path": ..., "sha256": <hex of the text as UTF-8>, "length": <characters>},
     "decisions": [{"start", "end", "before", "proposed", "after", "kind", "reason",
                    "confidence", "decision": "accept" | "reject", ["undecided": true]}, ...]}

``after`` is the final replacement (differs from ``proposed`` when edited by hand); ``undecided``
marks a rejection that is only the default of a review quit early, asked again when the review of
the same text is run again (it resumes from its log). Replaying a log applies exactly its accepted
decisions, and only to the very text that was reviewed.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .edits import Edit, apply_edits
from .errors import InputError
from .render import KIND_STYLE, cells, printable

LOG_FORMAT = "restore-review-log"
LOG_VERSION = 1
ACCEPT, REJECT = "accept", "reject"
_RESET = "\x1b[0m"

HELP = """keys (no Enter needed):
  a  accept this edit               r  reject this edit
  A  accept all remaining edits of this kind
  e  edit the replacement by hand (type a line; an empty line cancels)
  b  back to the previous edit (or ←)
  n  skip for now (or →): it comes round again once the others are decided
  q  quit and save (undecided edits count as rejected)
  ?  this help
"""


def sha256_text(text: str) -> str:
    """The digest a review log records: sha256 of the text as UTF-8 (as the HTML page computes it)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------- decisions and logs


@dataclass
class Review:
    """The edits under review and what the reviewer decided about each (None = not yet)."""

    source: str
    edits: list[Edit]
    decisions: list[str | None] = field(default_factory=list)
    afters: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.edits = sorted(self.edits, key=lambda e: (e.start, e.end))
        if not self.decisions:
            self.decisions = [None] * len(self.edits)
        if not self.afters:
            self.afters = [e.after for e in self.edits]

    def edited(self, i: int) -> bool:
        return self.decisions[i] == ACCEPT and self.afters[i] != self.edits[i].after

    def accepted_edits(self) -> list[Edit]:
        return [
            Edit(e.start, e.end, e.before, self.afters[i], e.kind, e.reason, e.confidence, e.details)
            for i, e in enumerate(self.edits)
            if self.decisions[i] == ACCEPT
        ]

    def text(self) -> str:
        return apply_edits(self.source, self.accepted_edits())

    def counts(self) -> dict[str, int]:
        edited = sum(self.edited(i) for i in range(len(self.edits)))
        accepted = sum(d == ACCEPT for d in self.decisions)
        return {
            "accepted": accepted - edited,
            "edited": edited,
            "rejected": sum(d == REJECT for d in self.decisions),
            "undecided": sum(d is None for d in self.decisions),
        }

    def to_log(self, path: str = "") -> dict:
        return {
            "format": LOG_FORMAT,
            "version": LOG_VERSION,
            "tool": "restore review",
            "source": {"path": path, "sha256": sha256_text(self.source), "length": len(self.source)},
            "decisions": [
                {
                    "start": e.start,
                    "end": e.end,
                    "before": e.before,
                    "proposed": e.after,
                    "after": self.afters[i],
                    "kind": e.kind,
                    "reason": e.reason,
                    "confidence": round(e.confidence, 4),
                    "decision": ACCEPT if self.decisions[i] == ACCEPT else REJECT,
                    **({"undecided": True} if self.decisions[i] is None else {}),
                }
                for i, e in enumerate(self.edits)
            ],
        }

    def resume(self, log: dict) -> int:
        """Take the decisions an earlier session on this very text saved in ``log``; returns how many.

        `q` saves a half-done review: running the review again carries on from it instead of
        starting over and overwriting it. Edits the log left undecided are asked again.
        """
        if (log.get("source") or {}).get("sha256") != sha256_text(self.source):
            return 0
        index = {(e.start, e.end, e.before, e.after): i for i, e in enumerate(self.edits)}
        taken = 0
        for d in log.get("decisions", []):
            i = index.get((d.get("start"), d.get("end"), d.get("before"), d.get("proposed")))
            if i is None or d.get("undecided") or d.get("decision") not in (ACCEPT, REJECT):
                continue
            self.decisions[i] = d["decision"]
            if d["decision"] == ACCEPT and isinstance(d.get("after"), str):
                self.afters[i] = d["after"]
            taken += 1
        return taken


def read_log(path: str | os.PathLike) -> dict:
    """Load a review log (from `restore review` or the HTML page); InputError if it is not one."""
    try:
        log = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise InputError(f"restore: {path}: no such review log") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"restore: {path}: not a readable review log ({exc})") from exc
    if not isinstance(log, dict) or log.get("format") != LOG_FORMAT:
        raise InputError(f'restore: {path}: not a review log (no "format": "{LOG_FORMAT}")')
    if log.get("version") != LOG_VERSION:
        raise InputError(f"restore: {path}: review log version {log.get('version')!r} is not supported")
    # a log edited by hand: say which part is wrong instead of failing on it later with a traceback
    decisions = log.get("decisions", [])
    if not isinstance(log.get("source", {}), dict):
        raise InputError(f'restore: {path}: "source" must be an object with the reviewed text\'s sha256')
    if not isinstance(decisions, list) or not all(isinstance(d, dict) for d in decisions):
        raise InputError(f'restore: {path}: "decisions" must be a list of objects')
    return log


def edits_from_log(source: str, log: dict, *, name: str = "input", log_name: str = "log") -> list[Edit]:
    """The accepted edits of ``log`` (with their final text), after checking ``source`` is the reviewed text."""
    recorded = log.get("source") or {}
    if recorded.get("sha256") != sha256_text(source):
        raise InputError(
            f"restore: {name}: does not match review log {log_name} "
            f"(sha256 differs: the text changed since it was reviewed)"
        )
    edits = []
    try:
        for d in log.get("decisions", []):
            if d.get("decision") != ACCEPT:
                continue
            edits.append(
                Edit(
                    int(d["start"]),
                    int(d["end"]),
                    d["before"],
                    d["after"],
                    d.get("kind", "restore"),
                    d.get("reason", ""),
                    float(d.get("confidence", 1.0)),
                )
            )
        edits.sort(key=lambda e: (e.start, e.end))
        apply_edits(source, edits)  # offsets and texts must fit the source
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"restore: {log_name}: a decision does not fit {name}: {exc}") from exc
    return edits


def replay_log(source: str, log_path: str | os.PathLike, *, name: str = "input"):
    """A RestoreResult holding exactly the accepted edits of the log at ``log_path``."""
    from .pipeline import RestoreResult

    edits = edits_from_log(source, read_log(log_path), name=name, log_name=str(log_path))
    return RestoreResult(source=source, text=apply_edits(source, edits), edits=edits)


# --------------------------------------------------------------------------- the screen


_SENTENCE_END = re.compile(r"[.!?][\"'\u201d\u2019)\]]*\s+")


def context_span(source: str, start: int, end: int, limit: int = 480) -> tuple[int, int]:
    """The sentence (within its line) around ``source[start:end]``, at most about ``limit`` characters."""
    line_start = source.rfind("\n", 0, start) + 1
    line_end = source.find("\n", end)
    if line_end == -1:
        line_end = len(source)
    lo = line_start
    for m in _SENTENCE_END.finditer(source, line_start, start):
        lo = m.end()
    hi = line_end
    m = _SENTENCE_END.search(source, end, line_end)
    if m:
        hi = m.start() + len(m.group().rstrip())
    room = max(0, limit - (end - start)) // 2
    if start - room > lo:  # cut at a word boundary
        cut = source.find(" ", start - room, start)
        lo = cut + 1 if cut != -1 else start - room
    if end + room < hi:
        cut = source.rfind(" ", end, end + room)
        hi = cut if cut != -1 else end + room
    return lo, hi


def _wrap(segments: list[tuple[str, str]], width: int, color: bool, indent: str = "  ") -> str:
    """Word-wrap styled ``(text, sgr)`` segments to ``width`` columns, each line indented."""
    out, col = [indent], len(indent)
    for text, sgr in segments:
        for token in re.findall(r"\n|[^\S\n]+|[^\s]+", text):
            if token == "\n":
                out.append("\n" + indent)
                col = len(indent)
                continue
            if token.isspace() and col == len(indent):
                continue
            if not token.isspace() and col + cells(token) > width and col > len(indent):
                out.append("\n" + indent)
                col = len(indent)
            out.append(f"\x1b[{sgr}m{token}{_RESET}" if color and sgr else token)
            col += cells(token)
    return "".join(out)


def _visible(s: str) -> str:
    # a CRLF shows as one ⏎ (a raw CR would send the cursor back over the line)
    return printable(s.replace("\r\n", "\n")).replace("\n", "\u23ce\n").replace("\t", "\u2192")


def _quote(s: str) -> str:
    return "\u2205 (nothing)" if s == "" else "\u00ab" + _visible(s).replace("\n", "") + "\u00bb"


def _as_decided(review: Review, lo: int, hi: int) -> str:
    """``source[lo:hi]`` with the accepted edits inside it applied: the context reads as it will."""
    pieces, pos = [], lo
    for j, other in enumerate(review.edits):
        if review.decisions[j] == ACCEPT and lo <= other.start and other.end <= hi and other.start >= pos:
            pieces.append(review.source[pos : other.start])
            pieces.append(review.afters[j])
            pos = other.end
    pieces.append(review.source[pos:hi])
    return "".join(pieces)


def render_edit(review: Review, i: int, *, color: bool) -> str:
    """The screen for edit ``i``: where it is, what it does, why, and the decision so far."""
    source, edit = review.source, review.edits[i]
    n = len(review.edits)
    after = review.afters[i]
    lo, hi = context_span(source, edit.start, edit.end)
    line_no = source.count("\n", 0, edit.start) + 1
    width = max(40, min(100, shutil.get_terminal_size((100, 24)).columns - 2))
    old_sgr, new_sgr = KIND_STYLE.get(edit.kind, ("31", "32"))
    if color:
        old = (_visible(edit.before), f"{old_sgr};9")
        new = (_visible(after), f"{new_sgr};1")
        bold, dim = "\x1b[1m", "\x1b[2m"
    else:
        old = (f"[-{_visible(edit.before)}-]" if edit.before else "", "")
        new = (f"{{+{_visible(after)}+}}" if after else "", "")
        bold = dim = ""
    reset = _RESET if color else ""
    prefix = ("\u2026" if lo > source.rfind("\n", 0, edit.start) + 1 else "") + printable(
        _as_decided(review, lo, edit.start)
    )
    suffix = printable(_as_decided(review, edit.end, hi).rstrip("\r\n")) + (
        "\u2026" if hi < len(source) and source[hi] != "\n" else ""
    )
    status = {ACCEPT: "accepted", REJECT: "rejected", None: ""}[review.decisions[i]]
    if review.edited(i):
        status = "edited by hand"
    c = review.counts()
    lines = [
        f"{bold}edit {i + 1} of {n}{reset}  \u00b7  {edit.kind}  \u00b7  confidence {edit.confidence:.2f}"
        f"  \u00b7  line {line_no}" + (f"  \u00b7  now: {status}" if status else ""),
        f"{dim}{printable(edit.reason)}{reset}",
        "",
        _wrap([(prefix, ""), old, new, (suffix, "")], width, color),
        "",
        f"  original: {_quote(edit.before)}",
        f"  proposal: {_quote(after)}"
        + (f"   (engine proposed {_quote(edit.after)})" if after != edit.after else ""),
        "",
        f"{dim}{c['accepted']} accepted \u00b7 {c['edited']} edited \u00b7 {c['rejected']} rejected \u00b7 "
        f"{c['undecided']} to go{reset}",
        f"[a]ccept  [r]eject  [A]ccept all {edit.kind}  [e]dit  [b]ack  [n]ext  [q]uit  [?]help > ",
    ]
    return "\n".join(lines)


# --------------------------------------------------------------------------- keys


_ARROWS = {b"\x1b[D": "b", b"\x1bOD": "b", b"\x1b[C": "n", b"\x1bOC": "n"}  # left: back, right: skip
_ESCAPE = re.compile(rb"\x1b(?:\[[0-?]*[ -/]*[@-~]?|O.?|.)?", re.S)  # CSI, SS3 or a lone/alt escape
_UTF8_LEAD = re.compile(rb"[\x00-\x7f]|[\xc0-\xff][\x80-\xbf]*|.", re.S)


class Keys:
    """Single keypresses from a terminal (cbreak mode), else one key per line of standard input."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stdin
        self.fd = None
        self._saved = None
        self._pending = b""  # bytes read but not yet taken: keys typed ahead arrive in one read
        try:
            if self.stream.isatty():
                self.fd = self.stream.fileno()
        except (AttributeError, OSError, ValueError):
            self.fd = None

    def __enter__(self) -> Keys:
        if self.fd is not None:
            import termios
            import tty

            self._saved = termios.tcgetattr(self.fd)
            tty.setcbreak(self.fd)
        return self

    def __exit__(self, *exc) -> None:
        self._restore()

    def _restore(self) -> None:
        if self._saved is not None:
            import termios

            termios.tcsetattr(self.fd, termios.TCSADRAIN, self._saved)

    def key(self) -> str:
        """One key; ``q`` at end of input. Left/right arrows read as ``b``/``n``, other escapes as ``""``."""
        if self.fd is None:
            line = self.stream.readline()
            if not line:
                return "q"
            return line.strip()[:1]
        if not self._pending:
            self._pending = os.read(self.fd, 32)
            if not self._pending:
                return "q"
        data = self._pending
        if data[:1] == b"\x1b":
            if data[:3] in _ARROWS:
                self._pending = data[3:]
                return _ARROWS[data[:3]]
            self._pending = data[_ESCAPE.match(data).end() :]  # skip the whole sequence
            return ""
        size = _UTF8_LEAD.match(data).end()  # a whole UTF-8 character
        self._pending = data[size:]
        return data[:size].decode("utf-8", "replace")

    def line(self, prompt: str) -> str | None:
        """A line of text typed by the reviewer (None at end of input)."""
        sys.stdout.write(prompt)
        sys.stdout.flush()
        if self.fd is None:
            line = self.stream.readline()
            return line.rstrip("\r\n") if line else None
        import tty

        typed, self._pending = self._pending, b""
        if b"\n" in typed or b"\r" in typed:  # the whole line was typed ahead
            line, _, self._pending = typed.replace(b"\r\n", b"\n").replace(b"\r", b"\n").partition(b"\n")
            return line.decode("utf-8", "replace")
        self._restore()  # canonical mode: the terminal edits the line, os.read returns it whole
        try:
            data = typed + os.read(self.fd, 4096)
        finally:
            tty.setcbreak(self.fd)
        return data.decode("utf-8", "replace").rstrip("\r\n") if data else None


# --------------------------------------------------------------------------- the loop


def walk(
    review: Review, keys: Keys, out=None, *, color: bool = False, clear: bool = False, note: str = ""
) -> bool:
    """Ask about each edit in turn, from the first undecided one (``note`` shown first).

    Returns True when every edit was decided, False on ``q``.
    """
    out = out or sys.stdout
    n = len(review.edits)

    def next_undecided(after: int) -> int:
        for j in range(after + 1, n):
            if review.decisions[j] is None:
                return j
        return n

    i = next_undecided(-1)
    if i >= n:  # all decided in an earlier session: show them again from the start
        i = 0

    while True:
        if i >= n:
            i = next_undecided(-1)  # skipped edits come round again
            if i >= n:
                return True
            note = note or "back to the edits you skipped"
        if clear:
            out.write("\x1b[H\x1b[2J")
        if note:
            out.write(note + "\n\n")
            note = ""
        out.write(render_edit(review, i, color=color))
        out.flush()
        k = keys.key()
        out.write(k + "\n" if k.strip() else "\n")
        if k == "a":
            review.decisions[i] = ACCEPT
            i = next_undecided(i)
        elif k == "r":
            review.decisions[i] = REJECT
            review.afters[i] = review.edits[i].after
            i = next_undecided(i)
        elif k == "A":
            kind = review.edits[i].kind
            review.decisions[i] = ACCEPT
            for j in range(i + 1, n):
                if review.edits[j].kind == kind and review.decisions[j] is None:
                    review.decisions[j] = ACCEPT
            i = next_undecided(i)
        elif k == "e":
            text = keys.line(f"replacement for {_quote(review.edits[i].before)} (empty line cancels): ")
            if text:
                review.afters[i] = text
                review.decisions[i] = ACCEPT
                i = next_undecided(i)
            else:
                note = "edit cancelled"
        elif k == "b":
            if i == 0:
                note = "this is the first edit"
            i = max(0, i - 1)
        elif k == "n":
            i = next_undecided(i)
        elif k == "q":
            return False
        elif k == "?":
            note = HELP
        elif k:
            note = f"unknown key {k!r}; press ? for help"


def default_paths(path: Path, output: Path | None, in_place: bool, log: Path | None) -> tuple[Path, Path]:
    """Where the reviewed text and the decision log go."""
    if in_place:
        out = path
    elif output is not None:
        out = output
    else:
        out = path.with_name((path.stem if path.suffix == ".txt" else path.name) + ".restored.txt")
    if log is None:
        if in_place:
            log = path.with_name((path.stem if path.suffix == ".txt" else path.name) + ".review.json")
        else:
            log = out.with_suffix(".review.json") if out.suffix == ".txt" else Path(f"{out}.review.json")
    return out, log


def run_review(
    path: Path,
    *,
    output: Path | None = None,
    in_place: bool = False,
    log: Path | None = None,
    clean: bool = True,
    threshold: float | None = None,
    encoding: str = "utf-8",
    model: str | None = None,
    device: str = "auto",
    clm: bool = False,
) -> int:
    """`restore review`: returns the exit code (0; 130 if interrupted, nothing written)."""
    from .pipeline import Restorer
    from .textio import check_writable, read_text, write_text_atomic

    source = read_text(str(path), encoding)
    out_path, log_path = default_paths(path, output, in_place, log)
    check_writable(out_path)  # before the reviewer's work, not after it
    check_writable(log_path)
    result = Restorer(threshold=threshold, model=model, device=device, clm=clm).restore(source, clean=clean)
    review = Review(source, list(result.edits))
    note = ""
    if review.edits and log_path.exists():
        try:
            resumed = review.resume(read_log(log_path))
        except InputError:
            resumed = 0
        if resumed:
            note = f"resuming: {resumed} decision{'s' if resumed != 1 else ''} from {log_path} (b goes back to them)"
    tty_out = sys.stdout.isatty()
    color = tty_out and not os.environ.get("NO_COLOR")
    if not review.edits:
        sys.stdout.write(f"{path}: no edits proposed\n")
    else:
        try:
            with Keys() as keys:
                walk(review, keys, color=color, clear=tty_out, note=note)
        except KeyboardInterrupt:
            sys.stdout.write("\nreview: interrupted; nothing written\n")
            return 130
    text = review.text()
    # the log first: if the text then fails to write, the decisions are kept and --apply-log redoes it
    write_text_atomic(log_path, json.dumps(review.to_log(str(path)), ensure_ascii=False, indent=1) + "\n")
    write_text_atomic(out_path, text, encoding)
    c = review.counts()
    undecided = f" ({c['undecided']} undecided)" if c["undecided"] else ""
    sys.stdout.write(
        f"review: {c['accepted']} accepted, {c['edited']} edited, {c['rejected'] + c['undecided']} rejected"
        f"{undecided} -> {out_path}, log {log_path}\n"
    )
    sys.stdout.flush()
    return 0
