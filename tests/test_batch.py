"""`restore batch`: formats round-trip, failures go to the errors file, kill + resume is exact."""

from __future__ import annotations

import csv
import gzip
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT

from restore import batch as batch_mod
from restore.batch import BatchOptions, BatchRun, run_batch, state_path
from restore.errors import (
    EXIT_RECORDS_FAILED,
    EXIT_RESOURCE,
    EXIT_USAGE,
    ResourceError,
    RestoreError,
    UsageError,
)
from restore.formats import safe_relpath, sidecar_path

SPUN = (ROOT / "samples" / "spun_article.txt").read_text(encoding="utf-8")

# Texts written for these tests (short, so the engine is quick on them).
PARAGRAPHS = [
    "The harbour board approved the new ferry timetable on Monday after a long debate.",
    "Residents of the valley said the bridge repairs had taken far longer than promised.",
    "The museum will open its winter exhibition of maps and sea charts next week.",
    "Farmers expect a smaller apple harvest this year because of the late spring frost.",
    "The school plans to add two science classrooms before the autumn term begins.",
]
CHROME = "Harbour Gazette Weekend Planner Edition"  # a site line no rule knows, repeated per page


def doc(i: int) -> str:
    return f"{PARAGRAPHS[i % len(PARAGRAPHS)]}\n\n{PARAGRAPHS[(i + 2) % len(PARAGRAPHS)]}\n"


def cli(*args: str, env: dict | None = None, **kw) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-c", "from cli import main; main()", "batch", *args]
    full_env = dict(os.environ, PYTHONPATH=str(ROOT), **(env or {}))
    return subprocess.run(cmd, capture_output=True, text=True, env=full_env, timeout=120, **kw)


def opts(**kw) -> BatchOptions:
    kw.setdefault("workers", 1)
    kw.setdefault("progress", "none")
    kw.setdefault("restore", False)
    return BatchOptions(**kw)


def read_jsonl(path: Path) -> list[dict]:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def rows(n: int) -> list[dict]:
    return [
        {"id": f"r{i}", "text": doc(i), "url": f"https://www.example.org/{i}", "n": i, "tags": ["a", str(i)]}
        for i in range(n)
    ]


# --------------------------------------------------------------------------- formats round-trip


@pytest.mark.parametrize("suffix", [".jsonl", ".jsonl.gz"])
def test_jsonl_round_trips_every_field(tmp_path, suffix):
    src = tmp_path / f"in{suffix}"
    records = rows(6)
    data = "".join(json.dumps(r) + "\n" for r in records).encode()
    src.write_bytes(gzip.compress(data) if suffix.endswith(".gz") else data)
    before = src.read_bytes()
    summary = run_batch(src, tmp_path / f"out{suffix}", opts())
    assert summary.exit_code == 0 and summary.counters.written == 6
    assert src.read_bytes() == before  # the input is never modified
    out = read_jsonl(tmp_path / f"out{suffix}")
    assert [o["id"] for o in out] == [r["id"] for r in records]
    for o, r in zip(out, records, strict=True):
        assert {k: o[k] for k in r} == r
        assert o["restored_text"] == r["text"]  # clean text, cleanup only: unchanged
        assert o["edits"] == [] and o["spin_score"] == 0 and o["judged_spun"] is False
    assert not list(tmp_path.glob(".*"))  # no partial or state file left behind


