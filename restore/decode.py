"""Noisy-channel decoding of one sentence's lattice with trigram state.

    best path = argmax  sum log P_LM(word | two previous words)  +  sum log P(spun | original)

The channel term of each arc comes from the caller (the restorer knows the document's
spin rates): 1 - sum(rho_f) for a kept word that family f could have spun, and
sum(rho_f * w_f) for an arc proposing an original. Neighbouring arcs interact
through the LM state, so "telephone name" -> "phone call" is chosen jointly.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection
from dataclasses import dataclass
from functools import cached_property

from .lattice import Arc
from .lm import SENTENCE_END, SENTENCE_START, NgramScorer

State = tuple[str, str | None]  # (previous word, the one before it)


@dataclass(frozen=True, slots=True)
class DecodeSettings:
    """Knobs of the decision rule, shared by every sentence of a run."""

    margin: float = 1.0  # nats a restoring arc must win by (the CLI's --threshold)
    cased_penalty: float = 1.5  # nats against rewriting a capitalised word mid-sentence
    lm_weight: float = 1.2  # scale of the LM's log-probabilities against the channel's
    word_rate_prior: float = 3.0  # pseudo-counts tying a word's spin rate to its family's
    min_confidence: float = 0.7  # edits the decoder is less sure of than this are not made
    prune_slack: float = 3.0  # nats below "keep" at which a candidate is dropped before decoding
    prune_per_position: int = 4  # candidates each family keeps per start token after pruning
    # nats by which "spun" must explain the document better than "clean". It was 8 before the web
    # bigrams, which smooth the LM: a snippet with two spun phrases went from 10.3 to 7.4 nats, one
    # with "mentioned" and "telephone name" from 6.3 to 4.1. Clean text is held back mostly by the
    # evidence floors below (clean paragraphs: 5, 7 and 7 false edits in 20,602 words at 8, 6 and 4),
    # while spun paragraphs restored one at a time lose much at the higher gates (bench/short_texts.py:
    # ER 0.317, 0.340 and 0.359); below 4, lone clean sentences start to get edits.
    document_gate: float = 4.0
    unigram_adaptation: float = 0.5  # share of the wordfreq-vs-LM unigram shift added
    web_share: float = 0.5  # weight of web bigram probabilities in the LM (restore/webgrams.py; 0: off)
    # restorations per word below which a family is judged absent. Clean articles with a few formal
    # or British words a spinner also writes reach 0.018 (dev originals, bench/data/clean), and one
    # dense formal British piece reaches 0.022; spun articles reach 0.056-0.2, and one lightly spun
    # article 0.030 (with the web bigrams; before them 0.014, 0.034, 0.08 and 0.035). A clean article
    # let through gets ~35 false edits per 1,000 words, a lightly spun one held back keeps only its
    # few spun words: the floor stays above both borderline cases (0.03 restores that article, but
    # with 0.0004 to spare).
    min_spun_share: float = 0.04
    topic_weight: float = 6.0  # nats per unit of cosine by which a reading fits its clause better (0: off)
    topic_window: int = 8  # words on each side of a span that make its clause's topic
    topic_tolerance: float = 0.07  # cosine differences this small are near-synonym noise
    clm_weight: float = 0.0  # weight of the causal LM's log-prob gain (restore/clm.py; 0: off)


def _step(state: State, arc: Arc, lm: NgramScorer, lm_weight: float) -> tuple[float, State]:
    """The LM part of following ``arc`` from ``state``: (weighted log-prob, new state)."""
    lm_score = 0.0
    prev1, prev2 = state
    for word in arc.words:
        lm_score += lm.logprob(word, prev1, prev2)
        prev1, prev2 = word, prev1
    return lm_weight * lm_score, (prev1, prev2)


def _edges(state: State, out: list[Arc], costs: dict, arc_cost, lm: NgramScorer, lm_weight: float):
    """(arc, channel + weighted LM score, next state) for each usable arc leaving ``state``.

    Channel costs are computed once per arc (``costs``); arcs whose channel probability is
    zero are skipped. LM steps are not cached here: each (state, arc) pair occurs once per
    pass, and the LM caches its own n-gram lookups. (A per-lattice cache kept across EM
    rounds cost about 1 KB per word of a document and did not make decoding faster.)
    """
    for arc in out:
        cost = costs.get(arc)
        if cost is None:
            cost = costs[arc] = arc_cost(arc)
        if cost == -math.inf:
            continue
        lm_score, new_state = _step(state, arc, lm, lm_weight)
        yield arc, cost + lm_score, new_state


Column = dict[State, tuple[float, int, State | None, Arc | None]]  # state -> (score, back-pointer)


def _viterbi(
    arcs: list[list[Arc]],
    lm: NgramScorer,
    arc_cost: Callable[[Arc], float],
    lm_weight: float,
    *,
    banned: Collection[Arc] = (),
    start: int = 0,
    stop: int | None = None,
    first: Column | None = None,
    edges: list | None = None,
) -> list[Column]:
    """Best score of reaching each (position, state), with back-pointers, from ``start`` to ``stop``.

    ``first`` is the column at ``start`` (the sentence start by default); ``edges``, if given,
    collects every (state, arc, weight, new state) followed, for the backward pass.
    """
    n = len(arcs)
    stop = n if stop is None else stop
    best: list[Column] = [{} for _ in range(n + 1)]
    best[start] = first if first is not None else {(SENTENCE_START, None): (0.0, -1, None, None)}
    costs: dict[Arc, float] = {}
    for i in range(start, stop):
        column = best[i]
        if not column:
            continue
        for state, (score, _, _, _) in column.items():
            for arc, weight, new_state in _edges(state, arcs[i], costs, arc_cost, lm, lm_weight):
                if arc in banned:
                    continue
                if edges is not None:
                    edges.append((state, arc, weight, new_state))
                total = score + weight
                target = best[arc.end]
                current = target.get(new_state)
                if current is None or total > current[0]:
                    target[new_state] = (total, i, state, arc)
    return best


def _end_score(state: State, lm: NgramScorer, lm_weight: float) -> float:
    return lm_weight * lm.logprob(SENTENCE_END, state[0], state[1])


def _best_path(best: list[Column], lm: NgramScorer, lm_weight: float) -> tuple[float, list[Arc]]:
    """The best complete reading: its score (sentence end included) and its arcs."""
    n = len(best) - 1
    end_state, end_score = None, -math.inf
    for state, (score, _, _, _) in best[n].items():
        score += _end_score(state, lm, lm_weight)
        if score > end_score:
            end_state, end_score = state, score
    path: list[Arc] = []
    pos, state = n, end_state
    while pos > 0 and state is not None:
        _, prev_pos, prev_state, arc = best[pos][state]
        path.append(arc)
        pos, state = prev_pos, prev_state
    path.reverse()
    return end_score, path


def decode_sentence(
    arcs: list[list[Arc]],
    lm: NgramScorer,
    arc_cost: Callable[[Arc], float],
    banned: Collection[Arc] = (),
    lm_weight: float = 1.0,
) -> tuple[float, list[Arc]]:
    """Viterbi over arcs[i] (arcs leaving token i); returns the best score and path.

    ``arc_cost`` gives the channel log-probability (plus penalties) of an arc;
    ``banned`` removes arcs, to measure how much the best path depends on them.
    """
    return _best_path(_viterbi(arcs, lm, arc_cost, lm_weight, banned=banned), lm, lm_weight)


class DecodedSentence:
    """One sentence's best reading, kept with what is needed to score readings that avoid some arcs.

    Confidence asks, for every change on the best path, how good the best reading without it
    is. Re-decoding the whole clause per change made text where most words change quadratic
    (a clause of 80 changed words decoded 81 times). Here the forward scores of every
    (position, state) and the best completions from them are computed once; an alternative
    re-decodes only the stretch between the nearest positions no arc crosses around the
    banned arcs, and is exactly what a full re-decode would score.
    """

    def __init__(
        self, arcs: list[list[Arc]], lm: NgramScorer, arc_cost: Callable[[Arc], float], lm_weight: float
    ):
        self.arcs, self.lm, self.arc_cost, self.lm_weight = arcs, lm, arc_cost, lm_weight
        self._edges: list = []
        self._forward = _viterbi(arcs, lm, arc_cost, lm_weight, edges=self._edges)
        self.score, self.path = _best_path(self._forward, lm, lm_weight)

    @cached_property
    def _cuts(self) -> list[bool]:
        """Per position k: no arc starting before k ends after k (every reading passes through k)."""
        cuts, reach = [True] * (len(self.arcs) + 1), 0
        for k, out in enumerate(self.arcs):
            cuts[k] = reach <= k
            reach = max(reach, max(arc.end for arc in out))
        return cuts

    @cached_property
    def _completions(self) -> list[dict[State, float]]:
        """Best score from each (position, state) to the sentence end."""
        n = len(self.arcs)
        backward: list[dict[State, float]] = [{} for _ in range(n + 1)]
        for state in self._forward[n]:
            backward[n][state] = _end_score(state, self.lm, self.lm_weight)
        for state, arc, weight, new_state in reversed(self._edges):
            after = backward[arc.end].get(new_state)
            if after is not None and weight + after > backward[arc.start].get(state, -math.inf):
                backward[arc.start][state] = weight + after
        return backward

    def best_score_avoiding(self, banned: Collection[Arc]) -> float:
        """Score of the best reading that uses none of ``banned`` (-inf if there is none)."""
        backward = self._completions
        lo = min(arc.start for arc in banned)
        hi = max(arc.end for arc in banned)
        while not self._cuts[lo]:
            lo -= 1
        while not self._cuts[hi]:
            hi += 1
        first = {state: (score, -1, None, None) for state, (score, _, _, _) in self._forward[lo].items()}
        best = _viterbi(
            self.arcs, self.lm, self.arc_cost, self.lm_weight, banned=banned, start=lo, stop=hi, first=first
        )
        total = -math.inf
        for state, (score, _, _, _) in best[hi].items():
            after = backward[hi].get(state)
            if after is not None:
                total = max(total, score + after)
        return total


def _logaddexp(a: float, b: float) -> float:
    if a < b:
        a, b = b, a
    if b == -math.inf:
        return a
    return a + math.log1p(math.exp(b - a))


def arc_posteriors(
    arcs: list[list[Arc]],
    lm: NgramScorer,
    arc_cost: Callable[[Arc], float],
    lm_weight: float = 1.0,
) -> dict[Arc, float]:
    """P(arc is on the path) under the same model Viterbi maximises (forward-backward).

    The spin-rate EM counts these expected restorations instead of the best path's
    hard ones, so three uncertain "name" -> "call" readings add up to evidence that
    this document's spinner rewrites "call", where the best path alone would count none.
    """
    n = len(arcs)
    alpha: list[dict[State, float]] = [{} for _ in range(n + 1)]
    alpha[0][(SENTENCE_START, None)] = 0.0
    edges: list[tuple[State, Arc, State, float]] = []
    costs: dict[Arc, float] = {}
    for i in range(n):
        for state, score in alpha[i].items():
            for arc, weight, new_state in _edges(state, arcs[i], costs, arc_cost, lm, lm_weight):
                edges.append((state, arc, new_state, weight))
                target = alpha[arc.end]
                target[new_state] = _logaddexp(target.get(new_state, -math.inf), score + weight)
    beta: list[dict[State, float]] = [{} for _ in range(n + 1)]
    for state in alpha[n]:
        beta[n][state] = lm_weight * lm.logprob(SENTENCE_END, state[0], state[1])
    log_z = -math.inf
    for state, score in alpha[n].items():
        log_z = _logaddexp(log_z, score + beta[n][state])
    if log_z == -math.inf:
        return {}
    for state, arc, new_state, weight in reversed(edges):
        after = beta[arc.end].get(new_state)
        if after is None:
            continue
        column = beta[arc.start]
        column[state] = _logaddexp(column.get(state, -math.inf), weight + after)
    posteriors: dict[Arc, float] = {}
    for state, arc, new_state, weight in edges:
        after = beta[arc.end].get(new_state)
        if after is None:
            continue
        p = math.exp(alpha[arc.start][state] + weight + after - log_z)
        posteriors[arc] = posteriors.get(arc, 0.0) + p
    return posteriors
