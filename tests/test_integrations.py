"""The distributed paths: a datatrove pipeline step and a Hugging Face `datasets.map` helper."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest
from conftest import ROOT

SPUN = (ROOT / "samples" / "spun_article.txt").read_text(encoding="utf-8")
PLAIN = "The harbour board approved the new ferry timetable on Monday after a long debate.\n"
CHROME = "Harbour Gazette Weekend Planner Edition"


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def test_datatrove_step_runs_in_local_pipeline_executor(tmp_path):
    pytest.importorskip("datatrove", reason="needs the datatrove extra: pip install -e '.[datatrove]'")
    pytest.importorskip("orjson", reason="datatrove's JsonlReader needs orjson (in the datatrove extra)")
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers import JsonlWriter

    from restore.integrations import RestoreStep

    rows = [{"id": "spun", "text": SPUN, "url": "https://news.example.com/a"}]
    rows += [
        {"id": f"p{i}", "text": f"{PLAIN}\n{CHROME}\n", "url": f"https://news.example.com/{i}"}
        for i in range(12)
    ]
    write_jsonl(tmp_path / "in" / "shard0.jsonl", rows[:7])  # each shard has 6 pages of the site
    write_jsonl(tmp_path / "in" / "shard1.jsonl", rows[7:])
    step = RestoreStep(keep_original=True, source_key="url")
    assert pickle.loads(pickle.dumps(step)).settings == step.settings  # ships to Slurm / Ray workers
    LocalPipelineExecutor(
        pipeline=[
            JsonlReader(str(tmp_path / "in")),
            step,
            JsonlWriter(str(tmp_path / "out"), compression=None),
        ],
        tasks=2,  # two tasks in two worker processes: the step is pickled to each
        workers=2,
        logging_dir=str(tmp_path / "logs"),
    ).run()
    out = [json.loads(line) for p in sorted((tmp_path / "out").glob("*.jsonl")) for line in p.open()]
    assert sorted(d["id"] for d in out) == sorted(r["id"] for r in rows)
    out.sort(key=lambda d: (d["id"] != "spun", d["id"]))
    spun = out[0]
    assert "phone call" in spun["text"] and spun["metadata"]["original_text"] == SPUN
    assert spun["metadata"]["judged_spun"] is True and json.loads(spun["metadata"]["restore_edits"])
    assert spun["metadata"]["url"] == "https://news.example.com/a"  # other fields are kept
    for d in out[1:]:  # the line repeated across the site's pages is removed as chrome
        assert d["text"].strip() == PLAIN.strip() and d["metadata"]["judged_spun"] is False


def test_datatrove_step_keeps_failed_documents_and_drops_unspun_on_request():
    pytest.importorskip("datatrove", reason="needs the datatrove extra: pip install -e '.[datatrove]'")
    from datatrove.data import Document

    from restore.integrations import RestoreStep

    docs = [Document(text=SPUN, id="s"), Document(text=PLAIN, id="p"), Document(text=None, id="bad")]
    out = list(RestoreStep(only_spun=True, evidence_sample=0).run(iter(docs)))
    assert [d.id for d in out] == ["s", "bad"]
    assert "restore_error" in out[1].metadata


def test_hf_datasets_map_batched_with_two_processes():
    datasets = pytest.importorskip("datasets", reason="needs the hf extra: pip install -e '.[hf]'")
    from restore.integrations import RestoreMap

    ds = datasets.Dataset.from_dict({"text": [SPUN, PLAIN, PLAIN, SPUN], "n": [1, 2, 3, 4]})
    out = ds.map(RestoreMap(restore=True), batched=True, batch_size=2, num_proc=2)
    assert out["n"] == [1, 2, 3, 4]
    assert out["judged_spun"] == [True, False, False, True]
    assert "phone call" in out["restored_text"][0] and out["restored_text"][1] == PLAIN
    assert json.loads(out["edits"][0]) and out["restore_error"] == [None] * 4
    assert out.filter(lambda row: row["judged_spun"]).num_rows == 2
