"""Candidate proposal: the lattice of ways each sentence could have been written originally.

For every span of 1..N joined tokens, the channel tables say which originals a
spinner could have turned into it. Each becomes an arc carrying its per-family
channel weights; every token also gets a *keep* arc. The decoder picks a path.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .channel import ChannelTables
from .tokenize import Token


@dataclass(frozen=True, slots=True, eq=False)
class Arc:
    """Tokens [start, end) of a sentence read as ``words``; ``weights`` is empty for a keep arc.

    Arcs compare and hash by identity: each is one edge of one lattice, and the decoder's
    caches (and a rescorer's scores) are keyed by the edge itself.
    """

    start: int
    end: int
    words: tuple[str, ...]
    weights: tuple[tuple[str, float], ...] = ()  # (family, P(spun | original, family))
    original: str = ""  # the table's spelling of the original (its case matters when it has capitals)
    key: str = ""  # the words joined: how spin rates name this original

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", " ".join(self.words))

    @property
    def is_keep(self) -> bool:
        return not self.weights

    @property
    def spelling(self) -> str:
        """The original as the table spells it (its case matters), else the words joined."""
        return self.original or self.key


# what a rescorer is given: per sentence that has alternatives, its tokens and arcs
SentenceLattices = list[tuple[list[Token], list[list[Arc]]]]

_POSSESSIVE = ("'s", "’s")


def _lm_word(token: Token) -> str:
    return token.norm


# what a span's text proposes: (original's words, per-family weights, original as the table spells it)
Proposals = tuple[tuple[tuple[str, ...], tuple[tuple[str, float], ...], str], ...]


def build_lattice(
    tokens: list[Token], tables: ChannelTables, memo: dict[str, Proposals] | None = None
) -> list[list[Arc]]:
    """Arcs leaving each position of one sentence (``tokens`` is the sentence).

    ``memo`` (one per document) keeps what each span text proposes: a document repeats
    its words, and the table lookups and merging are most of this function's work.
    """
    memo = {} if memo is None else memo
    arcs: list[list[Arc]] = [[Arc(i, i + 1, (_lm_word(tok),))] for i, tok in enumerate(tokens)]
    n = len(tokens)
    # numbers: "4" for "four" is harmless, and the LM cannot judge digits (no span holds one)
    digits = [any(c.isdigit() for c in tok.plain) for tok in tokens]
    for i in range(n):
        if tokens[i].opaque:
            continue  # an address is never rewritten (and phrases stop at one: joined is False)
        span_text = ""
        for length in range(1, tables.max_span + 1):
            j = i + length
            if j > n or (length > 1 and not tokens[j - 1].joined) or digits[j - 1]:
                break
            span_text = f"{span_text} {tokens[j - 1].plain}" if span_text else tokens[j - 1].plain
            proposals = memo.get(span_text)
            if proposals is None:
                proposals = memo[span_text] = _proposals(span_text, tables)
            if not proposals:
                continue
            as_written = tuple(_lm_word(t) for t in tokens[i:j])
            for words, weights, original in proposals:
                if words != as_written:
                    arcs[i].append(Arc(i, j, words, weights, original))
    return arcs


def _proposals(span_text: str, tables: ChannelTables) -> Proposals:
    """The originals the tables give for ``span_text``, one entry per original with its families' weights."""
    suffix = ""
    candidates = tables.lookup(span_text)
    if not candidates and span_text[-2:] in _POSSESSIVE:
        # "White Home’s" -> "White House’s": look the stem up, keep the possessive
        suffix = span_text[-2:]
        candidates = tables.lookup(span_text[:-2])
    merged: dict[str, dict[str, float]] = {}
    for source in candidates:
        fam = merged.setdefault(source.original + suffix, {})
        fam[source.family] = max(fam.get(source.family, 0.0), source.weight)
    return tuple(
        (tuple(original.lower().replace("’", "'").split()), tuple(sorted(fams.items())), original)
        for original, fams in merged.items()
    )


def has_alternatives(arcs: list[list[Arc]]) -> bool:
    return any(len(out) > 1 for out in arcs)


def prune_lattice(
    arcs: list[list[Arc]],
    lm,
    *,
    slack: float,
    per_position: int,
) -> list[list[Arc]]:
    """Drop arcs the LM finds implausible even in the most favourable reading of their context.

    Each restoring arc is scored against keeping its tokens, in the context of the
    neighbouring input words (two on each side): ``gain = LM(arc) - LM(keep) + log w``,
    with ``w`` the weight each family gives it. Arcs below ``-slack`` cannot win unless a
    neighbour changes too, which the slack allows for; per start token, each family keeps
    its ``per_position`` best arcs. This keeps Viterbi's state space small without changing
    what it would choose in practice.
    """
    words = [out[0].words[0] for out in arcs]
    n = len(words)
    pruned: list[list[Arc]] = []
    for i, out in enumerate(arcs):
        if len(out) == 1:
            pruned.append(out)
            continue
        # cheap first cut by channel weight, so the LM scores only plausible candidates
        by_weight = sorted(out[1:], key=lambda arc: -max(w for _, w in arc.weights))[: per_position * 6]
        left = words[max(0, i - 2) : i]
        keep_scores: dict[int, float] = {}
        scored = []
        for arc in by_weight:
            right = words[arc.end : arc.end + 2]
            at_end = arc.end >= n - 2
            keep = keep_scores.get(arc.end)
            if keep is None:
                keep = keep_scores[arc.end] = _window_logprob(
                    lm, left, tuple(words[i : arc.end]), right, at_end
                )
            fit = _window_logprob(lm, left, arc.words, right, at_end) - keep
            for family, weight in arc.weights:
                gain = fit + math.log(weight)
                if gain > -slack:
                    scored.append((gain, family, arc))
        # each family keeps its own best candidates: which family wrote the text is decided later
        # (the document gate), so one family's many candidates must not crowd out another's
        scored.sort(key=lambda item: -item[0])
        kept: dict[Arc, None] = {}
        taken: dict[str, int] = {}
        for _gain, family, arc in scored:
            if taken.get(family, 0) < per_position:
                taken[family] = taken.get(family, 0) + 1
                kept[arc] = None
        pruned.append([out[0], *kept])
    return pruned


def _window_logprob(lm, left: list[str], middle: tuple[str, ...], right: list[str], at_end: bool) -> float:
    """LM log-probability of ``middle`` and the words after it, given the words before it."""
    history = list(left) if len(left) == 2 else ["<s>", *left]
    total = 0.0
    for word in (*middle, *right, *(["</s>"] if at_end and len(right) < 2 else [])):
        prev1 = history[-1] if history else None
        prev2 = history[-2] if len(history) > 1 else None
        total += lm.logprob(word, prev1, prev2)
        history.append(word)
    return total
