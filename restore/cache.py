"""Compiled forms of bundled tables, kept in the user's cache directory.

Parsing multi-megabyte TSVs on every run would dominate start-up; instead each
table is parsed once into a marshal file keyed by the sources' size and mtime.
Every upgrade or edit of a table makes a new file (about 6 MB for the channel tables),
so writing one removes the older builds of the same sources and any build nobody has
loaded for a month: the cache stays the size of what is in use.
"""

from __future__ import annotations

import gc
import hashlib
import marshal
import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any


def cache_dir() -> Path:
    """$RESTORE_CACHE_DIR, else $XDG_CACHE_HOME/restore, else ~/.cache/restore.

    A relative XDG_CACHE_HOME is ignored, as the XDG spec says: it put a cache tree into
    whatever directory restore was run from.
    """
    base = os.environ.get("RESTORE_CACHE_DIR")
    if base:
        return Path(base)
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(xdg):
        xdg = os.path.join(os.path.expanduser("~"), ".cache")
    return Path(xdg) / "restore"


STALE_SECONDS = 30 * 24 * 3600  # a build not loaded for this long is removed when another is written
_TOUCH_SECONDS = 24 * 3600  # a loaded build's mtime is refreshed at most this often


def load_compiled(name: str, version: object, sources: Iterable[Path], build: Callable[[], Any]) -> Any:
    """``build()``'s result, from the cache when the sources have not changed since it was made.

    The file is ``NAME-WHERE-WHAT.marshal``: WHERE names the source paths, WHAT their version,
    sizes and mtimes, so a rebuild of the same sources knows which older file it replaces.
    """
    sources = sorted(sources)
    where = hashlib.sha1(name.encode())
    digest = hashlib.sha1(f"{name}:{version}".encode())
    for path in sources:
        stat = path.stat()
        where.update(f"{path.resolve()}\0".encode())
        digest.update(f"{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    group = f"{name}-{where.hexdigest()[:8]}-"
    path = cache_dir() / f"{group}{digest.hexdigest()[:16]}.marshal"
    try:
        data = path.read_bytes()
        gc_was_enabled = gc.isenabled()
        gc.disable()  # millions of small objects: collection passes during the load triple its time
        try:
            value = marshal.loads(data)
        finally:
            if gc_was_enabled:
                gc.enable()
        _mark_used(path)
        return value
    except (OSError, ValueError, EOFError, TypeError):
        pass
    value = build()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        with open(tmp, "wb") as fh:
            marshal.dump(value, fh)
        os.replace(tmp, path)
    except (OSError, ValueError):
        return value  # a read-only home only costs start-up time
    _remove_stale(path, name, group)
    return value


def _mark_used(path: Path) -> None:
    """Refresh the mtime of a build that was loaded, so the month-long staleness rule spares it."""
    try:
        if time.time() - path.stat().st_mtime > _TOUCH_SECONDS:
            os.utime(path)
    except OSError:
        pass


def _remove_stale(current: Path, name: str, group: str) -> None:
    """Remove ``name``'s builds that ``current`` replaces: older builds of the same sources, builds
    in the naming of earlier versions (``NAME-WHAT.marshal``), and builds unused for a month."""
    now = time.time()
    for other in current.parent.glob(f"{name}-*.marshal"):
        if other == current:
            continue
        parts = other.name[len(name) + 1 : -len(".marshal")].split("-")
        try:
            stale = (
                other.name.startswith(group) or len(parts) == 1 or now - other.stat().st_mtime > STALE_SECONDS
            )
            if stale:
                other.unlink()
        except OSError:
            pass  # another process removed it, or the directory is shared read-only
