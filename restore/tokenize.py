"""Word tokens with exact character offsets, and the facts about the gaps between them.

Restoration only ever rewrites the characters of the tokens it replaces, so the
tokenizer never normalises the text itself: it only reports where words are.
"""

from __future__ import annotations

from dataclasses import dataclass

import regex

# Invisible characters a scraped word may hold (soft hyphen, zero-width space/joiners, word
# joiner, BOM): "men\u00adtioned" is one word, the way a reader sees it.
INVISIBLE = "\u00ad\u200b\u200c\u200d\u2060\ufeff"
WORD = regex.compile(rf"\w+(?:[{INVISIBLE}]+\w+)*(?:['’]\w+(?:[{INVISIBLE}]+\w+)*)*")
_STRIP_INVISIBLE = str.maketrans("", "", INVISIBLE)
_SENTENCE_END = regex.compile(r"[.!?…]|\n")
_CLAUSE_BREAK = regex.compile(r"[.!?…,;:()\[\]\"“”—–]|\n")
_PLAIN_GAP = regex.compile(r"[ \t\u00a0]+")
# Text that is an address, not prose: a spinner leaves it alone, and rewriting a word in it
# breaks a link ("…/minister-mentioned-talks" is a different page from "…/minister-said-talks").
# Every branch starts only where a run of its characters starts (the lookbehinds) and never
# backtracks (possessive quantifiers), so a 100,000-character base64 blob costs linear time.
_OPAQUE = regex.compile(
    r"""(?<![\w.+-])(?:https?|ftp)://\S++"""  # URLs with a scheme
    r"""|(?<![\w.])www\.\S++"""
    r"""|(?<![\w.+-])[\w.+-]++@[\w-]++(?:\.[\w-]++)++"""  # e-mail addresses
    r"""|(?<![\w@#])[@#]\w++"""  # @handles and #hashtags
    r"""|(?<![\w.@/-])(?P<dotted>[\w-]++(?:\.[\w-]++)++)(?P<path>/\S*+)?""",  # domains, file names
    regex.IGNORECASE,
)
# the last part of a dotted name that makes it a domain (lowercase: "early.In" is a missing
# space, not a site in India) or a file name (any case)
_DOMAIN_ENDINGS = frozenset(
    "com org net gov edu int mil info biz news io co uk us ca au de fr eu in ie nz me tv ly gl".split()
)
_FILE_ENDINGS = frozenset(
    "pdf doc docx xls xlsx ppt pptx csv txt json xml jpg jpeg png gif svg mp3 mp4 zip htm html php asp aspx".split()
)
_TRAILING = ".,;:!?)]}\"'’”»"


@dataclass(frozen=True, slots=True)
class Token:
    text: str
    start: int
    end: int
    sentence_start: bool  # a sentence end or a line break lies between this token and the previous one
    clause_start: bool  # ... or clause punctuation (comma, colon, quote, bracket, dash): a new LM context
    joined: bool  # only spaces separate it from the previous token (so the two may form a phrase)
    opaque: bool = False  # part of a URL, e-mail address, handle, hashtag or file name: never rewritten
    plain: str = ""  # the word as it reads: without invisible characters such as soft hyphens
    norm: str = ""  # lowercase plain form, typographic apostrophes made plain: how tables and the LM spell it

    def __post_init__(self) -> None:
        # computed once: every stage asks for them, many times per token
        if not self.plain:
            object.__setattr__(self, "plain", self.text.translate(_STRIP_INVISIBLE))
        if not self.norm:
            object.__setattr__(self, "norm", self.plain.lower().replace("’", "'"))


def opaque_spans(text: str) -> list[tuple[int, int]]:
    """Character ranges of URLs, e-mail addresses, handles, hashtags and file names.

    Sentence punctuation after an address ("see example.com.") is not part of it.
    """
    spans = []
    for match in _OPAQUE.finditer(text):
        dotted = match.group("dotted")
        if dotted is not None:
            ending = dotted.rsplit(".", 1)[1]
            if ending not in _DOMAIN_ENDINGS and (match.group("path") or ending.lower() not in _FILE_ENDINGS):
                continue  # "U.S", "e.g", "3.5", "early.In": prose
        end = match.end()
        while end > match.start() + 1 and text[end - 1] in _TRAILING:
            end -= 1
        spans.append((match.start(), end))
    return spans


def tokenize(text: str) -> list[Token]:
    """Word tokens of ``text``; a token inside an address is opaque and stands as its own clause,
    so it neither changes nor serves as LM context for the prose around it."""
    tokens: list[Token] = []
    prev_end = 0
    spans = opaque_spans(text)
    k = 0
    after_opaque = False
    for match in WORD.finditer(text):
        while k < len(spans) and spans[k][1] <= match.start():
            k += 1
        opaque = k < len(spans) and spans[k][0] < match.end()
        gap = text[prev_end : match.start()]
        first = not tokens
        tokens.append(
            Token(
                text=match.group(),
                start=match.start(),
                end=match.end(),
                sentence_start=first or bool(_SENTENCE_END.search(gap)),
                clause_start=first or opaque or after_opaque or bool(_CLAUSE_BREAK.search(gap)),
                joined=not first and not opaque and not after_opaque and bool(_PLAIN_GAP.fullmatch(gap)),
                opaque=opaque,
            )
        )
        after_opaque = opaque
        prev_end = match.end()
    return tokens


MAX_CLAUSE_TOKENS = 80  # longer unpunctuated runs are decoded in pieces of this many words


def sentences(tokens: list[Token], max_tokens: int = MAX_CLAUSE_TOKENS) -> list[tuple[int, int]]:
    """Index ranges [i, j) of tokens forming one clause: the LM's unit of context.

    The embedded LM was trained on unpunctuated text, so "battle, the ministry said"
    scores better as two clauses than as "battle the ministry said". A run with no
    punctuation at all (a scraped list, a stripped transcript) is cut every ``max_tokens``
    words: the decoder's cost per clause grows with the square of its length.
    """
    spans: list[tuple[int, int]] = []
    start = 0
    for i, tok in enumerate(tokens):
        if i and (tok.clause_start or i - start >= max_tokens):
            spans.append((start, i))
            start = i
    if tokens:
        spans.append((start, len(tokens)))
    return spans
