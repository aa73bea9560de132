"""Streaming readers and resumable writers for `restore batch`: .txt, .jsonl(.gz), .csv, .parquet.

A *source* is one input file. Its reader yields :class:`Record` objects one at a time (never the
whole file); a record that cannot be read carries ``error`` instead of ``text`` and the stream goes
on. Writers append to a hidden partial file next to the final output; ``sync()`` makes what was
written durable and returns a small position dict that a checkpoint stores, and reopening a writer
with that dict truncates anything written after it, so a resumed run writes every record once.
``finish()`` renames the partial file over the final name.

pyarrow is imported only for Parquet sources (``pip install 'restore[parquet]'``).
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import json
import os
import re
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from .errors import ResourceError
from .textio import decode_text

FORMATS = {".txt": "txt", ".jsonl": "jsonl", ".jsonl.gz": "jsonl.gz", ".csv": "csv", ".parquet": "parquet"}
ADDED_FIELDS = ("restored_text", "edits", "spin_score", "judged_spun")

csv.field_size_limit(min(sys.maxsize, 2**31 - 1))  # news articles overflow the 128 KiB default


def detect_format(path: Path | str) -> str | None:
    name = str(path).lower()
    if name.endswith(".jsonl.gz"):
        return "jsonl.gz"
    return FORMATS.get(os.path.splitext(name)[1])


def safe_relpath(rel: str) -> PurePosixPath:
    """A relative path that cannot leave the output directory (no absolute parts, ``..``, NULs).

    Every path the batch derives from its input goes through here before it is joined to OUTPUT.
    """
    parts = []
    for part in re.split(r"[\\/]+", rel):
        part = part.replace("\x00", "")
        if part in ("", ".", ".."):
            continue
        parts.append(part)
    if not parts:
        raise ValueError(f"path {rel!r} has no usable name")
    return PurePosixPath(*parts)


@dataclass
class SourceMeta:
    """What the reader learned when it opened the file: CSV header or Arrow schema."""

    header: list[str] | None = None
    schema: Any = None  # pyarrow.Schema
    fatal: str | None = None  # the source could not be opened / parsed at all


@dataclass(slots=True)
class Record:
    index: int  # position in the source, counting every record (also the failed ones)
    id: str
    text: str | None = None
    fields: Any = None  # dict (jsonl, parquet), list (csv), None (txt)
    error: str | None = None
    pos: int = 0  # input bytes consumed after this record (progress; seek point for .jsonl)
    line: int = 0  # 1-based line (jsonl) or row (csv, parquet) number
    group: str = ""  # evidence group (the source, or the --source-field value's host)
    meta: SourceMeta | None = None
    source: int = -1  # set by the batch run: the index of the source
    evidence: int | None = None  # set by the batch run: the id of its group's corpus evidence


@dataclass
class ReadOptions:
    text_field: str = "text"
    id_field: str = "id"
    encoding: str = "utf-8"
    source_field: str | None = None


@dataclass
class ResumePoint:
    records: int = 0  # records of this source already handled
    pos: int = 0  # input offset after them (.jsonl only)
    line: int = 0


_URL_HOST = re.compile(r"^[a-z][a-z0-9+.-]*://(?:[^@/?#]*@)?([^/?#:]+)", re.IGNORECASE)


def group_of(value: Any, default: str) -> str:
    """The evidence group of a record: a URL's host, another value as text, or ``default``."""
    if value is None or value == "":
        return default
    text = str(value)
    m = _URL_HOST.match(text)
    if m:
        host = m.group(1).lower()
        return host[4:] if host.startswith("www.") else host
    return text


