"""restore: clean scraped news text and undo synonym spinning, one reviewable edit at a time."""

from .edits import Edit, apply_edits
from .pipeline import Restorer, RestoreResult, restore_text

__all__ = ["Edit", "Restorer", "RestoreResult", "apply_edits", "restore_text"]
__version__ = "0.1.0"
