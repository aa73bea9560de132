"""Word tokens with exact character offsets, and the facts about the gaps between them.

Restoration only ever rewrites the characters of the tokens it replaces, so the
tokenizer never normalises the text itself: it only reports where words are.
"""

from __future__ import annotations

from dataclasses import dataclass

import regex

WORD = regex.compile(r"\w+(?:['’]\w+)*")
_SENTENCE_END = regex.compile(r"[.!?…]|\n")
_CLAUSE_BREAK = regex.compile(r"[.!?…,;:()\[\]\"“”—–]|\n")
_PLAIN_GAP = regex.compile(r"[ \t\u00a0]+")


@dataclass(frozen=True, slots=True)
class Token:
    text: str
    start: int
    end: int
    sentence_start: bool  # a sentence end or a line break lies between this token and the previous one
    clause_start: bool  # ... or clause punctuation (comma, colon, quote, bracket, dash): a new LM context
    joined: bool  # only spaces separate it from the previous token (so the two may form a phrase)

    @property
    def norm(self) -> str:
        """Lowercase form with typographic apostrophes made plain, as tables and the LM store words."""
        return self.text.lower().replace("’", "'")


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    prev_end = 0
    for match in WORD.finditer(text):
        gap = text[prev_end : match.start()]
        first = not tokens
        tokens.append(
            Token(
                text=match.group(),
                start=match.start(),
                end=match.end(),
                sentence_start=first or bool(_SENTENCE_END.search(gap)),
                clause_start=first or bool(_CLAUSE_BREAK.search(gap)),
                joined=not first and bool(_PLAIN_GAP.fullmatch(gap)),
            )
        )
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
