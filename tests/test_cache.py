"""Where compiled tables are cached (restore.cache)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from restore.cache import STALE_SECONDS, cache_dir, load_compiled


def test_a_relative_xdg_cache_home_is_ignored(monkeypatch, tmp_path):
    """The XDG spec says a relative path there is invalid: it wrote a cache tree into the cwd."""
    monkeypatch.delenv("RESTORE_CACHE_DIR", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/cache")
    assert cache_dir() == tmp_path / ".cache" / "restore"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "restore"
    monkeypatch.setenv("RESTORE_CACHE_DIR", "here")  # restore's own variable is taken as given
    assert cache_dir() == Path("here")


def _build_counter():
    calls = []

    def build():
        calls.append(1)
        return {"built": len(calls)}

    return build, calls


def test_a_rebuild_replaces_the_older_build_of_the_same_sources(monkeypatch, tmp_path):
    """Each table edit or upgrade made a new 6 MB file and none was ever removed (1.3 GB seen)."""
    monkeypatch.setenv("RESTORE_CACHE_DIR", str(tmp_path / "cache"))
    source = tmp_path / "table.tsv"
    source.write_text("a\tb\n")
    build, calls = _build_counter()
    assert load_compiled("table", 1, [source], build) == {"built": 1}
    assert load_compiled("table", 1, [source], build) == {"built": 1}  # from the cache
    assert len(calls) == 1
    first = list((tmp_path / "cache").glob("table-*.marshal"))
    assert len(first) == 1

    source.write_text("a\tc\n")
    os.utime(source, ns=(1, 1))  # a different mtime, as an upgrade gives
    assert load_compiled("table", 1, [source], build) == {"built": 2}
    second = list((tmp_path / "cache").glob("table-*.marshal"))
    assert len(second) == 1 and second != first


def test_builds_of_other_sources_stay_unless_unused_for_a_month(monkeypatch, tmp_path):
    """Two installs sharing one cache keep their own builds; a build nobody loads goes in time."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("RESTORE_CACHE_DIR", str(cache))
    one, two, three = (tmp_path / f"{k}.tsv" for k in ("one", "two", "three"))
    for path in (one, two, three):
        path.write_text("x\n")
    build, _ = _build_counter()
    load_compiled("table", 1, [one], build)
    load_compiled("table", 1, [two], build)
    assert len(list(cache.glob("table-*.marshal"))) == 2
    old = time.time() - STALE_SECONDS - 10
    for path in cache.glob("table-*.marshal"):
        os.utime(path, (old, old))
    load_compiled("table", 1, [one], build)  # loading marks a build as used
    legacy = cache / "table-0123456789abcdef.marshal"  # the naming of earlier versions
    legacy.write_bytes(b"")
    other_name = cache / "other-00000000-0123456789abcdef.marshal"
    other_name.write_bytes(b"")
    os.utime(other_name, (old, old))
    load_compiled("table", 1, [three], build)
    left = sorted(cache.glob("*.marshal"))
    assert len([p for p in left if p.name.startswith("table-")]) == 2  # one's (used) and three's
    assert not legacy.exists()
    assert other_name.exists()  # only the name being written is tidied
