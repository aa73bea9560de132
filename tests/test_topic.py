"""The topical-coherence term: spun words that are off-topic in their clause lose to originals that fit."""

from __future__ import annotations

import numpy as np
import pytest

from restore.lattice import Arc
from restore.tokenize import tokenize
from restore.topic import CombinedRescorer, TopicRescorer, TopicVectors, bundled_vectors


@pytest.fixture(scope="module")
def vectors() -> TopicVectors:
    return bundled_vectors()


def test_bundled_vectors_are_unit_length_and_skip_the_commonest_words(vectors):
    assert len(vectors.row) > 50000
    assert "the" not in vectors.row and "of" not in vectors.row  # they say nothing of a topic
    norms = np.linalg.norm(vectors.vectors[[vectors.row[w] for w in ("bill", "invoice", "senate")]], axis=1)
    assert np.allclose(norms, 1.0, atol=0.02)
    assert vectors.weights[vectors.row["invoice"]] > vectors.weights[vectors.row["said"]]


def _arc(tokens, start: int, original: str, family: str = "spinner-table") -> Arc:
    return Arc(start, start + 1, (original,), ((family, 0.5),), original)


def _scores(rescorer, text: str, spun_word: str, originals: list[str], family: str = "spinner-table"):
    tokens = tokenize(text)
    i = next(k for k, t in enumerate(tokens) if t.norm == spun_word)
    arcs = [[Arc(k, k + 1, (t.norm,))] for k, t in enumerate(tokens)]
    candidates = {o: _arc(tokens, i, o, family) for o in originals}
    arcs[i] += candidates.values()
    scores = rescorer.arc_scores(text, [(tokens, arcs)])
    return {o: scores.get(arc) for o, arc in candidates.items()}


def test_an_original_that_fits_the_clause_beats_the_off_topic_spun_word(vectors):
    rescorer = TopicRescorer(vectors, weight=6.0, window=8)
    text = "Senators voted on the invoice after a long debate in the chamber"
    scores = _scores(rescorer, text, "invoice", ["bill", "receipt"])
    assert scores["bill"] > 0  # the legislative sense fits "senators", "voted", "debate"
    assert scores["bill"] > scores["receipt"]
    text = "The minister held a telephone name with his counterpart on Sunday"
    scores = _scores(rescorer, text, "name", ["call"])
    assert scores["call"] > 0


def test_blind_family_arcs_are_skipped_and_weight_zero_is_off(vectors):
    text = "Senators voted on the invoice after a long debate in the chamber"
    skipping = TopicRescorer(vectors, weight=6.0, window=8, skip_families=("wordnet-blind",))
    assert _scores(skipping, text, "invoice", ["bill"], family="wordnet-blind") == {"bill": None}
    assert _scores(TopicRescorer(vectors, weight=0.0, window=8), text, "invoice", ["bill"]) == {"bill": None}
    # a document the gate judged written by the blind spinner alone gets no topic opinions at all
    tokens = tokenize(text)
    arcs = [[Arc(k, k + 1, (t.norm,))] for k, t in enumerate(tokens)]
    arcs[4].append(Arc(4, 5, ("bill",), (("spinner-table", 0.5),), "bill"))
    assert skipping.arc_scores(text, [(tokens, arcs)], active=frozenset({"wordnet-blind"})) == {}
    assert skipping.arc_scores(text, [(tokens, arcs)], active=frozenset({"spinner-table"}))


def test_words_without_vectors_give_no_opinion(vectors):
    rescorer = TopicRescorer(vectors, weight=6.0, window=8)
    assert _scores(rescorer, "the of and invoice", "invoice", ["bill"]) == {"bill": None}  # no context words
    assert _scores(rescorer, "Senators voted on the invoice today", "invoice", ["qqzzx"]) == {"qqzzx": None}


def test_combined_rescorer_adds_opinions():
    class Fixed:
        def __init__(self, scores):
            self.scores = scores

        def arc_scores(self, text, sentences, *, active=frozenset()):
            return self.scores

    a, b = Arc(0, 1, ("x",), (("f", 1.0),)), Arc(0, 1, ("y",), (("f", 1.0),))
    combined = CombinedRescorer([Fixed({a: 1.0}), Fixed({a: 0.5, b: -2.0})])
    assert combined.arc_scores("", []) == {a: 1.5, b: -2.0}


def test_the_topic_tips_a_close_decision(restorer):
    # the LM alone is unsure whether "minimize" is the spinner's word for "cut"; among "waiting
    # lists", "ambulance" and "hospital" the clause fits "cut", and with the topic term it is made
    from dataclasses import replace

    from restore import Restorer

    text = (
        'Dr Anita Rowe, president of the Royal College of Emergency Medicine, stated the figures were "deeply '
        'alarming" and that long waits were inflicting avoidable hurt. "Behind every one of these numbers is a '
        'affected person, usually aged, lying on a trolley in a corridor," she mentioned.\n'
        "The Division of Well being and Social Care stated it was investing £1.6 billion to minimize ready lists "
        "and had recruited greater than 1,000 further ambulance workers this 12 months. A spokesperson said: "
        '"We know there is more to do, and we are working with NHS leaders to make sure the service is ready for '
        'a troublesome winter."\n'
        "Hospital trusts in the North West and the Midlands reported the greatest strain, with a number of "
        "declaring critical incidents final week. NHS England stated flu admissions were rising earlier than "
        "usual and urged eligible individuals to get vaccinated.\n"
    )
    with_topic = restorer.restore(text, clean=False).text
    without = Restorer(settings=replace(restorer.settings, topic_weight=0.0)).restore(text, clean=False).text
    assert "Department of Health" in with_topic and "Department of Health" in without  # both restore
    assert "to cut waiting lists" in with_topic
    assert "to minimize waiting lists" in without
