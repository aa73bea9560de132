"""Reading inputs and writing outputs safely: clear errors naming the file, atomic writes."""

from __future__ import annotations

import codecs
import errno
import os
import stat
import sys
import tempfile
from pathlib import Path

from .errors import InputError, OutputError


def read_text(path: str, encoding: str = "utf-8") -> str:
    """Read one input as text; ``-`` is standard input. Raises InputError naming the file."""
    if path == "-":
        data = sys.stdin.buffer.read()
        name = "<stdin>"
    else:
        p = Path(path)
        name = path
        if not p.exists():
            raise InputError(f"restore: {name}: no such file")
        if p.is_dir():
            raise InputError(f"restore: {name}: is a directory (use `restore batch` for directories)")
        try:
            data = p.read_bytes()
        except OSError as exc:
            raise InputError(f"restore: {name}: cannot read: {exc.strerror or exc}") from exc
    try:
        return decode_text(data, encoding)
    except LookupError as exc:
        raise InputError(f"restore: {exc}") from exc
    except ValueError as exc:
        raise InputError(f"restore: {name}: {exc}") from exc


def decode_text(data: bytes, encoding: str = "utf-8") -> str:
    """The text in a file's bytes, without a byte order mark.

    Raises ValueError saying why the bytes are not text in ``encoding`` (binary, another
    encoding) and LookupError for an unknown encoding; callers add the file's name.
    """
    try:
        wide = codecs.lookup(encoding).name.startswith(("utf-16", "utf-32"))
    except LookupError as exc:
        raise LookupError(f"unknown encoding {encoding!r}") from exc
    if not wide:
        if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
            raise ValueError("looks like UTF-32 (it starts with a byte order mark); pass --encoding utf-32")
        if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            raise ValueError("looks like UTF-16 (it starts with a byte order mark); pass --encoding utf-16")
        if b"\x00" in data[:8192]:  # UTF-16/32 text is full of NUL bytes; other text has none
            raise ValueError("not a text file (it contains NUL bytes)")
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"not valid {encoding} (byte {exc.start}); pass --encoding if it is another one"
        ) from exc
    if "\x00" in text[:8192]:
        raise ValueError("not a text file (it contains NUL characters)")
    return text.removeprefix("\ufeff")


def write_text_atomic(path: str | os.PathLike, text: str, encoding: str = "utf-8") -> None:
    """Write ``text`` to ``path`` via a temporary file in the same directory and a rename.

    A symlink is followed (the file it points to is replaced, the link stays), and a path that
    is neither a file nor a directory (``/dev/null``, ``/dev/stdout``, a FIFO) is written in
    place: a rename would put a plain file where the link or the device node was.
    """
    target = Path(path)
    try:
        if _is_special(path):
            with open(path, "w", encoding=encoding, newline="") as fh:
                fh.write(text)
            return
        real = Path(os.path.realpath(path))
        real.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{real.name}.", suffix=".tmp", dir=real.parent)
        try:
            with os.fdopen(fd, "w", encoding=encoding, newline="") as fh:
                fh.write(text)
            os.chmod(tmp, _default_mode(real))
            os.replace(tmp, real)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise OutputError(f"restore: cannot write {target}: {exc.strerror or exc}") from exc
    except UnicodeEncodeError as exc:
        raise OutputError(
            f"restore: cannot write {target} as {encoding}: {exc.object[exc.start : exc.end]!r} has no "
            f"{encoding} form (the file was left as it was)"
        ) from exc


def check_writable(path: str | os.PathLike, *, directory: bool = False) -> None:
    """Raise OutputError now if ``path`` cannot be written (a directory, no permission), so no
    work is done for an output that would fail at the end (a review whose decisions are lost).

    ``directory``: ``path`` is a directory that files will be written into (made if missing).
    """
    if _is_special(path) and not directory:  # /dev/null, a FIFO: written in place
        return
    real = Path(os.path.realpath(path))
    try:
        if directory:
            if real.exists() and not real.is_dir():
                raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR))
            where = real
        elif real.is_dir():
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR))
        else:
            where = real.parent
        try:
            where.mkdir(parents=True, exist_ok=True)
        except FileExistsError:  # a file where one of the directories should be
            raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR)) from None
        fd, tmp = tempfile.mkstemp(prefix=f".{real.name}.", suffix=".tmp", dir=where)
        os.close(fd)
        os.unlink(tmp)
    except OSError as exc:
        raise OutputError(f"restore: cannot write {path}: {exc.strerror or exc}") from exc


def _is_special(path: str | os.PathLike) -> bool:
    """True if ``path`` (links followed) exists and is neither a regular file nor a directory."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def _default_mode(target: Path) -> int:
    """The mode a plain open() would give: the existing file's, else 0o666 less the umask."""
    try:
        return target.stat().st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask
