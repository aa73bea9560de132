"""Web bigram counts (restore/webgrams.py) and their interpolation into the LM (restore/lm.py)."""

from __future__ import annotations

import math

import pytest

from restore.lm import NgramScorer
from restore.webgrams import ABSENT_SHARE, THRESHOLD, WebBigrams, bundled_webgrams

UNIGRAMS = {
    "of": 900_000_000_000,  # stands in for the rest of a trillion words
    "the": 50_000_000_000,
    "phone": 2_000_000,
    "call": 3_000_000,
    "name": 4_000_000,
    "zebra": 200_000,
}
BIGRAMS = {"phone call": 400_000, "the phone": 900_000, "the name": 700_000}


@pytest.fixture()
def small(tmp_path, monkeypatch) -> WebBigrams:
    monkeypatch.setenv("RESTORE_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "unigrams.txt").write_text(
        "".join(f"{w}\t{c}\n" for w, c in UNIGRAMS.items()) + "rare\t5000\n1990s\t300000\n", encoding="utf-8"
    )
    # the real list repeats a few pairs: their counts add up
    (tmp_path / "bigrams.txt").write_text(
        "".join(f"{p}\t{c}\n" for p, c in BIGRAMS.items()) + "phone call\t100000\n", encoding="utf-8"
    )
    return WebBigrams.load(tmp_path)


def test_a_listed_pair_is_its_share_of_the_first_word(small):
    assert small.prob("call", "phone") == pytest.approx(500_000 / 2_000_000)
    assert small.prob("phone", "the") == pytest.approx(900_000 / 50_000_000_000)


def test_an_absent_pair_after_a_common_word_is_rare_not_unknown(small):
    total = sum(UNIGRAMS.values()) + 5000 + 300_000
    # "the zebra" is not listed: it is rare, and counts as chance co-occurrence
    assert small.prob("zebra", "the") == pytest.approx(200_000 / total)
    # "the of" is not listed either, though chance would put it far above the list's threshold: capped
    assert small.prob("of", "the") == pytest.approx(ABSENT_SHARE * THRESHOLD / 50_000_000_000)


def test_the_counts_say_nothing_where_they_cannot_know(small):
    assert small.prob("call", "zebra") is None  # after a word too rare for absence to mean anything
    assert small.prob("call", "rare") is None  # the first word is below the list's threshold
    assert small.prob("unlisted", "the") is None
    assert "1990s" not in small.unigrams  # only words: the LM's sentence marks and numbers never match


def test_a_second_load_comes_from_the_cache(small, tmp_path):
    assert list((tmp_path / "cache").glob("webgrams-*.marshal"))
    again = WebBigrams.load(tmp_path)
    assert again == small


def test_web_bigrams_change_what_the_speech_lm_prefers():
    plain = NgramScorer(unigram_adaptation=0.5)
    mixed = NgramScorer(unigram_adaptation=0.5, web=bundled_webgrams(), web_share=0.5)

    def gain(lm, original: str, spun: str) -> float:  # "... said the ___ showed how"
        def window(word: str) -> float:
            words = ["said", "the", word, "showed", "how"]
            return sum(lm.logprob(words[i], words[i - 1], words[i - 2]) for i in range(2, 5))

        return window(original) - window(spun)

    # the speech LM prefers "the website showed"; mixed with the web counts, "the site showed" (the original)
    assert gain(plain, "site", "website") < 0 < gain(mixed, "site", "website")
    assert mixed.logprob("bill", "spending", "the") > mixed.logprob("invoice", "spending", "the")
    # sentence marks and words with apostrophes are the trigram LM's alone
    assert mixed.logprob("</s>", "call", "phone") == plain.logprob("</s>", "call", "phone")
    assert mixed.logprob("don't", "i", "<s>") == plain.logprob("don't", "i", "<s>")


def test_interpolation_is_a_mixture_of_probabilities(small):
    plain = NgramScorer()
    mixed = NgramScorer(web=small, web_share=0.25)
    expected = math.log(0.75 * math.exp(plain.logprob("call", "phone", None)) + 0.25 * 0.25)
    assert mixed.logprob("call", "phone", None) == pytest.approx(expected)
    assert NgramScorer(web=small, web_share=0.0).logprob("call", "phone", None) == plain.logprob(
        "call", "phone", None
    )
