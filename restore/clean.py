"""Cleanup stage: remove page chrome from scraped news and repair characters and whitespace.

Runs before restoration. Works line by line (a line is a paragraph in scraped text) and never
joins, splits or rewrites a paragraph: a line is either kept (possibly with its characters or
spacing repaired) or removed whole. Every change is an :class:`~restore.edits.Edit` whose
offsets refer to the input, so ``apply_edits(text, result.edits) == result.text``.

Evidence, from most to least certain:

* rules (``wordlists/cleanup/*.txt``): whole-line phrases ("Source link", "Leave a Reply") and
  patterns ("Sign up for our … newsletter", "[ad_1]", "Follow me @… on Twitter"); a short line
  is also read with the fixed-table spinner's substitutions undone, because autoblogs spin the
  chrome with the article ("Supply hyperlink", "Earlier Put up");
* structure: a label followed by a list of headlines ("DON'T MISS:", "Previous article"), a
  run of short unpunctuated lines at the start or end of a document (menus, tag clouds), a
  line made only of menu words, a headline with a "– source" tail dropped between paragraphs;
* corpus evidence passed in by a batch run (a line repeated across many documents of a source);
* weak evidence (appeal paragraphs, "Once/Monthly/Continue" buttons, short lines): removed
  only inside one block with certain chrome that reaches the start or end of the document.

Precision comes first: a line that is not clearly chrome stays. Bylines, datelines and photo
captions/credits are kept unless asked for (:class:`CleanOptions`).
"""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Protocol

import ftfy
import regex

from .data import wordlist_path
from .edits import Edit, apply_edits
from .errors import ResourceError

__all__ = [
    "Boilerplate",
    "CleanOptions",
    "CleanResult",
    "CleanupRules",
    "RepeatedLines",
    "clean_text",
    "load_rules",
]


# --------------------------------------------------------------------------- public types


@dataclass(frozen=True)
class CleanOptions:
    remove_bylines: bool = False  # bylines and datelines ("By Jane Doe", "Published 3 May 2024")
    remove_captions: bool = False  # photo captions and credits ("(Photo: Getty Images)")
    repair_characters: bool = True  # ftfy mojibake / HTML entity repair
    normalise_whitespace: bool = True  # trailing spaces, runs of spaces, >2 blank lines
    spun_chrome: bool = True  # also match short lines with the spinner's substitutions undone


@dataclass
class CleanResult:
    text: str
    edits: list[Edit] = field(default_factory=list)  # offsets into the INPUT text

    @property
    def removed(self) -> list[Edit]:
        """The line removals (kind ``"clean"``)."""
        return [e for e in self.edits if e.kind == "clean"]


class Boilerplate(Protocol):
    """Corpus evidence from a batch run: lines known to be boilerplate for a source."""

    def is_boilerplate(self, line: str) -> bool: ...


# --------------------------------------------------------------------------- text helpers

_QUOTES = str.maketrans({"’": "'", "‘": "'", "‛": "'", "“": '"', "”": '"', "„": '"', "\u00a0": " "})
_TRIM = " \t:.!?…»«›‹<>|•·*→←-–—#=~"
_CLOSERS = "\"'”’)»]›*` \t"
_SENTENCE_END = ".!?;:…"
_WORD = regex.compile(r"\S+")
_NAV_TOKEN = regex.compile(r"[\p{L}\p{N}&][\p{L}\p{N}'’&.:/-]*")
_DATE_NUMBER = regex.compile(r"(?i)^(\d+([:./-]\d+)*(am|pm|st|nd|rd|th|h)?|\d{1,2}(am|pm)|'\d\d)[.,]?$")
_DASH_TAIL = regex.compile(r"^(?P<head>.+?\S)\s+[–—-]\s+(?P<tail>[^–—\-\s][^–—]*)$")
# the tail of a news-aggregator headline names its source: "– Kremlin", "– top Zelensky aide"
_SOURCE_TAIL = regex.compile(
    r"^(?!(part|day|chapter|episode|update|live|video|in pictures|analysis|explained|timeline)\b)"
    r"(.*\b(?-i:\p{Lu})|.*\b(report|reports|media|sources?|officials?|aide|minister|ministry|spokes\w+"
    r"|chief|head|envoy|ambassador|analysts?|experts?|poll|study|claims?|says|insider|governor|mayor"
    r"|president|pm|mp|general|commander)\b)",
    regex.IGNORECASE,
)
_PERSON = regex.compile(r"^(?-i:\p{Lu}[\p{Ll}'’-]+)( (?-i:\p{Lu}[\p{Ll}'’.-]*)){1,2}$")
_PRONOUN = regex.compile(r"(?i)\b(we|our|us|you|your|you're|you’re)\b")
# (linear even on a line of unclosed quotes: a run never crosses the next opening quote)
_QUOTED = regex.compile(r"“[^“”]*+”|\"[^\"]*+\"")
_SPACE_RUN = regex.compile(r"(?<=\S) {2,}(?=\S)")
_LEADING = regex.compile(r"^[ \t]+")
_TRAILING = regex.compile(r"(?<![ \t])[ \t]++$")  # from a run's start only: linear on long runs
_DIGITS = regex.compile(r"\d")
# what a character repair is diffed by: spaces, an HTML entity whole, a word, one other character
_PIECES = regex.compile(r"\s+|&#?\w+;|\w+|[^\w\s]")
_BULLET = regex.compile(r"^[•·▪►◦●■]+\s*")

