"""Web bigram probabilities: how often one word follows another in English web text.

The embedded trigram LM was trained for speech recognition; Google's Web 1T counts (as shipped
by the ``wordsegment`` package: the ~250,000 commonest bigrams and ~330,000 commonest words of
a trillion words of web text) describe written English. ``restore/lm.py`` interpolates
P(word | previous word) from these counts into the trigram LM's probability; on the dev set the
mixture made fewer false and wrong edits than either alone (wordlists/PROVENANCE.md has figures).

The list keeps only bigrams seen at least ``THRESHOLD`` times, so a bigram it lacks is not
unknown but rare: after a common word ("the", "his") an absent pair gets its chance
co-occurrence, capped at half the threshold, which is evidence against it ("spending bill" is
a web bigram, "spending invoice" is not). After a rarer word the list says nothing about
absent pairs and is not used.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .cache import load_compiled
from .errors import ResourceError

THRESHOLD = 100_000  # the list's bigrams were all seen at least this often
MIN_HISTORY = 10 * THRESHOLD  # after words this common an absent bigram means "rare"
ABSENT_SHARE = 0.5  # an absent bigram counts as at most this share of the threshold
_CACHE_VERSION = 1


def source_dir() -> Path:
    """The ``wordsegment`` package's data directory (unigrams.txt, bigrams.txt)."""
    try:
        import wordsegment
    except ImportError as exc:  # pragma: no cover - wordsegment is a hard dependency
        raise ResourceError("restore: the wordsegment package is missing (pip install wordsegment)") from exc
    return Path(wordsegment.__file__).parent


@dataclass(frozen=True)
class WebBigrams:
    """Word and word-pair counts of English web text (Google Web 1T via wordsegment)."""

    unigrams: dict[str, int]  # words seen at least THRESHOLD times
    bigrams: dict[str, int]  # "first second" -> count
    total: int  # words in the corpus

    @classmethod
    def load(cls, directory: Path | None = None) -> WebBigrams:
        directory = directory or source_dir()
        paths = [directory / "unigrams.txt", directory / "bigrams.txt"]
        for path in paths:
            if not path.is_file():
                raise ResourceError(f"restore: web bigram counts not found: {path}")
        unigrams, bigrams, total = load_compiled(
            "webgrams", _CACHE_VERSION, paths, lambda: _parse(paths[0], paths[1])
        )
        return cls(unigrams, bigrams, total)

    def prob(self, word: str, prev: str) -> float | None:
        """P(word | prev) in web text, or None where the counts cannot say."""
        history = self.unigrams.get(prev)
        if history is None:
            return None
        count = self.bigrams.get(f"{prev} {word}")
        if count:
            return count / history
        alone = self.unigrams.get(word)
        if alone is None or history < MIN_HISTORY:
            return None
        # absent from the list: seen fewer than THRESHOLD times; chance co-occurrence, capped
        return min(ABSENT_SHARE * THRESHOLD, history * alone / self.total) / history


@lru_cache(maxsize=1)
def bundled_webgrams() -> WebBigrams:
    """The installed counts, read once per process (they are read-only)."""
    return WebBigrams.load()


def _parse(unigram_path: Path, bigram_path: Path) -> tuple[dict[str, int], dict[str, int], int]:
    """Counts of alphabetic words and pairs (the list has a few digit tokens the LM never asks about)."""
    unigrams: dict[str, int] = {}
    total = 0
    with open(unigram_path, encoding="utf-8") as fh:
        for line in fh:
            word, _, count = line.rstrip("\n").partition("\t")
            n = int(count)
            total += n
            if word.isalpha() and n >= THRESHOLD:
                unigrams[word] = unigrams.get(word, 0) + n
    bigrams: dict[str, int] = {}
    with open(bigram_path, encoding="utf-8") as fh:
        for line in fh:
            pair, _, count = line.rstrip("\n").partition("\t")
            first, _, second = pair.partition(" ")
            if first.isalpha() and second.isalpha():
                bigrams[pair] = bigrams.get(pair, 0) + int(count)  # the list repeats a few pairs
    return unigrams, bigrams, total
