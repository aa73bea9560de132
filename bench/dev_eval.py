"""Dev-set figures in one run, in-process (fast iteration; the CLI-based scorers give the same numbers).

Usage: python bench/dev_eval.py [--shared ../shared] [--threshold X] [--synthetic] [-v]
Prints per-file restoration figures for the gold files, totals per spinner family, and false
edits on clean controls: clean_*.txt, the body (K) lines of seed001-004.lines, and the original
side of every gold file. ``--synthetic`` adds the project's own spun articles
(bench/data/synthetic/*.gold, written without the corpus or the tables) as one more family.

The scorer counts an edit inside a multi-word gold span as wrong unless it restores the whole
span: "invoice but" (for "bill yet") restored to "bill but" is wrong twice over (the original is
missing, and the text changed). Each figure line also says how many wrong edits are such
*partial* restorations, every changed word the original's, and the totals add the error
reduction with those counted as misses only (what a reader of the text gets).

``-v`` lists each file's misses, wrong and false edits, each false edit with the line of the gold
file it is on: the gold files are aligned automatically, and some spun sentences at the start or end
of an article carry no annotation, so an edit there counts as false even where it writes the original.
"""

from __future__ import annotations

import argparse
import bisect
import dataclasses
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FAMILIES = {
    "thesaurus": [
        "seed000",
        "pair04",
        "pair06",
        "pair20",
        "pair22",
        "pair25",
        "pair27",
        "pair28",
        "pair31",
        "pair33",
        "pair34",
        "pair39",
    ],
    "blind-wordnet": ["pair03", "pair38"],
    "aggressive": ["pair37"],
    "rewriter": ["pair10"],
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--threshold", type=float, default=None)
    parser.add_argument("-v", "--verbose", action="store_true")
    parser.add_argument("--synthetic", action="store_true", help="also score bench/data/synthetic/*.gold")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a DecodeSettings field, e.g. --set min_confidence=0.8",
    )
    args = parser.parse_args()
    sys.path.insert(0, str(args.shared / "eval"))
    import score as S  # the project's scorer

    from restore import Restorer

    restorer = Restorer(threshold=args.threshold, settings=settings_from(args.set))
    dev = args.shared / "corpus" / "dev"
    synthetic = ROOT / "bench" / "data" / "synthetic"
    files = {family: [dev / f"{name}.gold" for name in names] for family, names in FAMILIES.items()}
    if args.synthetic:
        files["synthetic"] = sorted(synthetic.glob("*.gold"))
    totals: dict[str, dict[str, int]] = {}
    for family, paths in files.items():
        tot = totals.setdefault(
            family, {"certain": 0, "ok": 0, "wrong": 0, "partial": 0, "false": 0, "words": 0}
        )
        for path in paths:
            name = path.stem
            gold = path.read_text(encoding="utf-8")
            spun, _ = S.parse_gold(gold)
            result = restorer.restore(spun, clean=False)
            d = S.score(gold, result.text)
            tot["certain"] += d["certain_edits"]
            tot["ok"] += d["certain_restored"]
            partial = sum(is_partial_restoration(w, S.norm) for w in d["wrong"])
            tot["wrong"] += d["wrong_edits"]
            tot["partial"] += partial
            tot["false"] += d["false_edits"]
            tot["words"] += d["words"]
            print(
                f"{name:8s} {family:13s} recall={d['recall']:.3f} wrong={d['wrong_edits']:3d} ({partial} partial) "
                f"false={d['false_edits']:3d} ER={d['error_reduction']:+.3f} spin={result.spin_score:.3f}"
            )
            if args.verbose:
                for m in d["missed"][:40]:
                    print(f"     miss {m['spun']!r} want {m['want']!r} got {m['got']!r}")
                for m in d["wrong"]:
                    print(f"     WRONG {m['spun']!r} want {m['want']!r} got {m['got']!r}")
                places = edits_outside_gold(gold, spun, result.edits, S)
                for m in d["false"]:
                    print(f"     FALSE {m['spun']!r} -> {m['got']!r}{place_of(m, places)}")
    for family, tot in totals.items():
        if not tot["certain"]:
            continue
        rem = tot["certain"] - tot["ok"] + tot["wrong"] + tot["false"]
        print(
            f"TOTAL {family:13s} recall={tot['ok'] / tot['certain']:.3f} ER={1 - rem / tot['certain']:+.3f} "
            f"wrong={tot['wrong']} false={tot['false']} | partial={tot['partial']} "
            f"ER(partials as misses)={1 - (rem - tot['partial']) / tot['certain']:+.3f}"
        )
    controls: list[tuple[str, str]] = []
    for path in sorted(dev.glob("clean_*.txt")):
        controls.append((path.name, path.read_text(encoding="utf-8")))
    for n in range(1, 5):
        lines = (dev / f"seed00{n}.lines").read_text(encoding="utf-8").split("\n")
        body = "\n".join(line.split("\t", 1)[1] for line in lines if line.startswith("K\t")) + "\n"
        controls.append((f"seed00{n}.K", body))
    originals = [
        (path.stem, S.original_text(path.read_text(encoding="utf-8")))
        for path in sorted(dev.glob("*.gold")) + (sorted(synthetic.glob("*.gold")) if args.synthetic else [])
    ]
    own = [
        (path.stem, path.read_text(encoding="utf-8"))
        for path in sorted((ROOT / "bench" / "data" / "clean").glob("*.txt"))
    ]
    control_line("clean+K-lines", controls, restorer, S, show_all=args.verbose)
    control_line("gold originals", originals, restorer, S)
    control_line("project clean (bench/data/clean)", own, restorer, S)


