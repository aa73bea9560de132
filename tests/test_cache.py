"""Where compiled tables are cached (restore.cache)."""

from __future__ import annotations

from pathlib import Path

from restore.cache import cache_dir


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
