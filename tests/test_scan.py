"""`restore scan`: a yes/no gate for publishing pipelines, with the evidence."""

from __future__ import annotations

import json

from conftest import DATA, ROOT
from test_cli import run

SPUN = ROOT / "samples" / "spun_article.txt"
CLEAN = DATA / "sample_original.txt"


def test_scan_exit_code_gates_on_spun_documents():
    assert run("scan", str(CLEAN)).returncode == 0
    spun = run("scan", str(CLEAN), str(SPUN))
    assert spun.returncode == 1, spun.stderr
    lines = spun.stdout.splitlines()
    assert lines[0].startswith(f"{CLEAN}: clean")
    assert lines[1].startswith(f"{SPUN}: SPUN (thesaurus spinner)")
    assert "'mentioned'→'said'" in spun.stdout


def test_scan_json_reports_score_and_top_spans():
    proc = run("scan", str(SPUN), "--format", "json", "--top", "3")
    assert proc.returncode == 1
    report = json.loads(proc.stdout)
    assert report["judged_spun"] is True
    assert report["spun_by"] == ["spinner-table"]
    assert 0 < report["spin_score"] <= 1
    assert report["flagged"] >= 10
    assert len(report["top"]) == 3
    first = report["top"][0]
    assert {"span", "original", "count", "confidence"} <= first.keys()
    assert first["count"] >= max(t["count"] for t in report["top"])


def test_scan_does_not_change_anything(tmp_path):
    target = tmp_path / "article.txt"
    target.write_bytes(SPUN.read_bytes())
    proc = run("scan", str(target))
    assert proc.returncode == 1
    assert target.read_bytes() == SPUN.read_bytes()
    assert "Council delays" not in proc.stdout  # a report, not the text


def test_scan_errors_are_not_verdicts(tmp_path):
    missing = run("scan", str(tmp_path / "nope.txt"))
    assert missing.returncode == 3
    assert run("scan", "--top", "-1").returncode == 2


def test_a_clean_document_is_spun_by_no_family():
    proc = run("scan", str(CLEAN), "--format", "json")
    assert proc.returncode == 0
    report = json.loads(proc.stdout)
    assert (report["judged_spun"], report["spun_by"], report["flagged"]) == (False, [], 0)
