"""The restoration engine on texts written for these tests."""

from __future__ import annotations

from collections import Counter

import pytest
import regex
from conftest import DATA, ROOT, data_lines

from restore import Restorer, apply_edits, restore_text
from restore.surface import transfer_case
from restore.tokenize import WORD


def words(text: str) -> list[str]:
    return [w.lower().replace("’", "'") for w in WORD.findall(text)]


def test_card_examples(restorer):
    result = restorer.restore(
        "Officials feared a soiled bomb. The minister mentioned it in a telephone name on Sunday.",
        clean=False,
    )
    assert "dirty bomb" in result.text
    assert "phone call" in result.text
    assert "minister said" in result.text
    assert result.edits and all(e.kind == "restore" for e in result.edits)


def test_sample_article_is_mostly_restored(restorer):
    spun = (ROOT / "samples" / "spun_article.txt").read_text(encoding="utf-8")
    original = (DATA / "sample_original.txt").read_text(encoding="utf-8")
    result = restorer.restore(spun, clean=False)
    # position-free measure: how many of the original's words are missing, before and after
    want = Counter(words(original))
    missing_before = sum((want - Counter(words(spun))).values())
    missing_after = sum((want - Counter(words(result.text))).values())
    assert missing_before > 40
    assert missing_after <= missing_before * 0.5, (missing_before, missing_after, result.text)
    assert result.judged_spun
    assert result.spin_score > 0.05


@pytest.mark.parametrize("sentence", data_lines("negative.txt") + data_lines("negative_dense.txt"))
def test_clean_sentences_come_back_identical(restorer, sentence):
    result = restorer.restore(sentence, clean=False)
    assert result.text == sentence, [e.to_dict() for e in result.edits]
    assert not result.judged_spun


def test_blind_wordnet_spinner_is_reversed(restorer):
    # the blind WordNet spinner takes a lemma of the first synset whatever the part of speech
    text = "Helium said that the plan would beryllium ready successful May, and helium will walk wealth connected it."
    result = restorer.restore(text, clean=False)
    assert result.text.startswith("He said that the plan would be ready in May, and he will")
    assert {e.details["family"] for e in result.edits} == {"wordnet-blind"}


def test_heavy_rewriter_is_reversed(restorer):
    # a Spinbot-style rewriter: wordy phrases for plain words ("residential or commercial property",
    # "moms and dads", "compared to" for "than") and connectives padded out ("as well as" for "and")
    text = (
        "Moms and dads in the town stated nowadays that the new tax obligation on residential or "
        "commercial property would hurt regional families more compared to officials expected. The "
        "economic climate has slowed this year, as well as many individuals are struggling to pay for "
        "food and fuel. A trainee at the regional college stated the legal representative for the town "
        "would certainly appeal.\n"
    )
    result = restorer.restore(text, clean=False)
    for restored in (
        "Parents in the town said today",
        "new tax on property",
        "local families more than officials",
        "The economy has slowed",
        "many people are struggling",
        "A student at the local college said the lawyer",
    ):
        assert restored in result.text, result.text
    assert {e.details["family"] for e in result.edits} == {"rewriter-table"}
    assert result.spin.families == ["rewriter-table"]  # what scan and --format json report
    assert "food and fuel" in result.text  # words it did not touch stay as they are


def test_a_couple_of_swaps_the_lm_prefers_are_not_a_spinner(restorer):
    # British "care homes" reads better as "nursing homes" to the LM, and the blind WordNet table
    # can write one for the other; two such swaps are not the many traces a spinner leaves
    text = (
        "Deaths in care homes fell again. Hospitals and care homes reported fewer cases this month, "
        "and care home managers welcomed the news.\n"
    )
    result = restorer.restore(text, clean=False)
    assert result.text == text, [e.to_dict() for e in result.edits]


def test_clean_sentences_as_one_document(restorer):
    document = "\n".join(data_lines("negative.txt")) + "\n"
    result = restorer.restore(document, clean=False)
    assert result.text == document, [e.to_dict() for e in result.edits]


def test_edit_offsets_point_into_the_input(restorer):
    spun = (ROOT / "samples" / "spun_article.txt").read_text(encoding="utf-8")
    result = restorer.restore(spun, clean=False)
    for edit in result.edits:
        assert spun[edit.start : edit.end] == edit.before
        assert 0.0 <= edit.confidence <= 1.0
        assert edit.reason
    assert apply_edits(spun, result.edits) == result.text


