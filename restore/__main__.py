"""``python -m restore``: the same Typer app as the ``restore`` command.

The app is the top-level ``cli.py``, installed next to this package (and beside it in a
checkout). It is loaded from there by path, so a ``cli.py`` of the user's own in the current
directory, which ``import cli`` would find first, is never run instead.
"""

import importlib.util
import sys
from pathlib import Path

_path = Path(__file__).resolve().parent.parent / "cli.py"
_spec = importlib.util.spec_from_file_location("cli", _path)
if _spec is None or _spec.loader is None or not _path.exists():
    sys.exit(f"restore: cannot find its command-line module at {_path} (reinstall the package)")
_cli = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("cli", _cli)
_spec.loader.exec_module(_cli)
_cli.main()
