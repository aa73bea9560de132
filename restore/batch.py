"""`restore batch`: clean and restore a corpus (a file or a directory tree), in parallel and resumably.

One reader streams the records of every source (input file) in a fixed order; batches of texts go
to a pool of worker processes, each with its own :class:`~restore.Restorer` (built once, in the
pool initializer); results come back in input order and are appended to a hidden partial file per
source, renamed over the final name when the source is complete. Every couple of seconds a
checkpoint makes the partial files durable (fsync) and records how far the run got; ``--resume``
truncates whatever was written after the last checkpoint and carries on from there, so every
record is written exactly once. A record that fails goes to ``OUTPUT.errors.jsonl`` and the run
goes on. Memory is bounded: at most a few batches per worker are in flight.

Corpus evidence for cleanup: before the records of a source are processed, a sample of its first
``evidence_sample`` records is read and :class:`restore.clean.RepeatedLines` learns which short
lines recur across its documents (per site with ``source_field``; per directory for .txt trees).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import pickle
import re
import resource
import shutil
import signal
import sys
import time
from collections import defaultdict, deque
from collections.abc import Iterator
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath

from .errors import EXIT_INTERRUPTED, EXIT_RECORDS_FAILED, InputError, OutputError, RestoreError, UsageError
from .formats import (
    ErrorLog,
    Output,
    ReadOptions,
    Record,
    ResumePoint,
    SourceMeta,
    Writer,
    check_support,
    detect_format,
    open_writer,
    partial_path,
    read_records,
    safe_relpath,
    sidecar_path,
)
from .textio import check_writable

STATE_VERSION = 1
MIN_EVIDENCE_DOCS = 5  # a group needs this many sampled documents before its repeats count
TEST_HOOKS_ENV = "RESTORE_BATCH_TEST_HOOKS"  # JSON; tests only: {"delay": s, "raise_on": str, "die_on": str}


@dataclass
class BatchOptions:
    text_field: str = "text"
    id_field: str = "id"
    source_field: str | None = None
    encoding: str = "utf-8"
    clean: bool = True
    restore: bool = True
    only_spun: bool = False
    threshold: float | None = None
    remove_bylines: bool = False
    remove_captions: bool = False
    evidence_sample: int = 1000
    workers: int | None = None
    resume: bool = False
    force: bool = False
    report: Path | None = None
    progress: str = "auto"  # auto | bar | plain | none
    model: str | None = None  # a fill-mask model for the masked-LM stage (restore/mlm.py)
    clm: bool = False  # the causal-LM stage (restore/clm.py)
    html: Path | None = None  # write a review page per written document into this directory
    device: str = "auto"
    progress_interval: float = 10.0
    checkpoint_interval: float = 2.0
    batch_chars: int = 200_000  # upper bound; batches are sized for ~0.5 s of work
    batch_docs: int = 64

    def fingerprint(self) -> dict:
        """The options a resumed run must share with the run it continues."""
        keys = ("text_field", "id_field", "source_field", "encoding", "clean", "restore", "only_spun")
        keys += ("threshold", "remove_bylines", "remove_captions", "evidence_sample", "model", "clm")
        return {k: getattr(self, k) for k in keys}


@dataclass
class Source:
    path: Path
    rel: str  # posix path relative to INPUT (the file name for a single-file INPUT)
    fmt: str
    size: int
    mtime_ns: int
    final: Path  # where its output goes


@dataclass
class Counters:
    documents: int = 0  # records read (processed or failed)
    restored: int = 0  # processed without error
    written: int = 0
    spun: int = 0
    failed: int = 0
    words: int = 0
    edits: int = 0
    seconds: float = 0.0  # processing time over all sessions of this run


@dataclass
class Summary:
    counters: Counters
    sources: int
    errors_file: Path | None
    report: dict = field(default_factory=dict)
    interrupted: bool = False

    @property
    def exit_code(self) -> int:
        if self.interrupted:
            return EXIT_INTERRUPTED
        return EXIT_RECORDS_FAILED if self.counters.failed else 0


# --------------------------------------------------------------------------- sources and paths


def find_sources(input_path: Path, output: Path) -> tuple[list[Source], int]:
    """The input files in a fixed order, and how many files of other kinds were ignored."""
    if not input_path.exists():
        raise InputError(f"restore: {input_path}: no such file or directory")
    if input_path.is_file():
        fmt = detect_format(input_path)
        if fmt is None:
            raise InputError(f"restore: {input_path}: not a .txt, .jsonl, .jsonl.gz, .csv or .parquet file")
        st = input_path.stat()
        return [Source(input_path, input_path.name, fmt, st.st_size, st.st_mtime_ns, output)], 0
    sources, ignored = [], 0
    # Linked directories are followed, like linked files (a shard on another disk is part of the
    # corpus, and was silently left out); a directory reached twice, or a loop, is read once,
    # and a link to OUTPUT is not read at all.
    seen: set[Path] = set()
    out_real = output.resolve()
    for root, dirs, files in os.walk(input_path, followlinks=True):
        real = Path(root).resolve()
        if real in seen or real == out_real or out_real in real.parents:
            dirs[:] = []
            continue
        seen.add(real)
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.startswith("."):
                continue
            path = Path(root) / name
            fmt = detect_format(name)
            if fmt is None or not path.is_file():
                ignored += 1
                continue
            rel = path.relative_to(input_path).as_posix()
            st = path.stat()
            sources.append(Source(path, rel, fmt, st.st_size, st.st_mtime_ns, output / safe_relpath(rel)))
    sources.sort(key=lambda s: s.rel)
    return sources, ignored


def _check_paths(input_path: Path, output: Path) -> None:
    src, dst = input_path.resolve(), output.resolve()
    if src == dst:
        raise UsageError("restore: OUTPUT is INPUT; inputs are never modified, pick another OUTPUT")
    if src in (errors_path(output).resolve(), state_path(output).resolve()):  # they would replace it
        raise UsageError(
            f"restore: INPUT is where OUTPUT's errors or state go; pick another OUTPUT than {output}"
        )
    if input_path.is_dir() and (dst == src or src in dst.parents):
        raise UsageError("restore: OUTPUT is inside the INPUT directory; pick a path outside it")
    if dst in src.parents:  # --force would clear it away with the earlier output
        raise UsageError("restore: INPUT is inside OUTPUT; pick an OUTPUT outside it")
    if input_path.is_dir() and output.exists() and not output.is_dir():
        raise UsageError(f"restore: {output}: INPUT is a directory, so OUTPUT must be one too")
    if input_path.is_file() and output.is_dir():
        raise UsageError(f"restore: {output}: is a directory; INPUT is a file, so OUTPUT names a file")
    _check_output_format(input_path, output)


def _check_output_format(input_path: Path, output: Path) -> None:
    """Refuse a file OUTPUT named for another format: the output is always in INPUT's format, so
    `in.jsonl.gz out.jsonl` would write gzip bytes into a .jsonl file (and `in.jsonl out.csv` JSON)."""
    if not input_path.is_file():
        return
    fmt, wanted = detect_format(input_path), detect_format(output)
    if fmt is not None and wanted is not None and wanted != fmt:
        raise UsageError(
            f"restore: {output}: OUTPUT must have the same format as INPUT (.{fmt}); "
            "batch writes the input's format"
        )


def _check_report(input_path: Path, output: Path, report: Path | None) -> None:
    """Refuse a --report path that is the input (or inside an input directory), the output or the
    errors file: the report is written last and over whatever is there, so `--report in.jsonl`
    replaced the input with the report."""
    if report is None:
        return
    where, src = Path(report).resolve(), input_path.resolve()
    if where == src or (input_path.is_dir() and src in where.parents):
        raise UsageError(f"restore: --report {report}: is an input; inputs are never modified")
    if where in (output.resolve(), errors_path(output).resolve()):
        raise UsageError(f"restore: --report {report}: is where the output goes; pick another path")


def state_path(output: Path) -> Path:
    return output.with_name(f".{output.name}.restore-state.json")


def errors_path(output: Path) -> Path:
    return output.with_name(f"{output.name}.errors.jsonl")


WRITTEN = ".restore-written"  # in a directory OUTPUT: every output path a run opened, one JSON string a line


class _Written:
    """``OUTPUT/.restore-written``: the outputs a run into a directory OUTPUT opens, each recorded
    before it is created (so even a killed run's files are listed); --force removes exactly these."""

    def __init__(self, output: Path, fresh: bool):
        self.output = output
        self.seen = set() if fresh else _read_written(output)
        self.fh = open(output / WRITTEN, "w" if fresh else "a", encoding="utf-8")  # noqa: SIM115

    def add(self, final: Path) -> None:
        try:
            rel = Path(os.path.abspath(final)).relative_to(self.output).as_posix()
        except ValueError:  # not in OUTPUT: a page of an --html directory elsewhere
            return
        if rel not in self.seen:
            self.seen.add(rel)
            self.fh.write(json.dumps(rel) + "\n")
            self.fh.flush()

    def close(self) -> None:
        self.fh.close()


def _read_written(output: Path) -> set[str]:
    try:
        lines = (output / WRITTEN).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return set()
    rels = set()
    for line in lines:
        try:
            rels.add(json.loads(line))
        except ValueError:  # a line cut short by a kill: its file was never created
            pass
    return rels


def _earlier_output(output: Path, input_path: Path) -> list[Path]:
    """What earlier runs wrote into the directory OUTPUT, for --force to remove: each recorded
    output, its ``.restore.json`` sidecar and the hidden partial, parts and temporary files named
    after it. Raises UsageError, before anything is removed, if OUTPUT holds anything else (a
    file of the user's, a link, or the output of a run that kept no record) or the input."""
    by_dir: dict[str, set[str]] = defaultdict(set)
    for rel in _read_written(output):
        name = PurePosixPath(rel).name
        by_dir[PurePosixPath(rel).parent.as_posix()].update((name, sidecar_path(Path(name)).name))
    out_real, source = output.resolve(), input_path.resolve()
    owned, foreign = [], []
    for root, dirs, files in os.walk(output):  # links are not followed
        here = Path(root).relative_to(output)
        mine = by_dir.get(here.as_posix(), set())
        for name in list(dirs):
            path = Path(root) / name
            if path.is_symlink() or name.startswith("."):  # a link, or a writer's parts directory
                dirs.remove(name)
                ok = _made_by_run(path, out_real / here / name, mine, source)
                (owned if ok else foreign).append(path)
        for name in files:
            path = Path(root) / name
            ok = _made_by_run(path, out_real / here / name, mine, source) or (
                here == Path(".") and name == WRITTEN
            )
            (owned if ok else foreign).append(path)
    if foreign:
        names = ", ".join(p.relative_to(output).as_posix() for p in foreign[:3])
        more = f" and {len(foreign) - 3} more" if len(foreign) > 3 else ""
        raise UsageError(
            f"restore: {output}: --force removes only what restore batch recorded writing there, "
            f"and it also holds {names}{more}: move those away or pick another OUTPUT"
        )
    return owned


def _made_by_run(path: Path, real: Path, mine: set[str], source: Path) -> bool:
    """Whether ``path`` (really at ``real``) is one of ``mine``, the outputs recorded in its
    directory and their sidecars, or a hidden file named after one; never a link or the input."""
    if path.is_symlink() or real == source or real in source.parents:
        return False
    name = path.name
    return name in mine or (name.startswith(".") and any(name.startswith(f".{m}.") for m in mine))


def _remove_earlier_output(output: Path, owned: list[Path]) -> None:
    """Remove what _earlier_output() found, then the directories that are left empty by it."""
    emptied = set()
    for path in owned:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
        emptied.update(p for p in path.parents if output in p.parents)
    for directory in sorted(emptied, key=lambda p: len(p.parts), reverse=True):
        try:
            directory.rmdir()
        except OSError:  # not empty: something of this run's or the user's is in it
            pass


def _inputs_digest(sources: list[Source]) -> str:
    h = hashlib.sha256()
    for s in sources:
        h.update(f"{s.rel}\0{s.size}\0{s.mtime_ns}\n".encode("utf-8", "surrogateescape"))
    return h.hexdigest()


def _write_json_atomic(path: Path, obj: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(obj, fh, ensure_ascii=False, indent=1)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


# --------------------------------------------------------------------------- the worker side

_worker: dict = {}


def _init_worker(config: dict) -> None:
    """Pool initializer: one Restorer per process, resources loaded once, before the first batch."""
    if config.get("in_pool"):
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and stops the pool
        _exit_with_parent()
        if config.get("torch_threads"):
            # torch (--clm, --model) starts a thread per core in every worker: with a worker per core
            # they fight over the cores; one thread each does the same work in less CPU time
            os.environ.setdefault("OMP_NUM_THREADS", str(config["torch_threads"]))
    from .clean import CleanOptions
    from .pipeline import Restorer

    keys = ("threshold", "remove_bylines", "remove_captions", "model", "device", "clm")
    previous = _worker.get("config") or {}
    restorer = _worker.get("restorer")
    if restorer is None or any(previous.get(k) != config[k] for k in keys):  # reused in-process
        restorer = Restorer(
            threshold=config["threshold"],
            clean_options=CleanOptions(
                remove_bylines=config["remove_bylines"], remove_captions=config["remove_captions"]
            ),
            model=config["model"],
            device=config["device"],
            clm=config["clm"],
        )
    if config["restore"]:
        restorer.span_restorer  # noqa: B018 - load the tables and the LM now, once
    hooks = json.loads(os.environ.get(TEST_HOOKS_ENV) or "{}")
    _worker.clear()
    _worker.update(restorer=restorer, config=config, evidence={}, hooks=hooks)


def _exit_with_parent() -> None:
    """Exit this worker as soon as its parent dies.

    A pool worker holds both ends of its task queue, so after a kill -9 (or the OOM killer) of
    the parent it would wait for work forever, keeping its engine's memory; each killed run
    left one such orphan per worker.
    """
    import multiprocessing
    import threading
    from multiprocessing.connection import wait

    parent = multiprocessing.parent_process()
    if parent is None or parent.sentinel is None:
        return

    def watch() -> None:
        wait([parent.sentinel])
        os._exit(1)

    threading.Thread(target=watch, name="restore-parent-watch", daemon=True).start()


def _run_batch(texts: list[tuple[str, int | None]], blobs: dict[int, bytes]) -> tuple[list, int, int, tuple]:
    """Restore a batch: one (True, text, edits, score, spun, words) or (False, reason) per text."""
    restorer = _worker["restorer"]
    config = _worker["config"]
    hooks = _worker["hooks"]
    cache = _worker["evidence"]
    for eid, blob in blobs.items():
        if eid not in cache:
            if len(cache) > 64:
                cache.clear()
            cache[eid] = pickle.loads(blob)
    results = []
    started, cpu_started = time.perf_counter(), time.process_time()
    for text, eid in texts:
        try:
            if hooks:
                _apply_hooks(hooks, text)
            res = restorer.restore(
                text,
                clean=config["clean"],
                restore=config["restore"],
                evidence=cache.get(eid) if eid is not None else None,
            )
            edits = [e.to_dict() for e in res.edits]
            results.append(
                (True, res.text, edits, round(res.spin_score, 4), bool(res.judged_spun), len(text.split()))
            )
        except Exception as exc:  # a crash in a stage fails this record only
            where = ""
            tb = exc.__traceback__
            while tb is not None and tb.tb_next is not None:
                tb = tb.tb_next
            if tb is not None:
                where = f" (at {Path(tb.tb_frame.f_code.co_filename).name}:{tb.tb_lineno})"
            results.append((False, f"{type(exc).__name__}: {exc}{where}"))
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    busy = (time.perf_counter() - started, time.process_time() - cpu_started)
    return results, os.getpid(), peak_kb, busy


def _apply_hooks(hooks: dict, text: str) -> None:
    if hooks.get("delay"):
        time.sleep(float(hooks["delay"]))
    if hooks.get("raise_on") and hooks["raise_on"] in text:
        raise RuntimeError("test hook: stage crashed")
    if hooks.get("die_on") and hooks["die_on"] in text:
        os._exit(70)


class _InlineExecutor:
    """`--workers 1`: the same protocol, run in this process (no pickling, no second process)."""

    def __init__(self, config: dict):
        _init_worker(config)

    def submit(self, fn, *args) -> Future:
        future: Future = Future()
        future.set_result(fn(*args))
        return future

    def shutdown(self, kill: bool = False) -> None:
        pass


class _PoolExecutor:
    def __init__(self, workers: int, config: dict):
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # spawn: workers never inherit the progress thread's locks or the parent's open files
        self.pool = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker,
            initargs=(
                {**config, "in_pool": True, "torch_threads": max(1, (os.cpu_count() or 1) // workers)},
            ),
        )

    def submit(self, fn, *args) -> Future:
        return self.pool.submit(fn, *args)

    def shutdown(self, kill: bool = False) -> None:
        if kill:
            for proc in list((getattr(self.pool, "_processes", None) or {}).values()):
                if proc.is_alive():
                    proc.terminate()
        self.pool.shutdown(wait=True, cancel_futures=True)


# --------------------------------------------------------------------------- evidence


def build_evidence(docs_by_group: dict[str, list[str]]) -> dict[str, object]:
    """RepeatedLines per group that has enough sampled documents."""
    from .clean import RepeatedLines

    out = {}
    for group, docs in docs_by_group.items():
        if len(docs) < MIN_EVIDENCE_DOCS:
            continue
        min_docs = max(3, math.ceil(0.02 * len(docs)))
        evidence = RepeatedLines(docs, min_docs=min_docs)
        if len(evidence):
            out[group] = evidence
    return out


# --------------------------------------------------------------------------- progress


class _Progress:
    def __init__(self, mode: str, total_bytes: int, interval: float):
        if mode == "auto":
            mode = "bar" if sys.stderr.isatty() else "plain"
        self.mode = mode
        self.total = max(1, total_bytes)
        self.interval = interval
        self.started = time.monotonic()
        self.last_line = self.started
        self.bar = None
        if mode == "bar":
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

            self.bar = Progress(
                TextColumn("restore batch"),
                BarColumn(),
                TaskProgressColumn(),
                TextColumn("{task.fields[docs]} docs · {task.fields[rate]} words/s · ETA"),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                transient=False,
            )
            self.task = self.bar.add_task("batch", total=self.total, docs="0", rate="0")
            self.bar.start()

    def update(self, done_bytes: int, counters: Counters, words_now: int, force: bool = False) -> None:
        now = time.monotonic()
        elapsed = max(1e-9, now - self.started)
        rate = words_now / elapsed
        if self.bar is not None:
            self.bar.update(
                self.task, completed=done_bytes, docs=f"{counters.documents:,}", rate=f"{rate:,.0f}"
            )
        elif self.mode == "plain" and (force or now - self.last_line >= self.interval):
            self.last_line = now
            frac = min(1.0, done_bytes / self.total)
            eta = ""
            if 0 < frac < 1 and words_now:
                eta = f", ETA {_duration(elapsed * (1 - frac) / frac)}"
            failed = f" ({counters.failed:,} failed)" if counters.failed else ""
            sys.stderr.write(
                f"restore batch: {counters.documents:,} docs{failed}, {rate:,.0f} words/s, {frac:.1%}{eta}\n"
            )
            sys.stderr.flush()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def _duration(seconds: float) -> str:
    seconds = int(seconds + 0.5)
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}h{m:02d}m{s:02d}s" if h else f"{m}m{s:02d}s" if m else f"{s}s"


# --------------------------------------------------------------------------- the run


@dataclass
class _Entry:
    kind: str  # "batch" (records sent to a worker), "ready" (a record that failed to read), "end"
    source: int
    records: list[Record] = field(default_factory=list)
    future: Future | None = None
    payload: tuple | None = None  # (texts, blobs), kept to resubmit after a worker crash
    isolated: bool = False  # submitted alone, to find the record that killed a worker


class BatchRun:
    def __init__(self, input_path: str | Path, output: str | Path, options: BatchOptions | None = None):
        self.input = Path(input_path)
        self.output = Path(os.path.abspath(output))  # "out/" and "." have a usable name too
        self.opts = options or BatchOptions()
        self.read_opts = ReadOptions(
            text_field=self.opts.text_field,
            id_field=self.opts.id_field,
            encoding=self.opts.encoding,
            source_field=self.opts.source_field,
        )
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        self.workers = max(1, self.opts.workers or cores or 1)
        self.stop_requested = False
        self.peak_kb: dict[int, int] = {}
        self.busy: dict[int, list[float]] = {}  # pid -> [seconds in batches, CPU seconds in batches]

    # ---------------------------------------------------------------- set-up and state

    def _prepare(self) -> dict | None:
        _check_paths(self.input, self.output)
        _check_report(self.input, self.output, self.opts.report)
        self.sources, self.ignored = find_sources(self.input, self.output)
        if not self.sources:
            raise InputError(f"restore: {self.input}: no .txt, .jsonl, .jsonl.gz, .csv or .parquet files")
        for src in self.sources:  # a missing extra (pyarrow) stops the run now, not per source
            check_support(src.fmt, src.path)
        self.state_file = state_path(self.output)
        self.errors_final = errors_path(self.output)
        self.identity = {
            "version": STATE_VERSION,
            "input": str(self.input.resolve()),
            "inputs": _inputs_digest(self.sources),
            "options": self.opts.fingerprint(),
        }
        state = None
        if self.state_file.exists():
            if not self.opts.resume and not self.opts.force:
                raise UsageError(
                    f"restore: {self.output}: an interrupted run left its state here; "
                    "pass --resume to continue it or --force to start over"
                )
            if self.opts.resume:
                try:
                    state = json.loads(self.state_file.read_text(encoding="utf-8"))
                except (OSError, ValueError) as exc:
                    raise RestoreError(f"restore: {self.state_file}: unreadable state ({exc})") from exc
                mine = {k: state.get(k) for k in self.identity}
                if mine != self.identity:
                    changed = [k for k in self.identity if state.get(k) != self.identity[k]]
                    raise UsageError(
                        f"restore: cannot resume: the {' and '.join(changed)} changed since the interrupted run; "
                        "pass --force to start over"
                    )
        elif self.opts.resume and self.output.exists():
            raise UsageError(f"restore: {self.output}: no interrupted run to resume (it may be complete)")
        elif self.output.exists() and not self.opts.force:
            if self.output.is_file() or any(self.output.iterdir()):
                raise UsageError(f"restore: {self.output}: already exists; pass --force to overwrite it")
        self.earlier: list[Path] = []  # what --force removes before the run: a clean OUTPUT
        if self.opts.force and self.output.is_dir():
            self.earlier = _earlier_output(self.output, self.input)
        elif self.opts.force and self.output.exists():
            self.earlier = [self.output]
        if self.opts.html is not None:  # written during and after the run: fail now, not then
            check_writable(self.opts.html, directory=True)
        if self.opts.report is not None:
            check_writable(self.opts.report)
        return state

    def _checkpoint(self, *, finalizing: bool = False) -> None:
        writer_pos = self.writer.sync() if self.writer is not None else self.writer_resume
        errors_pos = self.errors.sync()
        state = {
            **self.identity,
            "source_index": self.cur,
            "records_done": self.records_done,
            "input_pos": self.input_pos,
            "input_line": self.input_line,
            "writer": writer_pos,
            "errors": errors_pos,
            "finalizing": finalizing,
            "counters": asdict(self.counters),
            "done_bytes": self.done_bytes_before,
        }
        state["counters"]["seconds"] = self.counters.seconds + (time.monotonic() - self.session_start)
        _write_json_atomic(self.state_file, state)
        self.last_checkpoint = time.monotonic()

    # ---------------------------------------------------------------- the producer

    def _evidence_for(self, si: int) -> dict[str, int]:
        """Group -> evidence id for the records of source ``si`` (sampling it if needed)."""
        if not self.opts.clean or self.opts.evidence_sample <= 0:
            return {}
        src = self.sources[si]
        if src.fmt == "txt":
            group = str(Path(src.rel).parent.as_posix())
            key = ("dir", group)
            if key not in self.evidence_ids:
                docs = []
                for other in self.txt_groups[group][: self.opts.evidence_sample]:
                    for rec in read_records(other.path, "txt", other.rel, self.read_opts):
                        if rec.text is not None:
                            docs.append(rec.text)
                self._register(key, build_evidence({group: docs}))
            return self.evidence_ids[key]
        key = ("file", si)
        if key not in self.evidence_ids:
            by_group: dict[str, list[str]] = defaultdict(list)
            n = 0
            for rec in read_records(src.path, src.fmt, src.rel, self.read_opts):
                if n >= self.opts.evidence_sample:
                    break
                n += 1
                if rec.text is not None:
                    by_group[rec.group].append(rec.text)
            self._register(key, build_evidence(by_group))
        return self.evidence_ids[key]

    def _register(self, key, evidence: dict[str, object]) -> None:
        ids = {}
        for group, ev in evidence.items():
            eid = len(self.blobs)
            self.blobs[eid] = pickle.dumps(ev)
            ids[group] = eid
            self.evidence_lines += len(ev)
        self.evidence_ids[key] = ids

    def _stream(self, start: int, resume_point: ResumePoint) -> Iterator[tuple[str, int, Record | None]]:
        for si in range(start, len(self.sources)):
            src = self.sources[si]
            meta = SourceMeta()
            self.metas[si] = meta
            point = resume_point if si == start else ResumePoint()
            ev = self._evidence_for(si)
            yielded = False
            for rec in read_records(src.path, src.fmt, src.rel, self.read_opts, point, meta):
                rec.meta = meta
                rec.source = si
                if rec.error is None:
                    rec.evidence = ev.get(rec.group)
                yielded = True
                yield "record", si, rec
            if src.fmt != "txt" or not yielded:  # a .txt source ends with its one record
                yield "end", si, None

    def _submit(self, entry: _Entry) -> None:
        if entry.payload is None:
            texts = [(r.text, r.evidence) for r in entry.records]
            blobs = {r.evidence: self.blobs[r.evidence] for r in entry.records if r.evidence is not None}
            entry.payload = (texts, blobs)
        entry.future = self.executor.submit(_run_batch, *entry.payload)

    # ---------------------------------------------------------------- the consumer

    def _wait(self, future: Future):
        while True:
            try:
                return future.result(timeout=0.25)
            except FutureTimeout:
                self._tick()
                if self.stop_requested:
                    raise _Stop from None

    def _consume_front(self) -> None:
        from concurrent.futures.process import BrokenProcessPool

        entry = self.pending[0]
        if entry.kind == "batch":
            if entry.future is None:
                self._submit(entry)
            try:
                results, pid, peak_kb, seconds = self._wait(entry.future)
            except BrokenProcessPool:
                self._restart_pool()
                if entry.isolated:
                    died = "the worker process died on this record (crash or out of memory)"
                    results, pid, peak_kb, seconds = [(False, died)], 0, 0, (0.0, 0.0)
                else:  # find the culprit: run every pending record alone, in order
                    self._isolate_pending()
                    return
            if pid:
                self.peak_kb[pid] = max(self.peak_kb.get(pid, 0), peak_kb)
                busy = self.busy.setdefault(pid, [0.0, 0.0])
                busy[0] += seconds[0]
                busy[1] += seconds[1]
                self._adapt_batch(entry, seconds[0])
            self.pending.popleft()
            self.inflight -= 1
            self._write_results(entry, results)
        elif entry.kind == "ready":
            self.pending.popleft()
            self._write_results(entry, [(False, r.error) for r in entry.records])
        else:
            self.pending.popleft()
            self._end_source(entry.source)
        if self.isolating and not any(e.isolated for e in self.pending):
            self.isolating = False
        self._tick()

    def _adapt_batch(self, entry: _Entry, seconds: float) -> None:
        """Size batches for about half a second of work: fine-grained progress and checkpoints
        when restoring (slow), little per-batch overhead when only cleaning (fast)."""
        chars = sum(len(r.text) for r in entry.records)
        if seconds <= 0 or chars == 0:
            return
        rate = chars / seconds
        self.chars_rate = rate if self.chars_rate is None else 0.7 * self.chars_rate + 0.3 * rate
        self.batch_chars = int(min(self.opts.batch_chars, max(500, self.chars_rate * 0.5)))

    def _isolate_pending(self) -> None:
        new: deque[_Entry] = deque()
        for e in self.pending:
            if e.kind == "batch":
                for rec in e.records:
                    new.append(_Entry("batch", e.source, [rec], isolated=True))
            else:
                new.append(e)
        self.inflight = sum(1 for e in new if e.kind == "batch")
        self.pending = new
        self.isolating = True

    def _restart_pool(self) -> None:
        self.pool_restarts += 1
        self.executor.shutdown(kill=True)
        self.executor = _PoolExecutor(self.workers, self.worker_config)

    def _write_results(self, entry: _Entry, results: list) -> None:
        c = self.counters
        for rec, res in zip(entry.records, results, strict=True):
            si = rec.source
            src = self.sources[si]
            c.documents += 1
            if res[0]:
                _, text, edits, score, spun, words = res
                c.restored += 1
                c.words += words
                self.words_session += words
                c.edits += len(edits)
                c.spun += spun
                if spun or not self.opts.only_spun:
                    if self.writer is None:
                        self.writer = self._open_writer(src, self.metas[si])
                    self.writer.write(rec, Output(text, edits, score, spun))
                    c.written += 1
                    if self.opts.html is not None:
                        self._write_page(src.rel, rec, edits)
            else:
                c.failed += 1
                self.errors.write(src.rel, rec if rec.error else _failed(rec, res[1]))
            self.records_done = rec.index + 1
            self.input_pos, self.input_line = rec.pos, rec.line
            self.done_bytes = self.done_bytes_before + min(rec.pos, src.size)
            if src.fmt == "txt":
                self._end_source(si)
        if self.writer is not None and self.writer.rows_buffered >= 2000:
            self._checkpoint()

    def _open_writer(self, src: Source, meta: SourceMeta) -> Writer:
        if self.written is not None:  # recorded before the file exists: --force can find it
            self.written.add(src.final)
        return open_writer(src.fmt, src.final, meta, self.writer_resume)

    def _write_page(self, rel: str, rec, edits: list[dict]) -> None:
        """The HTML review page of one document, named from its file and record, never a raw id."""
        from .edits import Edit
        from .html import render_html
        from .textio import write_text_atomic

        stem = page_name(rel, rec.index, rec.id)
        if self.written is not None:  # pages inside OUTPUT go with it under --force
            self.written.add(self.opts.html / stem)
        pages = [Edit(**{k: v for k, v in e.items() if k != "details"}) for e in edits]
        write_text_atomic(self.opts.html / stem, render_html(rec.text or "", pages, title=f"{rel} #{rec.id}"))

    def _end_source(self, si: int) -> None:
        src = self.sources[si]
        meta = self.metas.pop(si)
        if src.fmt != "txt":
            if self.writer is None and meta.fatal is None:
                self.writer = self._open_writer(src, meta)
            if self.writer is not None:
                self._checkpoint(finalizing=True)
                self.writer.finish()
        self.writer = None
        self.writer_resume = None
        for eid in self.evidence_ids.pop(("file", si), {}).values():  # its batches are all done
            self.blobs.pop(eid, None)
        self.cur = si + 1
        self.records_done = 0
        self.input_pos = self.input_line = 0
        self.done_bytes_before += src.size
        self.done_bytes = self.done_bytes_before

    def _tick(self) -> None:
        now = time.monotonic()
        if now - self.last_checkpoint >= self.opts.checkpoint_interval:
            self._checkpoint()
        self.progress.update(self.done_bytes, self.counters, self.words_session)

    # ---------------------------------------------------------------- main loop

    def run(self) -> Summary:
        state = self._prepare()
        self.counters = Counters()
        self.cur, self.records_done = 0, 0
        self.input_pos = self.input_line = 0
        self.writer: Writer | None = None
        self.writer_resume: dict | None = None
        self.done_bytes_before = 0
        resume_point = ResumePoint()
        errors_resume = None
        self.evidence_ids: dict = {}
        self.blobs: dict[int, bytes] = {}
        self.evidence_lines = 0
        self.metas: dict[int, SourceMeta] = {}
        self.txt_groups: dict[str, list[Source]] = defaultdict(list)
        for s in self.sources:
            if s.fmt == "txt":
                self.txt_groups[Path(s.rel).parent.as_posix()].append(s)
        resumed = state is not None
        if state:
            self.counters = Counters(**state["counters"])
            self.cur = state["source_index"]
            self.done_bytes_before = state.get("done_bytes", 0)
            errors_resume = state["errors"] or {}
            if state["finalizing"]:
                self._finish_interrupted(self.sources[self.cur], state["writer"] or {})
                self.done_bytes_before += self.sources[self.cur].size
                self.cur += 1
            else:
                resume_point = ResumePoint(state["records_done"], state["input_pos"], state["input_line"])
                self.records_done = state["records_done"]
                self.input_pos, self.input_line = state["input_pos"], state["input_line"]
                self.writer_resume = state["writer"] or {}
        elif self.opts.force:
            for stale in (self.state_file, self.errors_final):
                stale.unlink(missing_ok=True)
            _remove_earlier_output(self.output, self.earlier)
        self.output.parent.mkdir(parents=True, exist_ok=True)
        self.written: _Written | None = None
        if self.input.is_dir():
            self.output.mkdir(parents=True, exist_ok=True)
            self.written = _Written(self.output, fresh=not resumed)
        self.errors = ErrorLog(self.errors_final, errors_resume)
        self.session_start = time.monotonic()
        self.last_checkpoint = 0.0
        self._checkpoint()
        self.done_bytes = self.done_bytes_before + self.input_pos
        self.words_session = 0
        self.pool_restarts = 0
        self.isolating = False
        self.worker_config = {
            "threshold": self.opts.threshold,
            "remove_bylines": self.opts.remove_bylines,
            "remove_captions": self.opts.remove_captions,
            "model": self.opts.model,
            "device": self.opts.device,
            "clm": self.opts.clm,
            "clean": self.opts.clean,
            "restore": self.opts.restore,
        }
        total = sum(s.size for s in self.sources)
        self.progress = _Progress(self.opts.progress, total, self.opts.progress_interval)
        previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

        def on_signal(signum, frame):
            if self.stop_requested:  # a second Ctrl-C: stop now
                raise KeyboardInterrupt
            self.stop_requested = True

        for sig in previous:
            signal.signal(sig, on_signal)
        interrupted = False
        self.executor = (
            _InlineExecutor(self.worker_config)
            if self.workers == 1
            else _PoolExecutor(self.workers, self.worker_config)
        )
        try:
            self._loop(self.cur, resume_point)
        except _Stop:  # Ctrl-C / SIGTERM, seen between two entries: the state is consistent
            interrupted = True
            self._checkpoint()
        except KeyboardInterrupt:  # a second Ctrl-C: the last periodic checkpoint stands
            interrupted = True
        finally:
            self.progress.close()
            if self.written is not None:
                self.written.close()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self.executor.shutdown(kill=interrupted)
        if interrupted:
            if self.writer is not None:
                self.writer.close()
            self.errors.file.fh.close()
            sys.stderr.write(
                f"restore batch: interrupted after {self.counters.documents:,} documents; "
                "run the same command with --resume to continue\n"
            )
            return Summary(self.counters, len(self.sources), None, interrupted=True)
        self.counters.seconds += time.monotonic() - self.session_start
        has_errors = self.errors.finish()
        summary = Summary(self.counters, len(self.sources), self.errors_final if has_errors else None)
        summary.report = self._report(summary, resumed)
        if self.opts.report:
            _write_json_atomic(Path(self.opts.report), summary.report)
        self.state_file.unlink(missing_ok=True)
        sys.stderr.write(self._summary_line(summary) + "\n")
        return summary

    def _loop(self, start: int, resume_point: ResumePoint) -> None:
        self.pending: deque[_Entry] = deque()
        self.inflight = 0
        max_inflight = 1 if self.workers == 1 else self.workers * 3
        self.chars_rate: float | None = None
        self.batch_chars = 2000  # grows (or shrinks) once the first batches are timed
        batch: list[Record] = []
        chars = 0
        batch_source = -1

        def flush() -> None:
            nonlocal batch, chars
            while self.isolating:  # nothing new runs beside a record under suspicion
                self._consume_front()
            if batch:
                entry = _Entry("batch", batch_source, batch)
                self._submit(entry)
                self.pending.append(entry)
                self.inflight += 1
                batch, chars = [], 0
            while self.inflight >= max_inflight or self.isolating:
                self._consume_front()
            while self.pending and self.pending[0].kind != "batch":
                self._consume_front()

        for kind, si, rec in self._stream(start, resume_point):
            if self.stop_requested:
                raise _Stop
            if kind == "record" and rec.error is None:
                batch.append(rec)
                batch_source = si
                chars += len(rec.text)
                if len(batch) >= self.opts.batch_docs or chars >= self.batch_chars:
                    flush()
                continue
            flush()
            if kind == "record":
                self.pending.append(_Entry("ready", si, [rec]))
            else:
                self.pending.append(_Entry("end", si))
            if len(self.pending) > 4 * max_inflight + 64:
                while self.pending and (self.pending[0].kind != "batch" or self.inflight):
                    self._consume_front()
                    if len(self.pending) <= max_inflight:
                        break
        flush()
        while self.pending:
            self._consume_front()

    def _finish_interrupted(self, src: Source, position: dict) -> None:
        """The run stopped while renaming a finished source: complete that step."""
        parts = src.final.with_name(f".{src.final.name}.restore-parts")
        if partial_path(src.final).exists() or parts.exists():
            meta = SourceMeta()
            if src.fmt in ("csv", "parquet"):  # the writer needs the header / schema again
                for _ in read_records(src.path, src.fmt, src.rel, self.read_opts, ResumePoint(), meta):
                    break
            writer = open_writer(src.fmt, src.final, meta, position)
            writer.finish()

    # ---------------------------------------------------------------- reporting

    def _report(self, summary: Summary, resumed: bool) -> dict:
        c = summary.counters
        peaks = {str(pid): round(kb / 1024, 1) for pid, kb in sorted(self.peak_kb.items())}
        main_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return {
            "input": str(self.input),
            "output": str(self.output),
            "errors_file": str(summary.errors_file) if summary.errors_file else None,
            "sources": summary.sources,
            "ignored_files": self.ignored,
            "documents": c.documents,
            "restored": c.restored,
            "written": c.written,
            "judged_spun": c.spun,
            "failed": c.failed,
            "words": c.words,
            "edits": c.edits,
            "seconds": round(c.seconds, 3),
            "words_per_second": round(c.words / c.seconds, 1) if c.seconds else None,
            "workers": self.workers,
            "resumed": resumed,
            "worker_restarts": self.pool_restarts,
            "evidence_lines": self.evidence_lines,
            "peak_rss_mb": {"main": round(main_kb / 1024, 1), "workers": peaks},
            "worker_busy_seconds": {str(pid): round(b[0], 2) for pid, b in sorted(self.busy.items())},
            "worker_cpu_seconds": {str(pid): round(b[1], 2) for pid, b in sorted(self.busy.items())},
            "session_seconds": round(time.monotonic() - self.session_start, 3),
            "options": self.opts.fingerprint(),
        }

    def _summary_line(self, summary: Summary) -> str:
        c = summary.counters
        rate = f" ({c.words / c.seconds:,.0f} words/s)" if c.seconds else ""
        line = (
            f"restore batch: {c.documents:,} documents from {summary.sources:,} file(s): "
            f"{c.written:,} written, {c.spun:,} judged spun, {c.edits:,} edits; "
            f"{c.words:,} words in {_duration(c.seconds)}{rate} with {self.workers} worker(s)"
        )
        if c.failed:
            line += f"\nrestore batch: {c.failed:,} record(s) failed; see {summary.errors_file}"
        if self.ignored:
            line += f"\nrestore batch: ignored {self.ignored:,} file(s) of other types"
        return line


class _Stop(Exception):
    """A stop was requested (Ctrl-C, SIGTERM); raised only where the run's state is consistent."""


def _failed(rec: Record, reason: str) -> Record:
    rec.error = reason
    return rec


def run_batch(input_path: str | Path, output: str | Path, options: BatchOptions | None = None) -> Summary:
    """Run `restore batch` from Python; returns the summary (its ``exit_code`` is the CLI's)."""
    try:
        return BatchRun(input_path, output, options).run()
    except OSError as exc:
        raise OutputError(f"restore: {exc.filename or ''}: {exc.strerror or exc}") from exc


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def page_name(rel: str, index: int, record_id: str) -> str:
    """A file name for a record's review page: sanitised (no separators, no dot-dot), unique by index."""
    base = _UNSAFE.sub("_", rel).strip("._") or "input"
    rid = _UNSAFE.sub("_", str(record_id)).strip("._")[:60] or "record"
    return f"{base}-{index:07d}-{rid}.html"
