"""Where the bundled data lives: `wordlists/` in a checkout, `restore/wordlists` when installed."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from .errors import ResourceError


def wordlist_dir() -> Path:
    """Directory of the bundled wordlists, found the same way from a checkout or a wheel.

    The directory next to the imported package wins: an editable install's import hook maps
    ``restore.wordlists`` to the installed checkout, so a second checkout on PYTHONPATH (a
    git worktree being measured) would otherwise run its code on the first one's tables.
    """
    here = Path(__file__).resolve().parent
    for candidate in (here / "wordlists", here.parent / "wordlists"):  # wheel, checkout
        if (candidate / "spinner_thesaurus.tsv").is_file():
            return candidate
    try:
        installed = Path(str(resources.files("restore.wordlists")))
        if installed.is_dir():
            return installed
    except ModuleNotFoundError:
        pass
    raise ResourceError("restore: cannot find the bundled wordlists (reinstall the package)")


def wordlist_path(name: str) -> Path:
    """Path of one bundled data file, e.g. ``wordlist_path("cleanup/markers.txt")``."""
    path = wordlist_dir() / name
    if not path.exists():
        raise ResourceError(f"restore: bundled data file is missing: {path}")
    return path
