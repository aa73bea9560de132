"""The restoration engine: tokens -> lattice -> spin-rate EM + Viterbi -> edits.

The document's spin rate per family is what keeps clean text untouched: a few
rounds of hard EM re-estimate it from the decoded paths, so an article with
dozens of "mentioned"/"get together" settles at a high rate and gets restored,
while a clean article settles near zero and a lone odd word stays as it is.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Protocol

from .channel import ChannelTables
from .decode import DecodeSettings, decode_sentence, restore_logprob
from .edits import Edit
from .lattice import Arc, build_lattice, has_alternatives, prune_lattice
from .lm import NgramScorer
from .surface import article_for, transfer_case
from .tokenize import WORD, Token, sentences, tokenize


class ArcRescorer(Protocol):
    """Optional second opinion on the lattice (the masked-LM stage implements this).

    ``arc_scores`` gets the document text and, per sentence that has alternatives,
    its tokens and arcs (``arcs[i]`` leave token i; ``arcs[i][0]`` is the keep arc).
    It returns an additive log-score per arc it has an opinion on (weighted as it
    sees fit; arcs it omits get 0); the final decode adds these to the channel costs.
    """

    def arc_scores(
        self, text: str, sentences: list[tuple[list[Token], list[list[Arc]]]]
    ) -> dict[Arc, float]: ...


@dataclass(frozen=True, slots=True)
class FamilyPrior:
    """Beta prior on a family's spin rate (mean a/(a+b)) and the rate EM starts from."""

    a: float
    b: float
    start: float


DEFAULT_PRIORS: dict[str, FamilyPrior] = {
    "spinner-table": FamilyPrior(0.5, 30.0, 0.25),
    "wordnet-blind": FamilyPrior(0.3, 40.0, 0.15),
    "thesaurus": FamilyPrior(0.2, 60.0, 0.05),
}
EM_ROUNDS = 4
FLOOR_RATE = 0.0  # spin rate of a family judged not to have written the document: no edits from it
MAX_RATE = 0.9
SPUN_SCORE = 0.04  # documents whose restored fraction of words is at least this are judged spun
SPUN_MIN_EDITS = 3


@dataclass
class SpinEstimate:
    """What the engine concluded about a document as a whole."""

    rates: dict[str, float] = field(default_factory=dict)  # per-family spin rate after EM
    restored: int = 0  # number of restoring edits
    words: int = 0

    @property
    def score(self) -> float:
        """Fraction of the document's words judged spun (0 for clean text)."""
        return self.restored / self.words if self.words else 0.0

    @property
    def spun(self) -> bool:
        return self.restored >= SPUN_MIN_EDITS and self.score >= SPUN_SCORE


@dataclass(frozen=True, slots=True)
class _Sentence:
    offset: int  # index of its first token in the document
    tokens: list[Token]
    arcs: list[list[Arc]]
    transitions: dict = field(default_factory=dict)  # the decoder's LM cache for this lattice

    def decode(self, lm: NgramScorer, cost, banned: Arc | None = None) -> tuple[float, list[Arc]]:
        return decode_sentence(self.arcs, lm, cost, banned=banned, transitions=self.transitions)


