"""The `restore` command line: `restore fix` restores spun text and shows every change.

Exit codes: 0 success; 1 `scan` found a spun document; 2 usage error; 3 an input
could not be read as text; 4 an output could not be written; 5 a bundled
resource (wordlist, language model) or a needed extra (torch, pyarrow) could not be loaded; 6 `batch` finished but some
records failed (see OUTPUT.errors.jsonl); 130 `batch` was interrupted (--resume continues).
"""

from __future__ import annotations

import codecs
import enum
import math
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from restore.clm import ClmOption
from restore.errors import EXIT_FLAGGED, OutputError, RestoreError
from restore.mlm import Device, DeviceOption, ModelOption

app = typer.Typer(
    name="restore",
    help="Clean scraped news text and restore articles rewritten by synonym spinners.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            typer.echo(f"restore {version('restore')}")
        except PackageNotFoundError:  # run from a checkout that was never installed
            typer.echo("restore (not installed)")
        raise typer.Exit()


@app.callback()
def _root(
    show_version: Annotated[
        bool,
        typer.Option("--version", help="Print the version and exit.", callback=_print_version, is_eager=True),
    ] = False,
) -> None:
    """Clean scraped news text and restore articles rewritten by synonym spinners."""


# Options shared by the commands that run the engine (one definition, one help text).
PathsArgument = Annotated[
    list[str] | None, typer.Argument(help="Input files; '-' or none reads standard input.")
]
NoRestoreOption = Annotated[bool, typer.Option("--no-restore", help="Only clean; leave the wording alone.")]
NoCleanOption = Annotated[
    bool, typer.Option("--no-clean", help="Only restore; leave chrome lines and characters alone.")
]


def _finite(value: float | None) -> float | None:
    """Refuse --threshold nan/inf (exit 2): either silently turned every restoration off."""
    if value is not None and not math.isfinite(value):
        raise typer.BadParameter(f"must be a finite number of nats, not {value}")
    return value


ThresholdOption = Annotated[
    float | None,
    typer.Option(
        help="Margin in nats a restoration must win by (higher = fewer, surer edits).", callback=_finite
    ),
]
RemoveBylinesOption = Annotated[
    bool, typer.Option("--remove-bylines", help="Also remove bylines and datelines.")
]
RemoveCaptionsOption = Annotated[
    bool, typer.Option("--remove-captions", help="Also remove photo captions and credits.")
]


def _known_encoding(name: str) -> str:
    """Reject an unknown --encoding before any file is read (exit 2, not one failure per record)."""
    import codecs

    try:
        codecs.lookup(name)
    except LookupError:
        raise typer.BadParameter(f"unknown encoding {name!r}") from None
    return name


def _encoding_option(help: str):
    """--encoding names the inputs' encoding; each command's help says how its output is encoded."""
    return Annotated[str, typer.Option(help=help, callback=_known_encoding)]


EncodingOption = _encoding_option("Encoding of the input files.")
FixEncodingOption = _encoding_option(
    "Encoding of the input files; stdout and -o are UTF-8 whatever this is; "
    "--in-place writes each file back in it."
)
BatchEncodingOption = _encoding_option(
    "Encoding of the input files. Output files are UTF-8 whatever this is."
)
ReviewEncodingOption = _encoding_option(
    "Encoding of the input file; the reviewed text is written in it too (the log is UTF-8)."
)


class DiffStyle(str, enum.Enum):
    auto = "auto"
    word = "word"
    unified = "unified"
    html = "html"
    none = "none"


class OutputFormat(str, enum.Enum):
    text = "text"
    json = "json"


def _same_file(output: Path, path: str) -> bool:
    """True if writing ``output`` would overwrite the input ``path`` (symlinks and ``./`` included)."""
    if path == "-":
        return False
    try:
        return output.exists() and os.path.samefile(output, path)
    except OSError:
        return False


def _emit(text: str) -> None:
    """Write to stdout now; a failed write (disk full, closed pipe) is exit 4, not a traceback
    with exit 1, which `scan` uses for "judged spun".

    The text goes out as UTF-8, as ``-o`` writes it, whatever the locale's encoding: under an
    ASCII, Latin-1 or cp1252 stdout (a redirected Windows console) the first "—" was a
    UnicodeEncodeError traceback."""
    try:
        encoding = getattr(sys.stdout, "encoding", None) or ""
        buffer = getattr(sys.stdout, "buffer", None)
        if buffer is not None and codecs.lookup(encoding or "ascii").name != "utf-8":
            sys.stdout.flush()
            buffer.write(text.encode("utf-8"))
            buffer.flush()
        else:
            sys.stdout.write(text)
        sys.stdout.flush()
    except OSError as exc:
        raise OutputError(f"restore: cannot write standard output: {exc.strerror or exc}") from exc


@app.command()
def fix(
    paths: PathsArgument = None,
    diff: Annotated[
        DiffStyle,
        typer.Option(
            help="Diff on stderr: word (coloured on a terminal), unified, none; auto = word on a terminal; "
            "html = a review page written to -o (the restored text still goes to stdout)."
        ),
    ] = DiffStyle.auto,
    output_format: Annotated[
        OutputFormat, typer.Option("--format", help="text, or json (text, edits, spin score).")
    ] = OutputFormat.text,
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="Write the result here (atomically) instead of stdout."),
    ] = None,
    in_place: Annotated[
        bool,
        typer.Option(
            "--in-place", help="Overwrite each input with its result (atomically); nothing on stdout."
        ),
    ] = False,
    no_restore: NoRestoreOption = False,
    no_clean: NoCleanOption = False,
    threshold: ThresholdOption = None,
    remove_bylines: RemoveBylinesOption = False,
    remove_captions: RemoveCaptionsOption = False,
    encoding: FixEncodingOption = "utf-8",
    model: ModelOption = None,
    device: DeviceOption = Device.auto,
    clm: ClmOption = False,
    apply_log: Annotated[
        Path | None,
        typer.Option(
            "--apply-log",
            help="Replay a review log (from `restore review` or the HTML page) instead of running the engine.",
        ),
    ] = None,
) -> None:
    """Restore spun text: the restored text on stdout, the changes as a diff on stderr."""
    from restore.clean import CleanOptions
    from restore.pipeline import Restorer
    from restore.render import to_json, unified_diff, word_diff
    from restore.textio import check_writable, read_text, write_text_atomic

    inputs = paths or ["-"]
    if output is not None and len(inputs) > 1:
        raise typer.BadParameter("-o takes one input; use `restore batch` for many files", param_hint="-o")
    if diff is DiffStyle.html and (output is None or output_format is OutputFormat.json):
        raise typer.BadParameter("--diff html writes a page: give it -o report.html (and --format text)")
    if apply_log is not None and len(inputs) > 1:
        raise typer.BadParameter(
            "--apply-log replays one review: give it one input", param_hint="--apply-log"
        )
    if in_place:
        if output is not None:
            raise typer.BadParameter("--in-place and -o exclude each other", param_hint="--in-place")
        if "-" in inputs:
            raise typer.BadParameter("--in-place needs files, not standard input", param_hint="--in-place")
        if output_format is OutputFormat.json or diff is DiffStyle.html:
            raise typer.BadParameter(
                "--in-place writes the restored text over each input: use it with --format text "
                "and without --diff html",
                param_hint="--in-place",
            )
    elif output is not None and any(_same_file(output, p) for p in inputs):
        raise typer.BadParameter(
            f"{output} is an input; inputs are never overwritten unless you pass --in-place",
            param_hint="-o",
        )
    texts = [(p, read_text(p, encoding)) for p in inputs]  # fail before any work if one is unreadable
    if output is not None:
        check_writable(output)  # the page or text too: not exit 4 after the whole run
    restorer = Restorer(
        threshold=threshold,
        clean_options=CleanOptions(remove_bylines=remove_bylines, remove_captions=remove_captions),
        model=model,
        device=device.value,
        clm=clm,
    )
    style = diff.value
    if style == "auto":
        style = "word" if sys.stderr.isatty() else "none"
    results = []
    for name, text in texts:
        if apply_log is not None:
            from restore.review import replay_log

            result = replay_log(text, apply_log, name=name if name != "-" else "<stdin>")
        else:
            result = restorer.restore(text, clean=not no_clean, restore=not no_restore)
        results.append((name, result))
        label = name if len(inputs) > 1 or name != "-" else ""
        if style == "word":
            color = sys.stderr.isatty() and not os.environ.get("NO_COLOR")  # no-color.org
            sys.stderr.write(word_diff(text, result.edits, color=color, name=label))
        elif style == "unified":
            sys.stderr.write(unified_diff(text, result.text, name if name != "-" else "stdin"))
        elif style == "html":
            from restore.html import render_html

            write_text_atomic(
                output, render_html(text, result, title=Path(name).name if name != "-" else "stdin")
            )
    if in_place:
        for name, result in results:
            if result.edits:  # an unchanged file keeps its timestamp
                with open(name, "rb") as fh:  # a UTF-8 byte order mark the reader dropped goes back
                    plain_utf8 = codecs.lookup(encoding).name == "utf-8"  # (utf-8-sig writes its own)
                    bom = "\ufeff" if plain_utf8 and fh.read(3) == codecs.BOM_UTF8 else ""
                write_text_atomic(name, bom + result.text, encoding)
        return
    if output_format is OutputFormat.json:
        lines = []
        for name, result in results:
            payload = result.to_dict()
            payload["path"] = name
            lines.append(to_json(payload) + "\n")
        rendered = "".join(lines)
    else:
        rendered = "".join(result.text for _, result in results)
    if output is not None and style != "html":
        write_text_atomic(output, rendered)
    else:
        _emit(rendered)


