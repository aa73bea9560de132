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
    prune_per_position: int = 4  # candidates kept per start token after pruning
    document_gate: float = 8.0  # nats by which "spun" must explain the document better than "clean"
    unigram_adaptation: float = 0.5  # share of the wordfreq-vs-LM unigram shift added
    # restorations per word below which a family is judged absent. Clean articles with a few formal
    # or British words a spinner also writes reach 0.014 (dev originals, bench/data/clean), and one
    # dense formal British piece reaches 0.034; spun articles reach 0.08-0.2, and one lightly spun
    # article 0.035. A clean article let through gets ~35 false edits per 1,000 words, a lightly spun
    # one held back keeps only its few spun words: the floor sits above both borderline cases.
    min_spun_share: float = 0.04
    topic_weight: float = 6.0  # nats per unit of cosine by which a reading fits its clause better (0: off)
    topic_window: int = 8  # words on each side of a span that make its clause's topic
    topic_tolerance: float = 0.07  # cosine differences this small are near-synonym noise


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
    n = len(arcs)
    best: list[dict[State, tuple[float, int, State | None, Arc | None]]] = [{} for _ in range(n + 1)]
    best[0][(SENTENCE_START, None)] = (0.0, -1, None, None)
    costs: dict[Arc, float] = {}
    for i in range(n):
        column = best[i]
        if not column:
            continue
        for state, (score, _, _, _) in column.items():
            for arc, weight, new_state in _edges(state, arcs[i], costs, arc_cost, lm, lm_weight):
                if arc in banned:
                    continue
                total = score + weight
                target = best[arc.end]
                current = target.get(new_state)
                if current is None or total > current[0]:
                    target[new_state] = (total, i, state, arc)
    final = best[n]
    end_state, end_score = None, -math.inf
    for state, (score, _, _, _) in final.items():
        score += lm_weight * lm.logprob(SENTENCE_END, state[0], state[1])
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
