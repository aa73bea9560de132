"""Surface form of a replacement: the input's capitalisation, and a/an agreement."""

from __future__ import annotations

import regex

# words whose spelling misleads the vowel rule
_AN_BEFORE = ("hour", "honest", "honor", "honour", "heir", "herb")
_A_BEFORE = ("uni", "use", "usu", "uti", "ure", "euro", "eu", "one", "once", "ubiq", "uga", "ukr", "ura")


# words a headline in title case may leave lowercase ("Out of Control")
_SMALL_WORDS = frozenset("a an the and or but nor of to in on at by for with as from into".split())


def _title_case(words: list[str]) -> bool:
    """Two or more capitalised words with only short function words between: a headline's case."""
    capitalised = [w for w in words if w[:1].isupper()]
    return (
        len(capitalised) >= 2
        and words[0][:1].isupper()
        and all(w[:1].isupper() or w.lower() in _SMALL_WORDS for w in words)
    )


def restored_surface(before: str, original: str) -> str:
    """How ``original`` is written over ``before``: in its case pattern, unless the table spells
    the original with capitals of its own (a name: "White House")."""
    return transfer_case(before, original, keep_replacement_case=not original.islower())


def transfer_case(before: str, replacement: str, *, keep_replacement_case: bool = False) -> str:
    """Give ``replacement`` the capitalisation pattern of ``before``.

    ALL CAPS stays all caps, a leading capital stays a leading capital (word by word when
    both have as many words); otherwise the replacement is used as the table spells it
    (lowercase, or its own proper case).
    """
    letters = [c for c in before if c.isalpha()]
    if len(letters) > 1 and all(c.isupper() for c in letters):
        return replacement.upper()
    if keep_replacement_case:
        return replacement
    old_words, new_words = before.split(), replacement.split()
    if len(old_words) == len(new_words) > 1:
        # word for word: "The Home handed" -> "The House passed", not "The house passed"
        return " ".join(transfer_case(o, n) for o, n in zip(old_words, new_words, strict=True))
    if len(new_words) > 1 and _title_case(old_words):
        # a headline's "Get Together Chief" -> "Party Leader", not "Party leader"
        small_lower = any(w.lower() in _SMALL_WORDS and w.islower() for w in old_words[1:])
        return " ".join(
            w if k and small_lower and w.lower() in _SMALL_WORDS else w[:1].upper() + w[1:]
            for k, w in enumerate(new_words)
        )
    if before[:1].isupper():
        return replacement[:1].upper() + replacement[1:]
    return replacement


def wants_an(word: str) -> bool:
    """Whether ``word`` takes "an" (by sound, approximated from spelling)."""
    w = word.lower()
    if not w:
        return False
    if w.startswith(_AN_BEFORE):
        return True
    if w.startswith(_A_BEFORE):
        return False
    if regex.match(r"[aeiou]", w):
        return True
    # initialisms read letter by letter: "an FBI agent", "an MP"
    if word.isupper() and len(word) <= 5 and w[0] in "fhlmnrsx":
        return True
    return False


def article_for(article: str, next_word: str) -> str:
    """ "a" or "an" (in the case of ``article``) to stand before ``next_word``."""
    right = "an" if wants_an(next_word) else "a"
    if article.isupper() and len(article) > 1:
        return right.upper()
    if article[:1].isupper():
        return right.capitalize()
    return right


def article_before(text: str, pos: int):
    """The word "a" or "an" that ends just before ``pos`` with only spaces (one or more) between.

    An edit whose new first word needs the other article extends over it; the causal LM reads
    its candidate sentences with the same agreement, so both ask here.
    """
    from .tokenize import WORD  # tokenize needs nothing from here; imported late to keep it so

    gap_start = pos
    while gap_start > 0 and text[gap_start - 1] == " ":
        gap_start -= 1
    if gap_start == pos:
        return None
    prev = None
    for match in WORD.finditer(text, max(0, gap_start - 3), gap_start):
        if match.end() == gap_start:
            prev = match
    if prev is None or prev.group().lower() not in ("a", "an"):
        return None
    if prev.start() > 0 and text[prev.start() - 1].isalnum():
        return None  # the window began inside a longer word ("Cuba")
    return prev


_NONSPACE = regex.compile(r"\S+")


def trim_shared_words(before: str, after: str) -> tuple[int, str, str]:
    """The changed part of a phrase edit: (offset into ``before``, its slice, the replacement).

    The table's context phrases ("the invoice" -> "the bill", "earlier than the" -> "before the")
    rewrite one word; the reviewer sees that word change, and the reason still names the phrase.
    """
    words = list(_NONSPACE.finditer(before))
    new = after.split(" ")
    i = 0
    while i < len(words) - 1 and i < len(new) - 1 and words[i].group() == new[i]:
        i += 1
    j = 0
    while j < len(words) - 1 - i and j < len(new) - 1 - i and words[-1 - j].group() == new[-1 - j]:
        j += 1
    if i == 0 and j == 0:
        return 0, before, after
    start, end = words[i].start(), words[len(words) - 1 - j].end()
    return start, before[start:end], " ".join(new[i : len(new) - j])