_FTFY_CONFIG = ftfy.TextFixerConfig(
    unescape_html=True,
    remove_terminal_escapes=True,
    fix_encoding=True,
    restore_byte_a0=True,
    replace_lossy_sequences=True,
    decode_inconsistent_utf8=True,
    fix_c1_controls=True,
    fix_latin_ligatures=False,
    fix_character_width=False,
    uncurl_quotes=False,
    fix_line_breaks=False,
    fix_surrogates=True,
    remove_control_chars=False,
    normalization=None,
    explain=True,
)


def normalise_phrase(line: str) -> str:
    """The form in which whole-line phrases are compared."""
    text = " ".join(line.translate(_QUOTES).casefold().split())
    return text.strip(_TRIM)


def _ends_sentence(text: str) -> bool:
    core = text.rstrip(_CLOSERS)
    return bool(core) and core[-1] in _SENTENCE_END


def _last_char(text: str) -> str:
    core = text.rstrip(_CLOSERS)
    return core[-1] if core else ""


def _words(text: str) -> int:
    return len(_WORD.findall(text))


def _line_key(line: str) -> str:
    return _DIGITS.sub("0", normalise_phrase(line))


# --------------------------------------------------------------------------- rules


@dataclass(frozen=True)
class Section:
    """A group of rules of one kind, with the options of its header line."""

    kind: str
    weak: bool = False
    label: int = 0
    tail_label: int = 0
    max_words: int = 30
    keep: bool = False


_HEADER = regex.compile(r"^\[(?P<kind>[a-z][\w-]*)(?P<opts>(\s+[a-z_]+(=\d+)?)*)\]$")


def _read_sections(name: str) -> list[tuple[Section, list[str]]]:
    path = wordlist_path(f"cleanup/{name}")
    sections: list[tuple[Section, list[str]]] = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        header = _HEADER.match(line)
        if header:
            opts: dict = {}
            for opt in header["opts"].split():
                key, _, value = opt.partition("=")
                if key == "weak":
                    opts["weak"] = True
                elif key == "keep":
                    opts["keep"] = True
                elif key in ("label", "tail_label"):
                    opts[key] = int(value) if value else 8
                elif key == "max_words":
                    opts["max_words"] = int(value)
                else:
                    raise ValueError(f"{path}:{number}: unknown section option {opt!r}")
            sections.append((Section(header["kind"], **opts), []))
            continue
        if not sections:
            raise ValueError(f"{path}:{number}: entry before the first [section] header")
        sections[-1][1].append(line)
    return sections


def _compile(path: str, entry: str) -> regex.Pattern:
    try:
        return regex.compile(entry, regex.IGNORECASE)
    except regex.error as exc:
        raise ValueError(f"cleanup/{path}: bad pattern {entry!r}: {exc}") from exc


@dataclass(frozen=True)
class CleanupRules:
    """All cleanup rule data, loaded once from ``wordlists/cleanup/``."""

    phrases: dict[str, Section]
    patterns: tuple[tuple[regex.Pattern, Section], ...]
    appeal_headers: tuple[regex.Pattern, ...]
    appeal_cues: tuple[regex.Pattern, ...]
    appeal_not: tuple[regex.Pattern, ...]
    nav_ui: frozenset[str]
    nav_section: frozenset[str]
    nav_filler: frozenset[str]
    nav_date: frozenset[str]
    bylines: tuple[tuple[regex.Pattern, Section], ...]
    captions: tuple[tuple[regex.Pattern, Section], ...]
    agencies: tuple[str, ...]
    phrase_prefixes: frozenset[str] = frozenset()  # every phrase's leading words, to prune spun readings

    # each match_* returns the section of the first rule that matches and the rule itself

    def match_phrase(self, line: str) -> tuple[Section, str] | None:
        key = normalise_phrase(line)
        section = self.phrases.get(key)
        return (section, key) if section is not None else None

    @staticmethod
    def _search(rules, line: str, words: int) -> tuple[Section, str] | None:
        for pattern, section in rules:
            if words <= section.max_words and pattern.search(line):
                return section, pattern.pattern
        return None

    def match_pattern(self, line: str, words: int) -> tuple[Section, str] | None:
        return self._search(self.patterns, line, words)

    def match_spun(
        self, line: str, words: int, originals: dict[str, tuple[str, ...]]
    ) -> tuple[Section, str] | None:
        """A short line that is a chrome phrase once the spinner's substitutions are undone.

        Autoblogs spin the whole scraped page, its chrome included: "Supply hyperlink" is
        "Source link", "Earlier Put up" is "Previous Post". ``originals`` maps what the
        fixed-table spinner writes to what it writes it for (ChannelTables.originals_by_spun).
        """
        if words > SPUN_MAX_WORDS:
            return None
        for reading in spun_readings(normalise_phrase(line), originals, viable=self.phrase_prefixes):
            # whole-line phrases only: a pattern would also see the reading's lost punctuation
            # ("Published in 1962, ..." reads as "posted in 1962, ...", which a tag pattern takes)
            match = self.match_phrase(reading)
            if match is not None:
                return match[0], f"{match[1]} (read as {reading!r})"
        return None

    def match_byline(self, line: str, words: int) -> tuple[Section, str] | None:
        return self._search(self.bylines, line, words)

    def match_caption(self, line: str, words: int) -> tuple[Section, str] | None:
        return self._search(self.captions, line, words)