def test_csv_round_trips_every_field(tmp_path):
    src = tmp_path / "in.csv"
    header = ["id", "text", "note", "id"]  # duplicate names and odd values survive
    values = [["1", doc(0), 'quote " and, comma', "x"], ["2", doc(1), "line\nbreak", ""], ["3", "", "", "z"]]
    with open(src, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([header, *values])
    summary = run_batch(src, tmp_path / "out.csv", opts())
    assert summary.exit_code == 0
    with open(tmp_path / "out.csv", newline="", encoding="utf-8") as fh:
        out = list(csv.reader(fh))
    assert out[0] == [*header, "restored_text", "edits", "spin_score", "judged_spun"]
    for row, original in zip(out[1:], values, strict=True):
        assert row[:4] == original
        assert row[4] == original[1] and json.loads(row[5]) == [] and row[7] == "false"


def test_parquet_round_trips_every_field(tmp_path):
    pa = pytest.importorskip("pyarrow", reason="Parquet needs the parquet extra: pip install -e '.[parquet]'")
    import pyarrow.parquet as pq

    table = pa.table(
        {
            "id": pa.array([1, 2, 3], pa.int64()),
            "text": [doc(0), doc(1), None],
            "score": [0.5, None, 1.5],
            "tags": [["a"], [], ["b", "c"]],
            "meta": [{"k": "v"}, {"k": None}, {"k": "w"}],
        }
    )
    pq.write_table(table, tmp_path / "in.parquet")
    summary = run_batch(tmp_path / "in.parquet", tmp_path / "out.parquet", opts())
    assert summary.counters.written == 2 and summary.counters.failed == 1  # the null text
    out = pq.read_table(tmp_path / "out.parquet")
    assert out.schema.names == [*table.schema.names, "restored_text", "edits", "spin_score", "judged_spun"]
    assert out.select(table.schema.names).to_pylist() == table.slice(0, 2).to_pylist()
    assert out.column("restored_text").to_pylist() == [doc(0), doc(1)]
    errors = read_jsonl(tmp_path / "out.parquet.errors.jsonl")
    assert errors == [
        {"source": "in.parquet", "id": "3", "line": 3, "reason": "field 'text' is not text (it is null)"}
    ]


def test_txt_tree_keeps_layout_and_writes_sidecars(tmp_path):
    src = tmp_path / "in"
    (src / "a" / "b").mkdir(parents=True)
    (src / "top.txt").write_text(doc(0), encoding="utf-8")
    (src / "a" / "b" / "deep.txt").write_text(doc(1), encoding="utf-8")
    (src / "a" / "notes.md").write_text("ignored", encoding="utf-8")
    summary = run_batch(src, tmp_path / "out", opts())
    assert summary.exit_code == 0 and summary.counters.written == 2
    assert (tmp_path / "out" / "top.txt").read_text(encoding="utf-8") == doc(0)
    deep = tmp_path / "out" / "a" / "b" / "deep.txt"
    assert deep.read_text(encoding="utf-8") == doc(1)
    meta = json.loads(sidecar_path(deep).read_text(encoding="utf-8"))
    assert meta == {"id": "a/b/deep.txt", "edits": [], "spin_score": 0, "judged_spun": False}
    assert not (tmp_path / "out" / "a" / "notes.md").exists()


def test_restores_and_only_spun_writes_only_spun_documents(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text(
        json.dumps({"id": "spun", "text": SPUN}) + "\n" + json.dumps({"id": "plain", "text": doc(0)}) + "\n",
        encoding="utf-8",
    )
    report = tmp_path / "report.json"
    summary = run_batch(src, tmp_path / "out.jsonl", opts(restore=True, only_spun=True, report=report))
    out = read_jsonl(tmp_path / "out.jsonl")
    assert [o["id"] for o in out] == ["spun"]
    assert out[0]["judged_spun"] is True and out[0]["spin_score"] > 0
    assert "phone call" in out[0]["restored_text"] and "telephone name" not in out[0]["restored_text"]
    assert all(e["kind"] == "restore" for e in out[0]["edits"] if e["before"] == "mentioned")
    rep = json.loads(report.read_text(encoding="utf-8"))
    assert rep["documents"] == 2 and rep["written"] == 1 and rep["judged_spun"] == 1 and rep["failed"] == 0
    assert summary.exit_code == 0 and rep["words"] > 100


def test_repeated_lines_across_a_source_are_removed_as_chrome(tmp_path):
    src = tmp_path / "site"
    src.mkdir()
    for i in range(8):
        (src / f"p{i}.txt").write_text(f"{doc(i)}\n{CHROME}\n", encoding="utf-8")
    run_batch(src, tmp_path / "out", opts())
    cleaned = (tmp_path / "out" / "p0.txt").read_text(encoding="utf-8")
    assert CHROME not in cleaned and PARAGRAPHS[0] in cleaned
    reasons = {
        e["reason"] for e in json.loads(sidecar_path(tmp_path / "out" / "p0.txt").read_text())["edits"]
    }
    assert "corpus:repeated-line" in reasons
    run_batch(src, tmp_path / "off", opts(evidence_sample=0))
    assert CHROME in (tmp_path / "off" / "p0.txt").read_text(encoding="utf-8")


def test_parquet_without_pyarrow_stops_before_the_run_with_the_install_command(tmp_path, monkeypatch):
    # the run used to go through every source and end with exit 6 and the reason in the errors file
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # as if the parquet extra were not installed
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.jsonl").write_text(json.dumps({"id": "a", "text": doc(0)}) + "\n", encoding="utf-8")
    (src / "table.parquet").write_bytes(b"PAR1")  # never opened
    with pytest.raises(ResourceError, match=r"table\.parquet: .*pip install 'restore\[parquet\]'") as err:
        run_batch(src, tmp_path / "out", opts())
    assert err.value.exit_code == EXIT_RESOURCE and "\n" not in str(err.value)
    assert not (tmp_path / "out").exists() and not list(tmp_path.glob(".*"))  # nothing was started
    assert not (tmp_path / "out.errors.jsonl").exists()


# --------------------------------------------------------------------------- failures


def test_malformed_line_and_undecodable_file_go_to_errors_and_exit_non_zero(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    lines = [json.dumps({"id": "a", "text": doc(0)}), "{not json", json.dumps({"id": "b", "text": doc(1)})]
    (src / "feed.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (src / "latin1.txt").write_bytes("Caf\u00e9 au lait".encode("latin-1"))
    (src / "ok.txt").write_text(doc(2), encoding="utf-8")
    hooks = json.dumps({"raise_on": "school"})  # only doc(2) mentions the school: a stage crashes on it
    proc = cli(
        str(src),
        str(tmp_path / "out"),
        "--workers",
        "1",
        "--no-restore",
        env={batch_mod.TEST_HOOKS_ENV: hooks},
    )
    assert proc.returncode == EXIT_RECORDS_FAILED, proc.stderr
    assert "3 record(s) failed" in proc.stderr
    errors = read_jsonl(tmp_path / "out.errors.jsonl")
    by_id = {e["id"]: e for e in errors}
    assert set(by_id) == {"feed.jsonl:2", "latin1.txt", "ok.txt"}
    assert by_id["feed.jsonl:2"]["reason"].startswith("line 2: not valid JSON")
    assert by_id["latin1.txt"]["reason"].startswith("not valid utf-8 (byte 3); pass --encoding")
    assert by_id["ok.txt"]["reason"].startswith("RuntimeError: test hook: stage crashed")
    assert [o["id"] for o in read_jsonl(tmp_path / "out" / "feed.jsonl")] == ["a", "b"]
    assert not (tmp_path / "out" / "latin1.txt").exists()


def test_a_record_that_kills_its_worker_fails_alone(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text(
        "".join(
            json.dumps({"id": f"d{i}", "text": doc(i) + ("DIE" if i == 3 else "")}) + "\n" for i in range(8)
        )
    )
    hooks = json.dumps({"die_on": "DIE"})
    proc = cli(
        str(src),
        str(tmp_path / "out.jsonl"),
        "--workers",
        "2",
        "--no-restore",
        env={batch_mod.TEST_HOOKS_ENV: hooks},
    )
    assert proc.returncode == EXIT_RECORDS_FAILED, proc.stderr
    assert [o["id"] for o in read_jsonl(tmp_path / "out.jsonl")] == [f"d{i}" for i in range(8) if i != 3]
    errors = read_jsonl(tmp_path / "out.jsonl.errors.jsonl")
    assert [e["id"] for e in errors] == ["d3"] and "worker process died" in errors[0]["reason"]


def test_refuses_unsafe_or_ambiguous_outputs(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.txt").write_text(doc(0), encoding="utf-8")
    with pytest.raises(UsageError, match="inside the INPUT"):  # exit 2, like any usage error
        run_batch(src, src / "out", opts())
    run_batch(src, tmp_path / "out", opts())
    with pytest.raises(UsageError, match="already exists"):
        run_batch(src, tmp_path / "out", opts())
    with pytest.raises(UsageError, match="no interrupted run"):
        run_batch(src, tmp_path / "out", opts(resume=True))
    with pytest.raises(UsageError, match="OUTPUT is INPUT"):
        run_batch(src / "a.txt", src / "a.txt", opts())
    assert UsageError.exit_code == EXIT_USAGE
    assert run_batch(src, tmp_path / "out", opts(force=True)).exit_code == 0


def test_force_starts_from_a_clean_output_and_never_deletes_what_it_did_not_write(tmp_path):
    # --force left the earlier run's files that this run does not write beside the new ones
    src, out = tmp_path / "in", tmp_path / "out"
    (src / "a").mkdir(parents=True)
    for name in ("keep.txt", "a/gone.txt"):
        (src / name).write_text(doc(0), encoding="utf-8")
    write_input(src / "feed.jsonl", rows(2))
    run_batch(src, out, opts(html=out / "pages"))
    (src / "a" / "gone.txt").unlink()
    (src / "feed.jsonl").unlink()
    (src / "keep.txt").write_text(doc(1), encoding="utf-8")
    assert run_batch(src, out, opts(force=True, html=out / "pages")).exit_code == 0
    left = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if not p.name.startswith("."))
    assert left == ["keep.txt", "keep.txt.restore.json", "pages", "pages/keep.txt-0000000-keep.txt.html"]
    assert (out / "keep.txt").read_text(encoding="utf-8") == doc(1)
    (out / "notes.md").write_text("mine", encoding="utf-8")  # not the tool's: refused, nothing removed
    with pytest.raises(UsageError, match="notes.md"):
        run_batch(src, out, opts(force=True))
    assert (out / "notes.md").read_text(encoding="utf-8") == "mine" and (out / "keep.txt").exists()
    (out / "notes.md").unlink()
    (out / "inner").mkdir()  # an INPUT inside OUTPUT is never cleared away
    (out / "inner" / "x.txt").write_text(doc(2), encoding="utf-8")
    with pytest.raises(UsageError, match="INPUT is inside OUTPUT"):
        run_batch(out / "inner", out, opts(force=True))
    assert (out / "inner" / "x.txt").read_text(encoding="utf-8") == doc(2)


def test_force_on_a_file_output_leaves_nothing_of_the_earlier_run(tmp_path):
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    write_input(src, [{"id": "1", "text": doc(0)}])
    run_batch(src, out, opts())
    write_input(src, [{"id": "1", "body": doc(0)}])  # now unreadable as a whole: no output written
    assert run_batch(src, out, opts(force=True)).exit_code == EXIT_RECORDS_FAILED
    assert not out.exists()  # not the earlier run's rows beside this run's errors file


def test_safe_relpath_never_escapes():
    assert str(safe_relpath("../../etc/passwd")) == "etc/passwd"
    assert str(safe_relpath("/abs/./x\\..\\y.txt")) == "abs/x/y.txt"
    with pytest.raises(ValueError):
        safe_relpath("../..")


# --------------------------------------------------------------------------- resume


def write_input(path: Path, records: list[dict]) -> None:
    if path.suffix == ".parquet":
        pa = pytest.importorskip(
            "pyarrow", reason="Parquet needs the parquet extra: pip install -e '.[parquet]'"
        )
        import pyarrow.parquet as pq

        pq.write_table(pa.Table.from_pylist(records), path)
    elif path.suffix == ".csv":
        with open(path, "w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(records[0]))
            writer.writeheader()
            writer.writerows(records)
    else:
        data = "".join(json.dumps(r) + "\n" for r in records).encode()
        path.write_bytes(gzip.compress(data) if path.name.endswith(".gz") else data)


def output_ids(path: Path) -> list[str]:
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return [str(x) for x in pq.read_table(path).column("id").to_pylist()]
    if path.suffix == ".csv":
        with open(path, newline="", encoding="utf-8") as fh:
            return [row["id"] for row in csv.DictReader(fh)]
    return [o["id"] for o in read_jsonl(path)]


@pytest.mark.parametrize("suffix", [".jsonl", ".jsonl.gz", ".csv", ".parquet"])
def test_resume_after_a_hard_stop_discards_uncommitted_output(tmp_path, monkeypatch, suffix):
    """Stop the run right after writing records that no checkpoint covers; resume writes each once."""
    src = tmp_path / f"in{suffix}"
    records = [{"id": r["id"], "text": r["text"], "n": r["n"]} for r in rows(40)]
    write_input(src, records)
    out = tmp_path / f"out{suffix}"
    original = BatchRun._write_results
    calls = {"n": 0}

    def write_then_die(self, entry, results):
        original(self, entry, results)
        calls["n"] += 1
        if calls["n"] == 2:
            self._checkpoint()
        if calls["n"] == 5:  # written, not checkpointed: like a SIGKILL before the next checkpoint
            if hasattr(self.writer, "file"):
                self.writer.file.fh.flush()
            raise KeyboardInterrupt

    monkeypatch.setattr(BatchRun, "_write_results", write_then_die)
    first = run_batch(src, out, opts(batch_docs=4, checkpoint_interval=3600))
    assert first.interrupted and not out.exists()
    state = json.loads(state_path(out).read_text())
    assert state["records_done"] == 8
    monkeypatch.setattr(BatchRun, "_write_results", original)
    with pytest.raises(RestoreError, match="--resume"):
        run_batch(src, out, opts())
    with pytest.raises(RestoreError, match="options changed"):
        run_batch(src, out, opts(resume=True, only_spun=True))
    second = run_batch(src, out, opts(resume=True, batch_docs=4))
    assert second.exit_code == 0 and second.report["resumed"] is True
    assert output_ids(out) == [r["id"] for r in records]
    assert second.counters.documents == 40 and second.counters.written == 40
    assert not state_path(out).exists() and not list(tmp_path.glob(".*"))


def test_resume_completes_a_stop_between_checkpoint_and_rename(tmp_path, monkeypatch):
    src = tmp_path / "in"
    src.mkdir()
    write_input(src / "a.jsonl", rows(3))
    write_input(src / "b.jsonl", rows(2))
    from restore import formats

    original = formats.JsonlWriter.finish

    def die(self):
        raise KeyboardInterrupt

    monkeypatch.setattr(formats.JsonlWriter, "finish", die)
    assert run_batch(src, tmp_path / "out", opts()).interrupted
    assert json.loads(state_path(tmp_path / "out").read_text())["finalizing"] is True
    monkeypatch.setattr(formats.JsonlWriter, "finish", original)
    assert run_batch(src, tmp_path / "out", opts(resume=True)).exit_code == 0
    assert output_ids(tmp_path / "out" / "a.jsonl") == ["r0", "r1", "r2"]
    assert output_ids(tmp_path / "out" / "b.jsonl") == ["r0", "r1"]


def test_csv_bad_rows_fail_alone_and_plain_progress_lines(tmp_path, capsys):
    src = tmp_path / "in.csv"
    src.write_bytes(b"id,text\n1,Good text here.\n2,too,many\n3,caf\xe9\n4,Also fine.\n")
    summary = run_batch(src, tmp_path / "out.csv", opts(progress="plain", progress_interval=0))
    assert summary.exit_code == EXIT_RECORDS_FAILED and summary.counters.failed == 2
    assert output_ids(tmp_path / "out.csv") == ["1", "4"]
    reasons = [e["reason"] for e in read_jsonl(tmp_path / "out.csv.errors.jsonl")]
    assert reasons == ["row 2: 3 fields, the header has 2", "row 3: not valid utf-8"]
    err = capsys.readouterr().err
    assert "restore batch: 4 docs (2 failed)" in err and "words/s" in err


def test_sigkill_midway_then_resume_gives_one_record_per_input(tmp_path):
    src = tmp_path / "in.jsonl"
    records = rows(120)
    src.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    out = tmp_path / "out.jsonl"
    cmd = [sys.executable, "-c", "from cli import main; main()", "batch", str(src), str(out)]
    cmd += ["--workers", "2", "--no-restore", "--progress", "none"]
    env = dict(os.environ, PYTHONPATH=str(ROOT), **{batch_mod.TEST_HOOKS_ENV: json.dumps({"delay": 0.1})})
    proc = subprocess.Popen(
        cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
    )
    state, deadline = state_path(out), time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            try:
                if json.loads(state.read_text())["records_done"] >= 20:
                    break
            except (OSError, ValueError, KeyError):
                pass
            assert proc.poll() is None, proc.stderr.read().decode()
            time.sleep(0.05)
        else:
            pytest.fail("the run never reached a checkpoint")
        time.sleep(0.3)  # let it write past the checkpoint
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert not out.exists()
    resumed = cli(str(src), str(out), "--workers", "2", "--no-restore", "--resume")
    assert resumed.returncode == 0, resumed.stderr
    ids = [o["id"] for o in read_jsonl(out)]
    assert ids == [r["id"] for r in records]  # exactly one output record per input record, in order


def _live_children(pid: int) -> list[int]:
    """The child processes of ``pid`` that have not exited (zombies count as exited)."""
    kids = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        kids += [int(k) for k in (task / "children").read_text().split()]
    return kids


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc to find the workers")
def test_workers_exit_when_the_parent_is_killed(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows(200)), encoding="utf-8")
    cmd = [
        sys.executable,
        "-c",
        "from cli import main; main()",
        "batch",
        str(src),
        str(tmp_path / "out.jsonl"),
    ]
    cmd += ["--workers", "2", "--no-restore", "--progress", "none"]
    env = dict(os.environ, PYTHONPATH=str(ROOT), **{batch_mod.TEST_HOOKS_ENV: json.dumps({"delay": 0.1})})
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers: list[int] = []
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not state_path(tmp_path / "out.jsonl").exists():
            time.sleep(0.05)
        time.sleep(1.0)  # the pool is up and working
        workers = _live_children(proc.pid)
        assert workers, "no worker processes found"
        proc.kill()  # kill -9 of the parent alone, as the OOM killer or a user would
        proc.wait()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and any(_alive(w) for w in workers):
            time.sleep(0.1)
        orphans = [w for w in workers if _alive(w)]
        assert not orphans, f"workers {orphans} outlived their parent"
    finally:
        for w in workers:
            if _alive(w):
                os.kill(w, signal.SIGKILL)


@pytest.mark.parametrize(
    ("inp", "out"), [("in.jsonl", "out.jsonl.gz"), ("in.jsonl.gz", "out.jsonl"), ("in.jsonl", "out.csv")]
)
def test_refuses_an_output_named_for_another_format(tmp_path, inp, out):
    data = json.dumps({"id": "a", "text": doc(0)}).encode() + b"\n"
    (tmp_path / inp).write_bytes(gzip.compress(data) if inp.endswith(".gz") else data)
    with pytest.raises(UsageError, match="same format as INPUT"):  # not gzip bytes in a .jsonl file
        run_batch(tmp_path / inp, tmp_path / out, opts())
    assert not (tmp_path / out).exists()


def test_refuses_a_report_that_would_overwrite_the_input_or_output(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"id": "a", "text": doc(0)}) + "\n", encoding="utf-8")
    before = src.read_bytes()
    for report in (src, tmp_path / "out.jsonl", tmp_path / "out.jsonl.errors.jsonl"):
        with pytest.raises(UsageError, match="--report"):
            run_batch(src, tmp_path / "out.jsonl", opts(report=report))
    assert src.read_bytes() == before  # inputs are never modified
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "a.txt").write_text(doc(1), encoding="utf-8")
    with pytest.raises(UsageError, match="--report"):
        run_batch(tree, tmp_path / "out", opts(report=tree / "a.txt"))
    assert (tree / "a.txt").read_text(encoding="utf-8") == doc(1)


@pytest.mark.parametrize("suffix", [".jsonl", ".jsonl.gz"])
def test_utf16_jsonl_reads_with_encoding_and_says_so_without(tmp_path, suffix):
    """A UTF-16 JSON-lines file (what a PowerShell `>` redirect writes) cannot be split on the byte \\n."""
    from restore.formats import ReadOptions, ResumePoint, read_records

    records = [{"id": f"w{i}", "text": f"Caf\u00e9 number {i} opened on the quay."} for i in range(4)]
    data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode("utf-16")
    src = tmp_path / f"in{suffix}"
    src.write_bytes(gzip.compress(data) if suffix.endswith(".gz") else data)
    summary = run_batch(src, tmp_path / f"out{suffix}", opts(encoding="utf-16"))
    assert summary.exit_code == 0 and summary.counters.documents == 4
    assert [o["text"] for o in read_jsonl(tmp_path / f"out{suffix}")] == [r["text"] for r in records]
    fmt = suffix.lstrip(".")
    rest = read_records(src, fmt, src.name, ReadOptions(encoding="utf-16"), ResumePoint(2, 0, 2))
    assert [r.id for r in rest] == ["w2", "w3"]  # resuming skips records, whatever the byte offsets
    summary = run_batch(src, tmp_path / f"again{suffix}", opts())  # without --encoding: one clear error
    errors = read_jsonl(tmp_path / f"again{suffix}.errors.jsonl")
    assert summary.counters.failed == 1 and "pass --encoding utf-16" in errors[0]["reason"]


def test_symlinked_directories_are_followed_once_and_loops_end(tmp_path):
    shard = tmp_path / "disk2" / "shard"  # a corpus shard kept elsewhere, linked into the tree
    shard.mkdir(parents=True)
    (shard / "far.txt").write_text(doc(3), encoding="utf-8")
    src = tmp_path / "in"
    (src / "own").mkdir(parents=True)
    (src / "own" / "near.txt").write_text(doc(4), encoding="utf-8")
    (src / "shard").symlink_to(shard, target_is_directory=True)
    (src / "own" / "loop").symlink_to(src, target_is_directory=True)  # a link back up the tree
    summary = run_batch(src, tmp_path / "out", opts())
    assert summary.exit_code == 0 and summary.counters.written == 2
    assert (tmp_path / "out" / "shard" / "far.txt").read_text(encoding="utf-8") == doc(3)
    assert (tmp_path / "out" / "own" / "near.txt").read_text(encoding="utf-8") == doc(4)
    (src / "out").symlink_to(tmp_path / "out", target_is_directory=True)  # a link to OUTPUT is not read
    summary = run_batch(src, tmp_path / "out", opts(force=True))
    assert summary.counters.written == 2 and not (tmp_path / "out" / "out").exists()


def test_a_clean_run_leaves_no_errors_file_from_an_earlier_run(tmp_path):
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    src.write_text(json.dumps({"id": "a", "text": doc(0)}) + "\n{broken\n", encoding="utf-8")
    assert run_batch(src, out, opts()).exit_code == EXIT_RECORDS_FAILED
    out.unlink()  # the user fixes the input and runs again into the same OUTPUT
    src.write_text(json.dumps({"id": "a", "text": doc(0)}) + "\n", encoding="utf-8")
    summary = run_batch(src, out, opts())
    assert summary.exit_code == 0 and summary.errors_file is None
    assert not (tmp_path / "out.jsonl.errors.jsonl").exists()  # it listed failures of another run
    errors = tmp_path / "x.jsonl.errors.jsonl"  # an input named like OUTPUT's errors file is refused
    errors.write_text(json.dumps({"id": "a", "text": doc(0)}) + "\n", encoding="utf-8")
    with pytest.raises(UsageError, match="errors or state"):
        run_batch(errors, tmp_path / "x.jsonl", opts())
    assert errors.exists()


def test_pool_workers_share_the_cores_among_torch_threads(monkeypatch):
    """With a worker per core, torch (--clm, --model) would start a thread per core in each."""
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    config = {
        "threshold": None,
        "remove_bylines": False,
        "remove_captions": False,
        "model": None,
        "device": None,
        "clm": False,
        "clean": True,
        "restore": False,
    }
    executor = batch_mod._PoolExecutor(2, config)
    try:
        threads = executor.submit(os.getenv, "OMP_NUM_THREADS").result(timeout=120)
    finally:
        executor.shutdown()
    assert threads == str(max(1, (os.cpu_count() or 1) // 2))
