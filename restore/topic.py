"""Topical coherence: is a candidate original more at home among the words around it than the spun words?

Spinners pick synonyms without regard to the topic: "invoice" among "senators" and "vote",
"soiled" next to "bomb". The trigram LM sees two words of context and often cannot tell
(in "his name with the ambassador" both "name" and "call" read well); word vectors trained on
news say which reading fits the clause. This scorer adds that evidence to restoring arcs
through the restorer's rescorer hook, after the document gate has decided the text is spun,
so it never makes a clean text edited.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from .data import wordlist_path
from .errors import ResourceError
from .lattice import Arc, SentenceLattices

VECTORS_FILE = "topic_vectors.npz"  # built by wordlists/build_topic_vectors.py


@dataclass(frozen=True)
class TopicVectors:
    """Unit word vectors (GloVe 6B, 50-d) and how much of a topic each word carries."""

    row: dict[str, int]
    vectors: np.ndarray  # float32, one unit vector per row
    weights: np.ndarray  # float32, rarer words weigh more; the commonest words are not listed

    @classmethod
    def load(cls, path: Path | None = None) -> TopicVectors:
        path = path or wordlist_path(VECTORS_FILE)
        try:
            with np.load(path) as data:
                words = data["words"].tobytes().decode("utf-8").split("\n")
                vectors = data["vectors"].astype(np.float32) / 127.0
                weights = data["weights"].astype(np.float32)
        except (OSError, KeyError, ValueError) as exc:
            raise ResourceError(f"restore: cannot read {path}: {exc}") from exc
        return cls({w: i for i, w in enumerate(words)}, vectors, weights)


@lru_cache(maxsize=1)
def bundled_vectors() -> TopicVectors:
    """The bundled vectors, read once per process (they are read-only)."""
    return TopicVectors.load()


class TopicRescorer:
    """Scores restoring arcs by ``weight`` x (fit of the original - fit of the spun words).

    A word's fit is its cosine with the weighted sum of the vectors of up to ``window``
    words on each side within the clause; a reading's fit is its best-fitting word that
    has a vector. Differences within ``tolerance`` count as none. Arcs of ``skip_families``
    only, and documents whose gate kept only those families, are left alone.
    """

    def __init__(
        self,
        vectors: TopicVectors,
        *,
        weight: float,
        window: int,
        tolerance: float = 0.0,
        skip_families: Iterable[str] = (),
    ):
        self.vectors = vectors
        self.weight = weight
        self.window = window
        self.tolerance = tolerance
        self.skip_families = frozenset(skip_families)

    def arc_scores(
        self,
        text: str,
        sentences: SentenceLattices,
        *,
        active: frozenset[str] = frozenset(),
    ) -> dict[Arc, float]:
        scores: dict[Arc, float] = {}
        if self.weight == 0 or (active and active <= self.skip_families):
            return scores
        row = self.vectors.row
        for tokens, arcs in sentences:
            rows = [row.get(tok.norm) for tok in tokens]
            contexts: dict[tuple[int, int], np.ndarray | None] = {}  # many arcs share a span
            for out in arcs:
                for arc in out:
                    if arc.is_keep or all(f in self.skip_families for f, _ in arc.weights):
                        continue
                    gain = self._gain(rows, arc, [row.get(w) for w in arc.words], contexts)
                    if gain is not None:
                        scores[arc] = self.weight * gain
        return scores

    def _context(
        self, rows: list[int | None], start: int, end: int, cache: dict[tuple[int, int], np.ndarray | None]
    ) -> np.ndarray | None:
        """Unit vector of the weighted words within ``window`` of [start, end), if any."""
        if (start, end) in cache:
            return cache[(start, end)]
        near = [
            r
            for r in rows[max(0, start - self.window) : start] + rows[end : end + self.window]
            if r is not None
        ]
        context = None
        if near:
            total = self.vectors.weights[near] @ self.vectors.vectors[near]
            norm = float(np.linalg.norm(total))
            context = total / norm if norm > 0 else None
        cache[(start, end)] = context
        return context

    def _gain(
        self, rows: list[int | None], arc: Arc, original: list[int | None], contexts: dict
    ) -> float | None:
        """How much better the arc's original words fit their context than the spun ones.

        Word for word when both sides have as many words, each against the words around its
        own position ("telephone name" -> "phone call": phone against telephone, call against
        name), so a phrase reading gets what the one-word readings it competes with would;
        otherwise best word against best word, around the whole span.
        """
        spun = rows[arc.start : arc.end]
        if len(original) == len(spun) > 1:
            gains = []
            for k, (o, s) in enumerate(zip(original, spun, strict=True)):
                context = self._context(rows, arc.start + k, arc.start + k + 1, contexts)
                if o is not None and s is not None and o != s and context is not None:
                    gains.append(self._shrink(self._fit([o], context) - self._fit([s], context)))
            return sum(gains) if gains else None
        context = self._context(rows, arc.start, arc.end, contexts)
        if context is None:
            return None
        fit_original, fit_spun = self._fit(original, context), self._fit(spun, context)
        if fit_original is None or fit_spun is None:
            return None
        return self._shrink(fit_original - fit_spun)

    def _shrink(self, gain: float) -> float:
        """Near-synonyms are about equally on topic (phone and telephone differ by 0.04-0.08 in
        cosine): differences within ``tolerance`` are noise, and only the excess counts."""
        return max(gain - self.tolerance, 0.0) if gain > 0 else min(gain + self.tolerance, 0.0)

    def _fit(self, rows: Iterable[int | None], context: np.ndarray) -> float | None:
        known = [r for r in rows if r is not None]
        if not known:
            return None
        return float(np.max(self.vectors.vectors[known] @ context))


class CombinedRescorer:
    """Several rescorers' evidence, summed per arc (the topic term and an optional masked LM)."""

    def __init__(self, rescorers: list):
        self.rescorers = rescorers

    def arc_scores(
        self, text: str, sentences: SentenceLattices, *, active: frozenset[str] = frozenset()
    ) -> dict[Arc, float]:
        total: dict[Arc, float] = {}
        for rescorer in self.rescorers:
            for arc, score in rescorer.arc_scores(text, sentences, active=active).items():
                total[arc] = total.get(arc, 0.0) + score
        return total