def test_restoring_twice_changes_nothing_more(restorer):
    spun = (ROOT / "samples" / "spun_article.txt").read_text(encoding="utf-8")
    once = restorer.restore(spun, clean=False).text
    twice = restorer.restore(once, clean=False)
    assert twice.text == once, [e.to_dict() for e in twice.edits]


def test_layout_outside_edits_is_preserved(restorer):
    spun = "  The  minister   mentioned\tit.\r\n\r\nThen he  mentioned it again, in a telephone name!  \n"
    result = restorer.restore(spun, clean=False)
    assert result.text.count("\r\n") == 2
    assert result.text.startswith("  The  minister   ")
    assert result.text.endswith("!  \n")
    assert "\t" in result.text


def test_capitalisation_follows_the_input(restorer):
    result = restorer.restore(
        "Mentioned in passing, the plan was dropped. MENTIONED AGAIN later.", clean=False
    )
    for edit in result.edits:
        if edit.before == "Mentioned":
            assert edit.after[0].isupper()
        if edit.before.isupper():
            assert edit.after.isupper()


@pytest.mark.parametrize(
    "before, replacement, expected",
    [
        ("Mentioned", "said", "Said"),
        ("MENTIONED", "said", "SAID"),
        ("mentioned", "said", "said"),
        ("In the event that", "if", "If"),  # different lengths: only the leading capital carries
        ("The Home handed", "the house passed", "The House passed"),  # word for word
        ("telephone name", "phone call", "phone call"),
        ("Get Together Chief", "party leader", "Party Leader"),  # title case carries word by word
        ("Regardless of the Outcome", "despite the outcome", "Despite the Outcome"),  # small words stay small
        ("In Accordance With", "according to", "According To"),  # unless it capitalises them too
        ("In accordance with", "according to", "According to"),
    ],
)
def test_transfer_case(before, replacement, expected):
    assert transfer_case(before, replacement) == expected


def test_transfer_case_keeps_a_proper_spelling():
    assert transfer_case("home", "House", keep_replacement_case=True) == "House"


def test_article_agrees_with_the_restored_word(restorer):
    # "an settlement" is what the spinner leaves behind when "agreement" becomes "settlement"
    text = (
        "Officers informed reporters that the get together leaders had been making an attempt to achieve "
        "an settlement earlier than the top of the yr, the mayor mentioned."
    )
    result = restorer.restore(text, clean=False)
    if "agreement" in result.text:
        assert "an agreement" in result.text
    for edit in result.edits:
        first = edit.after.split()[0].lower()
        assert first not in ("a", "an") or edit.before.split()[0].lower() in ("a", "an")


def test_empty_and_wordless_inputs():
    for text in ("", "\n\n", "... !!! ---"):
        result = restore_text(text, clean=False)
        assert result.text == text
        assert result.edits == []


known = [line.split(" => ") for line in data_lines("known_failures.txt")]


@pytest.mark.xfail(strict=True, reason="documented limit: see tests/data/known_failures.txt")
@pytest.mark.parametrize("spun,original", known)
def test_known_failures(restorer, spun, original):
    assert words(restorer.restore(spun, clean=False).text) == words(original)


def test_a_few_formal_phrases_in_a_long_article_are_not_a_spinner(restorer):
    # "in the event that", "shield", "enhanced": phrases this spinner writes, but also plain
    # formal English; a clean 345-word article holding them must come back untouched
    text = (DATA / "clean_formal_article.txt").read_text(encoding="utf-8")
    result = restorer.restore(text, clean=False)
    assert result.text == text, [e.to_dict() for e in result.edits]
    # without the restorations-per-word floor their joint evidence opens the gate
    from restore.decode import DecodeSettings

    lenient = Restorer(settings=DecodeSettings(min_spun_share=0.0))
    assert lenient.restore(text, clean=False).edits


CHROME = [
    "Share",
    "Key events",
    "Please turn on JavaScript to use this feature",
    "[ad_1]",
    "Source link",
    "Advertisement",
]
SPUN = [
    "Mentioned in passing, the plan was dropped.",
    "Telephone name records were released on Sunday.",
    "The minister mentioned a soiled bomb.",
    "Officers mentioned the invoice had been handed.",
]


