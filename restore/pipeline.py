"""The whole job on one document: clean -> restore -> one list of edits in the input's frame."""

from __future__ import annotations

import math
import numbers
import os
from dataclasses import dataclass, field, replace
from functools import cached_property, lru_cache
from pathlib import Path

from .channel import ChannelTables
from .clm import CLM_FAMILY_SCALE, CLM_WEIGHT
from .decode import DecodeSettings
from .edits import Edit, apply_edits, check_text, rebase
from .lm import NgramScorer
from .restorer import SpanRestorer, SpinEstimate
from .topic import CombinedRescorer, TopicRescorer, bundled_vectors
from .webgrams import bundled_webgrams


@dataclass
class RestoreResult:
    """The restored text, every edit that made it (offsets into the input), and the spin verdict."""

    source: str
    text: str
    edits: list[Edit]
    spin: SpinEstimate = field(default_factory=SpinEstimate)

    @property
    def spin_score(self) -> float:
        return self.spin.score

    @property
    def judged_spun(self) -> bool:
        return self.spin.spun

    def to_dict(self) -> dict:
        return {
            "text": self.text,
            "spin_score": round(self.spin.score, 4),
            "judged_spun": self.spin.spun,
            "spun_by": self.spin.families,
            "spin_rates": {k: round(v, 4) for k, v in self.spin.rates.items()},
            "words": self.spin.words,
            "edits": [e.to_dict() for e in self.edits],
        }


class Restorer:
    """Loads the tables and language model once; ``restore()`` then runs per document.

    Resources load lazily on first use, so constructing a Restorer is free and a
    run with ``restore=False`` never loads the LM.
    """

    def __init__(
        self,
        *,
        threshold: float | None = None,
        tables_dir: str | Path | None = None,
        lm_path: str | Path | None = None,
        clean_options=None,
        settings: DecodeSettings | None = None,
        model: str | None = None,
        device: str = "auto",
        clm: bool | None = None,
    ):
        """``model``: a transformers fill-mask model (directory or hub name) that also rescores the
        candidates (restore/mlm.py; default: $RESTORE_MODEL, else none); ``device``: auto, cpu or cuda.
        ``clm``: also rescore with the bundled causal LM (restore/clm.py; default: $RESTORE_CLM set
        to 1, else off); ``settings.clm_weight`` sets its weight, CLM_WEIGHT when left at 0."""
        self.settings = settings or DecodeSettings()
        if clm is None:
            clm = os.environ.get("RESTORE_CLM", "") not in ("", "0")
        if clm and not self.settings.clm_weight:
            self.settings = replace(self.settings, clm_weight=CLM_WEIGHT)
        if threshold is not None and (isinstance(threshold, bool) or not isinstance(threshold, numbers.Real)):
            raise TypeError(f"threshold must be a number (a margin in nats), not {type(threshold).__name__}")
        if threshold is not None and not math.isfinite(threshold):  # NaN or inf: no edit at all
            raise ValueError(f"threshold must be a finite number of nats, not {threshold}")
        if threshold is not None:
            self.settings = replace(self.settings, margin=threshold)
        self._tables_dir = Path(tables_dir) if tables_dir else None
        self._lm_path = lm_path
        self._clean_options = clean_options
        self._model = model if model is not None else os.environ.get("RESTORE_MODEL") or None
        self._device = getattr(device, "value", device) or "auto"

    _LOADED = ("tables", "spun_originals", "span_restorer")  # the cached properties below

    def __getstate__(self) -> dict:
        """Only the settings: the loaded resources (the LM is a C object that cannot be pickled)
        load again on first use, so a Restorer that has run can go to worker processes."""
        return {k: v for k, v in self.__dict__.items() if k not in self._LOADED}

    @cached_property
    def tables(self) -> ChannelTables:
        """The channel tables, loaded once for restoration and for reading spun chrome in cleanup."""
        return ChannelTables.load(self._tables_dir)

    @cached_property
    def spun_originals(self) -> dict[str, tuple[str, ...]]:
        """What the fixed-table spinner writes -> what it writes it for (cleanup's spun-chrome reading)."""
        return self.tables.originals_by_spun("spinner-table")

    @cached_property
    def span_restorer(self) -> SpanRestorer:
        lm = NgramScorer(
            self._lm_path,
            unigram_adaptation=self.settings.unigram_adaptation,
            web=bundled_webgrams() if self.settings.web_share else None,
            web_share=self.settings.web_share,
        )
        rescorers: list = []
        if self.settings.topic_weight:
            rescorers.append(
                TopicRescorer(
                    bundled_vectors(),
                    weight=self.settings.topic_weight,
                    window=self.settings.topic_window,
                    tolerance=self.settings.topic_tolerance,
                    # the blind WordNet spinner writes unrelated words ("helium") for any sense;
                    # its candidates are not told apart by topic (measured: a little worse)
                    skip_families=("wordnet-blind",),
                )
            )
        if self._model:  # torch and transformers are imported only here
            from .mlm import MaskedLMRescorer

            rescorers.append(MaskedLMRescorer.load(self._model, self._device))
        reader = None
        if self.settings.clm_weight:  # torch and transformers are imported only here
            from .clm import CausalLMRescorer

            # it reads each candidate among the restorations the rest of the model makes
            reader = CausalLMRescorer.load(weight=self.settings.clm_weight, family_scale=CLM_FAMILY_SCALE)
        rescorer = CombinedRescorer(rescorers) if rescorers else None
        return SpanRestorer(self.tables, lm, self.settings, rescorer=rescorer, reader=reader)

    def restore(self, text: str, *, clean: bool = True, restore: bool = True, evidence=None) -> RestoreResult:
        """Clean then restore ``text``; every edit is reported against ``text`` itself."""
        check_text(text)
        edits: list[Edit] = []
        working = text
        if clean:
            from .clean import CleanOptions, clean_text

            options = self._clean_options or CleanOptions()
            cleaned = clean_text(text, options, evidence, spun_originals=lambda: self.spun_originals)
            edits = list(cleaned.edits)
            working = cleaned.text
        spin = SpinEstimate()
        if restore:
            restored, spin = self.span_restorer.restore(working)
            edits += rebase(restored, edits) if edits else restored
        edits.sort(key=lambda e: (e.start, e.end))
        return RestoreResult(source=text, text=apply_edits(text, edits), edits=edits, spin=spin)


@lru_cache(maxsize=1)
def default_restorer() -> Restorer:
    """One shared Restorer for the convenience function (its resources are read-only)."""
    return Restorer()


def restore_text(text: str, *, clean: bool = True, restore: bool = True) -> RestoreResult:
    """Restore one text with the default resources: ``restore_text(s).text``, ``.edits``, ``.spin_score``."""
    return default_restorer().restore(text, clean=clean, restore=restore)