@app.command()
def scan(
    paths: PathsArgument = None,
    output_format: Annotated[
        OutputFormat, typer.Option("--format", help="text, or json (one object per document).")
    ] = OutputFormat.text,
    top: Annotated[int, typer.Option(min=0, help="Flagged spans to show per document.")] = 5,
    no_clean: NoCleanOption = False,
    threshold: ThresholdOption = None,
    encoding: EncodingOption = "utf-8",
    model: ModelOption = None,
    device: DeviceOption = Device.auto,
    clm: ClmOption = False,
) -> None:
    """Detect spun text without changing it. Exit 0: no document judged spun; 1: some document is."""
    from restore.pipeline import Restorer
    from restore.render import to_json
    from restore.scan import scan_report
    from restore.textio import read_text

    inputs = paths or ["-"]
    texts = [(p, read_text(p, encoding)) for p in inputs]
    restorer = Restorer(threshold=threshold, model=model, device=device.value, clm=clm)
    any_spun = False
    for name, text in texts:
        report = scan_report(
            name if name != "-" else "<stdin>", restorer.restore(text, clean=not no_clean), top
        )
        any_spun |= report.spun
        if output_format is OutputFormat.json:
            _emit(to_json(report.to_dict()) + "\n")
        else:
            _emit(report.to_line() + "\n")
    raise typer.Exit(EXIT_FLAGGED if any_spun else 0)