SPUN_MAX_WORDS = 12  # longer lines are never read as spun chrome
SPUN_READINGS = 256  # readings looked up per line (alternatives multiply)


def spun_readings(
    key: str,
    originals: dict[str, tuple[str, ...]],
    limit: int = SPUN_READINGS,
    viable: frozenset[str] | None = None,
) -> list[str]:
    """Readings of a normalised line with spun words and phrases (up to 3 words) put back.

    Every span the table knows may or may not have been spun, so each combination is a
    reading; the line itself is not one of them. Longer spans and likelier originals first.
    With ``viable`` (the leading words of every reading worth having), a reading is dropped
    as soon as its start is not among them, so ordinary lines cost a few lookups.
    """
    words = key.split()
    readings: list[str] = []

    def walk(i: int, parts: list[str], changed: bool) -> None:
        if len(readings) >= limit:
            return
        if viable is not None and parts and " ".join(parts) not in viable:
            return
        if i == len(words):
            if changed:
                readings.append(" ".join(parts))
            return
        for n in range(min(3, len(words) - i), 0, -1):
            for original in originals.get(" ".join(words[i : i + n]), ()):
                walk(i + n, [*parts, original], True)
        walk(i + 1, [*parts, words[i]], changed)

    walk(0, [], False)
    return readings


@lru_cache(maxsize=1)
def spinner_originals() -> dict[str, tuple[str, ...]]:
    """The fixed-table spinner's substitutions, reversed (loaded once; empty if the table is missing)."""
    from .channel import FAMILY_FILES, ChannelTables

    family = "spinner-table"
    try:
        tables = ChannelTables.load(files={family: FAMILY_FILES[family]})
    except ResourceError:
        return {}
    return tables.originals_by_spun(family)


@lru_cache(maxsize=1)
def load_rules() -> CleanupRules:
    """Read and compile the rule files (once per process)."""
    phrases: dict[str, Section] = {}
    for section, entries in _read_sections("phrases.txt"):
        for entry in entries:
            key = normalise_phrase(entry)
            other = phrases.get(key)
            if other is not None and other.kind != section.kind:
                raise ValueError(f"cleanup/phrases.txt: {entry!r} is in [{other.kind}] and [{section.kind}]")
            phrases[key] = section
    patterns = []
    for section, entries in _read_sections("patterns.txt"):
        patterns.extend((_compile("patterns.txt", e), section) for e in entries)
    appeal = {
        s.kind: [_compile("appeal.txt", e) for e in entries] for s, entries in _read_sections("appeal.txt")
    }
    nav = {
        s.kind: frozenset(e.casefold() for e in entries) for s, entries in _read_sections("navigation.txt")
    }
    bylines = [
        (_compile("bylines.txt", e), Section(s.kind, max_words=min(s.max_words, 20)))
        for s, entries in _read_sections("bylines.txt")
        for e in entries
    ]
    captions = []
    agencies: list[str] = []
    for section, entries in _read_sections("captions.txt"):
        if section.kind == "agency":
            agencies.extend(normalise_phrase(e) for e in entries)
        else:
            captions.extend((_compile("captions.txt", e), section) for e in entries)
    prefixes = {" ".join(key.split()[:n]) for key in phrases for n in range(1, len(key.split()) + 1)}
    return CleanupRules(
        phrase_prefixes=frozenset(prefixes),
        phrases=phrases,
        patterns=tuple(patterns),
        appeal_headers=tuple(appeal.get("header", ())),
        appeal_cues=tuple(appeal.get("cue", ())),
        appeal_not=tuple(appeal.get("not", ())),
        nav_ui=nav.get("ui", frozenset()),
        nav_section=nav.get("section", frozenset()),
        nav_filler=nav.get("filler", frozenset()),
        nav_date=nav.get("date", frozenset()),
        bylines=tuple(bylines),
        captions=tuple(captions),
        agencies=tuple(sorted(set(agencies), key=len, reverse=True)),
    )


