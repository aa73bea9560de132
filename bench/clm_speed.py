"""Speed of the causal-LM stage: words/s of spun text through ``Restorer(clm=True)``.

Usage: python bench/clm_speed.py [--repeats N] [--limit N]
Reads only bundled text (samples/spun_article.txt and the spun sides of
bench/data/synthetic/*.gold), after a warm-up that loads the model. Reports the best of
``--repeats`` passes in wall-clock and in CPU time: the machine is shared, and CPU time is the
steadier figure for comparing two versions back to back. The model runs in bfloat16 where the CPU
has bf16 units and in float32 elsewhere; ``RESTORE_FP32=1`` measures float32 on such a CPU too.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from speed import MARK  # noqa: E402  (bench/speed.py: the {spun=>orig} markup)


def load_texts() -> list[str]:
    """The bundled sample and the spun side of every synthetic gold file."""
    texts = [(ROOT / "samples" / "spun_article.txt").read_text(encoding="utf-8")]
    for path in sorted((ROOT / "bench" / "data" / "synthetic").glob("*.gold")):
        texts.append(MARK.sub(lambda m: m.group(1), path.read_text(encoding="utf-8")))
    return texts


def best_pass(texts: list[str], repeats: int) -> tuple[float, float, str]:
    """(wall seconds, CPU seconds) of the fastest of ``repeats`` passes over ``texts``, each the best of
    its kind, and the dtype the model ran in (bfloat16 where the CPU has bf16 units: restore/cpu.py)."""
    from restore import Restorer

    restorer = Restorer(clm=True)
    restorer.restore("In a telephone name on Sunday, the minister mentioned the invoice.", clean=False)
    dtype = str(restorer.span_restorer.reader.model.dtype).removeprefix("torch.")
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        for text in texts:
            restorer.restore(text, clean=False)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return min(walls), min(cpus), dtype


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--limit", type=int, default=None, help="only the first N texts")
    args = parser.parse_args()
    texts = load_texts()[: args.limit]
    words = sum(len(t.split()) for t in texts)
    wall, cpu, dtype = best_pass(texts, args.repeats)
    print(
        f"clm ({dtype}): {words / wall:,.1f} words/s wall, {words / cpu:,.1f} words/s CPU "
        f"({len(texts)} texts, {words:,} words, best of {args.repeats}: {wall:.1f} s wall, {cpu:.1f} s CPU)"
    )


if __name__ == "__main__":
    main()
