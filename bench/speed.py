"""Speed figures for the default scorer: words/s on one core, and `restore fix` start-up time.

Usage: python bench/speed.py [--corpus DIR] [--seconds N]
The corpus defaults to ../shared/corpus/dev (spun sides of the gold files, the clean
controls and the spun-only article); without it, the bundled sample is used.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MARK = re.compile(r"\{([^{}]*?)(=>|~>)([^{}]*)\}")


def load_texts(corpus: Path) -> list[str]:
    if not corpus.is_dir():
        return [(ROOT / "samples" / "spun_article.txt").read_text(encoding="utf-8")]
    texts = []
    for path in sorted(corpus.iterdir()):
        if path.suffix == ".gold":
            texts.append(MARK.sub(lambda m: m.group(1), path.read_text(encoding="utf-8")))
        elif path.suffix == ".txt":
            texts.append(path.read_text(encoding="utf-8"))
    return texts


def throughput(texts: list[str], seconds: float) -> tuple[float, float, int, int]:
    """(words per wall-clock second, words per CPU second, words per pass, passes).

    CPU time leaves out the time the process waited for a core, so the two differ when other
    processes share it. A busy host under a virtual machine slows both alike (today both read
    4,208 words/s in one run and about 6,000 in the next): compare versions back to back.
    """
    from restore import Restorer

    restorer = Restorer()
    restorer.restore("Warm up the tables and the model.", clean=False)
    words = sum(len(t.split()) for t in texts)
    runs, start, cpu_start = 0, time.perf_counter(), time.process_time()
    while True:
        for text in texts:
            restorer.restore(text, clean=False)
        runs += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            cpu = time.process_time() - cpu_start
            return words * runs / elapsed, words * runs / cpu, words, runs


def unpunctuated(words: int = 5000) -> float:
    """Words/s on one long run with no punctuation (a scraped list, a stripped transcript).

    The decoder's cost per clause grows with the square of its length, so such a run must be
    cut into pieces (tokenize.MAX_CLAUSE_TOKENS); this checks it stays near the normal rate.
    """
    import random

    from restore import Restorer

    vocab = (
        "the minister mentioned a soiled bomb in a telephone name on sunday and officials "
        "stated the invoice had been handed to the home after the get together"
    ).split()
    rng = random.Random(0)
    text = " ".join(rng.choice(vocab) for _ in range(words)) + "\n"
    restorer = Restorer()
    restorer.restore("Warm up the tables and the model.", clean=False)
    t0 = time.perf_counter()
    restorer.restore(text, clean=False)
    return words / (time.perf_counter() - t0)


LONG_RUNS = {  # what scraped pages hold that no article does; each must cost linear time
    "base64 image": "data:image/png;base64," + "QUJD" * 25000,
    "one long word": "a" * 100000,
    "hyphen chain": "x-" * 50000,
    "dotted chain": "ab." * 33000,
    "@ chain": "a@" * 50000,
    "space run": " " * 50000 + "\t" * 50000,
    "blank lines": "\n" * 100000,
    "unclosed quotes": "“" * 100000,
    "entities": "&amp;" * 20000,
    "mojibake": "Ã©" * 50000,
}


def long_runs() -> dict[str, float]:
    """Seconds for a full clean-and-restore of a short spun text around each 100,000-character run.

    A pattern that backtracks turns such a run into minutes (a trailing-space rule once took
    42 s on 100,000 spaces); every case here should take about a second or less.
    """
    from restore import Restorer

    restorer = Restorer()
    restorer.restore("Warm up the tables and the model.")
    prose = "Officers mentioned the soiled bomb claims were false. "
    seconds = {}
    for name, run in LONG_RUNS.items():
        t0 = time.perf_counter()
        restorer.restore(prose + run + " " + prose)
        seconds[name] = time.perf_counter() - t0
    return seconds


def startup(repeats: int = 5) -> float:
    exe = Path(sys.executable).with_name("restore")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-c", "from cli import main; main()"]
    cmd += ["fix", "--diff", "none"]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    subprocess.run(cmd, input="Warm the table cache.\n", text=True, capture_output=True, env=env, check=True)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run(
            cmd,
            input="In a telephone name on Sunday, the minister mentioned the talks had failed.\n",
            text=True,
            capture_output=True,
            env=env,
            check=True,
        )
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus" / "dev")
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))}) if hasattr(os, "sched_setaffinity") else None
    texts = load_texts(args.corpus)
    rate, cpu_rate, words, runs = throughput(texts, args.seconds)
    print(
        f"throughput: {rate:,.0f} words/s on one core, {cpu_rate:,.0f} words per CPU second "
        f"({len(texts)} documents, {words:,} words, {runs} passes)"
    )
    print(f"unpunctuated: {unpunctuated():,.0f} words/s on one 5,000-word run without punctuation")
    print(f"start-up:   {startup():.2f} s for `restore fix` on a one-line input (median of 5)")
    runs = long_runs()
    print(
        f"long runs:  {max(runs.values()):.2f} s at worst ({max(runs, key=runs.get)}) for a 100,000-character "
        "run inside a spun text: " + ", ".join(f"{k} {v:.2f}" for k, v in runs.items())
    )


if __name__ == "__main__":
    main()
