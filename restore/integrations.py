"""Run restore inside the engines people already scale with: datatrove and Hugging Face ``datasets``.

Both are optional extras::

    pip install 'restore[datatrove]'   # datatrove pipelines: Local, Slurm and Ray executors
    pip install 'restore[hf]'          # datasets.map(batched=True, num_proc=N)

datatrove::

    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers import JsonlWriter
    from restore.integrations import RestoreStep

    LocalPipelineExecutor(
        pipeline=[JsonlReader("in/"), RestoreStep(only_spun=False), JsonlWriter("out/")],
        tasks=8, workers=2, logging_dir="logs/",
    ).run()

``RestoreStep`` replaces ``doc.text`` with the restored text and adds ``restore_edits`` (JSON),
``spin_score`` and ``judged_spun`` to ``doc.metadata`` (``original_text`` too with
``keep_original=True``). A document whose restoration fails is passed on unchanged with
``metadata["restore_error"]`` set, and counted in the step's stats. The step holds only its
settings, so it pickles (for Slurm and Ray) and loads the engine once per worker process.

Hugging Face ``datasets``::

    from restore.integrations import RestoreMap

    ds = ds.map(RestoreMap(text_column="text"), batched=True, num_proc=4)
    spun = ds.filter(lambda row: row["judged_spun"])      # the --only-spun equivalent

``RestoreMap`` adds the columns ``restored_text``, ``edits`` (JSON), ``spin_score``,
``judged_spun`` and ``restore_error`` (null unless the row failed, in which case
``restored_text`` is the input text). It is deterministic to hash, so ``datasets`` caches results.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

from .formats import group_of

_RESTORERS: dict[tuple, Any] = {}  # one Restorer per process and configuration


@dataclass(frozen=True)
class EngineSettings:
    clean: bool = True
    restore: bool = True
    threshold: float | None = None
    remove_bylines: bool = False
    remove_captions: bool = False

    def restorer(self):
        """This process's Restorer for these settings (built and loaded on first use)."""
        key = (self.threshold, self.remove_bylines, self.remove_captions)
        restorer = _RESTORERS.get(key)
        if restorer is None:
            from .clean import CleanOptions
            from .pipeline import Restorer

            restorer = Restorer(
                threshold=self.threshold,
                clean_options=CleanOptions(
                    remove_bylines=self.remove_bylines, remove_captions=self.remove_captions
                ),
            )
            _RESTORERS[key] = restorer
        return restorer

    def run(self, text: str, evidence=None) -> dict:
        """Restore one text: the fields restore adds to a record (or ``restore_error``)."""
        try:
            res = self.restorer().restore(text, clean=self.clean, restore=self.restore, evidence=evidence)
        except Exception as exc:  # one bad document must not stop a shard
            return {"restore_error": f"{type(exc).__name__}: {exc}"}
        return {
            "restored_text": res.text,
            "edits": [e.to_dict() for e in res.edits],
            "spin_score": round(res.spin_score, 4),
            "judged_spun": bool(res.judged_spun),
        }


def sample_evidence(texts_by_group: dict[str, list[str]]) -> dict[str, Any]:
    from .batch import build_evidence

    return build_evidence(texts_by_group)


# --------------------------------------------------------------------------- datatrove

try:  # the step subclasses datatrove's PipelineStep when datatrove is installed
    from datatrove.pipeline.base import PipelineStep as _StepBase
except ImportError:  # pragma: no cover - exercised only without the extra

    class _StepBase:  # type: ignore[no-redef]
        def __init__(self):
            raise ImportError("RestoreStep needs datatrove: pip install 'restore[datatrove]'")


