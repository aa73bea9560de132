"""Benchmark `restore batch`: words/s with 1 and 2 workers, the speed-up, and peak memory per worker.

Usage: python bench/batch_bench.py [--words 1000000] [--restore-words 30000] [--workers 1,2] [--keep DIR]

Builds a JSON Lines corpus of at least ``--words`` words from news-like texts generated here (the
sentence templates and the small synonym spinner below were written for this project; a third of
the articles are spun, and every article carries some site chrome). Then it runs `restore batch`
on it as a user would (a subprocess per run) and reads each run's ``--report``:

* ``clean``: `--no-restore` on the whole corpus (cleanup only: fast, so it also measures the
  batch machinery: reading, IPC, ordering, writing);
* ``full``: clean + restore on the first ``--restore-words`` words (the engine is the cost;
  give ``--restore-words`` = ``--words`` for a full-size run, which takes hours on one core).

words/s counts input words over the whole run, worker start-up and model loading included.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PLACES = ["Northfield", "the harbour district", "Eastbrook", "the river valley", "Millbridge", "Westport"]
GROUPS = ["the city council", "the school board", "the transport authority", "the health trust"]
PEOPLE = ["the mayor", "the council leader", "a local official", "the board chair", "a spokesperson"]
TOPICS = ["the new budget", "the bus timetable", "the bridge repairs", "the housing plan", "the water supply"]
DAYS = ["on Monday", "on Tuesday", "on Wednesday", "on Thursday", "on Friday", "last week"]
TEMPLATES = [
    "{group} said {day} that it could delay a vote on {topic} until next month.",
    "Officials told reporters that the party leaders were trying to reach an agreement before the end of the year.",
    '"We need more time to find solutions that work for every family," {person} said in a phone call.',
    "The proposal would also increase spending on health services and public transport in {place}.",
    "Business groups say the bill could hurt small shops at a difficult time for the economy.",
    "Residents of {place} raised concerns about rising property taxes at a meeting {day}.",
    "{person} said the current plan will remain in place until the council meets again.",
    "The report found that the number of people using {topic_short} had grown by a quarter since spring.",
    "Critics argued that {group} had not explained how {topic} would be paid for.",
    "A survey of households in {place} showed strong support for faster repairs to local roads.",
    "{group} is expected to publish a full account of the costs before the summer.",
    "Local news outlets reported that the talks had stalled over the price of new equipment.",
    "Teachers in {place} welcomed the decision but warned that more staff would be needed.",
    "The minister said the government would review the rules after hearing from residents.",
    "Several shop owners said they had seen fewer customers since the works began {day}.",
    "{person} told a public meeting that the first stage of the work should finish in the autumn.",
]
CHROME = ["Share this article", "Follow us on social media", "Related stories", "{site} Morning Briefing"]
# A small spinner of our own: the blind synonym swaps article spinners make.
SPIN = {
    "said": "mentioned",
    "city": "metropolis",
    "phone call": "telephone name",
    "new": "brand new",
    "next": "subsequent",
    "until": "till",
    "concerns": "issues",
    "officials": "officers",
    "told": "informed",
    "party": "get together",
    "trying": "making an attempt",
    "reach": "achieve",
    "agreement": "settlement",
    "end": "top",
    "year": "yr",
    "need": "want",
    "more": "extra",
    "find": "seek out",
    "every": "each",
    "family": "household",
    "local": "native",
    "news": "information",
    "outlets": "shops",
    "increase": "enhance",
    "services": "companies",
    "strong": "robust",
    "business": "enterprise",
    "groups": "teams",
    "bill": "invoice",
    "hurt": "damage",
    "difficult": "troublesome",
    "economy": "economic system",
    "expected": "predicted",
    "current": "present",
    "remain": "stay",
    "before": "earlier than",
    "people": "individuals",
}


def spin(text: str, rng: random.Random, rate: float = 0.7) -> str:
    for original in sorted(SPIN, key=len, reverse=True):
        if original in text and rng.random() < rate:
            text = text.replace(f" {original} ", f" {SPIN[original]} ")
    return text


def article(rng: random.Random, site: str, spun: bool) -> str:
    paragraphs = []
    for _ in range(rng.randint(6, 10)):
        sentences = []
        for _ in range(rng.randint(2, 4)):
            t = rng.choice(TEMPLATES)
            s = t.format(
                group=rng.choice(GROUPS),
                day=rng.choice(DAYS),
                topic=rng.choice(TOPICS),
                topic_short=rng.choice(TOPICS).removeprefix("the "),
                person=rng.choice(PEOPLE),
                place=rng.choice(PLACES),
            )
            sentences.append(s[0].upper() + s[1:])
        paragraphs.append(" ".join(sentences))
    body = "\n\n".join(paragraphs)
    if spun:
        body = spin(body, rng)
    chrome = [c.format(site=site) for c in rng.sample(CHROME, 2)]
    return f"{chrome[0]}\n\n{body}\n\n{chrome[1]}\n"


def build_corpus(path: Path, words: int, seed: int = 7) -> tuple[int, int]:
    rng = random.Random(seed)
    total = docs = 0
    with open(path, "w", encoding="utf-8") as fh:
        while total < words:
            site = rng.choice(["Valley Courier", "Harbour Gazette", "Eastbrook Times"])
            spun = docs % 3 == 0
            text = article(rng, site, spun)
            total += len(text.split())
            fh.write(
                json.dumps({"id": f"doc{docs:07d}", "site": site, "spun_by_bench": spun, "text": text}) + "\n"
            )
            docs += 1
    return total, docs


def prefix(src: Path, dst: Path, words: int) -> int:
    total = 0
    with open(src, encoding="utf-8") as fin, open(dst, "w", encoding="utf-8") as fout:
        for line in fin:
            if total >= words:
                break
            total += len(json.loads(line)["text"].split())
            fout.write(line)
    return total


def idle_fraction(seconds: float = 2.0) -> float:
    """Share of all cores idle over ``seconds`` (from /proc/stat; 1.0 where it is missing)."""

    def sample() -> tuple[int, int]:
        with open("/proc/stat", encoding="ascii") as fh:
            values = [int(v) for v in fh.readline().split()[1:]]
        return values[3] + values[4], sum(values)  # idle + iowait, total

    try:
        idle0, total0 = sample()
        time.sleep(seconds)
        idle1, total1 = sample()
    except OSError:
        return 1.0
    return (idle1 - idle0) / max(1, total1 - total0)


def wait_for_idle(limit: float) -> float:
    """Wait (up to ``limit`` seconds) until the machine is at least 90% idle; return the idle share."""
    deadline = time.monotonic() + limit
    idle = idle_fraction()
    while idle < 0.9 and time.monotonic() < deadline:
        idle = idle_fraction(5.0)
    return idle


def run(corpus: Path, out: Path, workers: int, extra: list[str]) -> dict:
    report = out.with_suffix(".report.json")
    cmd = [sys.executable, "-c", "from cli import main; main()", "batch", str(corpus), str(out)]
    cmd += ["--workers", str(workers), "--progress", "none", "--report", str(report), "--force", *extra]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)  # the run and its workers, once reaped
    if proc.returncode != 0:
        raise SystemExit(f"restore batch failed ({proc.returncode}):\n{proc.stderr}")
    rep = json.loads(report.read_text(encoding="utf-8"))
    rep["wall"] = wall
    rep["cpu"] = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return rep


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--words", type=int, default=1_000_000)
    ap.add_argument("--restore-words", type=int, default=30_000)
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--keep", type=Path, help="build the corpus and outputs here (kept)")
    ap.add_argument(
        "--wait-idle",
        type=float,
        default=0,
        help="before each run, wait up to N s for the machine to be idle",
    )
    args = ap.parse_args()
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="restore-batch-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    corpus = workdir / "corpus.jsonl"
    words, docs = build_corpus(corpus, args.words)
    print(f"corpus: {words:,} words in {docs:,} articles ({corpus.stat().st_size / 1e6:.1f} MB), {corpus}")
    modes = [("clean", corpus, words, ["--no-restore"])]
    if args.restore_words:
        small = workdir / "corpus-restore.jsonl"
        n = prefix(corpus, small, args.restore_words)
        modes.append(("full", small, n, []))
    counts = [int(w) for w in args.workers.split(",")]
    print("other processes on the machine skew wall-clock figures: see 'idle before' and 'on CPU'")
    head = f"{'mode':<6} {'workers':>7} {'words':>10} {'seconds':>8} {'words/s':>9} {'speed-up':>8}"
    print(f"{head} {'CPU s':>7} {'CPU/wall':>8}  peak RSS MB", flush=True)
    results = {}
    for mode, path, _words, extra in modes:
        base = None
        for w in counts:
            idle = wait_for_idle(args.wait_idle) if args.wait_idle else idle_fraction()
            rep = run(path, workdir / f"out-{mode}-{w}.jsonl", w, extra)
            rate = rep["words"] / rep["wall"]
            base = base or rate
            peaks = rep["peak_rss_mb"]
            workers = list(peaks["workers"].values()) or [peaks["main"]]
            mem = f"main {peaks['main']:.0f}, per worker max {max(workers):.0f}"
            busy = rep["worker_busy_seconds"].values()
            cpu = rep["worker_cpu_seconds"].values()
            # How much of the run the workers spent in batches, and how much CPU they got meanwhile:
            # busy near 100% with CPU well below it means other processes held the cores.
            share = f"workers busy {sum(busy) / (w * rep['session_seconds']):.0%}, on CPU {sum(cpu) / max(1e-9, sum(busy)):.0%}"
            mem = f"{mem}; {share}; machine idle before: {idle:.0%}"
            line = (
                f"{mode:<6} {w:>7} {rep['words']:>10,} {rep['wall']:>8.1f} {rate:>9,.0f} {rate / base:>7.2f}x"
            )
            print(f"{line} {rep['cpu']:>7.1f} {rep['cpu'] / rep['wall']:>8.2f}  {mem}", flush=True)
            results[f"{mode}-{w}"] = {
                "words_per_second": round(rate, 1),
                "seconds": round(rep["wall"], 2),
                "cpu_seconds": round(rep["cpu"], 2),
                "idle_before": round(idle, 2),
                **peaks,
            }
    (workdir / "bench.json").write_text(json.dumps(results, indent=1), encoding="utf-8")
    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