# --------------------------------------------------------------------------- corpus evidence


def _sentence_like(line: str) -> bool:
    return _ends_sentence(line)


class RepeatedLines:
    """Corpus evidence: lines that recur in at least ``min_docs`` documents of one source.

    Build one per source (site) from that source's documents. Only short lines (``max_words``)
    without sentence punctuation count (``sentences=True`` admits sentences too), so a
    wire-service sentence or a crosshead question repeated in many articles is never treated
    as chrome. Digits are ignored when comparing lines ("date 2024-06-26 Menu" recurs with
    other dates). Lines the rules protect (bylines and credits unless asked for, "Reporting by
    ...") are kept by :func:`clean_text` whatever the evidence says.
    """

    def __init__(
        self, documents: Iterable[str], min_docs: int = 3, max_words: int = 30, sentences: bool = False
    ):
        self.min_docs = min_docs
        self.max_words = max_words
        self.sentences = sentences
        counts: Counter[str] = Counter()
        self.documents = 0
        for doc in documents:
            self.documents += 1
            counts.update({_line_key(line) for line in doc.split("\n") if self._eligible(line)})
        self._lines = frozenset(key for key, n in counts.items() if n >= min_docs and key)
        self.counts = {key: counts[key] for key in self._lines}

    def _eligible(self, line: str) -> bool:
        line = line.strip()
        if not line or _words(line) > self.max_words:
            return False
        return self.sentences or not _sentence_like(line)

    def is_boilerplate(self, line: str) -> bool:
        return self._eligible(line) and _line_key(line) in self._lines

    def __len__(self) -> int:
        return len(self._lines)


# --------------------------------------------------------------------------- line analysis

STRONG, WEAK, PROTECT = "strong", "weak", "protect"
_SHORT = ("structure:short-line", "structure:navigation")  # weak evidence from shape alone


@dataclass
class _Line:
    index: int
    start: int  # offset of the first character
    end: int  # offset after the content (before "\r\n" / "\n")
    stop: int  # offset after the line ending
    content: str
    stripped: str = ""
    words: int = 0
    blank: bool = False
    level: str | None = None  # STRONG, WEAK, PROTECT or None
    reason: str = ""
    confidence: float = 0.0
    label: int = 0  # a label line: how many list items may follow
    tail_label: int = 0  # the same, only after the last paragraph of the article
    label_kind: str = ""
    nav_like: bool = False  # a short line of menu words
    rule: str = ""  # the phrase or pattern that matched, for the reviewer
    repaired: ftfy.ExplainedText | None = None  # the character repair of ``content``, if it needs one

    @property
    def body(self) -> bool:
        """A paragraph that reads as article text."""
        return self.level in (None, PROTECT) and self.words >= 12 and _ends_sentence(self.stripped)


def _split_lines(text: str) -> list[_Line]:
    lines = []
    pos = 0
    n = len(text)
    while pos < n:
        nl = text.find("\n", pos)
        stop = n if nl < 0 else nl + 1
        end = stop if nl < 0 else nl
        if end > pos and text[end - 1] == "\r":
            end -= 1
        content = text[pos:end]
        stripped = content.strip()
        lines.append(_Line(len(lines), pos, end, stop, content, stripped, _words(stripped), not stripped))
        pos = stop
    return lines


def _set(line: _Line, level: str, reason: str, confidence: float) -> None:
    line.level, line.reason, line.confidence = level, reason, confidence


def _nav_class(rules: CleanupRules, text: str) -> str | None:
    """'strong' / 'weak' for a line made only of menu words, 'date' for a bare date line."""
    tokens = [t.casefold().strip(".:,") for t in _NAV_TOKEN.findall(text)]
    tokens = [t for t in tokens if t]
    if not tokens or len(tokens) > 12:
        return None
    ui = section = dates = 0
    for tok in tokens:
        if tok in rules.nav_ui:
            ui += 1
        elif tok in rules.nav_section:
            section += 1
        elif tok in rules.nav_date or _DATE_NUMBER.match(tok):
            dates += tok in rules.nav_date or not tok.isdigit() or len(tok) == 4  # not a bare count
        elif tok not in rules.nav_filler:
            return None
    if ui:
        return STRONG
    if section >= 5:
        return STRONG
    if section:
        return WEAK
    if dates:
        return "date"
    return None


