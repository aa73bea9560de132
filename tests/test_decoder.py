"""The noisy-channel decoder and the spin-rate EM, on a small table written for the test."""

from __future__ import annotations

import pytest
from conftest import ROOT

from restore import Restorer
from restore.channel import ChannelTables
from restore.lattice import Arc
from restore.restorer import SpanRestorer, _same_reading

TABLE = """# test table
said\tmentioned\t0.7
said\tstated\t0.3
phone\ttelephone\t0.6
call\tname\t0.8
party\tget together\t0.9
last\tfinal\t0.6
final\tlast\t0.6
House\tHome\t0.8\tcs
"""


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Restorer:
    directory = tmp_path_factory.mktemp("tables")
    (directory / "spinner_thesaurus.tsv").write_text(TABLE, encoding="utf-8")
    return Restorer(tables_dir=directory)


def test_table_lookup_is_case_aware(tmp_path):
    (tmp_path / "spinner_thesaurus.tsv").write_text(TABLE, encoding="utf-8")
    tables = ChannelTables.load(tmp_path)
    assert [s.original for s in tables.lookup("Mentioned")] == ["said"]
    assert [s.original for s in tables.lookup("get  together")] == ["party"]
    assert [s.original for s in tables.lookup("Home")] == ["House"]
    assert tables.lookup("home") == []
    assert tables.source_families("said") == ("spinner-table",)


def test_neighbouring_spans_are_decoded_jointly(small):
    # one joint spin alone is too little evidence that the document is spun; give it company
    text = "He made a telephone name to the minister on Friday. The get together mentioned the plan."
    result = small.restore(text, clean=False)
    assert result.text == "He made a phone call to the minister on Friday. The party said the plan."


def test_phrase_and_case_sensitive_entries(small):
    result = small.restore("The get together met at the White Home on Monday.", clean=False)
    assert result.text == "The party met at the White House on Monday."


def test_spin_rate_rises_on_spun_text_and_stays_low_on_clean(small):
    spun = " ".join(
        [
            "The minister mentioned the plan.",
            "A spokesman mentioned the vote.",
            "The party leader mentioned it.",
        ]
        * 3
    )
    clean = " ".join(["The minister said the plan.", "A spokesman said the vote.", "The leader said it."] * 3)
    spun_rate = small.restore(spun, clean=False).spin.rates["spinner-table"]
    clean_result = small.restore(clean, clean=False)
    assert spun_rate > 0.15
    assert clean_result.spin.rates["spinner-table"] < spun_rate / 5
    assert clean_result.edits == []


def test_a_lone_ordinary_use_is_left_alone(small):
    text = "She mentioned the final chapter of the book only once."
    assert small.restore(text, clean=False).edits == []


def test_threshold_suppresses_edits(tmp_path):
    (tmp_path / "spinner_thesaurus.tsv").write_text(TABLE, encoding="utf-8")
    text = "He made a telephone name. The minister mentioned the plan. The get together mentioned it."
    loose = Restorer(tables_dir=tmp_path, threshold=0.0).restore(text, clean=False)
    strict = Restorer(tables_dir=tmp_path, threshold=30.0).restore(text, clean=False)
    assert len(loose.edits) > 0
    assert strict.edits == []


def test_possessive_keeps_its_apostrophe(small):
    text = "The White Home’s spokesman mentioned the plan. The get together mentioned it on Monday."
    result = small.restore(text, clean=False)
    assert "White House’s spokesman" in result.text


def test_spelling_variants_are_not_synonyms():
    from restore.channel import _spelling_variant

    assert _spelling_variant("somber", "sombre")
    assert _spelling_variant("deep", "deepest")
    assert _spelling_variant("elizabeth", "elizabeth ii")
    assert not _spelling_variant("he", "helium")
    assert not _spelling_variant("never", "ne'er", strict=False)
    assert not _spelling_variant("said", "stated")


