"""Detection only: is a document spun, how much, and which spans gave it away.

`restore scan` runs the same engine as `restore fix` but reports instead of rewriting, so a
publishing pipeline can gate on its exit code (0: nothing judged spun, 1: something was).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from .channel import FAMILY_CAVEATS, FAMILY_LABELS
from .pipeline import RestoreResult


@dataclass
class ScanReport:
    """The verdict for one document and its most telling flagged spans."""

    path: str
    spun: bool
    spin_score: float
    words: int
    flagged: int
    top: list[dict] = field(default_factory=list)  # {"span", "original", "count", "confidence"}
    families: list[str] = field(default_factory=list)  # the spinner families judged to have written it

    def to_dict(self) -> dict:
        return {
            "path": self.path,
            "judged_spun": self.spun,
            "spun_by": self.families,
            "spin_score": round(self.spin_score, 4),
            "words": self.words,
            "flagged": self.flagged,
            "top": self.top,
        }

    def to_line(self) -> str:
        verdict = "SPUN" if self.spun else "clean"
        if self.families:
            main = self.families[0]
            verdict += f" ({FAMILY_LABELS.get(main, main)}"
            verdict += f": {FAMILY_CAVEATS[main]})" if main in FAMILY_CAVEATS else ")"
        head = f"{self.path}: {verdict}  score {self.spin_score:.3f}  {self.flagged} flagged in {self.words} words"
        if not self.top:
            return head
        shown = ", ".join(
            f"{t['span']!r}→{t['original']!r}" + (f" ×{t['count']}" if t["count"] > 1 else "")
            for t in self.top
        )
        return f"{head}\n    {shown}"


def scan_report(path: str, result: RestoreResult, top: int = 5) -> ScanReport:
    """Summarise a restoration as a detection report: restore edits only, grouped by span and original."""
    restorations = [e for e in result.edits if e.kind == "restore"]
    counts: Counter = Counter()
    confidence: dict[tuple[str, str], float] = {}
    for edit in restorations:
        key = (edit.before.lower(), edit.after.lower())
        counts[key] += 1
        confidence[key] = max(confidence.get(key, 0.0), edit.confidence)
    ranked = sorted(counts, key=lambda k: (-counts[k], -confidence[k], k))[:top]
    return ScanReport(
        path=path,
        spun=result.judged_spun,
        spin_score=result.spin_score,
        words=result.spin.words,
        flagged=len(restorations),
        families=result.spin.families,
        top=[
            {
                "span": span,
                "original": original,
                "count": counts[(span, original)],
                "confidence": round(confidence[(span, original)], 4),
            }
            for span, original in ranked
        ],
    )
