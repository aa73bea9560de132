"""Shared fixtures: one Restorer for the whole session (its resources load once)."""

from __future__ import annotations

from pathlib import Path

import pytest

from restore import Restorer
from restore.channel import ChannelTables
from restore.lattice import build_lattice, has_alternatives
from restore.tokenize import sentences, tokenize

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).parent.parent


@pytest.fixture(scope="session")
def restorer() -> Restorer:
    return Restorer()


@pytest.fixture(scope="session")
def tables() -> ChannelTables:
    return ChannelTables.load()


def lattices(text: str, tables: ChannelTables) -> list:
    """(tokens, arcs) of every sentence of ``text`` that has alternatives: what a rescorer is given."""
    tokens = tokenize(text)
    out = []
    for i, j in sentences(tokens):
        arcs = build_lattice(tokens[i:j], tables)
        if has_alternatives(arcs):
            out.append((tokens[i:j], arcs))
    return out


def data_lines(name: str) -> list[str]:
    """Non-comment, non-blank lines of a test data file."""
    lines = (DATA / name).read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line.strip() and not line.startswith("#")]
