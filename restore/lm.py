"""The embedded offline language model: pocketsphinx's English trigram LM, with web bigrams.

It ships inside the `pocketsphinx` wheel (en-us.lm.bin, ~72k words), loads in tens
of milliseconds and answers a query in under a microsecond, which is what lets the
decoder score every candidate in context at thousands of words per second.
Words it does not know (names, numbers) get a unigram estimate from wordfreq and
break the n-gram history, so they cost the same on every path through them. Optionally,
P(word | previous word) from web text (restore/webgrams.py) is interpolated in: the speech
LM knows spoken English, the web counts written English.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from .errors import ResourceError
from .webgrams import WebBigrams

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
    """Natural-log trigram probabilities, cached per instance."""

    def __init__(
        self,
        path: str | os.PathLike | None = None,
        cache_limit: int = 2_000_000,
        unigram_adaptation: float = 0.0,
        web: WebBigrams | None = None,
        web_share: float = 0.0,
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
        self._web = web if web_share > 0 else None
        self._web_share = web_share
        self._web_cache: dict[tuple[str, str], float] = {}

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

    def _with_web(self, score: float, word: str, prev1: str) -> float:
        """Interpolate P_web(word | prev1) (restore/webgrams.py) into the LM's probability."""
        key = (word, prev1)
        web = self._web_cache.get(key)
        if web is None:  # share x P_web, or -1 where the counts cannot say (sentence marks, numbers, ...)
            prob = self._web.prob(word, prev1)
            if len(self._web_cache) >= self._cache_limit:
                self._web_cache.clear()
            web = self._web_cache[key] = -1.0 if prob is None else self._web_share * prob
        if web < 0:
            return score
        return math.log((1.0 - self._web_share) * math.exp(score) + web)

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
        if self._web is not None and prev1 is not None:
            score = self._with_web(score, word, prev1)
        if len(self._cache) >= self._cache_limit:
            self._cache.clear()
        self._cache[key] = score
        return score
