"""Candidate proposal: the lattice of ways each sentence could have been written originally.

For every span of 1..N joined tokens, the channel tables say which originals a
spinner could have turned into it. Each becomes an arc carrying its per-family
channel weights; every token also gets a *keep* arc. The decoder picks a path.
"""

from __future__ import annotations

from dataclasses import dataclass

from .channel import ChannelTables
from .tokenize import Token


@dataclass(frozen=True, slots=True)
class Arc:
    """Tokens [start, end) of a sentence read as ``words``; ``weights`` is empty for a keep arc."""

    start: int
    end: int
    words: tuple[str, ...]
    weights: tuple[tuple[str, float], ...] = ()  # (family, P(spun | original, family))
    original: str = ""  # the table's spelling of the original (its case matters when it has capitals)

    @property
    def is_keep(self) -> bool:
        return not self.weights


def _lm_word(token: Token) -> str:
    return token.norm


def build_lattice(tokens: list[Token], tables: ChannelTables) -> list[list[Arc]]:
    """Arcs leaving each position of one sentence (``tokens`` is the sentence)."""
    arcs: list[list[Arc]] = [[Arc(i, i + 1, (_lm_word(tok),))] for i, tok in enumerate(tokens)]
    n = len(tokens)
    for i in range(n):
        for length in range(1, tables.max_span + 1):
            j = i + length
            if j > n or (length > 1 and not tokens[j - 1].joined):
                break
            span_text = " ".join(tok.text for tok in tokens[i:j])
            merged: dict[str, dict[str, float]] = {}
            for source in tables.lookup(span_text):
                fam = merged.setdefault(source.original, {})
                fam[source.family] = max(fam.get(source.family, 0.0), source.weight)
            for original, fams in merged.items():
                words = tuple(original.lower().split())
                if words == tuple(_lm_word(t) for t in tokens[i:j]):
                    continue
                arcs[i].append(Arc(i, j, words, tuple(sorted(fams.items())), original))
    return arcs


def has_alternatives(arcs: list[list[Arc]]) -> bool:
    return any(len(out) > 1 for out in arcs)
