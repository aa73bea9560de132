"""Shared fixtures: one Restorer for the whole session (its resources load once)."""

from __future__ import annotations

from pathlib import Path

import pytest

from restore import Restorer

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).parent.parent


@pytest.fixture(scope="session")
def restorer() -> Restorer:
    return Restorer()


def data_lines(name: str) -> list[str]:
    """Non-comment, non-blank lines of a test data file."""
    lines = (DATA / name).read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line.strip() and not line.startswith("#")]
