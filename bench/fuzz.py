"""Robustness fuzzing: mutated scraped text through the whole pipeline and every renderer.

Usage: python bench/fuzz.py [--corpus DIR] [--seed N] [--docs N]
Takes the dev corpus (spun sides of the gold files, .lines, clean controls; default
../shared/corpus/dev, else the bundled sample), mutates each pick the way scraped text comes
(chrome lines, CRLF and stray CR, double and trailing spaces, NBSP, tabs, zero-width spaces,
mojibake, capitals, truncation, emoji) and checks the invariants users rely on: no exception;
every edit's `before` is its slice of the input and applying the edits gives the text; the
unified diff applies with patch(1) byte for byte; the word diff, HTML page and JSON render;
restoring the result again changes nothing. It found the overlapping-edit, spacing and
line-ending crashes fixed in restore/edits.py and restore/render.py; run it after touching the
edit list, cleanup or rendering.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

CHROME = [
    "Share",
    "Supply hyperlink",
    "[ad_1]",
    "Advertisement",
    "Key occasions",
    "Earlier Put up",
    "Learn extra",
    "",
    "  ",
    "•",
]


def load_texts(corpus: Path) -> list[str]:
    """bench/speed.py's documents (spun gold sides and clean text, else the sample), plus .lines pages."""
    from speed import load_texts as documents

    texts = documents(corpus)
    if corpus.is_dir():
        for path in sorted(corpus.glob("*.lines")):
            raw = path.read_text(encoding="utf-8")
            texts.append("\n".join(line.split("\t", 1)[1] for line in raw.split("\n") if "\t" in line))
    return texts


REPLACEMENTS = {  # mutation -> (old, new): the first n occurrences are replaced
    "cr": ("\n", "\r  \n"),
    "nbsp": (" ", "\u00a0"),
    "tabs": (" ", "\t"),
    "zw": (" ", " \u200b"),
    "moji": ("’", "â€™"),
    "double": (" ", "  "),
    "trail": ("\n", "  \n"),
    "emoji": (". ", ". 😀 "),
}


def mutate(text: str, rng: random.Random) -> str:
    lines = text.split("\n")
    for _ in range(rng.randint(0, 6)):
        lines.insert(rng.randint(0, len(lines)), rng.choice(CHROME))
    text = "\n".join(lines)
    for op in rng.sample([*REPLACEMENTS, "crlf", "cut", "caps"], rng.randint(0, 5)):
        if op in REPLACEMENTS:
            old, new = REPLACEMENTS[op]
            text = text.replace(old, new, rng.randint(1, 20))
        elif op == "crlf":
            text = text.replace("\n", "\r\n")
        elif op == "cut":
            start = rng.randint(0, len(text))
            text = text[start : start + rng.randint(0, 2000)]
        else:
            text = text.upper()
    return text


def check(restorer, text: str) -> None:
    from restore import apply_edits
    from restore.html import render_html
    from restore.render import unified_diff, word_diff

    for clean in (True, False):
        result = restorer.restore(text, clean=clean)
        for edit in result.edits:
            assert text[edit.start : edit.end] == edit.before, edit
        assert apply_edits(text, result.edits) == result.text
        word_diff(text, result.edits, color=True)
        assert "</html>" in render_html(text, result)
        json.dumps(result.to_dict())
        again = restorer.restore(result.text, clean=clean)
        assert not [e for e in again.edits if e.kind == "restore"], "a second run restores more"
    patch = unified_diff(text, result.text, "a.txt")
    if patch and shutil.which("patch"):
        with tempfile.TemporaryDirectory() as tmp:
            target = Path(tmp) / "a.txt"
            target.write_bytes(text.encode("utf-8"))
            done = subprocess.run(
                ["patch", "-s", "-p1", "-d", tmp], input=patch.encode("utf-8"), capture_output=True
            )
            assert done.returncode == 0, done.stdout + done.stderr
            assert target.read_bytes() == result.text.encode("utf-8"), "patch gives another text"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus" / "dev")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--docs", type=int, default=200)
    args = parser.parse_args()
    from restore import Restorer

    restorer = Restorer()
    texts = load_texts(args.corpus)
    rng = random.Random(args.seed)
    failures = 0
    for i in range(args.docs):
        text = mutate(rng.choice(texts), rng)
        try:
            check(restorer, text)
        except Exception:  # noqa: BLE001 - report every kind of failure with its input
            failures += 1
            print(f"--- case {i} (seed {args.seed}): {text[:160]!r}")
            traceback.print_exc(limit=4)
    print(f"{args.docs} mutated documents, {failures} failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
