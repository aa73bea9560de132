"""The `restore` command line: `restore fix` restores spun text and shows every change.

Exit codes: 0 success; 1 `scan` found a spun document; 2 usage error; 3 an input
could not be read as text; 4 an output could not be written; 5 a bundled
resource (wordlist, language model) could not be loaded.
"""

from __future__ import annotations

import enum
import sys
from pathlib import Path
from typing import Annotated

import typer

from restore.errors import RestoreError

app = typer.Typer(
    name="restore",
    help="Clean scraped news text and restore articles rewritten by synonym spinners.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """Clean scraped news text and restore articles rewritten by synonym spinners."""


class DiffStyle(str, enum.Enum):
    auto = "auto"
    word = "word"
    unified = "unified"
    none = "none"


class OutputFormat(str, enum.Enum):
    text = "text"
    json = "json"


@app.command()
def fix(
    paths: Annotated[
        list[str] | None, typer.Argument(help="Input files; '-' or none reads standard input.")
    ] = None,
    diff: Annotated[
        DiffStyle,
        typer.Option(
            help="Diff on stderr: word (coloured on a terminal), unified, none; auto = word on a terminal."
        ),
    ] = DiffStyle.auto,
    output_format: Annotated[
        OutputFormat, typer.Option("--format", help="text, or json (text, edits, spin score).")
    ] = OutputFormat.text,
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="Write the result here (atomically) instead of stdout."),
    ] = None,
    no_restore: Annotated[
        bool, typer.Option("--no-restore", help="Only clean; leave the wording alone.")
    ] = False,
    no_clean: Annotated[
        bool, typer.Option("--no-clean", help="Only restore; leave chrome lines and characters alone.")
    ] = False,
    threshold: Annotated[
        float | None,
        typer.Option(help="Margin in nats a restoration must win by (higher = fewer, surer edits)."),
    ] = None,
    remove_bylines: Annotated[
        bool, typer.Option("--remove-bylines", help="Also remove bylines and datelines.")
    ] = False,
    remove_captions: Annotated[
        bool, typer.Option("--remove-captions", help="Also remove photo captions and credits.")
    ] = False,
    encoding: Annotated[str, typer.Option(help="Encoding of the input files.")] = "utf-8",
) -> None:
    """Restore spun text: the restored text on stdout, the changes as a diff on stderr."""
    from restore.clean import CleanOptions

    from restore.pipeline import Restorer
    from restore.render import to_json, unified_diff, word_diff
    from restore.textio import read_text, write_text_atomic

    inputs = paths or ["-"]
    if output is not None and len(inputs) > 1:
        raise typer.BadParameter("-o takes one input; use `restore batch` for many files", param_hint="-o")
    texts = [(p, read_text(p, encoding)) for p in inputs]  # fail before any work if one is unreadable
    restorer = Restorer(
        threshold=threshold,
        clean_options=CleanOptions(remove_bylines=remove_bylines, remove_captions=remove_captions),
    )
    style = diff.value
    if style == "auto":
        style = "word" if sys.stderr.isatty() else "none"
    results = []
    for name, text in texts:
        result = restorer.restore(text, clean=not no_clean, restore=not no_restore)
        results.append((name, result))
        label = name if len(inputs) > 1 or name != "-" else ""
        if style == "word":
            sys.stderr.write(word_diff(text, result.edits, color=sys.stderr.isatty(), name=label))
        elif style == "unified":
            sys.stderr.write(unified_diff(text, result.text, name if name != "-" else "stdin"))
    if output_format is OutputFormat.json:
        lines = []
        for name, result in results:
            payload = result.to_dict()
            payload["path"] = name
            lines.append(to_json(payload) + "\n")
        rendered = "".join(lines)
    else:
        rendered = "".join(result.text for _, result in results)
    if output is not None:
        write_text_atomic(output, rendered)
    else:
        sys.stdout.write(rendered)
        sys.stdout.flush()


def main() -> None:
    """Console entry point: the tool's own errors become one-line messages and exit codes."""
    try:
        app()
    except RestoreError as exc:
        sys.stderr.write(f"{exc}\n")
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    main()