def test_a_long_run_without_punctuation_is_cut_into_clauses():
    # the decoder is quadratic in a clause's length: 40,000 unpunctuated words once took an hour
    from restore.tokenize import MAX_CLAUSE_TOKENS, sentences, tokenize

    tokens = tokenize(" ".join(["the minister mentioned a soiled bomb"] * 60))
    spans = sentences(tokens)
    assert spans[0] == (0, MAX_CLAUSE_TOKENS)
    assert all(j - i <= MAX_CLAUSE_TOKENS for i, j in spans)
    assert [t for i, j in spans for t in range(i, j)] == list(range(len(tokens)))
    # punctuation still decides where clauses end when it comes sooner
    assert sentences(tokenize("He said it. Then he left, quickly")) == [(0, 3), (3, 6), (6, 7)]


def test_a_change_two_readings_agree_on_is_confident(tmp_path):
    # the table has the phrase and its words: "telephone name" read as "phone call" or as
    # "phone" + "call" writes the same text, and neither reading may count as the other's
    # alternative (it did: the lower the --threshold, the closer the readings and the lower the
    # confidence, so edits fell below min_confidence and a lower threshold gave fewer edits)
    table = TABLE + "phone call\ttelephone name\t0.3\n"
    (tmp_path / "spinner_thesaurus.tsv").write_text(table, encoding="utf-8")
    text = "He made a telephone name to the minister. The get together mentioned the plan."
    for threshold in (1.0, 0.5, 0.0):
        result = Restorer(tables_dir=tmp_path, threshold=threshold).restore(text, clean=False)
        assert "a phone call to the minister" in result.text, (threshold, result.text)
        call = next(e for e in result.edits if e.after.endswith("call"))
        assert call.confidence > 0.97, (threshold, call)  # 0.85 at threshold 0 when they competed


def test_alternatives_score_exactly_what_a_full_redecode_does(restorer):
    # confidence re-decodes only the stretch around a change (between positions no arc crosses);
    # that must give the full re-decode's score for every change, phrases and neighbours included
    import math

    import regex

    from restore.decode import DecodedSentence, decode_sentence
    from restore.restorer import _same_reading

    engine = restorer.span_restorer
    weight = engine.settings.lm_weight
    checked = 0
    for path in sorted((ROOT / "bench" / "data" / "synthetic").glob("*.gold"))[:4]:
        spun = regex.sub(r"\{([^{}]*?)=>[^{}]*\}", r"\1", path.read_text(encoding="utf-8"))
        model = engine.model_document(spun)
        for sent in model.lattices:
            cost = engine.cost_fn(sent, model.rates)
            decoded = DecodedSentence(sent.arcs, engine.lm, cost, weight)
            full_score, full_path = decode_sentence(sent.arcs, engine.lm, cost, lm_weight=weight)
            assert math.isclose(decoded.score, full_score) and decoded.path == full_path
            for arc in [a for out in sent.arcs for a in out if not a.is_keep][:12]:
                banned = _same_reading(sent.arcs, arc)
                want, _ = decode_sentence(sent.arcs, engine.lm, cost, banned=banned, lm_weight=weight)
                got = decoded.best_score_avoiding(banned)
                assert math.isclose(got, want, abs_tol=1e-9), (arc, got, want)
                checked += 1
    assert checked > 200


class _FlatLM:
    """Every original word equally likely anywhere, every other word much less: only the channel decides."""

    def logprob(self, word: str, prev1: str | None, prev2: str | None) -> float:
        return -3.0 if word in {"said", "party", "street", "road", "lane"} else -8.0