def _describe(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _text_of(fields: dict, opts: ReadOptions) -> tuple[str | None, str | None]:
    if opts.text_field not in fields:
        return None, f"no {opts.text_field!r} field"
    value = fields[opts.text_field]
    if not isinstance(value, str):
        return None, f"field {opts.text_field!r} is not text (it is {_describe(value)})"
    if _has_surrogates(value):
        return None, f"field {opts.text_field!r} contains unpaired surrogates (not valid Unicode)"
    return value, None


_SURROGATE = re.compile("[\ud800-\udfff]")


def _has_surrogates(text: str) -> bool:
    return _SURROGATE.search(text) is not None


def _id_of(fields: dict, opts: ReadOptions, rel: str, number: int) -> str:
    value = fields.get(opts.id_field) if isinstance(fields, dict) else None
    if value is None or value == "" or isinstance(value, (dict, list)):
        return f"{rel}:{number}"
    return str(value)


def _fill_from_fields(
    rec: Record, fields: dict, opts: ReadOptions, rel: str, number: int, group: str
) -> None:
    """Id, fields, text (or why there is none) and group of a record read as a field mapping."""
    rec.id = _id_of(fields, opts, rel, number)
    rec.fields = fields
    rec.text, rec.error = _text_of(fields, opts)
    if opts.source_field:
        rec.group = group_of(fields.get(opts.source_field), group)


def check_support(fmt: str, path: Path | str) -> None:
    """Raise ResourceError (exit 5) now if reading ``fmt`` needs an extra that is not installed,
    so a run stops before it starts instead of failing every such source into the errors file."""
    if fmt == "parquet":
        try:
            import pyarrow.parquet  # noqa: F401
        except ImportError:
            raise ResourceError(
                f"restore: {path}: reading Parquet needs pyarrow: pip install 'restore[parquet]'"
            ) from None


# --------------------------------------------------------------------------- readers


def read_records(
    path: Path,
    fmt: str,
    rel: str,
    opts: ReadOptions,
    start: ResumePoint | None = None,
    meta: SourceMeta | None = None,
) -> Iterator[Record]:
    """Yield the records of one source in order, starting after ``start.records`` of them.

    ``meta`` (if given) is filled in when the file is opened: its CSV header or Arrow schema, or
    ``fatal`` when the file cannot be read at all.
    """
    readers = {
        "txt": _read_txt,
        "jsonl": _read_jsonl,
        "jsonl.gz": _read_jsonl,
        "csv": _read_csv,
        "parquet": _read_parquet,
    }
    return readers[fmt](path, fmt, rel, opts, start or ResumePoint(), meta or SourceMeta())


def _read_txt(
    path: Path, fmt: str, rel: str, opts: ReadOptions, start: ResumePoint, meta: SourceMeta
) -> Iterator[Record]:
    if start.records:
        return
    group = group_of(None, str(PurePosixPath(rel).parent))
    rec = Record(index=0, id=rel, line=1, group=group, meta=meta)
    try:
        data = path.read_bytes()
    except OSError as exc:
        rec.error = f"cannot read: {exc.strerror or exc}"
        yield rec
        return
    rec.pos = len(data)
    try:
        rec.text = decode_text(data, opts.encoding)
    except (ValueError, LookupError) as exc:
        rec.error = str(exc)
    yield rec


def _read_jsonl(
    path: Path, fmt: str, rel: str, opts: ReadOptions, start: ResumePoint, meta: SourceMeta
) -> Iterator[Record]:
    default_group = rel
    try:
        raw = open(path, "rb")  # noqa: SIM115 - closed below
    except OSError as exc:
        meta.fatal = f"cannot read: {exc.strerror or exc}"
        yield Record(index=start.records, id=rel, error=meta.fatal, meta=meta, group=default_group)
        return
    with raw:
        stream: Any = raw
        index, line = 0, 0
        wide = _is_wide(opts.encoding)
        if fmt == "jsonl.gz":
            stream = gzip.GzipFile(fileobj=raw, mode="rb")
        try:
            bom = _bom_encoding(stream.peek(4)[:4])
        except (OSError, EOFError):  # a damaged gzip stream: the loop below reports it from the start
            bom = None
            raw.seek(0)
            stream = gzip.GzipFile(fileobj=raw, mode="rb")
        if bom and not wide:  # every line would fail as "not valid utf-8": say why, once
            meta.fatal = f"looks like {bom.upper()} (it starts with a byte order mark); pass --encoding {bom}"
            if start.records == 0:
                yield Record(index=0, id=rel, error=meta.fatal, meta=meta, group=default_group)
            return
        if wide:  # UTF-16/32 lines cannot be split on the byte \n: decode the stream as a whole
            stream = io.TextIOWrapper(stream, encoding=opts.encoding, newline="\n")
        elif start.records and fmt != "jsonl.gz":
            raw.seek(start.pos)
            index, line = start.records, start.line
        skip = start.records - index
        while True:
            try:
                data = stream.readline()
            except (OSError, EOFError, UnicodeDecodeError) as exc:
                if isinstance(exc, UnicodeDecodeError):
                    reason = (
                        f"not valid {opts.encoding} after line {line}; the rest of the file is unreadable"
                    )
                else:
                    reason = f"compressed stream is damaged after line {line}: {exc}"
                if index >= start.records:
                    yield Record(index=index, id=f"{rel}:{line + 1}", error=reason, line=line + 1, meta=meta)
                return
            if not data:
                return
            line += 1
            if not data.strip():
                continue
            index += 1
            if skip > 0:
                skip -= 1
                continue
            rec = Record(index=index - 1, id=f"{rel}:{line}", line=line, meta=meta, group=default_group)
            rec.pos = raw.tell()
            if isinstance(data, str):  # a wide encoding, decoded by the stream
                decoded = data
            else:
                try:
                    decoded = data.decode(opts.encoding)
                except UnicodeDecodeError as exc:
                    rec.error = f"line {line}: not valid {opts.encoding} (byte {exc.start})"
                    yield rec
                    continue
            if line == 1:
                decoded = decoded.removeprefix("\ufeff")
            try:
                fields = json.loads(decoded)
            except ValueError as exc:
                rec.error = f"line {line}: not valid JSON ({exc})"
                yield rec
                continue
            if not isinstance(fields, dict):
                rec.error = f"line {line}: not a JSON object (it is {_describe(fields)})"
                yield rec
                continue
            _fill_from_fields(rec, fields, opts, rel, line, default_group)
            yield rec


def _is_wide(encoding: str) -> bool:
    """UTF-16 or UTF-32: a newline is more than the byte \\n, and most text has NUL bytes."""
    return codecs.lookup(encoding).name.startswith(("utf-16", "utf-32"))


def _bom_encoding(head: bytes) -> str | None:
    """The wide encoding a file's byte order mark announces, if any."""
    if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "utf-32"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    return None


def _read_csv(
    path: Path, fmt: str, rel: str, opts: ReadOptions, start: ResumePoint, meta: SourceMeta
) -> Iterator[Record]:
    try:
        raw = open(path, "rb")  # noqa: SIM115 - closed below
    except OSError as exc:
        meta.fatal = f"cannot read: {exc.strerror or exc}"
        yield Record(index=start.records, id=rel, error=meta.fatal, meta=meta)
        return
    with raw:
        text = io.TextIOWrapper(raw, encoding=opts.encoding, errors="surrogateescape", newline="")
        rows = csv.reader(text)
        try:
            header = next(rows)
        except StopIteration:
            header = []
        except csv.Error as exc:
            meta.fatal = f"cannot parse the CSV header: {exc}"
            yield Record(index=start.records, id=rel, error=meta.fatal, meta=meta)
            return
        if header:
            header[0] = header[0].removeprefix("\ufeff")
        problem = None
        if not header:
            problem = "empty file (no CSV header)"
        elif any(_has_surrogates(h) for h in header):
            problem = f"the CSV header is not valid {opts.encoding}"
        else:
            problem = _columns_problem(header, opts)
        if problem:
            meta.fatal = problem
            if start.records == 0:
                yield Record(index=0, id=rel, error=problem, meta=meta)
            return
        meta.header = header
        text_at = header.index(opts.text_field)
        id_at = header.index(opts.id_field) if opts.id_field in header else None
        group_at = header.index(opts.source_field) if opts.source_field in header else None
        index = 0
        while True:
            try:
                row = next(rows)
            except StopIteration:
                return
            except csv.Error as exc:
                if index >= start.records:
                    yield Record(
                        index=index, id=f"{rel}:{index + 1}", error=f"row {index + 1}: {exc}", meta=meta
                    )
                return
            if not row:
                continue
            index += 1
            if index <= start.records:
                continue
            number = index
            rec = Record(index=index - 1, id=f"{rel}:{number}", line=number, meta=meta, group=rel)
            rec.pos = raw.tell()
            if id_at is not None and id_at < len(row) and row[id_at]:
                rec.id = row[id_at]
            if len(row) != len(header):
                rec.error = f"row {number}: {len(row)} fields, the header has {len(header)}"
            elif any(_has_surrogates(v) for v in row):
                rec.error = f"row {number}: not valid {opts.encoding}"
            else:
                rec.fields = row
                rec.text = row[text_at]
                if group_at is not None:
                    rec.group = group_of(row[group_at], rel)
            yield rec


def _read_parquet(
    path: Path, fmt: str, rel: str, opts: ReadOptions, start: ResumePoint, meta: SourceMeta
) -> Iterator[Record]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        meta.fatal = "reading Parquet needs pyarrow: pip install 'restore[parquet]'"
        yield Record(index=start.records, id=rel, error=meta.fatal, meta=meta)
        return
    try:
        pf = pq.ParquetFile(path)
    except Exception as exc:  # ArrowInvalid, OSError: not a Parquet file / unreadable
        meta.fatal = f"cannot read as Parquet: {exc}"
        yield Record(index=start.records, id=rel, error=meta.fatal, meta=meta)
        return
    with pf:
        schema = pf.schema_arrow
        problem = _columns_problem(schema.names, opts)
        if problem:
            meta.fatal = problem
            if start.records == 0:
                yield Record(index=0, id=rel, error=problem, meta=meta)
            return
        meta.schema = schema
        total = max(1, pf.metadata.num_rows)
        size = path.stat().st_size
        index = 0
        try:
            for batch in pf.iter_batches(batch_size=256):
                if index + batch.num_rows <= start.records:
                    index += batch.num_rows
                    continue
                for row in batch.to_pylist():
                    index += 1
                    if index <= start.records:
                        continue
                    rec = Record(index=index - 1, id=f"{rel}:{index}", line=index, meta=meta, group=rel)
                    rec.pos = size * index // total
                    _fill_from_fields(rec, row, opts, rel, index, rel)
                    yield rec
        except Exception as exc:  # a damaged row group: report it, keep what was read
            yield Record(
                index=index,
                id=f"{rel}:{index + 1}",
                error=f"cannot read rows after {index}: {exc}",
                meta=meta,
            )


# --------------------------------------------------------------------------- writers


def partial_path(final: Path) -> Path:
    return final.with_name(f".{final.name}.restore-partial")


def _fsync(fh) -> None:
    fh.flush()
    os.fsync(fh.fileno())


@dataclass
class Output:
    """What restore adds to a record."""

    text: str
    edits: list[dict]
    spin_score: float
    judged_spun: bool


def _json_line(obj: dict) -> bytes:
    try:
        return (json.dumps(obj, ensure_ascii=False) + "\n").encode("utf-8")
    except UnicodeEncodeError:  # an unpaired surrogate in some field: escape it, JSON keeps it exact
        return (json.dumps(obj, ensure_ascii=True) + "\n").encode("ascii")


class _AppendFile:
    """A binary append-only partial file, truncated to the last committed size on reopen."""

    def __init__(self, path: Path, position: dict | None):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        committed = int((position or {}).get("bytes", 0))
        if position is not None and path.exists():
            with open(path, "r+b") as fh:
                fh.truncate(committed)
            self.fh = open(path, "ab")  # noqa: SIM115
        else:
            self.fh = open(path, "wb")  # noqa: SIM115
        self.fresh = self.fh.tell() == 0

    def sync(self) -> dict:
        _fsync(self.fh)
        return {"bytes": self.fh.tell()}

    def close(self) -> None:
        if not self.fh.closed:
            _fsync(self.fh)
            self.fh.close()


class Writer:
    rows_buffered = 0

    def write(self, rec: Record, out: Output) -> None:
        raise NotImplementedError

    def sync(self) -> dict:
        return {}

    def finish(self) -> None:
        pass

    def close(self) -> None:
        pass


class JsonlWriter(Writer):
    def __init__(self, final: Path, gz: bool, position: dict | None):
        self.final = final
        self.file = _AppendFile(partial_path(final), position)
        self.gz = gz
        self.member: gzip.GzipFile | None = None

    def write(self, rec: Record, out: Output) -> None:
        obj = dict(rec.fields)
        obj["restored_text"] = out.text
        obj["edits"] = out.edits
        obj["spin_score"] = out.spin_score
        obj["judged_spun"] = out.judged_spun
        data = _json_line(obj)
        if self.gz:
            if self.member is None:  # one gzip member per checkpoint: a resumed file stays valid
                self.member = gzip.GzipFile(fileobj=self.file.fh, mode="wb", mtime=0)
            self.member.write(data)
        else:
            self.file.fh.write(data)

    def _close_member(self) -> None:
        if self.member is not None:
            self.member.close()
            self.member = None

    def sync(self) -> dict:
        self._close_member()
        return self.file.sync()

    def finish(self) -> None:
        self._close_member()
        self.file.close()
        os.replace(self.file.path, self.final)

    def close(self) -> None:
        self.file.fh.close()


class CsvWriter(Writer):
    def __init__(self, final: Path, header: list[str], position: dict | None):
        self.final = final
        self.file = _AppendFile(partial_path(final), position)
        self.text = io.TextIOWrapper(self.file.fh, encoding="utf-8", newline="", write_through=True)
        self.csv = csv.writer(self.text)
        if self.file.fresh:
            self.csv.writerow([*header, *ADDED_FIELDS])

    def write(self, rec: Record, out: Output) -> None:
        edits = json.dumps(out.edits, ensure_ascii=False)
        spun = "true" if out.judged_spun else "false"
        self.csv.writerow([*rec.fields, out.text, edits, repr(out.spin_score), spun])

    def sync(self) -> dict:
        self.text.flush()
        return self.file.sync()

    def finish(self) -> None:
        self.text.flush()
        self.file.close()
        os.replace(self.file.path, self.final)

    def close(self) -> None:
        self.text.detach()
        self.file.fh.close()


def _out_schema(schema):
    import pyarrow as pa

    return (
        schema.append(pa.field("restored_text", pa.string()))
        .append(pa.field("edits", pa.string()))
        .append(pa.field("spin_score", pa.float64()))
        .append(pa.field("judged_spun", pa.bool_()))
    )


class ParquetWriter(Writer):
    """Rows are buffered and written as numbered part files at each sync; finish() joins them."""

    MAX_ROWS = 2000

    def __init__(self, final: Path, schema, position: dict | None):
        self.final = final
        self.schema = _out_schema(schema)
        self.parts_dir = final.with_name(f".{final.name}.restore-parts")
        self.parts = int((position or {}).get("parts", 0))
        if position is None and self.parts_dir.exists():
            shutil.rmtree(self.parts_dir)
        self.parts_dir.mkdir(parents=True, exist_ok=True)
        for stale in self.parts_dir.iterdir():  # written after the last checkpoint, or temporaries
            if not stale.name.endswith(".parquet") or int(stale.stem.split("-")[1]) >= self.parts:
                stale.unlink()
        self.rows: list[dict] = []

    @property
    def rows_buffered(self) -> int:
        return len(self.rows)

    def write(self, rec: Record, out: Output) -> None:
        row = dict(rec.fields)
        row["restored_text"] = out.text
        row["edits"] = json.dumps(out.edits, ensure_ascii=False)
        row["spin_score"] = out.spin_score
        row["judged_spun"] = out.judged_spun
        self.rows.append(row)

    def sync(self) -> dict:
        if self.rows:
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.Table.from_pylist(self.rows, schema=self.schema)
            target = self.parts_dir / f"part-{self.parts:06d}.parquet"
            tmp = self.parts_dir / f".part-{self.parts:06d}.tmp"
            pq.write_table(table, tmp)
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, target)
            self.parts += 1
            self.rows = []
        return {"parts": self.parts}

    def finish(self) -> None:
        import pyarrow.parquet as pq

        self.sync()
        partial = partial_path(self.final)
        with pq.ParquetWriter(partial, self.schema) as writer:
            for k in range(self.parts):
                part = pq.ParquetFile(self.parts_dir / f"part-{k:06d}.parquet")
                for group in range(part.num_row_groups):  # one row group in memory at a time
                    writer.write_table(part.read_row_group(group))
        with open(partial, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(partial, self.final)
        # Rename before deleting: a resumed run must never see a half-deleted parts directory.
        trash = self.parts_dir.with_name(self.parts_dir.name + ".trash")
        shutil.rmtree(trash, ignore_errors=True)
        os.replace(self.parts_dir, trash)
        shutil.rmtree(trash, ignore_errors=True)


class TxtWriter(Writer):
    """One record per file: the restored text, and its edits and verdict in ``NAME.restore.json``."""

    def __init__(self, final: Path):
        self.final = final

    def write(self, rec: Record, out: Output) -> None:
        from .textio import write_text_atomic

        meta = {
            "id": rec.id,
            "edits": out.edits,
            "spin_score": out.spin_score,
            "judged_spun": out.judged_spun,
        }
        write_text_atomic(sidecar_path(self.final), json.dumps(meta, ensure_ascii=False) + "\n")
        write_text_atomic(self.final, out.text)


def sidecar_path(final: Path) -> Path:
    return final.with_name(final.name + ".restore.json")


def open_writer(fmt: str, final: Path, meta: SourceMeta, position: dict | None) -> Writer:
    if fmt == "txt":
        return TxtWriter(final)
    if fmt in ("jsonl", "jsonl.gz"):
        return JsonlWriter(final, fmt == "jsonl.gz", position)
    if fmt == "csv":
        return CsvWriter(final, meta.header or [], position)
    if fmt == "parquet":
        return ParquetWriter(final, meta.schema, position)
    raise ValueError(f"unknown format {fmt}")


@dataclass
class ErrorLog:
    """``OUTPUT.errors.jsonl``: one JSON line per failed record (source, id, line, reason)."""

    final: Path
    position: dict | None = None
    file: _AppendFile | None = field(default=None, init=False)

    def __post_init__(self):
        self.file = _AppendFile(partial_path(self.final), self.position)

    def write(self, source: str, rec: Record) -> None:
        obj = {"source": source, "id": rec.id, "line": rec.line or None, "reason": rec.error}
        self.file.fh.write(_json_line(obj))

    def sync(self) -> dict:
        return self.file.sync()

    def finish(self) -> bool:
        """Publish the errors file if it has any line; return whether it does.

        Without any, an errors file an earlier run left at that name is removed too: it lists
        failures that are not this run's, beside an output that has none.
        """
        self.file.close()
        if self.file.path.stat().st_size:
            os.replace(self.file.path, self.final)
            return True
        self.file.path.unlink(missing_ok=True)
        self.final.unlink(missing_ok=True)
        return False


def _columns_problem(names: list[str], opts) -> str | None:
    """Why a table's columns cannot be processed (no text column, or one restore would add), or None."""
    if opts.text_field not in names:
        return f"no {opts.text_field!r} column (columns: {', '.join(names[:20])})"
    if clash := [f for f in ADDED_FIELDS if f in names]:
        return f"already has column(s) {', '.join(clash)} that restore adds"
    return None