class ProgressStyle(str, enum.Enum):
    auto = "auto"
    bar = "bar"
    plain = "plain"
    none = "none"


@app.command()
def batch(
    input_path: Annotated[
        Path,
        typer.Argument(
            metavar="INPUT", help="A .txt/.jsonl/.jsonl.gz/.csv/.parquet file or a directory tree of them."
        ),
    ],
    output: Annotated[
        Path,
        typer.Argument(
            metavar="OUTPUT", help="Output file (or directory, for a directory INPUT); same format."
        ),
    ],
    text_field: Annotated[str, typer.Option(help="The field or column holding the text.")] = "text",
    id_field: Annotated[
        str, typer.Option(help="The field naming a record in the errors file (else FILE:LINE).")
    ] = "id",
    workers: Annotated[int | None, typer.Option(min=1, help="Worker processes (default: all cores).")] = None,
    no_clean: NoCleanOption = False,
    no_restore: NoRestoreOption = False,
    only_spun: Annotated[bool, typer.Option("--only-spun", help="Write only documents judged spun.")] = False,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue an interrupted run into the same OUTPUT.")
    ] = False,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Start from a clean OUTPUT: remove what earlier runs wrote there, and nothing else "
            "(also discards an interrupted run).",
        ),
    ] = False,
    report: Annotated[Path | None, typer.Option(help="Write a JSON report of the run here.")] = None,
    source_field: Annotated[
        str | None,
        typer.Option(
            help="Field naming each record's site (a URL's host counts) for repeated-line evidence; default: per file."
        ),
    ] = None,
    evidence_sample: Annotated[
        int,
        typer.Option(
            min=0, help="Documents sampled per file (or directory) to find repeated chrome lines; 0 = off."
        ),
    ] = 1000,
    threshold: ThresholdOption = None,
    remove_bylines: RemoveBylinesOption = False,
    remove_captions: RemoveCaptionsOption = False,
    encoding: BatchEncodingOption = "utf-8",
    progress: Annotated[
        ProgressStyle, typer.Option(help="auto = a bar on a terminal, else a plain line every 10 s.")
    ] = ProgressStyle.auto,
    html: Annotated[
        Path | None,
        typer.Option(help="Also write an HTML review page per written document into this directory."),
    ] = None,
    model: ModelOption = None,
    device: DeviceOption = Device.auto,
    clm: ClmOption = False,
) -> None:
    """Clean and restore a corpus, in parallel and resumably; failed records go to OUTPUT.errors.jsonl."""
    from restore.batch import BatchOptions, run_batch

    if resume and force:
        raise typer.BadParameter("--resume and --force exclude each other", param_hint="--resume")
    summary = run_batch(
        input_path,
        output,
        BatchOptions(
            text_field=text_field,
            id_field=id_field,
            source_field=source_field,
            encoding=encoding,
            clean=not no_clean,
            restore=not no_restore,
            only_spun=only_spun,
            threshold=threshold,
            remove_bylines=remove_bylines,
            remove_captions=remove_captions,
            evidence_sample=evidence_sample,
            workers=workers,
            resume=resume,
            force=force,
            report=report,
            progress=progress.value,
            model=model,
            device=device.value,
            clm=clm,
            html=html,
        ),
    )
    raise typer.Exit(summary.exit_code)


