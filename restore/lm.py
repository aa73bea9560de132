"""The embedded offline language model: pocketsphinx's English trigram LM.

It ships inside the `pocketsphinx` wheel (en-us.lm.bin, ~72k words), loads in tens
of milliseconds and answers a query in under a microsecond, which is what lets the
decoder score every candidate in context at thousands of words per second.
Words it does not know (names, numbers) get a unigram estimate from wordfreq and
break the n-gram history, so they cost the same on every path through them.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from .errors import ResourceError

_LOG_BASE = math.log(1.0001)  # pocketsphinx scores are log base 1.0001
_OOV_SENTINEL = -500_000_000
SENTENCE_START = "<s>"
SENTENCE_END = "</s>"


def default_lm_path() -> Path:
    try:
        from pocketsphinx import get_model_path
    except ImportError as exc:  # pragma: no cover - pocketsphinx is a hard dependency
        raise ResourceError(
            "restore: the pocketsphinx package is missing (pip install pocketsphinx)"
        ) from exc
    return Path(get_model_path()) / "en-us" / "en-us.lm.bin"


class NgramScorer:
    """Natural-log trigram probabilities (plus an optional collocation bonus), cached per instance."""

    def __init__(
        self,
        path: str | os.PathLike | None = None,
        cache_limit: int = 2_000_000,
        collocations: Collocations | None = None,
        collocation_weight: float = 0.0,
        unigram_adaptation: float = 0.0,
    ):
        from pocketsphinx import Config, LogMath, NGramModel

        lm_path = Path(path) if path else default_lm_path()
        if not lm_path.is_file():
            raise ResourceError(f"restore: language model not found: {lm_path}")
        config = Config()
        config.set_string("-logfn", os.devnull)
        self._model = NGramModel(config, LogMath(), str(lm_path))
        self._cache: dict[tuple[str, str, str], float] = {}
        self._cache_limit = cache_limit
        self._unigram_cache: dict[str, float] = {}
        self._unigram_adaptation = unigram_adaptation
        self._shift_cache: dict[str, float] = {}
        self._collocations = collocations if collocation_weight else None
        self._collocation_weight = collocation_weight

    def known(self, word: str) -> bool:
        return self._model.prob([word]) > _OOV_SENTINEL

    def _oov_logprob(self, word: str) -> float:
        cached = self._unigram_cache.get(word)
        if cached is None:
            from wordfreq import zipf_frequency

            zipf = zipf_frequency(word, "en")
            # zipf is log10 of frequency per billion words; floor unknown words at 1 per 10^10
            cached = (max(zipf, -1.0) - 9.0) * math.log(10) - 1.0
            self._unigram_cache[word] = cached
        return cached

    def _unigram_shift(self, word: str) -> float:
        """log P_wordfreq(word) - log P_LM(word): how much more common the word is in written English.

        The embedded LM was trained for speech; news words ("amid", "stated") are rarer there
        than in print. Adding a fraction of this shift moves its unigram marginals toward
        wordfreq's (which mixes news, books and web text) without touching its context model.
        """
        shift = self._shift_cache.get(word)
        if shift is None:
            from wordfreq import word_frequency

            freq = word_frequency(word, "en")
            lm_unigram = self._model.prob([word]) * _LOG_BASE
            shift = self._shift_cache[word] = (math.log(freq) - lm_unigram) if freq > 0 else 0.0
        return shift

    def logprob(self, word: str, prev1: str | None, prev2: str | None) -> float:
        """log P(word | prev2 prev1); ``None`` history words are absent (start of context)."""
        key = (word, prev1 or "", prev2 or "")
        score = self._cache.get(key)
        if score is not None:
            return score
        query = [word]
        if prev1 is not None:
            query.append(prev1)
            if prev2 is not None:
                query.append(prev2)
        raw = self._model.prob(query)
        if raw <= _OOV_SENTINEL:
            score = self._oov_logprob(word)
        else:
            score = raw * _LOG_BASE
            if self._unigram_adaptation:
                score += self._unigram_adaptation * self._unigram_shift(word)
        if self._collocations is not None and prev1 is not None:
            score += self._collocation_weight * self._collocations.pmi(prev1, word)
        if len(self._cache) >= self._cache_limit:
            self._cache.clear()
        self._cache[key] = score
        return score


class Collocations:
    """Web-scale bigram counts (wordlists/web_bigrams.tsv) as a bonus for common collocations.

    The speech-domain trigram LM barely separates "phone call" from "telephone name";
    book/web bigram counts do. Only *known* collocations are rewarded (clipped PMI),
    because the list keeps frequent bigrams only and a missing one says little.
    """

    VERSION = 1

    def __init__(self, bigrams: dict[str, float], unigrams: dict[str, float], total: float):
        self._bigrams = bigrams
        self._unigrams = unigrams
        self._log_total = math.log(total)

    @classmethod
    def load(cls, directory: Path | None = None) -> Collocations:
        from .cache import load_compiled
        from .data import wordlist_dir

        directory = directory or wordlist_dir()
        paths = [directory / "web_bigrams.tsv", directory / "web_unigrams.tsv"]
        missing = [p for p in paths if not p.exists()]
        if missing:
            raise ResourceError(f"restore: bundled data file is missing: {missing[0]}")
        bigrams, unigrams, total = load_compiled(
            "collocations", cls.VERSION, paths, lambda: _read_counts(*paths)
        )
        return cls(bigrams, unigrams, total)

    def pmi(self, prev: str, word: str) -> float:
        """Clipped pointwise mutual information of the bigram "prev word" (0 when unknown)."""
        joint = self._bigrams.get(f"{prev} {word}")
        if joint is None:
            return 0.0
        left, right = self._unigrams.get(prev), self._unigrams.get(word)
        if left is None or right is None:
            return 0.0
        return max(0.0, joint + self._log_total - left - right)


def _read_counts(bigram_path: Path, unigram_path: Path):
    """Log counts, as plain dicts (marshal-able)."""

    def read(path: Path) -> dict[str, float]:
        out: dict[str, float] = {}
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("#"):
                    continue
                key, _, count = line.rstrip("\n").rpartition("\t")
                out[key] = math.log(float(count))
        return out

    unigrams = read(unigram_path)
    total = sum(math.exp(v) for v in unigrams.values())
    return read(bigram_path), unigrams, total
