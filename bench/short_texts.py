"""Short texts: every paragraph restored on its own, as when a corpus holds paragraphs, not articles.

Usage: python bench/short_texts.py [--shared ../shared] [--set NAME=VALUE ...]

A paragraph carries much less evidence that it is spun than its article does, so the document gate
and the spin-rate estimate meet a different problem. Prints, for the paragraphs (8+ words) of the dev
gold files and the project's synthetic articles, restoration figures as score.py counts them; and for
the paragraphs (5+ words) of clean text (clean_*.txt, bench/data/clean, the original side of every gold
file but pair03, whose "original" keeps spun words the gold leaves unannotated), the false edits.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from dev_eval import settings_from  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument(
        "--set", action="append", default=[], metavar="NAME=VALUE", help="a DecodeSettings field"
    )
    args = parser.parse_args()
    sys.path.insert(0, str(args.shared / "eval"))
    import score as S  # the project's scorer

    from restore import Restorer

    restorer = Restorer(settings=settings_from(args.set))
    dev = args.shared / "corpus" / "dev"
    golds = sorted(dev.glob("*.gold")) + sorted((ROOT / "bench" / "data" / "synthetic").glob("*.gold"))

    certain = restored = wrong = false = spun_paragraphs = judged = 0
    for path in golds:
        for paragraph in path.read_text(encoding="utf-8").split("\n"):
            if len(paragraph.split()) < 8 or "=>" not in paragraph:
                continue
            spun, _ = S.parse_gold(paragraph)
            result = restorer.restore(spun, clean=False)
            d = S.score(paragraph, result.text)
            spun_paragraphs += 1
            judged += result.judged_spun
            certain += d["certain_edits"]
            restored += d["certain_restored"]
            wrong += d["wrong_edits"]
            false += d["false_edits"]
    er = 1 - (certain - restored + wrong + false) / certain
    print(
        f"spun paragraphs: {spun_paragraphs} ({judged} judged spun), recall={restored / certain:.3f} "
        f"wrong={wrong} false={false} ER={er:+.3f}"
    )

    clean = [p.read_text(encoding="utf-8") for p in sorted(dev.glob("clean_*.txt"))]
    clean += [
        p.read_text(encoding="utf-8") for p in sorted((ROOT / "bench" / "data" / "clean").glob("*.txt"))
    ]
    clean += [S.original_text(p.read_text(encoding="utf-8")) for p in golds if p.stem != "pair03"]
    words = edits = paragraphs = 0
    for text in clean:
        for paragraph in text.split("\n"):
            if len(paragraph.split()) < 5:
                continue
            paragraphs += 1
            words += len(paragraph.split())
            edits += sum(e.kind == "restore" for e in restorer.restore(paragraph, clean=False).edits)
    print(
        f"clean paragraphs: {paragraphs}, {words} words, false edits={edits} per1000={1000 * edits / words:.2f}"
    )


if __name__ == "__main__":
    main()
