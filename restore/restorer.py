"""The restoration engine: tokens -> lattice -> spin-rate EM + Viterbi -> edits.

The document's spin rate per family is what keeps clean text untouched: a few
rounds of hard EM re-estimate it from the decoded paths, so an article with
dozens of "mentioned"/"get together" settles at a high rate and gets restored.
A per-family document gate then switches off every family that does not explain
the text clearly better than "not spun by it", so clean articles get no edits and
a lone odd word stays as it is.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Protocol

from .channel import ChannelTables
from .decode import DecodedSentence, DecodeSettings, arc_posteriors, decode_sentence
from .edits import Edit
from .lattice import Arc, Proposals, SentenceLattices, build_lattice, has_alternatives, prune_lattice
from .lm import NgramScorer
from .surface import article_before, article_for, restored_surface, trim_shared_words
from .tokenize import Token, sentences, tokenize


class ArcRescorer(Protocol):
    """Optional second opinion on the lattice (the masked-LM stage implements this).

    ``arc_scores`` gets the document text and, per sentence that has alternatives,
    its tokens and arcs (``arcs[i]`` leave token i; ``arcs[i][0]`` is the keep arc).
    It returns an additive log-score per arc it has an opinion on (weighted as it
    sees fit; arcs it omits get 0); the final decode adds these to the channel costs.
    ``active`` names the spinner families the document gate kept.
    """

    def arc_scores(
        self, text: str, sentences: SentenceLattices, *, active: frozenset[str]
    ) -> dict[Arc, float]: ...


class ArcReader(Protocol):
    """A second opinion that reads each candidate among the restorations the rest of the model
    makes (the causal-LM stage), not among the spun words around it.

    ``arc_scores`` gets what an ``ArcRescorer`` gets and ``readings``: per sentence, the
    restoring arcs of its best path under the channel, the n-gram LM and the rescorers
    (``readings[k]`` belongs to ``sentences[k]``).
    """

    def arc_scores(
        self,
        text: str,
        sentences: SentenceLattices,
        *,
        active: frozenset[str],
        readings: list[list[Arc]],
    ) -> dict[Arc, float]: ...


@dataclass(frozen=True, slots=True)
class FamilyPrior:
    """Beta prior on a family's spin rate (mean a/(a+b)), the rate EM starts from, and how
    many restorations EM must credit the family with before the document gate weighs it."""

    a: float
    b: float
    start: float
    min_restorations: float = 0.0


DEFAULT_PRIORS: dict[str, FamilyPrior] = {
    # its distinctive outputs ("soiled bomb", "get together") are evidence even in a short snippet,
    # but one phrase is not: "mistakes had been made" reads better as "mistakes were made" to the LM
    "spinner-table": FamilyPrior(0.5, 30.0, 0.25, min_restorations=1.5),
    # these rewrite a quarter or more of all words, so a real case leaves many traces, while a
    # couple of swaps the LM happens to like ("care homes" -> "nursing homes") are not evidence
    "wordnet-blind": FamilyPrior(0.3, 40.0, 0.15, min_restorations=4.0),
    # the heavy rewriter's outputs are mostly everyday English ("individuals", "in addition to"),
    # so one or two are no evidence; it rewrites a fifth of all words, so a real case has many
    "rewriter-table": FamilyPrior(0.2, 50.0, 0.05, min_restorations=4.0),
    "thesaurus": FamilyPrior(0.2, 60.0, 0.05, min_restorations=4.0),
}
# EM has converged by the third round: a fourth made the same edits on 82 texts (dev, bench and
# sample; 1,128 edits), with confidences within 0.02, and cost 6% of the run time
EM_ROUNDS = 3
EARLY_GATE_ROUND = 2  # after this EM round, families far below the gate's evidence floor are dropped
EARLY_GATE_SHARE = 0.5  # "far below": under this share of the restorations the gate asks for
FLOOR_RATE = 0.0  # spin rate of a family judged not to have written the document: no edits from it
MAX_RATE = 0.9
SPUN_MIN_EDITS = 3
_UNKNOWN_FAMILY = FamilyPrior(0.2, 50.0, 0.05)  # prior for a table family not listed above


@dataclass(frozen=True)
class SpinRates:
    """Spin rates of one document: per family, and per original word within a family.

    This spinner family is deterministic per word (it writes "mentioned" for every "said"
    it touches), so how often a word was spun elsewhere in the document is strong evidence
    for each of its occurrences: per-word rates are shrunk toward the family's rate.
    """

    family: dict[str, float]
    spun: dict[tuple[str, str], float] = field(default_factory=dict)  # (family, original) -> restorations
    kept: dict[str, float] = field(default_factory=dict)  # original word -> occurrences left as they were
    strength: float = 2.0  # pseudo-counts of the family rate in a word's rate
    # what each arc added to those counts in the last M-step: restoring arcs per (arc, family),
    # keep arcs per arc, so an occurrence can be judged without its own evidence
    own: dict = field(default_factory=dict)

    def of(self, family: str, original: str, arc: Arc | None = None) -> float:
        """Rate at which ``family`` spins ``original``, leaving out the occurrence ``arc`` reads."""
        base = self.family.get(family, 0.0)
        if base <= FLOOR_RATE:
            return 0.0
        spun = self.spun.get((family, original), 0.0)
        kept = self.kept.get(original, 0.0)
        if arc is not None:
            if arc.is_keep:
                kept = max(kept - self.own.get(arc, 0.0), 0.0)
            else:
                spun = max(spun - self.own.get((arc, family), 0.0), 0.0)
        return min((spun + self.strength * base) / (spun + kept + self.strength), MAX_RATE)

    def restorations(self) -> Counter:
        """Restorations credited to each family in the last M-step."""
        counts: Counter = Counter()
        for (family, _), count in self.spun.items():
            counts[family] += count
        return counts

    def without(self, family: str) -> SpinRates:
        return SpinRates({**self.family, family: FLOOR_RATE}, self.spun, self.kept, self.strength, self.own)

    def active(self) -> bool:
        return any(rate > FLOOR_RATE for rate in self.family.values())


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
        """Some spinner family passed the document gate and left a few restorable traces."""
        return self.restored >= SPUN_MIN_EDITS and any(rate > FLOOR_RATE for rate in self.rates.values())

    @property
    def families(self) -> list[str]:
        """The families judged to have written a spun document, likeliest first (none if not spun)."""
        if not self.spun:
            return []
        return sorted(
            (f for f, rate in self.rates.items() if rate > FLOOR_RATE), key=lambda f: -self.rates[f]
        )


@dataclass(frozen=True, slots=True)
class Sentence:
    """One clause's lattice: where it starts in the document, its tokens and its arcs."""

    offset: int  # index of its first token in the document
    tokens: list[Token]
    arcs: list[list[Arc]]

    def decode(self, lm: NgramScorer, cost, banned: Collection[Arc] = (), lm_weight: float = 1.0):
        return decode_sentence(self.arcs, lm, cost, banned=banned, lm_weight=lm_weight)