class RestoreStep(_StepBase):
    """A datatrove pipeline step: clean and restore each document's text.

    ``evidence_sample`` documents at the start of each task are buffered to learn the lines
    that repeat across documents of one source (``source_key``: a metadata key such as ``url``,
    whose host is used; default: the whole task), then processed with that evidence.
    """

    name = "♻️ restore"
    type = "✂️ - FORMAT"

    def __init__(
        self,
        clean: bool = True,
        restore: bool = True,
        only_spun: bool = False,
        threshold: float | None = None,
        remove_bylines: bool = False,
        remove_captions: bool = False,
        keep_original: bool = False,
        evidence_sample: int = 1000,
        source_key: str | None = None,
    ):
        super().__init__()
        self.settings = EngineSettings(clean, restore, threshold, remove_bylines, remove_captions)
        self.only_spun = only_spun
        self.keep_original = keep_original
        self.evidence_sample = evidence_sample if clean else 0
        self.source_key = source_key

    def _group(self, doc) -> str:
        if not self.source_key:
            return ""
        return group_of(doc.metadata.get(self.source_key), "")

    def _evidence(self, docs: list) -> dict[str, Any]:
        by_group: dict[str, list[str]] = {}
        for doc in docs:
            if isinstance(doc.text, str):
                by_group.setdefault(self._group(doc), []).append(doc.text)
        return sample_evidence(by_group)

    def _process(self, doc, evidence: dict[str, Any]):
        if not isinstance(doc.text, str):
            doc.metadata["restore_error"] = f"text is not a string ({type(doc.text).__name__})"
            self.stat_update("failed")
            return doc
        with self.track_time():
            out = self.settings.run(doc.text, evidence.get(self._group(doc)))
        if "restore_error" in out:
            doc.metadata["restore_error"] = out["restore_error"]
            self.stat_update("failed")
            return doc
        self.stat_update("restored")
        if self.keep_original:
            doc.metadata["original_text"] = doc.text
        doc.text = out["restored_text"]
        doc.metadata["restore_edits"] = json.dumps(out["edits"], ensure_ascii=False)
        doc.metadata["spin_score"] = out["spin_score"]
        doc.metadata["judged_spun"] = out["judged_spun"]
        if out["judged_spun"]:
            self.stat_update("judged_spun")
        elif self.only_spun:
            self.stat_update("dropped_not_spun")
            return None
        self.update_doc_stats(doc)
        return doc

    def run(self, data: Iterable | None, rank: int = 0, world_size: int = 1) -> Iterator:
        if data is None:
            return
        data = iter(data)
        head = []
        if self.evidence_sample > 0:
            for doc in data:
                head.append(doc)
                if len(head) >= self.evidence_sample:
                    break
        evidence = self._evidence(head) if head else {}
        for source in (head, data):
            for doc in source:
                self.stat_update("documents")
                out = self._process(doc, evidence)
                if out is not None:
                    yield out


# --------------------------------------------------------------------------- Hugging Face datasets


class RestoreMap:
    """A ``datasets.map(batched=True)`` function: adds restore's columns to every row.

    Holds only its settings, so ``datasets`` can pickle it for ``num_proc`` workers and hash it
    for its cache; each worker process loads the engine once. Corpus evidence is learnt from
    each batch itself (``evidence=True``), so use a large ``batch_size`` (e.g. 1000) for it.
    """

    def __init__(
        self,
        text_column: str = "text",
        clean: bool = True,
        restore: bool = True,
        threshold: float | None = None,
        remove_bylines: bool = False,
        remove_captions: bool = False,
        evidence: bool = True,
    ):
        self.text_column = text_column
        self.settings = EngineSettings(clean, restore, threshold, remove_bylines, remove_captions)
        self.evidence = evidence and clean

    def __call__(self, batch: dict[str, list]) -> dict[str, list]:
        texts = batch[self.text_column]
        evidence = None
        if self.evidence:
            found = sample_evidence({"": [t for t in texts if isinstance(t, str)]})
            evidence = found.get("")
        cols: dict[str, list] = {k: [] for k in ("restored_text", "edits", "spin_score", "judged_spun")}
        cols["restore_error"] = []
        for text in texts:
            if not isinstance(text, str):
                out = {"restore_error": f"text is not a string ({type(text).__name__})"}
            else:
                out = self.settings.run(text, evidence)
            failed = "restore_error" in out
            cols["restored_text"].append(text if failed else out["restored_text"])
            cols["edits"].append("[]" if failed else json.dumps(out["edits"], ensure_ascii=False))
            cols["spin_score"].append(None if failed else out["spin_score"])
            cols["judged_spun"].append(None if failed else out["judged_spun"])
            cols["restore_error"].append(out.get("restore_error"))
        return cols

    def __repr__(self) -> str:
        return (
            f"RestoreMap(text_column={self.text_column!r}, {asdict(self.settings)}, evidence={self.evidence})"
        )
