"""How far an edit's confidence can be trusted: share of edits per confidence band that restore the original.

Usage: python bench/confidence_bands.py [--shared ../shared] [--family thesaurus]

An edit *helps* when it lies in a gold span and writes words of that span's original
(all of them, or a run of them: "telephone name" -> "phone call" restored as "phone" + "call"
counts twice); otherwise it *hurts* (an edit outside any gold span, or other words).
The README's sentence on confidence quotes this script's figures.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from dev_eval import FAMILIES  # noqa: E402

BANDS = ((0.9, "0.9-1.0"), (0.0, "below 0.9"))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--family", choices=sorted(FAMILIES), default="thesaurus")
    args = parser.parse_args()
    sys.path.insert(0, str(args.shared / "eval"))
    import score as S  # the project's scorer: its gold parser and word normalisation

    from restore import Restorer

    restorer = Restorer()
    counts = {label: [0, 0] for _, label in BANDS}
    for name in FAMILIES[args.family]:
        gold = (args.shared / "corpus" / "dev" / f"{name}.gold").read_text(encoding="utf-8")
        spun, spans = S.parse_gold(gold)
        tokens = [(m.start(), m.end()) for m in S.TOKEN.finditer(spun)]
        for edit in restorer.restore(spun, clean=False).edits:
            covered = [k for k, (a, z) in enumerate(tokens) if a < edit.end and z > edit.start]
            after = f" {S.norm(edit.after)} "
            helps = False
            for start, end, accepted, *_ in spans:
                if not covered or start > covered[-1] or end <= covered[0]:
                    continue
                if isinstance(accepted, S._Any) or any(after in f" {a} " for a in accepted):
                    helps = True
            label = next(label for floor, label in BANDS if edit.confidence >= floor)
            counts[label][0 if helps else 1] += 1
    for label, (good, bad) in counts.items():
        total = good + bad
        if total:
            print(f"{label:9s} {total:4d} edits: {good / total:.0%} help, {bad / total:.0%} hurt")


if __name__ == "__main__":
    main()