def _appeal(rules: CleanupRules, text: str) -> str | None:
    """'strong' / 'weak' for donation / newsletter appeal paragraphs."""
    if any(p.search(text) for p in rules.appeal_headers):
        return WEAK
    # each cue counts once per distinct phrase it finds, at most twice ("our work", "our staff")
    cues = sum(min(2, len({m.group().casefold() for m in p.finditer(text)})) for p in rules.appeal_cues)
    if cues < 2 or any(p.search(text) for p in rules.appeal_not):
        return None
    if cues >= 3 and _PRONOUN.search(_QUOTED.sub(" ", text)):
        return STRONG
    return WEAK


def _list_item(line: _Line) -> bool:
    """A headline or tag in a list: no sentence punctuation, not a paragraph."""
    if line.blank or line.words > 25 or line.level in (STRONG, PROTECT):
        return False
    last = _last_char(line.stripped)
    return not last or last not in ".!;:…" or line.stripped.rstrip().endswith("]")


def _ends_with_agency(rules: CleanupRules, text: str) -> bool:
    norm = normalise_phrase(text)
    return any(norm.endswith(" " + a) or norm.endswith("/" + a) for a in rules.agencies)


def _optional_kind(line: _Line, match: tuple[Section, str], remove: bool, confidence: float) -> None:
    """A byline or caption: removed when its flag is on, otherwise protected from every other rule."""
    if remove:
        line.rule = match[1]
        _set(line, STRONG, f"rule:{match[0].kind}", confidence)
    else:
        _set(line, PROTECT, "", 0.0)


def _classify(
    lines: list[_Line],
    rules: CleanupRules,
    options: CleanOptions,
    evidence: Boilerplate | None,
    spun_originals: Callable[[], dict[str, tuple[str, ...]]],
) -> None:
    for line in lines:
        if line.blank:
            continue
        text, words = _BULLET.sub("", line.stripped), line.words
        match = rules.match_phrase(text) or rules.match_pattern(text, words)
        if match is None and words <= SPUN_MAX_WORDS and options.spun_chrome:
            match = rules.match_spun(text, words, spun_originals())
        section = match[0] if match else None
        if section is not None and section.keep:
            _set(line, PROTECT, "", 0.0)
            section = None
        if section is not None:
            line.rule = match[1]
            line.label, line.tail_label, line.label_kind = section.label, section.tail_label, section.kind
            if section.weak:
                _set(line, WEAK, f"rule:{section.kind}", 0.7)
            else:
                _set(line, STRONG, f"rule:{section.kind}", 0.97)
            continue
        if line.level == PROTECT:
            continue
        nav = _nav_class(rules, text)
        if nav == STRONG:
            _set(line, STRONG, "structure:navigation", 0.9)
            continue
        match = rules.match_byline(text, words)
        if match is None and nav == "date":
            match = (Section("dateline"), "")
        if match is not None:
            _optional_kind(line, match, options.remove_bylines, 0.9)
            continue
        match = rules.match_caption(text, words)
        if match is None and words <= 25 and not _ends_sentence(text) and _ends_with_agency(rules, text):
            match = (Section("caption"), "")
        if match is not None:
            _optional_kind(line, match, options.remove_captions, 0.85)
            continue
        if evidence is not None and evidence.is_boilerplate(line.content):
            _set(line, STRONG, "corpus:repeated-line", 0.85)
            continue
        appeal = _appeal(rules, text)
        if appeal == STRONG:
            _set(line, STRONG, "rule:appeal", 0.9)
        elif appeal == WEAK:
            _set(line, WEAK, "rule:appeal", 0.7)
        elif nav == WEAK:
            line.nav_like = True
            _set(line, WEAK, "structure:navigation", 0.7)
        elif words <= 3 and not _ends_sentence(text):
            _set(line, WEAK, "structure:short-line", 0.6)


def _protect_title(lines: list[_Line]) -> None:
    """The first line that is not certain chrome may be the headline: never weak evidence."""
    for line in lines:
        if line.reason == "rule:headline-tag":
            _set(line, PROTECT, "", 0.0)
            return
        if line.blank or line.level == STRONG:
            continue
        if line.level == WEAK and (line.words < 2 or line.nav_like):
            continue  # menu items above the headline
        if line.level == WEAK and line.reason == "structure:short-line" and not _ends_sentence(line.stripped):
            _set(line, PROTECT, "", 0.0)
        return


def _expand_labels(lines: list[_Line]) -> None:
    """A label ("DON'T MISS:", "Previous article", "Tags") takes the list that follows it."""
    bodies = [i for i, line in enumerate(lines) if line.body]
    if not bodies:
        return
    for i, line in enumerate(lines):
        limit = line.label or (line.tail_label if i > bodies[-1] else 0)
        if not limit or i < bodies[0]:
            continue
        items = []
        for nxt in lines[i + 1 :]:
            if nxt.blank:
                continue
            if len(items) >= limit or not _list_item(nxt):
                break
            items.append(nxt)
        reason = {"pager": "structure:pager-neighbour", "tags": "structure:tag-list"}.get(
            line.label_kind, "structure:related-list"
        )
        for item in items:
            _set(item, STRONG, reason, 0.85)