class SpanRestorer:
    """Restores spun wording in plain text; holds the tables and LM, loaded once."""

    def __init__(
        self,
        tables: ChannelTables,
        lm: NgramScorer,
        settings: DecodeSettings | None = None,
        priors: dict[str, FamilyPrior] | None = None,
        rescorer: ArcRescorer | None = None,
    ):
        self.tables = tables
        self.lm = lm
        self.settings = settings or DecodeSettings()
        self.priors = priors or DEFAULT_PRIORS
        self.rescorer = rescorer

    # -- public ----------------------------------------------------------------------------

    def restore(self, text: str) -> tuple[list[Edit], SpinEstimate]:
        tokens = tokenize(text)
        estimate = SpinEstimate(words=len(tokens))
        if not tokens:
            return [], estimate
        doc_sources: Counter = Counter()  # family tuples of the source words outside any lattice
        lattices: list[_Sentence] = []
        for i, j in sentences(tokens):
            sent_tokens = tokens[i:j]
            arcs = build_lattice(sent_tokens, self.tables)
            if has_alternatives(arcs):
                arcs = prune_lattice(
                    arcs,
                    self.lm,
                    slack=self.settings.prune_slack,
                    per_position=self.settings.prune_per_position,
                )
            if has_alternatives(arcs):
                lattices.append(_Sentence(i, sent_tokens, arcs))
            else:
                doc_sources.update(self.tables.source_families(tok.norm) for tok in sent_tokens)
        del doc_sources[()]
        families = self.tables.families
        rates = {f: self.priors.get(f, FamilyPrior(0.2, 50, 0.05)).start for f in families}
        for _ in range(EM_ROUNDS):
            paths = [s.decode(self.lm, self._cost_fn(s, rates))[1] for s in lattices]
            rates = self._reestimate(paths, doc_sources, rates)
        rates = self._gate(lattices, doc_sources, rates)
        estimate.rates = rates
        edits: list[Edit] = []
        rescored = self._rescore(text, lattices) if any(r > FLOOR_RATE for r in rates.values()) else {}
        for sent in lattices:
            cost = self._cost_fn(sent, rates, rescored)
            score, path = sent.decode(self.lm, cost)
            for arc in path:
                if arc.is_keep:
                    continue
                alt_score, _ = sent.decode(self.lm, cost, banned=arc)
                confidence = _sigmoid(score - alt_score + self.settings.margin)
                if confidence < self.settings.min_confidence:
                    continue  # a wrong restoration costs more than a missed one: keep the input
                edits.append(self._edit(text, sent, arc, rates, confidence))
        estimate.restored = len(edits)
        return _fix_articles(text, edits), estimate

    # -- model pieces ----------------------------------------------------------------------

    def _gate(
        self, lattices: list[_Sentence], doc_sources: Counter, rates: dict[str, float]
    ) -> dict[str, float]:
        """Switch off each family that does not explain the document better than "not spun" by it.

        A spinner family is kept only if the document is more likely with that family's
        estimated rate than with the family at the floor rate, by ``document_gate`` nats.
        Clean text fails for every family (so it gets no edits); spun text keeps the
        family that wrote it and drops the others, whose stray candidates are noise.
        """
        current = self._log_likelihood(lattices, doc_sources, rates)
        for family in sorted(rates, key=rates.get, reverse=True):
            if rates[family] <= FLOOR_RATE:
                continue
            without = dict(rates)
            without[family] = FLOOR_RATE
            score_without = self._log_likelihood(lattices, doc_sources, without)
            if current - score_without < self.settings.document_gate:
                rates, current = without, score_without
        return rates

    def _log_likelihood(
        self, lattices: list[_Sentence], doc_sources: Counter, rates: dict[str, float]
    ) -> float:
        """log P(document) under the best paths at ``rates`` (keep costs of lattice-free text included)."""
        total = sum(s.decode(self.lm, self._cost_fn(s, rates))[0] for s in lattices)
        for families, count in doc_sources.items():
            total += count * math.log(max(1.0 - sum(rates[f] for f in families), 1.0 - MAX_RATE))
        return total

    def _rescore(self, text: str, lattices: list[_Sentence]) -> dict[Arc, float]:
        """Extra evidence per arc from the optional rescorer (e.g. a masked LM), already weighted."""
        if self.rescorer is None:
            return {}
        return self.rescorer.arc_scores(text, [(s.tokens, s.arcs) for s in lattices])

    def _cost_fn(self, sent: _Sentence, rates: dict[str, float], rescored: dict[Arc, float] | None = None):
        settings = self.settings
        keep_cache: dict[str, float] = {}
        extra = rescored or {}

        def cost(arc: Arc) -> float:
            if arc.is_keep:
                word = arc.words[0]
                value = keep_cache.get(word)
                if value is None:
                    spun_mass = sum(rates[f] for f in self.tables.source_families(word))
                    value = keep_cache[word] = math.log(max(1.0 - spun_mass, 1.0 - MAX_RATE))
                return value + extra.get(arc, 0.0)
            value = restore_logprob(arc, rates) - settings.margin + extra.get(arc, 0.0)
            first = sent.tokens[arc.start]
            if first.text[:1].isupper() and not first.sentence_start and arc.original.islower():
                value -= settings.cased_penalty
            return value

        return cost

    def _reestimate(self, paths: list[list[Arc]], doc_sources: Counter, rates: dict[str, float]):
        spun: Counter = Counter()
        spinnable: Counter = Counter()
        for families, count in doc_sources.items():
            for family in families:
                spinnable[family] += count
        for path in paths:
            for arc in path:
                if arc.is_keep:
                    spinnable.update(self.tables.source_families(arc.words[0]))
                    continue
                shares = {f: rates[f] * w for f, w in arc.weights}
                total = sum(shares.values()) or 1.0
                for family, share in shares.items():
                    spun[family] += share / total
                    spinnable[family] += share / total
        new_rates = {}
        for family in rates:
            prior = self.priors.get(family, FamilyPrior(0.2, 50, 0.05))
            rate = (spun[family] + prior.a) / (spinnable[family] + prior.a + prior.b)
            new_rates[family] = min(rate, MAX_RATE)
        return new_rates

    def _edit(self, text: str, sent: _Sentence, arc: Arc, rates: dict[str, float], confidence: float) -> Edit:
        first, last = sent.tokens[arc.start], sent.tokens[arc.end - 1]
        before = text[first.start : last.end]
        original = arc.original or " ".join(arc.words)
        after = transfer_case(before, original, keep_replacement_case=not original.islower())
        shares = {f: rates[f] * w for f, w in arc.weights}
        family = max(shares, key=shares.get)
        return Edit(
            start=first.start,
            end=last.end,
            before=before,
            after=after,
            kind="restore",
            reason=f"{family}: '{before.lower()}' is how it writes '{original}'",
            confidence=confidence,
            details={
                "family": family,
                "channel_weight": round(dict(arc.weights)[family], 4),
                "spin_rate": round(rates[family], 4),
            },
        )


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def _fix_articles(text: str, edits: list[Edit]) -> list[Edit]:
    """Extend an edit over a preceding "a"/"an" when the new first word needs the other one."""
    fixed = []
    taken = {(e.start, e.end) for e in edits}
    for edit in edits:
        gap_start = edit.start
        while gap_start > 0 and text[gap_start - 1] == " ":
            gap_start -= 1
        prev = None
        for match in WORD.finditer(text, max(0, gap_start - 3), gap_start):
            if match.end() == gap_start:
                prev = match
        new_first = edit.after.split()[0] if edit.after.split() else ""
        if (
            prev is not None
            and prev.group().lower() in ("a", "an")
            and (prev.start() == 0 or not text[prev.start() - 1].isalnum())
            and gap_start < edit.start
            and new_first
            and not any(s <= prev.start() < e for s, e in taken if (s, e) != (edit.start, edit.end))
        ):
            article = article_for(prev.group(), new_first)
            if article != prev.group():
                fixed.append(
                    Edit(
                        prev.start(),
                        edit.end,
                        text[prev.start() : edit.end],
                        article + text[prev.end() : edit.start] + edit.after,
                        edit.kind,
                        edit.reason + "; article agrees",
                        edit.confidence,
                        edit.details,
                    )
                )
                continue
        fixed.append(edit)
    return fixed
