"""The bundled tables: compiled forms match their sources, and every row is well formed."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import ROOT

WORDLISTS = ROOT / "wordlists"


def test_spinner_table_is_built_from_its_source():
    proc = subprocess.run(
        [sys.executable, str(WORDLISTS / "build_spinner_table.py"), "--check"], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("name", ["spinner_thesaurus.tsv", "wordnet_blind.tsv", "thesaurus_generic.tsv"])
def test_channel_tables_are_well_formed(name):
    rows = 0
    with open(WORDLISTS / name, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if line.startswith("#"):
                continue
            parts = line.rstrip("\n").split("\t")
            assert len(parts) in (3, 4), f"{name}:{lineno}: {line!r}"
            original, spun, weight = parts[:3]
            assert original.strip() and spun.strip(), f"{name}:{lineno}"
            assert original.lower() != spun.lower(), f"{name}:{lineno}: identity pair"
            assert 0.0 < float(weight) <= 1.0, f"{name}:{lineno}: weight {weight}"
            rows += 1
    assert rows > 1000


def test_provenance_names_every_table():
    text = (WORDLISTS / "PROVENANCE.md").read_text(encoding="utf-8")
    for name in ("spinner_thesaurus", "wordnet_blind", "thesaurus_generic"):
        assert name in text