def _edge_runs(lines: list[_Line]) -> None:
    """A run of three or more short unpunctuated lines at the start or end: menus, tag clouds."""
    nonblank = [ln for ln in lines if not ln.blank]
    for order, at_start in ((nonblank, True), (list(reversed(nonblank)), False)):
        run: list[_Line] = []
        stopper = None
        for line in order:
            if line.level == STRONG:
                continue
            if line.level == WEAK and line.reason in _SHORT:
                run.append(line)
                continue
            stopper = line
            break
        if at_start and run and stopper is not None and not run[-1].nav_like:
            run.pop()  # the last short line before the text may be the headline
        # menus and tag clouds: menu words, or capitalised items without figures (not a list
        # of results, ingredients or dates that ends an article)
        if not at_start and stopper is not None and _last_char(stopper.stripped) == ":":
            continue  # "The nominees are:" - a list the article introduces itself
        if len(run) >= 3 and (
            any(ln.nav_like for ln in run)
            or all(ln.stripped[:1].isupper() and not regex.search(r"\d", ln.stripped) for ln in run)
        ):
            for line in run:
                _set(line, STRONG, "structure:nav-run", 0.8)


def _inline_headlines(lines: list[_Line]) -> None:
    """A headline with a "– source" tail between two paragraphs: a link to another story."""
    nonblank = [ln for ln in lines if not ln.blank]
    for k, line in enumerate(nonblank):
        if k == 0 or line.level is not None or _ends_sentence(line.stripped):
            continue
        if not 6 <= line.words <= 25:
            continue
        m = _DASH_TAIL.match(line.stripped)
        if not m or not 1 <= _words(m["tail"]) <= 4 or _words(m["head"]) < 4:
            continue
        if regex.search(r"[.!?;:]\s", m["head"]) or not _SOURCE_TAIL.search(m["tail"]):
            continue
        if _PERSON.match(m["tail"]):
            continue  # "– Jane Doe": a crosshead with its author, not a link to another story
        prev = nonblank[k - 1]
        nxt = nonblank[k + 1] if k + 1 < len(nonblank) else None
        if not prev.body or (nxt is not None and not nxt.body):
            continue
        _set(line, STRONG, "structure:inline-headline", 0.75)


def _captions_before_credits(lines: list[_Line]) -> None:
    """With remove_captions: the unpunctuated line right above a photo credit is its caption."""
    nonblank = [ln for ln in lines if not ln.blank]
    for k in range(1, len(nonblank)):
        line, prev = nonblank[k], nonblank[k - 1]
        if line.reason != "rule:credit" or prev.level not in (None, WEAK):
            continue
        if prev.words > 40 or _ends_sentence(prev.stripped):
            continue
        if all(ln.level == STRONG for ln in nonblank[: k - 1]):
            continue  # the first line of the text is the headline
        _set(prev, STRONG, "structure:caption-before-credit", 0.75)


def _chrome_blocks(lines: list[_Line]) -> None:
    """Weak lines go when one block of chrome holds them with a certain line and either reaches
    an edge of the document or has certain chrome on both sides of them."""
    nonblank = [ln for ln in lines if not ln.blank]
    k = 0
    while k < len(nonblank):
        if nonblank[k].level not in (STRONG, WEAK):
            k += 1
            continue
        if (
            k > 0
            and _last_char(nonblank[k - 1].stripped) == ":"
            and nonblank[k - 1].level != STRONG
            and nonblank[k].level == WEAK
            and nonblank[k].reason in _SHORT
        ):
            # "The nominees are:" - short lines after it are the article's own list
            while k < len(nonblank) and nonblank[k].level == WEAK and nonblank[k].reason in _SHORT:
                nonblank[k].level = None
                k += 1
            continue
        j = k
        while j < len(nonblank) and nonblank[j].level in (STRONG, WEAK):
            j += 1
        block = nonblank[k:j]
        strong = [i for i, ln in enumerate(block) if ln.level == STRONG]
        if strong:
            if k == 0 or j == len(nonblank):  # the block reaches an edge: all of it is chrome
                lo, hi = 0, len(block) - 1
            else:  # inside the text: only what certain chrome encloses
                lo, hi = strong[0], strong[-1]
            for line in block[lo : hi + 1]:
                if line.level == WEAK:
                    _set(line, STRONG, "structure:chrome-block", 0.7)
        k = j


