"""The one currency of the tool: every change to a text is an Edit.

Diff, JSON, review and batch output all render a list of these, so a reviewer
always sees exactly what changed, where, and why.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Edit:
    """A replacement of ``text[start:end]`` (== ``before``) by ``after``.

    ``kind`` is the stage that made it: ``"restore"`` (spun wording undone),
    ``"clean"`` (chrome removed) or ``"repair"`` (characters or whitespace fixed).
    ``reason`` names the evidence (table, rule or model); ``confidence`` is in [0, 1].
    """

    start: int
    end: int
    before: str
    after: str
    kind: str
    reason: str
    confidence: float = 1.0
    details: dict = field(default_factory=dict, compare=False)

    def to_dict(self) -> dict:
        data = asdict(self)
        if not data["details"]:
            del data["details"]
        data["confidence"] = round(self.confidence, 4)
        return data


def check_text(text: object) -> str:
    """``text`` itself if it is a str; else a TypeError naming its type.

    Checked where the public API takes a text: None or bytes otherwise fail deep inside a
    stage with a message about something else ("object of type 'NoneType' has no len()").
    """
    if not isinstance(text, str):
        hint = " (decode it first, e.g. data.decode('utf-8'))" if isinstance(text, (bytes, bytearray)) else ""
        raise TypeError(f"text must be str, not {type(text).__name__}{hint}")
    return text


def apply_edits(text: str, edits: Iterable[Edit]) -> str:
    """Apply non-overlapping edits (offsets into ``text``) and return the new text."""
    check_text(text)
    out: list[str] = []
    pos = 0
    for edit in sorted(edits, key=lambda e: (e.start, e.end)):
        if not 0 <= edit.start <= edit.end <= len(text):  # an empty slice would "match" ``before=""``
            raise ValueError(f"edit at {edit.start}:{edit.end} is outside the text (0:{len(text)})")
        if edit.start < pos:
            raise ValueError(f"overlapping edits at offset {edit.start}")
        if text[edit.start : edit.end] != edit.before:
            raise ValueError(
                f"edit at {edit.start}:{edit.end} expects {edit.before!r}, "
                f"text has {text[edit.start : edit.end]!r}"
            )
        out.append(text[pos : edit.start])
        out.append(edit.after)
        pos = edit.end
    out.append(text[pos:])
    return "".join(out)


class OffsetMap:
    """Maps offsets in an edited text back to offsets in the text before the edits.

    Lets a later stage (restoration) work on the cleaned text while its edits are
    reported against the user's input, so every edit in one list shares one frame.
    """

    def __init__(self, edits: Iterable[Edit]):
        # (start in new text, end in new text, start in old, end in old) per edit
        self._spans: list[tuple[int, int, int, int]] = []
        shift = 0
        for edit in sorted(edits, key=lambda e: (e.start, e.end)):
            new_start = edit.start + shift
            new_end = new_start + len(edit.after)
            self._spans.append((new_start, new_end, edit.start, edit.end))
            shift += len(edit.after) - (edit.end - edit.start)

    def to_old(self, offset: int, *, past_removals: bool = False) -> int:
        """Old-text offset of a new-text offset that lies outside every edited span.

        An offset at the start of an earlier edit's output maps to the start of the text
        it replaced. A removal leaves a zero-width trace: an offset on it maps to the start
        of the removed text, or with ``past_removals`` (for the start of a later edit) to
        its end, so the later edit never covers text an earlier one removed.
        """
        old = offset
        for new_start, new_end, _old_start, old_end in self._spans:
            if offset < new_start or (offset == new_start and (new_start < new_end or not past_removals)):
                break
            if offset < new_end:
                raise ValueError(f"offset {offset} falls inside an earlier edit")
            old = old_end + (offset - new_end)
        return old

    def touches_edit(self, start: int, end: int) -> bool:
        """True if new-text span [start, end) overlaps an earlier edit's output."""
        return any(s < end and start < e for s, e, _, _ in self._spans)


def rebase(later: Iterable[Edit], earlier: Iterable[Edit]) -> list[Edit]:
    """Express ``later`` edits (made on the text after ``earlier``) in the original frame.

    Later edits that overlap the output of an earlier edit cannot be expressed
    as independent spans of the original and are dropped.
    """
    mapping = OffsetMap(earlier)
    out = []
    for edit in later:
        if mapping.touches_edit(edit.start, edit.end):
            continue
        end = mapping.to_old(edit.end)
        start = mapping.to_old(edit.start, past_removals=True) if edit.end > edit.start else end
        out.append(
            Edit(start, end, edit.before, edit.after, edit.kind, edit.reason, edit.confidence, edit.details)
        )
    return out
