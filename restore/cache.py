"""Compiled forms of bundled tables, kept in the user's cache directory.

Parsing multi-megabyte TSVs on every run would dominate start-up; instead each
table is parsed once into a marshal file keyed by the sources' size and mtime.
"""

from __future__ import annotations

import gc
import hashlib
import marshal
import os
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


def load_compiled(name: str, version: object, sources: Iterable[Path], build: Callable[[], Any]) -> Any:
    """``build()``'s result, from the cache when the sources have not changed since it was made."""
    digest = hashlib.sha1(f"{name}:{version}".encode())
    for path in sorted(sources):
        stat = path.stat()
        digest.update(f"{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    path = cache_dir() / f"{name}-{digest.hexdigest()[:16]}.marshal"
    try:
        data = path.read_bytes()
        gc_was_enabled = gc.isenabled()
        gc.disable()  # millions of small objects: collection passes during the load triple its time
        try:
            return marshal.loads(data)
        finally:
            if gc_was_enabled:
                gc.enable()
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
        pass  # a read-only home only costs start-up time
    return value
