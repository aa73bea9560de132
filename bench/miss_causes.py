"""Why the engine misses what it misses on the dev set: a diagnostic for deciding what to work on.

Usage: python bench/miss_causes.py [--shared ../shared] [--family thesaurus] [-v]

Every certain gold edit the engine did not restore falls in one class:
  no-lattice    no candidate at all in its clause (no table knows the spun words)
  absent        candidates exist, but no sequence of them spells the original
  pruned        the original's arcs exist but were pruned before decoding (with the
                clause's whole lattice, when pruning left it no alternative)
  lost          the lattice can spell the original and the decoder preferred something else;
                "deficit" is how many nats the best reading beats the forced gold reading by,
                with every term of the final decode (the topic term included); small deficits
                are decision problems (LM and weights), large ones are the LM
Restored-but-wrong spans are counted by bench/dev_eval.py; this looks at misses only.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from dev_eval import FAMILIES  # noqa: E402


def spellings(arcs, a: int, b: int) -> set[str]:
    """Every text the arcs in [a, b) can spell along a path from a to b."""
    outs: dict[int, set[str]] = {a: {""}}
    for k in range(a, b):
        for prefix in outs.get(k, ()):
            for arc in arcs[k]:
                if arc.end <= b:
                    outs.setdefault(arc.end, set()).add((prefix + " " + arc.key).strip())
    return outs.get(b, set())


def forced_score(restorer, sent, cost, a: int, b: int, want: set[str]) -> float:
    """Best score of a reading of the sentence that spells one of ``want`` over tokens [a, b)."""
    from restore.decode import decode_sentence

    best = -float("inf")
    for arc in [x for x in sent.arcs[a] if not x.is_keep and x.end == b and x.key in want]:
        arcs = [list(out) for out in sent.arcs]
        arcs[a] = [arc]
        for k in range(a):
            arcs[k] = [x for x in arcs[k] if x.end <= a]
        for k in range(a + 1, b):
            arcs[k] = []
        score, _ = decode_sentence(arcs, restorer.lm, cost, lm_weight=restorer.settings.lm_weight)
        best = max(best, score)
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--family", default="thesaurus", choices=sorted(FAMILIES))
    parser.add_argument("-v", "--verbose", action="store_true", help="list every miss with its class")
    args = parser.parse_args()
    sys.path.insert(0, str(args.shared / "eval"))
    import score as S  # the project's scorer

    from restore import Restorer
    from restore.channel import normalise
    from restore.lattice import build_lattice
    from restore.tokenize import sentences

    pipeline = Restorer()
    restorer = pipeline.span_restorer  # the same engine: tables and LM loaded once
    classes: Counter = Counter()
    deficits: list[float] = []
    for name in FAMILIES[args.family]:
        gold = (args.shared / "corpus" / "dev" / f"{name}.gold").read_text(encoding="utf-8")
        spun, edits = S.parse_gold(gold)
        missed = Counter(
            (m["spun"], m["want"]) for m in S.score(gold, pipeline.restore(spun, clean=False).text)["missed"]
        )
        model = restorer.model_document(spun)
        rescored = restorer.rescore(spun, model)  # the topic term (or a masked/causal LM), as restore() adds
        words = list(re.finditer(r"\w+", spun))
        # the clauses the lattices were built on (model_document cuts them the same way)
        clauses = [model.tokens[c:d] for c, d in sentences(model.tokens)]
        for i, j, accepted, certain, spun_text, first in edits:
            if not certain or accepted is S.ANY or not missed[(spun_text, first)]:
                continue
            missed[(spun_text, first)] -= 1
            start, end = words[i].start(), words[j - 1].end()
            sent = next(
                (s for s in model.lattices if s.tokens[0].start <= start and end <= s.tokens[-1].end), None
            )
            # its clause, also when pruning left it no alternative (and so no lattice)
            clause = next((c for c in clauses if c[0].start <= start and end <= c[-1].end), None)
            want = {normalise(alt) for alt in accepted}
            deficit = None
            kind = "no-lattice"
            if clause is not None:
                a = next(k for k, t in enumerate(clause) if t.end > start)
                b = next(k for k, t in enumerate(clause) if t.end >= end) + 1
                if sent is not None and spellings(sent.arcs, a, b) & want:
                    cost = restorer.cost_fn(sent, model.rates, rescored)
                    best, _ = sent.decode(restorer.lm, cost, lm_weight=restorer.settings.lm_weight)
                    forced = forced_score(restorer, sent, cost, a, b, want)
                    kind = "lost"
                    if forced > -float("inf"):
                        deficit = best - forced
                        deficits.append(deficit)
                elif spellings(build_lattice(clause, restorer.tables), a, b) & want:
                    kind = "pruned"
                elif sent is not None:
                    kind = "absent"
            classes[kind] += 1
            if args.verbose:
                shown = f" deficit {deficit:.2f}" if deficit is not None else ""
                print(f"  {name:8s} {kind:10s} {spun_text!r} -> {first!r}{shown}")
    total = sum(classes.values())
    print(
        f"{args.family}: {total} missed certain edits: "
        + ", ".join(f"{k} {v}" for k, v in classes.most_common())
    )
    if deficits:
        deficits.sort()
        within = [sum(d < cut for d in deficits) for cut in (0.5, 1.0, 2.0)]
        print(
            f"lost by one arc, deficit (nats): median {deficits[len(deficits) // 2]:.2f}; "
            f"< 0.5: {within[0]}, < 1: {within[1]}, < 2: {within[2]} of {len(deficits)}"
        )


if __name__ == "__main__":
    main()