def edits_outside_gold(gold: str, spun: str, edits, S) -> list[tuple[int, str, str]]:
    """(line number, the edit's words as the scorer writes them, the gold line around it) for each
    edit of the spun text that reaches outside
    the gold spans: where the scorer's false edits are, so one can read whether the gold annotates that
    sentence at all (automatic alignment leaves some spun sentences at article starts and ends bare)."""
    _, spans = S.parse_gold(gold)
    owned = set()
    for start, end, *_rest in spans:
        owned.update(range(start, end))
    token_starts = [m.start() for m in S.TOKEN.finditer(spun)]
    gold_lines = gold.split("\n")
    places = []
    for edit in edits:
        first = bisect.bisect_left(token_starts, edit.start)
        last = bisect.bisect_left(token_starts, edit.end)
        if all(k in owned for k in range(first, last)):
            continue  # wholly inside gold spans: a restoration or a wrong edit, not a false one
        line = spun.count("\n", 0, edit.start)
        at = gold_lines[line].find(edit.before) if line < len(gold_lines) else -1
        context = gold_lines[line][max(0, at - 60) : at + len(edit.before) + 40] if at >= 0 else ""
        places.append((line + 1, S.norm(edit.before), context))
    return places


def place_of(false: dict, places: list[tuple[int, str, str]]) -> str:
    """' (line N: context)' for the first unclaimed edit the scorer's false edit came from, else ''."""
    for k, (line, before, context) in enumerate(places):
        if false["spun"] and before and (false["spun"] in before or before in false["spun"]):
            del places[k]
            return f"  (line {line}: …{context}…)"
    return ""


def is_partial_restoration(wrong: dict, norm) -> bool:
    """A wrong edit over a multi-word gold span that restored some of its words and kept the rest:
    word for word, each output word is the spun word or the original's word at that place."""
    spun, want, got = norm(wrong["spun"]).split(), norm(wrong["want"]).split(), wrong["got"].split()
    if not len(spun) == len(want) == len(got) > 1 or got == spun:
        return False
    return all(g in (s, w) for s, w, g in zip(spun, want, got, strict=True))


def settings_from(assignments: list[str]):
    """DecodeSettings with ``NAME=VALUE`` overrides (the ``--set`` option), each value of its field's type."""
    from restore.decode import DecodeSettings

    fields = {f.name: f.type for f in dataclasses.fields(DecodeSettings)}
    overrides = {
        k: (int(v) if fields[k] in ("int", int) else (v == "1") if fields[k] in ("bool", bool) else float(v))
        for k, v in (i.split("=", 1) for i in assignments)
    }
    return DecodeSettings(**overrides)


def control_line(label: str, texts: list[tuple[str, str]], restorer, S, show_all: bool = False) -> None:
    """False edits on texts that must come back unchanged: one line per text that got some (or
    every text, with ``show_all``), then the total."""
    words = false = 0
    for name, text in texts:
        d = S.score(text, restorer.restore(text, clean=False).text)
        words += d["words"]
        false += d["false_edits"]
        if show_all or d["false_edits"]:
            print(f"  {label} {name:22s} words={d['words']:4d} false={d['false_edits']} {d['false'][:6]}")
    print(f"CONTROLS {label}: words={words} false={false} per1000={1000 * false / max(words, 1):.2f}")


if __name__ == "__main__":
    main()