def _removal_edits(text: str, lines: list[_Line]) -> list[Edit]:
    edits = []
    for line in lines:
        if line.level == STRONG and not line.blank:
            edits.append(
                Edit(
                    line.start,
                    line.stop,
                    text[line.start : line.stop],
                    "",
                    "clean",
                    line.reason,
                    line.confidence,
                    {"line": line.index + 1, "rule": line.rule} if line.rule else {"line": line.index + 1},
                )
            )
    return edits


def _blank_line_edits(text: str, lines: list[_Line]) -> list[Edit]:
    """Blank lines left doubled (or at an edge) by removals, and runs of more than two."""
    removed = {ln.index for ln in lines if ln.level == STRONG and not ln.blank}
    kept = [ln for ln in lines if ln.index not in removed]
    edits = []
    run_id = 0
    # groups of blank lines that end up adjacent in the output, each blank tagged with the
    # run of blank lines it belonged to in the input
    groups: list[list[tuple[_Line, int]]] = []
    current: list[tuple[_Line, int]] = []
    for line in lines:
        if line.index in removed:
            run_id += 1
        elif line.blank:
            current.append((line, run_id))
        else:
            run_id += 1
            if current:
                groups.append(current)
                current = []
    if current:
        groups.append(current)
    first_text = next((ln.index for ln in kept if not ln.blank), None)
    last_text = next((ln.index for ln in reversed(kept) if not ln.blank), None)
    for group in groups:
        first, last = group[0][0].index, group[-1][0].index
        drop: list[_Line] = []
        reason = "whitespace:blank-after-removal"
        at_start = first_text is None or first < first_text
        at_end = last_text is None or last > last_text
        if at_start and removed and min(removed) < first:
            drop = [ln for ln, _ in group]
        elif at_end and removed and max(removed) > last:
            drop = [ln for ln, _ in group]
        else:
            first_run = group[0][1]
            drop = [ln for ln, rid in group if rid != first_run]
            keep = [ln for ln, rid in group if rid == first_run]
            if len(keep) > 2:
                drop = keep[2:] + drop
                reason = "whitespace:blank-lines"
        for ln in drop:
            edits.append(Edit(ln.start, ln.stop, text[ln.start : ln.stop], "", "repair", reason, 1.0))
    return edits


def _ftfy_reason(explanation) -> str:
    names: list[str] = []
    for action, parameter in explanation or ():
        name = "mojibake" if action in ("encode", "decode", "transcode") else str(parameter)
        if name in (
            "decode_inconsistent_utf8",
            "replace_lossy_sequences",
            "fix_c1_controls",
            "restore_byte_a0",
        ):
            name = "mojibake"
        if name not in names:
            names.append(name)
    return "ftfy:" + ("+".join(names) or "fix")


def _diff_edits(offset: int, old: str, new: str, reason: str, confidence: float) -> list[Edit]:
    """Replacement spans turning ``old`` into ``new``, word by word (a reviewer sees
    "&amp;" -> "&", not stray characters), less the letters a word keeps ("Caf" of "CafÃ©")."""
    a, b = _PIECES.findall(old), _PIECES.findall(new)
    a_pos, b_pos = [0], [0]
    for piece in a:
        a_pos.append(a_pos[-1] + len(piece))
    for piece in b:
        b_pos.append(b_pos[-1] + len(piece))
    edits = []
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        s1, s2, t1, t2 = a_pos[i1], a_pos[i2], b_pos[j1], b_pos[j2]
        # letters both sides share stay outside the edit: in "&quot;soiled" -> '"soiled' only the
        # entity changes, so restoring "soiled" (an edit of its own) does not collide with it
        while s1 < s2 and t1 < t2 and old[s1] == new[t1] and old[s1].isalnum():
            s1, t1 = s1 + 1, t1 + 1
        while (
            s2 > s1
            and t2 > t1
            and old[s2 - 1] == new[t2 - 1]
            and (old[s2 - 1].isalnum() or old[s2 - 1] in ".,;:!?")
        ):
            s2, t2 = s2 - 1, t2 - 1
        edits.append(Edit(offset + s1, offset + s2, old[s1:s2], new[t1:t2], "repair", reason, confidence))
    return edits


def _needs_ftfy(content: str) -> bool:
    return not (content.isascii() and "&" not in content and "\x1b" not in content)


def _read_repaired(lines: list[_Line], options: CleanOptions) -> None:
    """Classify each line as character repair will leave it: "Read more &raquo;" as
    "Read more »", a line of ``&nbsp;`` as a blank line.

    Read raw, such chrome was kept, repaired, and only a second cleanup removed it (and a
    lone NBSP line with its blank run): cleaning the output again changed it. The repair is
    kept on the line for ``_line_repairs``.
    """
    if not options.repair_characters:
        return
    for line in lines:
        if line.blank or not _needs_ftfy(line.content):
            continue
        line.repaired = ftfy.fix_and_explain(line.content, _FTFY_CONFIG)
        stripped = line.repaired.text.strip()
        if stripped == line.stripped or (not stripped and not options.normalise_whitespace):
            continue
        line.stripped, line.words, line.blank = stripped, _words(stripped), not stripped