@dataclass(frozen=True, slots=True)
class DocumentModel:
    """A document as the engine sees it before the final decode."""

    tokens: list[Token]
    lattices: list[Sentence]  # the sentences that have alternatives to keeping the text
    rates: SpinRates  # spin rates after EM and the document gate


class SpanRestorer:
    """Restores spun wording in plain text; holds the tables and LM, loaded once."""

    def __init__(
        self,
        tables: ChannelTables,
        lm: NgramScorer,
        settings: DecodeSettings | None = None,
        priors: dict[str, FamilyPrior] | None = None,
        rescorer: ArcRescorer | None = None,
        reader: ArcReader | None = None,
    ):
        self.tables = tables
        self.lm = lm
        self.settings = settings or DecodeSettings()
        self.priors = priors or DEFAULT_PRIORS
        self.rescorer = rescorer
        self.reader = reader

    # -- public ----------------------------------------------------------------------------

    def restore(self, text: str) -> tuple[list[Edit], SpinEstimate]:
        model = self.model_document(text)
        estimate = SpinEstimate(rates=dict(model.rates.family), words=len(model.tokens))
        edits: list[Edit] = []
        rates = model.rates
        rescored = self.rescore(text, model)
        for sent in model.lattices:
            decoded = DecodedSentence(
                sent.arcs, self.lm, self.cost_fn(sent, rates, rescored), self.settings.lm_weight
            )
            for arc in decoded.path:
                if arc.is_keep:
                    continue
                # the best reading without this change either keeps the words (it bans more arcs, so
                # it never scores higher) or writes another original there. Against keeping, the
                # margin is a decision threshold and is given back; against another original both
                # readings pay it, so a tie is a coin toss, not a restoration
                alt_score = decoded.best_score_avoiding(_same_reading(sent.arcs, arc))
                keep_score = decoded.best_score_avoiding(_restorations_over(sent.arcs, arc))
                if alt_score > keep_score:
                    confidence = _sigmoid(decoded.score - alt_score)
                else:
                    confidence = _sigmoid(decoded.score - keep_score + self.settings.margin)
                if confidence < self.settings.min_confidence:
                    continue  # a wrong restoration costs more than a missed one: keep the input
                edits.append(self._edit(text, sent, arc, rates, confidence, rescored.get(arc)))
        estimate.restored = len(edits)
        return _fix_articles(text, edits), estimate

    def model_document(self, text: str) -> DocumentModel:
        """Everything decided before the final decode: lattices and the gated spin rates.

        ``restore`` decodes from this; diagnostics (bench/miss_causes.py) inspect it.
        """
        tokens = tokenize(text)
        doc_words: Counter = Counter()  # source words outside any lattice (kept by every path)
        lattices: list[Sentence] = []
        proposals: dict[str, Proposals] = {}  # what each span text proposes, for all its sentences
        for i, j in sentences(tokens):
            sent_tokens = tokens[i:j]
            arcs = build_lattice(sent_tokens, self.tables, proposals)
            if has_alternatives(arcs):
                arcs = prune_lattice(
                    arcs,
                    self.lm,
                    slack=self.settings.prune_slack,
                    per_position=self.settings.prune_per_position,
                )
            if has_alternatives(arcs):
                lattices.append(Sentence(i, sent_tokens, arcs))
            else:
                doc_words.update(
                    tok.norm
                    for tok in sent_tokens
                    if not tok.opaque and self.tables.source_families(tok.norm)
                )
        families = self.tables.families
        rates = SpinRates({f: self.priors.get(f, _UNKNOWN_FAMILY).start for f in families})
        for em_round in range(1, EM_ROUNDS + 1):
            posteriors = [
                arc_posteriors(s.arcs, self.lm, self.cost_fn(s, rates), self.settings.lm_weight)
                for s in lattices
            ]
            rates = self._reestimate(posteriors, doc_words, rates)
            if em_round == EARLY_GATE_ROUND:
                # a family with a small fraction of the traces the gate will ask for does not
                # reach them in the rounds left: its arcs leave those rounds (speed)
                restorations = rates.restorations()
                for family in list(rates.family):
                    if restorations[family] < EARLY_GATE_SHARE * self._needed(family, len(tokens)):
                        rates = rates.without(family)
                if not rates.active():
                    break  # clean text, as a rule: nothing is left to estimate
        rates = self._gate(lattices, doc_words, rates, len(tokens))
        return DocumentModel(tokens, lattices, rates)

    # -- model pieces ----------------------------------------------------------------------

    def _gate(self, lattices: list[Sentence], doc_words: Counter, rates: SpinRates, words: int) -> SpinRates:
        """Switch off each family that does not explain the document better than "not spun" by it.

        A spinner family is kept only if EM credits it with its prior's ``min_restorations``
        and with at least ``min_spun_share`` restorations per word of the document (a spinner
        rewrites many of the words it knows, while a long clean article can hold a handful of
        formal phrases such as "in the event that" whose joint evidence would otherwise clear
        the likelihood test), and the document is more likely with that family's estimated rates
        than with the family off, by ``document_gate`` nats. Clean text fails for every
        family (so it gets no edits); spun text keeps the family that wrote it and drops
        the others, whose stray candidates are noise.
        """
        restorations = rates.restorations()
        tested = []
        for family in sorted(rates.family, key=rates.family.get, reverse=True):
            if rates.family[family] <= FLOOR_RATE:
                continue
            if restorations[family] < self._needed(family, words):
                rates = rates.without(family)  # too few traces: off without a likelihood test
            else:
                tested.append(family)
        if not tested:  # clean text, as a rule: no decoding needed to know it gets no edits
            return rates
        current = self._log_likelihood(lattices, doc_words, rates)
        for family in tested:
            without = rates.without(family)
            score_without = self._log_likelihood(lattices, doc_words, without)
            if current - score_without < self.settings.document_gate:
                rates, current = without, score_without
        return rates

    def _needed(self, family: str, words: int) -> float:
        """Restorations EM must credit ``family`` with before the gate weighs it (see ``_gate``)."""
        prior = self.priors.get(family, _UNKNOWN_FAMILY)
        return max(prior.min_restorations, self.settings.min_spun_share * words)

    def _log_likelihood(self, lattices: list[Sentence], doc_words: Counter, rates: SpinRates) -> float:
        """log P(document) under the best paths at ``rates`` (keep costs of lattice-free text included)."""
        total = sum(
            s.decode(self.lm, self.cost_fn(s, rates), lm_weight=self.settings.lm_weight)[0] for s in lattices
        )
        for word, count in doc_words.items():
            total += count * self._keep_logprob(word, rates)
        return total

    def _keep_logprob(self, word: str, rates: SpinRates, arc: Arc | None = None) -> float:
        """log P(word written as itself): one minus the chance some family would have spun it."""
        spun_mass = sum(rates.of(f, word, arc) for f in self.tables.source_families(word))
        return math.log(max(1.0 - spun_mass, 1.0 - MAX_RATE))

    def rescore(self, text: str, model: DocumentModel) -> dict[Arc, float]:
        """Extra evidence per arc from the optional rescorer and reader, already weighted: what
        the final decode adds to the channel costs (``restore``; bench/miss_causes.py).

        Only arcs that can still win are sent: those of families the document gate switched
        off have no channel probability, and scoring them would only cost model passes. The
        reader (the causal LM) then reads each candidate in its sentence as the rest of the
        model would restore it: judging "yet" for the spun "but" in "invoice but", it reads
        "bill yet" against "bill but", among the words the original had, not the spinner's.
        Measured with ``--clm`` on the dev set: thesaurus-family ER 0.513 -> 0.527, the
        project's own spun articles 0.699 -> 0.716, the other families unchanged, at the same
        cost (the reading comes from one more n-gram decode per sentence).
        """
        rates = model.rates
        if (self.rescorer is None and self.reader is None) or not rates.active():
            return {}
        live: list[tuple[Sentence, list[list[Arc]]]] = []
        for sent in model.lattices:
            arcs = [
                [arc for arc in out if arc.is_keep or any(rates.of(f, arc.key) for f, _ in arc.weights)]
                for out in sent.arcs
            ]
            if has_alternatives(arcs):
                live.append((sent, arcs))
        if not live:
            return {}
        active = frozenset(f for f, rate in rates.family.items() if rate > FLOOR_RATE)
        sentences = [(sent.tokens, arcs) for sent, arcs in live]
        scores = dict(self.rescorer.arc_scores(text, sentences, active=active)) if self.rescorer else {}
        if self.reader is not None:
            readings = [self._reading(sent, rates, scores) for sent, _arcs in live]
            found = self.reader.arc_scores(text, sentences, active=active, readings=readings)
            for arc, score in found.items():
                scores[arc] = scores.get(arc, 0.0) + score
        return scores

    def _reading(self, sent: Sentence, rates: SpinRates, rescored: dict[Arc, float]) -> list[Arc]:
        """The restoring arcs of the sentence's best path, before the reader has its say."""
        _score, path = sent.decode(
            self.lm, self.cost_fn(sent, rates, rescored), lm_weight=self.settings.lm_weight
        )
        return [arc for arc in path if not arc.is_keep]

    def cost_fn(self, sent: Sentence, rates: SpinRates, rescored: dict[Arc, float] | None = None):
        settings = self.settings
        extra = rescored or {}

        def cost(arc: Arc) -> float:
            if arc.is_keep:
                return self._keep_logprob(arc.words[0], rates, arc) + extra.get(arc, 0.0)
            mass = sum(rates.of(family, arc.key, arc) * weight for family, weight in arc.weights)
            if mass <= 0.0:
                return -math.inf
            value = math.log(mass) - settings.margin + extra.get(arc, 0.0)
            first = sent.tokens[arc.start]
            if first.text[:1].isupper() and not first.sentence_start and arc.original.islower():
                value -= settings.cased_penalty
            return value

        return cost

    def _reestimate(
        self, posteriors: list[dict[Arc, float]], doc_words: Counter, rates: SpinRates
    ) -> SpinRates:
        """M-step on expected counts: family rates, and per-word rates shrunk toward them.

        Each arc counts with its posterior, so three uncertain "name" -> "call" readings add
        up to evidence that this document's spinner rewrites "call", where the best path
        alone might count none of them.
        """
        kept: Counter = Counter(doc_words)  # original words written as themselves
        spun: Counter = Counter()  # (family, original) -> restorations credited to the family
        own: dict = {}
        for posterior in posteriors:
            for arc, p in posterior.items():
                if arc.is_keep:
                    word = arc.words[0]
                    if self.tables.source_families(word):
                        kept[word] += p
                        own[arc] = p
                    continue
                shares = {f: rates.of(f, arc.key, arc) * w for f, w in arc.weights}
                total = sum(shares.values()) or 1.0
                for family, share in shares.items():
                    credit = p * share / total
                    spun[(family, arc.key)] += credit
                    own[(arc, family)] = credit
        family_spun: Counter = Counter()
        family_all: Counter = Counter()
        for (family, _), count in spun.items():
            family_spun[family] += count
            family_all[family] += count
        for word, count in kept.items():
            for family in self.tables.source_families(word):
                family_all[family] += count
        family_rates = {}
        for family in rates.family:
            if rates.family[family] <= FLOOR_RATE:  # switched off during EM: the prior must not revive it
                family_rates[family] = FLOOR_RATE
                continue
            prior = self.priors.get(family, _UNKNOWN_FAMILY)
            rate = (family_spun[family] + prior.a) / (family_all[family] + prior.a + prior.b)
            family_rates[family] = min(rate, MAX_RATE)
        return SpinRates(family_rates, dict(spun), dict(kept), self.settings.word_rate_prior, own)

    def _edit(
        self, text: str, sent: Sentence, arc: Arc, rates: SpinRates, confidence: float, evidence: float | None
    ) -> Edit:
        """The edit ``arc`` makes; ``evidence`` is what the rescorers (topic, --clm, --model) added, in nats."""
        first, last = sent.tokens[arc.start], sent.tokens[arc.end - 1]
        before = text[first.start : last.end]
        original = arc.spelling
        after = restored_surface(before, original)
        shares = {f: rates.of(f, arc.key) * w for f, w in arc.weights}
        family = max(shares, key=shares.get)
        skip, changed, after = trim_shared_words(before, after)
        return Edit(
            start=first.start + skip,
            end=first.start + skip + len(changed),
            before=changed,
            after=after,
            kind="restore",
            reason=f"{family}: '{before.lower()}' is how it writes '{original}'",
            confidence=confidence,
            details={
                "family": family,
                "channel_weight": round(dict(arc.weights)[family], 4),
                "spin_rate": round(rates.of(family, arc.key), 4),
                **({"model_evidence": round(evidence, 2)} if evidence is not None else {}),
            },
        )