@pytest.mark.parametrize("seed", range(30))
def test_cleanup_and_restoration_edits_never_collide(restorer, seed):
    # removed chrome lines and repaired spacing next to restored words: both kinds of edit in one
    # list, in the input's frame
    import random

    rng = random.Random(seed)
    lines = [rng.choice(CHROME if rng.random() < 0.4 else SPUN) for _ in range(rng.randint(3, 9))]
    text = "\n".join(lines) + rng.choice(["\n", ""])
    # spacing the cleanup repairs, right against restored words
    text = text.replace(" ", "  ", rng.randint(0, 6)).replace("\n", rng.choice(["\n", "  \n", "\r\n"]))
    result = restorer.restore(text, clean=True)
    assert apply_edits(text, result.edits) == result.text
    for edit in result.edits:
        assert text[edit.start : edit.end] == edit.before


def test_restored_word_next_to_repaired_spacing(restorer):
    # cleanup collapses the double spaces; the restorations end and start right against them
    text = "Officials feared a soiled bomb.  The minister mentioned  it in a telephone name on Sunday.\n"
    result = restorer.restore(text)
    assert result.text == "Officials feared a dirty bomb. The minister said it in a phone call on Sunday.\n"
    assert apply_edits(text, result.edits) == result.text


@pytest.mark.parametrize("path", sorted((DATA / "clean_articles").glob("*.txt")), ids=lambda p: p.stem)
def test_clean_articles_come_back_identical(restorer, path):
    # whole invented news articles, British and American, through cleanup and restoration
    text = path.read_text(encoding="utf-8")
    result = restorer.restore(text)
    assert result.text == text, [e.to_dict() for e in result.edits]
    assert not result.judged_spun


@pytest.mark.parametrize(
    ("text", "addresses"),
    [
        (
            "Read https://example.com/news/minister-mentioned-talks, then",
            ["https://example.com/news/minister-mentioned-talks"],
        ),
        ("(see www.example.org/soiled-bomb).", ["www.example.org/soiled-bomb"]),
        ("write to press@home-office.example.", ["press@home-office.example"]),
        ("follow @MentionedNews and #SoiledBomb today", ["@MentionedNews", "#SoiledBomb"]),
        ("on bbc.co.uk/news/final-report today", ["bbc.co.uk/news/final-report"]),
        ("the file final-report.pdf was", ["final-report.pdf"]),
        ("He left early.In the end he stayed.", []),
        ("The U.S. and e.g. Co-operation stay prose.", []),
    ],
)
def test_addresses_are_found_and_their_words_are_opaque(text, addresses):
    from restore.tokenize import opaque_spans, tokenize

    spans = opaque_spans(text)
    assert [text[s:e] for s, e in spans] == addresses
    for tok in tokenize(text):
        assert tok.opaque == any(s <= tok.start < e for s, e in spans), tok


def test_words_inside_addresses_are_never_restored(restorer):
    text = (
        "Officials mentioned the soiled bomb claims were false, and the minister advised the get together "
        "to wait. Read more at https://example.com/news/minister-mentioned-soiled-bomb-claims or "
        "www.example.org/get-together-mentioned, write to mentioned.soiled@example.com, "
        "or follow #SoiledBomb and @MentionedDaily."
    )
    result = restorer.restore(text, clean=False)
    assert "the minister told the party to wait" in result.text  # the prose is restored
    for address in (
        "https://example.com/news/minister-mentioned-soiled-bomb-claims",
        "www.example.org/get-together-mentioned",
        "mentioned.soiled@example.com",
        "#SoiledBomb",
        "@MentionedDaily",
    ):
        assert address in result.text


def test_invisible_characters_inside_a_word_do_not_hide_it(restorer):
    # scraped pages keep soft hyphens and zero-width spaces inside words; a reader sees one word
    text = (
        "Officers men\u00adtioned the soiled bomb claims were false, and the minister ad\u200bvised the "
        "get together to wait. The invoice had been sent to the White Home by a care\u00adful aide.\n"
    )
    result = restorer.restore(text, clean=False)
    assert result.text == (
        "Officers said the dirty bomb claims were false, and the minister told the party to wait. "
        "The bill had been sent to the White House by a care\u00adful aide.\n"
    ), [e.to_dict() for e in result.edits]
    assert {e.before for e in result.edits} >= {"men\u00adtioned", "ad\u200bvised"}


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        ("the invoice", "the bill", (4, "invoice", "bill")),
        ("earlier than the", "before the", (0, "earlier than", "before")),
        ("White  Home", "White House", (7, "Home", "House")),  # the input's own spacing is kept outside
        ("telephone name", "phone call", (0, "telephone name", "phone call")),
        ("the federal government", "the government", (4, "federal government", "government")),
        ("Final week", "Last week", (0, "Final", "Last")),
    ],
)
def test_phrase_edits_cover_only_the_changed_words(before, after, expected):
    from restore.surface import trim_shared_words as _trim_shared_words

    assert _trim_shared_words(before, after) == expected
    skip, changed, _ = expected
    assert before[skip : skip + len(changed)] == changed