def _line_repairs(text: str, line: _Line, options: CleanOptions) -> list[Edit]:
    content = line.content
    edits: list[Edit] = []
    ftfy_reason = ""
    if options.repair_characters and not line.blank and _needs_ftfy(content):
        fixed = line.repaired or ftfy.fix_and_explain(content, _FTFY_CONFIG)
        if fixed.text != content:
            ftfy_reason = _ftfy_reason(fixed.explanation)
            for edit in _diff_edits(line.start, content, fixed.text, ftfy_reason, 0.95):
                # name the fix of this span alone when it repairs the same way on its own
                alone = ftfy.fix_and_explain(edit.before, _FTFY_CONFIG)
                steps = alone.explanation if alone.text == edit.after else fixed.explanation
                edits.append(
                    Edit(
                        edit.start,
                        edit.end,
                        edit.before,
                        edit.after,
                        "repair",
                        _ftfy_reason(steps),
                        0.95,
                        {"explanation": [list(step) for step in steps or ()]},
                    )
                )
    if options.normalise_whitespace:
        for s, e, after, reason in _whitespace_spans(content, line.blank):
            start, end = line.start + s, line.start + e
            if any(ed.start < end and start < ed.end for ed in edits):
                continue
            edits.append(Edit(start, end, text[start:end], after, "repair", reason, 1.0))
        if ftfy_reason:
            edits = _with_repaired_whitespace(line, edits, ftfy_reason) or edits
    return edits


def _whitespace_spans(content: str, blank: bool) -> list[tuple[int, int, str, str]]:
    """(start, end, replacement, reason) of the whitespace a line's rules remove or collapse."""
    if blank:
        return [(0, len(content), "", "whitespace:trailing")] if content else []
    spans = []
    m = _LEADING.search(content)
    if m:
        spans.append((m.start(), m.end(), "", "whitespace:leading"))
    m = _TRAILING.search(content)
    if m:
        spans.append((m.start(), m.end(), "", "whitespace:trailing"))
    for m in _SPACE_RUN.finditer(content):
        spans.append((m.start(), m.end(), " ", "whitespace:space-run"))
    return spans


def _normalise_ws(content: str) -> str:
    """``content`` as the whitespace rules of ``_line_repairs`` leave it."""
    for s, e, after, _ in sorted(_whitespace_spans(content, not content.strip()), reverse=True):
        content = content[:s] + after + content[e:]
    return content


def _with_repaired_whitespace(line: _Line, edits: list[Edit], ftfy_reason: str) -> list[Edit] | None:
    """The line's edits redone as one diff when a character repair left whitespace the rules
    remove ("it.&#32;" -> "it. ", "it. \x1b[0m" -> "it. "); None when it left none.

    Otherwise only a second cleanup removed it: cleaning the output again changed it.
    """
    local = [replace(e, start=e.start - line.start, end=e.end - line.start) for e in edits]
    once = apply_edits(line.content, local)
    final = _normalise_ws(once)
    if final == once:
        return None
    return _diff_edits(line.start, line.content, final, ftfy_reason + "+whitespace", 0.95)


# --------------------------------------------------------------------------- entry point


def clean_text(
    text: str,
    options: CleanOptions = CleanOptions(),  # noqa: B008 - frozen, immutable
    evidence: Boilerplate | None = None,
    spun_originals: Callable[[], dict[str, tuple[str, ...]]] = spinner_originals,
) -> CleanResult:
    """Remove chrome lines and repair characters/whitespace; every change is an Edit.

    ``spun_originals`` gives the spinner's substitutions reversed, called only when a short
    line needs them (a Restorer passes the tables it already loaded).
    """
    rules = load_rules()
    lines = _split_lines(text)
    _read_repaired(lines, options)
    _classify(lines, rules, options, evidence, spun_originals)
    _protect_title(lines)
    _expand_labels(lines)
    _edge_runs(lines)
    _inline_headlines(lines)
    if options.remove_captions:
        _captions_before_credits(lines)
    _chrome_blocks(lines)

    edits = _removal_edits(text, lines)
    removed = {e.details["line"] - 1 for e in edits}
    if options.normalise_whitespace:
        edits.extend(_blank_line_edits(text, lines))
    dropped = {e.start for e in edits}
    for line in lines:
        if line.index in removed or line.start in dropped:
            continue
        edits.extend(_line_repairs(text, line, options))
    edits.sort(key=lambda e: (e.start, e.end))
    return CleanResult(apply_edits(text, edits), edits)
