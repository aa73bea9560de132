"""The README's Python example does what the README says it does."""

from __future__ import annotations

import ast
import re

from conftest import ROOT

from restore import restore_text


def test_readme_python_example_output_is_what_it_shows():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    call = re.search(r'^result = restore_text\((".*")\)$', readme, re.M)
    shown_text = re.search(r"^result\.text\s+# ('.*')$", readme, re.M)
    shown_edit = re.search(
        r"^result\.edits\s+# \[Edit\(start=(\d+), end=(\d+), before=('[^']*'), after=('[^']*')", readme, re.M
    )
    assert call and shown_text and shown_edit, "the README example changed shape: update this test"
    result = restore_text(ast.literal_eval(call.group(1)))
    assert result.text == ast.literal_eval(shown_text.group(1))
    first = result.edits[0]
    start, end, before, after = shown_edit.groups()
    assert (first.start, first.end, first.before, first.after) == (
        int(start),
        int(end),
        ast.literal_eval(before),
        ast.literal_eval(after),
    )
