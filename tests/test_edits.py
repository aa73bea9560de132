"""The Edit list: applying, and re-expressing later edits in the input's frame."""

from __future__ import annotations

import pytest

from restore.edits import Edit, OffsetMap, apply_edits, rebase


def edit(text: str, before: str, after: str, kind: str = "restore", occurrence: int = 0) -> Edit:
    start = -1
    for _ in range(occurrence + 1):
        start = text.index(before, start + 1)
    return Edit(start, start + len(before), before, after, kind, "test")


def test_apply_edits_in_any_order():
    text = "one two three"
    edits = [edit(text, "three", "3"), edit(text, "one", "1")]
    assert apply_edits(text, edits) == "1 two 3"


def test_apply_rejects_overlap_and_stale_edits():
    text = "one two three"
    with pytest.raises(ValueError):
        apply_edits(text, [edit(text, "one two", "x"), edit(text, "two", "y")])
    with pytest.raises(ValueError):
        apply_edits(text, [Edit(0, 3, "uno", "1", "restore", "test")])


def test_rebase_maps_later_edits_back_through_removals():
    source = "[ad_1]\nThe minister mentioned it.\nSource link\nHe mentioned it again.\n"
    cleaning = [edit(source, "[ad_1]\n", "", "clean"), edit(source, "Source link\n", "", "clean")]
    cleaned = apply_edits(source, cleaning)
    later = [edit(cleaned, "mentioned", "said"), edit(cleaned, "mentioned", "said", occurrence=1)]
    rebased = rebase(later, cleaning)
    assert [source[e.start : e.end] for e in rebased] == ["mentioned", "mentioned"]
    assert apply_edits(source, cleaning + rebased) == "The minister said it.\nHe said it again.\n"


def test_rebase_edit_starting_where_a_removal_ended():
    # a removed line, and a restoration of the first word of the next line: the removal's
    # zero-width trace sits at the edit's start, which must map past the removed text
    source = "It was late.\nShare\nMentioned it.\nEnd in sight\n"
    cleaning = [edit(source, "Share\n", "", "clean"), edit(source, "\nEnd in sight", "", "clean")]
    cleaned = apply_edits(source, cleaning)
    assert cleaned == "It was late.\nMentioned it.\n"
    later = [edit(cleaned, "Mentioned", "Said"), edit(cleaned, "it.", "this.")]
    rebased = rebase(later, cleaning)
    assert [source[e.start : e.end] for e in rebased] == ["Mentioned", "it."]
    assert apply_edits(source, cleaning + rebased) == "It was late.\nSaid this.\n"


def test_rebase_drops_edits_inside_an_earlier_replacement():
    source = "cafÃ© owner mentioned it"
    repair = [edit(source, "cafÃ©", "café", "repair")]
    repaired = apply_edits(source, repair)
    later = [edit(repaired, "café", "coffee shop"), edit(repaired, "mentioned", "said")]
    rebased = rebase(later, repair)
    assert [e.after for e in rebased] == ["said"]
    assert apply_edits(source, repair + rebased) == "café owner said it"


def test_offset_map_identity_without_edits():
    mapping = OffsetMap([])
    assert mapping.to_old(7) == 7
    assert not mapping.touches_edit(0, 10)


def test_to_dict_rounds_confidence_and_hides_empty_details():
    data = Edit(0, 1, "a", "b", "restore", "why", 0.123456).to_dict()
    assert data["confidence"] == 0.1235
    assert "details" not in data


@pytest.mark.parametrize("seed", range(200))
def test_rebase_agrees_with_applying_in_two_steps(seed):
    # earlier edits (removals, insertions, replacements) then later edits on their output:
    # the rebased list applied to the original must give what the two steps give
    import random

    rng = random.Random(seed)
    source = "".join(rng.choice("ab \n") for _ in range(rng.randint(0, 40)))
    earlier, pos = [], 0
    while pos < len(source) and rng.random() < 0.8:
        start = rng.randint(pos, len(source))
        end = rng.randint(start, min(len(source), start + 5))
        after = rng.choice(["", "", "X", "YY"])
        if end > start or after:
            earlier.append(Edit(start, end, source[start:end], after, "clean", "test"))
        pos = end + 1
    middle = apply_edits(source, earlier)
    later, pos = [], 0
    while pos < len(middle) and rng.random() < 0.8:
        start = rng.randint(pos, len(middle) - 1)
        end = rng.randint(start + 1, min(len(middle), start + 4))  # restorations replace words
        later.append(Edit(start, end, middle[start:end], "Z", "restore", "test"))
        pos = end + 1
    rebased = rebase(later, earlier)
    mapping = OffsetMap(earlier)
    kept = [e for e in later if not mapping.touches_edit(e.start, e.end)]
    assert len(rebased) == len(kept)
    assert apply_edits(source, earlier + rebased) == apply_edits(middle, kept)