def _restorations_over(arcs: list[list[Arc]], chosen: Arc) -> set[Arc]:
    """Every restoring arc that touches a token ``chosen`` covers: banned, the text there is kept."""
    return {arc for start in range(chosen.end) for arc in arcs[start][1:] if arc.end > chosen.start}


def _same_reading(arcs: list[list[Arc]], chosen: Arc) -> set[Arc]:
    """``chosen`` and every arc that makes the same change: banned, what is left are other readings.

    Confidence compares the best reading with the best one that does not make this change;
    "telephone name" read as the phrase "phone call" or as "phone" + "call" is the same
    change, and so is a phrase that takes a kept neighbour along ("in accordance with the" ->
    "according to the"): neither must count as the alternative to the other.
    """
    keep = [out[0].words[0] for out in arcs]
    word_for_word = len(chosen.words) == chosen.end - chosen.start
    wanted = {  # the tokens a word-for-word reading changes, and what it writes there
        chosen.start + k: word
        for k, word in enumerate(chosen.words)
        if word_for_word and keep[chosen.start + k] != word
    }
    same = {chosen}
    for start in range(chosen.end):
        for arc in arcs[start][1:]:
            if arc.end <= chosen.start:
                continue
            # the same words with a neighbour taken along, the rest kept
            lo, hi = min(arc.start, chosen.start), max(arc.end, chosen.end)
            along = (*keep[lo : arc.start], *arc.words, *keep[arc.end : hi]) == (
                *keep[lo : chosen.start],
                *chosen.words,
                *keep[chosen.end : hi],
            )
            # or one of the words the chosen reading changes, written the same at the same token
            shared = len(arc.words) == arc.end - arc.start and any(
                wanted.get(arc.start + k) == word for k, word in enumerate(arc.words)
            )
            if along or shared:
                same.add(arc)
    return same


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def _fix_articles(text: str, edits: list[Edit]) -> list[Edit]:
    """Extend an edit over a preceding "a"/"an" when the new first word needs the other one."""
    fixed = []
    edits = sorted(
        edits, key=lambda e: e.start
    )  # they never overlap: only the one before can hold the article
    for index, edit in enumerate(edits):
        before = edits[index - 1] if index else None
        prev = article_before(text, edit.start)
        new_first = edit.after.split()[0] if edit.after.split() else ""
        if (
            prev is not None
            and new_first
            and not (before is not None and before.start <= prev.start() < before.end)
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