def test_a_tie_between_two_originals_is_not_an_edit(tmp_path):
    # "thoroughfare" is how the spinner writes both "street" and "road", and nothing in the text
    # tells them apart: the span is spun, but choosing one is a coin toss, so it is left as it is
    table = TABLE + "street\tthoroughfare\t0.5\nroad\tthoroughfare\t0.5\nlane\tbyway\t0.5\n"
    (tmp_path / "spinner_thesaurus.tsv").write_text(table, encoding="utf-8")
    engine = SpanRestorer(ChannelTables.load(tmp_path), _FlatLM())
    text = (
        "The minister mentioned the thoroughfare was closed. The get together mentioned the byway "
        "was open. A spokesman mentioned it. The mayor mentioned it again."
    )
    edits, _ = engine.restore(text)
    changed = {(e.before, e.after) for e in edits}
    assert ("byway", "lane") in changed and ("get together", "party") in changed
    assert not any(before == "thoroughfare" for before, _ in changed)


def test_a_phrase_taking_a_neighbour_along_is_the_same_reading():
    # "in accordance with the" -> "according to the" writes what "in accordance with" ->
    # "according to" does: it is not an alternative that makes the change less certain
    words = ["rules", "in", "accordance", "with", "the", "law"]
    arcs = [[Arc(i, i + 1, (w,))] for i, w in enumerate(words)]
    chosen = Arc(1, 4, ("according", "to"), (("spinner-table", 0.6),))
    along = Arc(1, 5, ("according", "to", "the"), (("spinner-table", 0.6),))
    other = Arc(1, 4, ("in", "line", "with"), (("spinner-table", 0.3),))
    arcs[1] += [chosen, along, other]
    same = _same_reading(arcs, chosen)
    assert along in same and other not in same


def test_a_shared_proposal_memo_builds_the_same_lattices(tables):
    # the restorer builds a document's lattices with one memo of what each span text proposes;
    # that must not change them: the same words at another place, case or possessive ("White
    # Home’s", "Home", "home"), and spans cut by digits or clause ends, get what they would alone
    from restore.lattice import build_lattice
    from restore.tokenize import sentences, tokenize

    text = (
        "The White Home mentioned the invoice. The white home’s invoice, officers mentioned, "
        "had 12 months of get together funds; home officers mentioned 4 telephone name calls."
    )
    tokens = tokenize(text)
    memo: dict = {}

    def shape(arcs):
        return [[(a.start, a.end, a.words, a.weights, a.original) for a in out] for out in arcs]

    for i, j in sentences(tokens):
        shared = build_lattice(tokens[i:j], tables, memo)
        alone = build_lattice(tokens[i:j], tables)
        assert shape(shared) == shape(alone)
    assert memo  # the memo was used, and held spans of more than one sentence


class _RecordingReader:
    """A reader (restorer.ArcReader) that records what it is given and vetoes one original."""

    def __init__(self, veto: str):
        self.veto = veto
        self.readings: list[list[Arc]] = []
        self.sentences: list = []

    def arc_scores(self, text, sentences, *, active, readings):
        self.sentences, self.readings = sentences, readings
        return {a: -50.0 for _t, arcs in sentences for out in arcs for a in out if a.key == self.veto}


def test_the_reader_gets_each_sentences_best_path_and_its_scores_count(small):
    # the reader sees the restorations the rest of the model makes (its reading), sentence by
    # sentence, and what it returns enters the final decode: vetoing "said" keeps "mentioned"
    text = "He made a telephone name to the minister on Friday. The get together mentioned the plan."
    engine = small.span_restorer
    reader = _RecordingReader(veto="said")
    vetoing = SpanRestorer(engine.tables, engine.lm, engine.settings, engine.priors, engine.rescorer, reader)
    edits, _estimate = vetoing.restore(text)
    assert len(reader.readings) == len(reader.sentences) == 2
    for (_tokens, arcs), reading in zip(reader.sentences, reader.readings, strict=True):
        assert all(any(a is b for out in arcs for b in out) for a in reading)  # arcs of that sentence
    assert [[a.key for a in reading] for reading in reader.readings] == [["phone", "call"], ["party", "said"]]
    assert [e.after for e in edits] == ["phone", "call", "party"]
