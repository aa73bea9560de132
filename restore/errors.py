"""Errors a user can act on, and the exit codes the CLI maps them to."""

from __future__ import annotations

EXIT_OK = 0
EXIT_FLAGGED = 1  # `scan`: some document was judged spun
EXIT_USAGE = 2  # bad flags or arguments (typer/click also uses 2)
EXIT_INPUT = 3  # an input file could not be read as text
EXIT_OUTPUT = 4  # an output file could not be written
EXIT_RESOURCE = 5  # a model, a wordlist or a needed extra (torch, pyarrow) could not be loaded
EXIT_RECORDS_FAILED = 6  # `batch`: the run finished, but some records are in the errors file
EXIT_INTERRUPTED = 130  # `batch` was interrupted (Ctrl-C); --resume continues it


class RestoreError(Exception):
    """Base class: carries the exit code the CLI should use."""

    exit_code = 1


class UsageError(RestoreError):
    """The command cannot run as asked (conflicting paths or options); found after argument parsing."""

    exit_code = EXIT_USAGE


class InputError(RestoreError):
    """An input could not be read as text; the message names the file."""

    exit_code = EXIT_INPUT


class OutputError(RestoreError):
    exit_code = EXIT_OUTPUT


class ResourceError(RestoreError):
    exit_code = EXIT_RESOURCE