def test_restorations_start_and_end_with_a_changed_word(restorer):
    spun = (ROOT / "samples" / "spun_article.txt").read_text(encoding="utf-8")
    result = restorer.restore(spun, clean=False)
    for edit in result.edits:
        if edit.kind == "restore" and edit.before and edit.after:
            old, new = edit.before.split(), edit.after.split()
            if len(old) > 1 and len(new) > 1:  # a shared first or last word would have been trimmed
                assert old[0] != new[0] and old[-1] != new[-1], edit
            assert spun[edit.start : edit.end] == edit.before


SYNTHETIC = ROOT / "bench" / "data" / "synthetic"


@pytest.mark.parametrize("path", sorted(SYNTHETIC.glob("*.orig.txt")), ids=lambda p: p.name.split(".")[0])
def test_project_articles_clean_and_spun(restorer, path):
    # the project's own articles (bench/data/synthetic): the original is left alone (one, a British
    # piece on peat bogs, once opened the gate at 0.021 restorations per word and lost "bogs" to
    # "toilets"), and its spun version is judged spun and mostly restored
    original = path.read_text(encoding="utf-8")
    result = restorer.restore(original, clean=False)
    assert result.text == original, [e.to_dict() for e in result.edits]
    gold = path.with_name(path.name.replace(".orig.txt", ".gold")).read_text(encoding="utf-8")
    spun = regex.sub(r"\{([^{}]*?)=>[^{}]*\}", r"\1", gold)
    restored = restorer.restore(spun, clean=False)
    assert restored.judged_spun
    want = Counter(words(original))
    missing_before = sum((want - Counter(words(spun))).values())
    missing_after = sum((want - Counter(words(restored.text))).values())
    assert missing_after <= missing_before * 0.6, (missing_before, missing_after)


CLEAN_CONTROLS = ROOT / "bench" / "data" / "clean"


@pytest.mark.parametrize("path", sorted(CLEAN_CONTROLS.glob("*.txt")), ids=lambda p: p.stem)
def test_project_clean_controls_come_back_unchanged(restorer, path):
    # sixteen clean articles of varied register written for this project (bench/data/clean); the
    # formal British politics piece once opened the gate at 0.034 restorations per word and lost
    # "delivery plan" to "birth plan" among 13 false edits
    text = path.read_text(encoding="utf-8")
    result = restorer.restore(text, clean=False)
    assert result.text == text, [e.to_dict() for e in result.edits]


@pytest.mark.parametrize("bad", [None, b"The minister mentioned it.", 42, ["The minister mentioned it."]])
def test_text_that_is_not_a_string_is_a_clear_type_error(restorer, bad):
    name = type(bad).__name__
    for call in (
        lambda: restorer.restore(bad),
        lambda: restorer.restore(bad, clean=False),
        lambda: restorer.restore(bad, restore=False),
        lambda: restore_text(bad),
        lambda: apply_edits(bad, []),
    ):
        with pytest.raises(TypeError, match=f"must be str, not {name}"):
            call()


def test_a_threshold_that_is_not_a_number_is_a_clear_type_error():
    with pytest.raises(TypeError, match="threshold must be a number"):
        Restorer(threshold="3")


def test_a_restorer_that_has_run_pickles_and_gives_the_same_result(restorer):
    import pickle

    spun = (
        "The senator mentioned the invoice would pass earlier than the vote. She additionally "
        "advised reporters that the get together was united. Her aide mentioned the invoice "
        "was fair, and the leader advised the get together to vote for it earlier than Friday.\n"
    )
    expected = restorer.restore(spun).to_dict()  # the session restorer has loaded the LM
    assert pickle.loads(pickle.dumps(restorer)).restore(spun).to_dict() == expected


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_a_threshold_that_is_not_finite_is_refused(bad):
    """NaN or an infinite margin silently turned every restoration off."""
    with pytest.raises(ValueError, match="finite"):
        Restorer(threshold=bad)


def test_restorations_say_what_the_context_models_added(restorer):
    text = "In a telephone name, the minister mentioned that the senators would vote on the invoice on Tuesday.\n"
    result = restorer.restore(text, clean=False)
    bill = [e for e in result.edits if e.after == "bill"]
    assert bill and bill[0].details["model_evidence"] > 0  # "bill" is on topic among senators and a vote
    assert all({"family", "channel_weight", "spin_rate"} <= set(e.details) for e in result.edits)
