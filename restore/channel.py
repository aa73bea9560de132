"""The channel model's tables: which originals could have produced a spun span, and how likely.

Each *family* is one way spinners write (a fixed thesaurus table, a blind WordNet
lemma swap, a generic thesaurus). Tables are TSV files in `wordlists/`
(``original<TAB>spun<TAB>weight<TAB>flags``); they are compiled once into a
marshal cache so start-up does not re-parse them.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from .cache import load_compiled
from .data import wordlist_dir
from .errors import ResourceError

# family name -> file in wordlists/; order is the order reasons are preferred in
FAMILY_FILES: dict[str, str] = {
    "spinner-table": "spinner_thesaurus.tsv",
    "rewriter-table": "spinner_rewriter.tsv",
    "wordnet-blind": "wordnet_blind.tsv",
    "thesaurus": "thesaurus_generic.tsv",
}
# how reports name each family, and what a reader of a restored text should know about it
FAMILY_LABELS: dict[str, str] = {
    "spinner-table": "thesaurus spinner",
    "rewriter-table": "heavy rewriter",
    "wordnet-blind": "blind WordNet spinner",
    "thesaurus": "generic thesaurus",
}
FAMILY_CAVEATS: dict[str, str] = {
    "rewriter-table": "it also reorders and drops words, which stay as they are",
    "wordnet-blind": "many of its swaps have no single recoverable original",
}
_CACHE_VERSION = 9
# Families whose source data lists spelling and inflection variants as synonyms (sombre/somber,
# deep/deepest, Elizabeth II/Elizabeth): such pairs are not what a spinner does, and restoring
# them is a false edit. "strict" also drops near-spellings; the blind WordNet spinner really
# writes some of those (never -> ne'er, after -> aft), so it gets only the inflection check.
VARIANT_FILTER = {"thesaurus": "strict", "wordnet-blind": "inflection"}
# Families whose pairs must not merely swap British and American spelling (apologised/apologized,
# colour/color, centre/center): that is not synonym spinning, and "restoring" it would respell every
# British article the LM (trained on American text) reads. The blind WordNet spinner does write
# them (WordNet lists both spellings in one synset: "defence" for "defense"), but the LM prefers the
# American spelling whichever way the spinner went, so in a British article such pairs respell the
# words the spinner never touched (armoured, minimise); a spelling left as it is costs nothing.
LOCALE_FILTER = frozenset({"spinner-table", "rewriter-table", "thesaurus", "wordnet-blind"})
# pairs flagged `common` (the spun form is everyday English: "different" for "other") need
# more evidence than their presence: their channel weight is scaled down by this factor
COMMON_PAIR_FACTOR = 0.3


def normalise(text: str) -> str:
    """The key form of a span: lowercase, plain apostrophes, single spaces."""
    return " ".join(text.lower().replace("’", "'").split())


class Source(NamedTuple):
    """One way a spun span could have been written: original words and P(spun | original, family)."""

    original: str
    weight: float
    family: str


class ChannelTables:
    """Reverse lookup from spun spans to candidate originals, per spinner family."""

    def __init__(
        self,
        reverse: dict[str, list[tuple[str, float, str]]],
        reverse_cased: dict[str, list[tuple[str, float, str]]],
        sources: dict[str, set[str]],
        max_span: int,
    ):
        self._reverse = reverse
        self._reverse_cased = reverse_cased
        self.sources = {family: frozenset(words) for family, words in sources.items()}
        self.families = tuple(sources)
        self.max_span = max_span
        self._families_of: dict[str, tuple[str, ...]] = {}  # memo for source_families

    def lookup(self, span_text: str) -> list[Source]:
        """Candidate originals for a span of the input (case-sensitive entries match exactly)."""
        found = [Source._make(entry) for entry in self._reverse.get(normalise(span_text), ())]
        cased = self._reverse_cased.get(" ".join(span_text.split()))
        if cased:
            found += [Source._make(entry) for entry in cased]
        return found

    def source_families(self, word: str) -> tuple[str, ...]:
        """Families that would have spun ``word`` had it been chosen: it is a table original."""
        families = self._families_of.get(word)
        if families is None:
            families = tuple(f for f, words in self.sources.items() if word in words)
            self._families_of[word] = families
        return families

    def originals_by_spun(self, family: str) -> dict[str, tuple[str, ...]]:
        """Every (case-insensitive) span ``family`` writes -> the originals it writes it for, likeliest first."""
        found: dict[str, tuple[str, ...]] = {}
        for spun, entries in self._reverse.items():
            originals = sorted((e for e in entries if e[2] == family), key=lambda e: -e[1])
            if originals:
                found[spun] = tuple(e[0] for e in originals)
        return found

    # -- loading ---------------------------------------------------------------------------

    @classmethod
    def load(cls, directory: Path | None = None, files: dict[str, str] | None = None) -> ChannelTables:
        directory = directory or wordlist_dir()
        files = files or FAMILY_FILES
        paths = {family: directory / name for family, name in files.items() if (directory / name).exists()}
        if not paths:
            raise ResourceError(f"restore: no channel tables found in {directory}")
        reverse, reverse_cased, sources, max_span = load_compiled(
            "channel",
            f"{_CACHE_VERSION}:{COMMON_PAIR_FACTOR}:{sorted(VARIANT_FILTER.items())}:{sorted(LOCALE_FILTER)}",
            paths.values(),
            lambda: _parse(list(paths.items())),
        )
        return cls(
            reverse, reverse_cased, {family: set(words) for family, words in sources.items()}, max_span
        )


def _parse(paths: list[tuple[str, Path]]):
    """Parse the TSVs into plain dicts and lists (marshal-able, so they can be cached)."""
    reverse: dict[str, list[tuple[str, float, str]]] = {}
    reverse_cased: dict[str, list[tuple[str, float, str]]] = {}
    sources: dict[str, set[str]] = {}
    for family, path in paths:
        words = sources.setdefault(family, set())
        best: dict[tuple[str, str, bool], float] = {}
        with open(path, encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, 1):
                if not line.strip() or line.startswith("#"):
                    continue
                parts = line.rstrip("\n").split("\t")
                if len(parts) < 3:
                    raise ResourceError(f"restore: {path}:{lineno}: expected original<TAB>spun<TAB>weight")
                original, spun, weight = parts[0], parts[1], float(parts[2])
                flags = parts[3].split(",") if len(parts) > 3 else ()
                cased = "cs" in flags
                if "common" in flags:
                    weight *= COMMON_PAIR_FACTOR
                original = " ".join(original.replace("’", "'").split())
                spun = " ".join(spun.split()) if cased else normalise(spun)
                if not cased:
                    original = original.lower()
                if not original or not spun or original.lower() == spun.lower():
                    continue
                rule = VARIANT_FILTER.get(family)
                if rule and _spelling_variant(original.lower(), spun.lower(), strict=rule == "strict"):
                    continue
                if family in LOCALE_FILTER and _locale_variant(original.lower(), spun.lower()):
                    continue
                key = (original, spun, cased)
                best[key] = max(best.get(key, 0.0), weight)
                if " " not in original:
                    words.add(original.lower())
        for (original, spun, cased), weight in best.items():
            target = reverse_cased if cased else reverse
            target.setdefault(spun, []).append((original, weight, family))
    longest = max((len(k.split()) for k in (*reverse, *reverse_cased)), default=1)
    return (
        reverse,
        reverse_cased,
        {family: sorted(words) for family, words in sources.items()},
        min(longest, 4),
    )


# British -> American spelling rules (either direction is a locale variant)
_LOCALE_SPELLINGS = (
    ("our", "or"),
    ("ise", "ize"),
    ("isa", "iza"),
    ("isi", "izi"),
    ("tre", "ter"),
    ("ence", "ense"),
    ("ogue", "og"),
    ("yse", "yze"),
    ("lled", "led"),
    ("lling", "ling"),
    ("ller", "ler"),
)


def _locale_variant(a: str, b: str) -> bool:
    """True if ``a`` and ``b`` differ only by British/American spelling, word by word."""
    words_a, words_b = a.split(), b.split()
    if len(words_a) != len(words_b) or a == b:
        return False
    pairs = zip(words_a, words_b, strict=True)
    return all(x == y or _locale_word(x, y) or _locale_word(y, x) for x, y in pairs)


def _locale_word(x: str, y: str) -> bool:
    if min(len(x), len(y)) < 5:  # four/for, hour/hor: short words are not spelling variants
        return False
    for british, american in _LOCALE_SPELLINGS:
        start = x.find(british)
        while start >= 0:
            if x[:start] + american + x[start + len(british) :] == y:
                return True
            start = x.find(british, start + 1)
    return False


_INFLECTIONS = frozenset({"s", "es", "d", "ed", "ing", "est", "st"})
_DERIVATIONS = frozenset({"er", "r", "ly", "al"})


def _spelling_variant(a: str, b: str, *, strict: bool = True) -> bool:
    """True for pairs that differ like spellings or inflections, not like synonyms.

    "sombre"/"somber", "deep"/"deepest", "Elizabeth II"/"Elizabeth" are variants;
    "he"/"helium" is a (blind-spinner) synonym pair and stays.
    """
    short, long = sorted((a, b), key=len)
    if long.startswith(short):
        rest = long[len(short) :]
        return rest.startswith(" ") or rest in _INFLECTIONS or (strict and rest in _DERIVATIONS)
    if not strict or abs(len(a) - len(b)) > 2 or min(len(a), len(b)) < 4 or a[0] != b[0]:
        return False
    # edit distance <= 2 (small strings: a plain DP is cheap)
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1] <= 2