@app.command()
def review(
    path: Annotated[Path, typer.Argument(help="The file to review (it is not changed unless --in-place).")],
    output: Annotated[
        Path | None,
        typer.Option(
            "-o",
            "--output",
            help="Write the reviewed text here (default: PATH with .txt replaced by .restored.txt).",
        ),
    ] = None,
    in_place: Annotated[
        bool, typer.Option("--in-place", help="Overwrite PATH with the reviewed text (atomically).")
    ] = False,
    log: Annotated[
        Path | None,
        typer.Option(help="Write the decision log here (default: next to the output, *.review.json)."),
    ] = None,
    no_clean: NoCleanOption = False,
    threshold: ThresholdOption = None,
    encoding: ReviewEncodingOption = "utf-8",
    model: ModelOption = None,
    device: DeviceOption = Device.auto,
    clm: ClmOption = False,
) -> None:
    """Review the proposed edits one by one in the terminal: a accept, r reject, A all of a kind, e edit, b back, q quit."""
    from restore.review import run_review

    if in_place and output is not None:
        raise typer.BadParameter("--in-place and -o exclude each other", param_hint="--in-place")
    if output is not None and _same_file(output, str(path)):
        raise typer.BadParameter(
            f"{output} is the input; it is never overwritten unless you pass --in-place", param_hint="-o"
        )
    if str(path) == "-":
        raise typer.BadParameter(
            "review reads its keys from standard input: give it a file", param_hint="PATH"
        )
    code = run_review(
        path,
        output=output,
        in_place=in_place,
        log=log,
        clean=not no_clean,
        threshold=threshold,
        encoding=encoding,
        model=model,
        device=device.value,
        clm=clm,
    )
    raise typer.Exit(code)


def main() -> None:
    """Console entry point: the tool's own errors become one-line messages and exit codes."""
    try:
        app()
    except RestoreError as exc:
        sys.stderr.write(f"{exc}\n")
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    main()
