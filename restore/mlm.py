"""The masked-language-model stage: rescore the lattice's candidates with any transformers fill-mask model.

The lattice still proposes every candidate; the masked LM (BERT, RoBERTa, DistilRoBERTa, ModernBERT,
an ELECTRA generator, ...) only adds evidence where a wider, two-sided context decides ("after the
decision" -> "after the call"). The final Viterbi decode of a sentence maximises, over paths of arcs,

    score(path) = Σ_arcs [ log P_channel(spun | arc) ]           channel prior (spin rate × table weight,
                                                                  less the --threshold margin; restorer.py)
                + Σ_words  log P_trigram(word | two before)       embedded n-gram LM
                + λ · Σ_arcs  MLM(arc)                             this stage (λ = ``weight``, default 0.5)

where, for an arc putting the words w (sub-word pieces p_1..p_k) over tokens [s, e) of a sentence,

    MLM(arc) = Σ_j log P_MLM(p_j | context, p_1..p_{j-1}, [MASK] × (k - j + 1))

that is the pseudo-log-likelihood of its pieces, each read with itself and the pieces to its right
masked (the "word-l2r" variant, which does not reward long words for predicting their own tails).
``pll="joint"`` reads every piece from the one row with all k pieces masked instead: one row per span
and piece count, so fewer forward rows, but the pieces of a word are scored as if independent.
The context is the rest of the document as written (other spun words included), cut into a window
of whole sentences around the span: the sentence itself plus as many neighbours on both sides as fit
in ``window`` sub-word pieces. Every arc leaving a flagged position is scored this way, the keep
arc too (the token as written, masked the same way), and so is the keep arc of every token that a
multi-word candidate covers, so competing paths carry one MLM term per output word group and are
comparable. A single-piece candidate needs only the position's one masked row, which it shares with
every other single-piece candidate (and the keep arc, if that is one piece): one forward pass scores
them all; each multi-piece candidate adds its k-1 rows to the same batch. Rows of the whole document
are deduplicated, sorted by length and batched together; the LM head is applied only at the masked
pieces that are read. Device ``auto`` takes a CUDA GPU when torch sees one (float16 there); on a CPU
with native bf16 units (AMX, AVX512-BF16) the model runs in bfloat16, elsewhere in float32; forward
passes run under ``torch.inference_mode``. A batch holds as many pieces as a share of the free memory
allows (capped on a CPU, where bigger batches buy nothing) and halves, for the rest of the run, when
the device reports it is out of memory.

Loading never runs remote code (``trust_remote_code=False``) and prefers safetensors weights. A
directory is loaded as is; a hub name is looked up in the local cache first and downloaded only when
the hub is reachable, otherwise a one-line ``ResourceError`` names where it looked.

torch and transformers are imported only when a model is requested (``pip install 'restore[mlm]'``).
"""

from __future__ import annotations

import bisect
import enum
import math
import os
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from .cpu import cpu_has_bf16
from .errors import ResourceError
from .lattice import Arc, SentenceLattices
from .surface import restored_surface
from .tokenize import Token, tokenize

if TYPE_CHECKING:  # pragma: no cover
    import torch

DEFAULT_WEIGHT = 0.5  # λ: nats of decode score per nat of MLM log-probability
DEFAULT_WINDOW = 64  # sub-word pieces per window, special tokens included (~20 words each side)
SLACK = 8  # pieces kept free in a window for candidates longer than the span they replace
LONG_SENTENCE_WORDS = 40  # a sentence longer than the window is cut into chunks of this many words


class Device(str, enum.Enum):
    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"


# Reusable CLI options: `model: ModelOption = None, device: DeviceOption = Device.auto` in a command's
# signature, then `Restorer(..., model=model, device=device.value)`.
ModelOption = Annotated[
    str | None,
    typer.Option(
        "--model",
        envvar="RESTORE_MODEL",
        help="Also rescore candidates with this masked LM (a local directory or a hub name; needs "
        "the mlm extra, which adds torch and transformers).",
        show_default=False,
    ),
]
DeviceOption = Annotated[
    Device,
    typer.Option("--device", envvar="RESTORE_DEVICE", help="Where the --model runs: auto, cpu or cuda."),
]
MODEL_OPTION = ModelOption  # the names the issue asks for
DEVICE_OPTION = DeviceOption


def env_model() -> str | None:
    """The model named by RESTORE_MODEL, if any (an empty value means none)."""
    return os.environ.get("RESTORE_MODEL") or None


# -- loading ----------------------------------------------------------------------------------------


def _hub_cache() -> str:
    try:
        from huggingface_hub.constants import HF_HUB_CACHE

        return str(HF_HUB_CACHE)
    except Exception:  # pragma: no cover - very old or very new hub client
        return os.path.expanduser("~/.cache/huggingface/hub")


def _hub_reachable(timeout: float = 2.0) -> bool:
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on"):
        return False
    if os.environ.get("TRANSFORMERS_OFFLINE", "").lower() in ("1", "true", "yes", "on"):
        return False
    from urllib.parse import urlparse

    host = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co")).hostname or "huggingface.co"
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _import_torch():
    try:
        import torch
        import transformers
    except ImportError as exc:
        raise ResourceError(
            f"--model needs torch and transformers ({exc.name} is missing): pip install 'restore[mlm]'"
        ) from None
    return torch, transformers


def resolve_device(device: str | Device = "auto") -> torch.device:
    torch, _ = _import_torch()
    name = device.value if isinstance(device, Device) else str(device or "auto")
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ResourceError(f"--device {name}: this torch build sees no CUDA GPU (use --device cpu)")
    if name != "cpu" and not name.startswith("cuda"):
        raise ResourceError(f"--device {name}: expected auto, cpu or cuda")
    return torch.device(name)


def load_masked_lm(name_or_path: str, device: str | Device = "auto", dtype: str = "auto"):
    """(model, tokenizer, device) for a fill-mask model from a directory or a hub name.

    ``dtype``: auto (float16 on a GPU; bfloat16 on a CPU with native bf16 matrix units, AMX or
    AVX512-BF16, where it runs ~5x faster than float32 and moves a log-probability by a few hundredths
    of a nat; float32 elsewhere), float32, float16 or bfloat16.
    """
    torch, transformers = _import_torch()
    dev = resolve_device(device)
    path = Path(name_or_path).expanduser()
    common: dict[str, Any] = {"trust_remote_code": False}
    if path.is_dir():
        source = str(path)
        local_only = True
        if not (path / "config.json").is_file():
            raise ResourceError(
                f"--model {name_or_path}: no config.json in {path.resolve()}; not a model directory"
            )
        if any(path.glob("*.safetensors")):
            common["use_safetensors"] = True
    else:
        looks_like_path = name_or_path.startswith((".", "/", "~")) or name_or_path.count("/") > 1
        if looks_like_path or path.exists():
            raise ResourceError(f"--model {name_or_path}: no model directory at {path.resolve()}")
        source = name_or_path
        local_only = _cached(name_or_path)  # the cache first: no network round trip when it is there
        if not local_only and not _hub_reachable():
            raise ResourceError(
                f"--model {name_or_path}: no directory {path.resolve()} and not in the Hugging Face cache "
                f"{_hub_cache()}, and the hub cannot be reached; download it elsewhere and pass its directory"
            )
    if dtype == "auto":
        torch_dtype = (
            torch.float16 if dev.type == "cuda" else torch.bfloat16 if cpu_has_bf16() else torch.float32
        )
    else:
        torch_dtype = getattr(torch, dtype)
    quiet = transformers.logging.get_verbosity()
    transformers.logging.set_verbosity_error()
    bars = transformers.utils.logging.is_progress_bar_enabled()
    transformers.utils.logging.disable_progress_bar()
    try:
        tokenizer = transformers.AutoTokenizer.from_pretrained(source, local_files_only=local_only, **common)
        model = transformers.AutoModelForMaskedLM.from_pretrained(
            source, local_files_only=local_only, dtype=torch_dtype, **common
        )
    except (OSError, ValueError, KeyError) as exc:
        raise ResourceError(
            f"--model {name_or_path}: cannot load a masked LM from {source}: {_one_line(exc)}"
        ) from None
    finally:
        transformers.logging.set_verbosity(quiet)
        if bars:
            transformers.utils.logging.enable_progress_bar()
    if not getattr(tokenizer, "is_fast", False):
        raise ResourceError(f"--model {name_or_path}: needs a fast (Rust) tokenizer for character offsets")
    if tokenizer.mask_token_id is None:
        raise ResourceError(f"--model {name_or_path}: its tokenizer has no mask token; not a fill-mask model")
    model.to(dev).eval()
    return model, tokenizer, dev


def _cached(repo_id: str) -> bool:
    try:
        from huggingface_hub import try_to_load_from_cache

        return isinstance(try_to_load_from_cache(repo_id, "config.json"), str)
    except Exception:
        return False


# -- scoring -------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Units:
    """The document cut into sentence units (long sentences into chunks), with their piece counts."""

    starts: list[int]  # character offset where each unit starts
    ends: list[int]  # ... and ends (trailing spaces excluded)
    pieces: list[int]  # sub-word pieces each unit takes


@dataclass(slots=True)
class _Read:
    row: int  # index into the row table
    pos: int  # piece position read in that row
    target: int  # vocabulary id whose log-probability is read


@dataclass(slots=True)
class Plan:
    """What one call computes: unique masked rows, and which reads make up each arc's score."""

    rows: list[tuple[int, ...]] = field(default_factory=list)
    reads: dict[Arc, list[_Read]] = field(default_factory=dict)
    positions: int = 0  # flagged token positions covered


class MaskedLMRescorer:
    """``ArcRescorer`` backed by a transformers masked LM (see the module docstring for the formula)."""

    def __init__(
        self,
        model,
        tokenizer,
        device=None,
        *,
        weight: float = DEFAULT_WEIGHT,
        window: int = DEFAULT_WINDOW,
        pll: str = "l2r",
        max_batch_tokens: int | None = None,
    ):
        torch, _ = _import_torch()
        self.model = model
        self.tokenizer = tokenizer
        self.device = device or next(model.parameters()).device
        self.weight = weight
        limit = _max_length(model, tokenizer)
        self.max_length = limit
        self.window = max(16, min(window, limit))
        if pll not in ("l2r", "joint"):
            raise ValueError(f"pll must be 'l2r' or 'joint', not {pll!r}")
        self.pll = pll
        self.max_batch_tokens = max_batch_tokens or _batch_budget(model, self.device, torch)
        self.positions_scored = 0  # running count, for benchmarks and tests
        self._gather_index = None
        base = getattr(model, "base_model", model)
        self._hook = base.register_forward_hook(self._gather_hook) if base is not model else None

    @classmethod
    def load(cls, name_or_path: str, device: str | Device = "auto", **kwargs) -> MaskedLMRescorer:
        dtype = kwargs.pop("dtype", "auto")
        model, tokenizer, dev = load_masked_lm(name_or_path, device, dtype)
        return cls(model, tokenizer, dev, **kwargs)

    # -- the ArcRescorer protocol ------------------------------------------------------------------

    def arc_scores(
        self,
        text: str,
        sentences: SentenceLattices,
        *,
        active: frozenset[str] = frozenset(),
    ) -> dict[Arc, float]:
        return {arc: self.weight * value for arc, value in self.log_scores(text, sentences).items()}

    def log_scores(self, text: str, sentences: SentenceLattices) -> dict[Arc, float]:
        """Unweighted MLM(arc) for every arc of every flagged position (and the keeps that spans cover)."""
        plan = self.plan(text, sentences)
        values = self._run(plan)
        self.positions_scored += plan.positions
        return {
            arc: float(sum(values[(r.row, r.pos, r.target)] for r in reads))
            for arc, reads in plan.reads.items()
        }

    # -- planning ------------------------------------------------------------------------------------

    def window_for(self, text: str, start: int, end: int) -> tuple[int, int]:
        """Character range of ``text`` that serves as context for a span at [start, end)."""
        units = self._units(text)
        return self._window(text, units, *self._unit_range(units, start, end))

    def plan(self, text: str, sentences: SentenceLattices) -> Plan:
        plan = Plan()
        units = self._units(text)
        jobs: list[tuple[Arc, str, int, int, list[Arc]]] = []  # arc, row text, cand start/end in it, group
        for tokens, arcs in sentences:
            covered = _covered(arcs)
            plan.positions += len(covered)
            for i in sorted(covered):
                group = arcs[i]
                for arc in group:
                    first, last = tokens[arc.start], tokens[arc.end - 1]
                    before = text[first.start : last.end]
                    if arc.is_keep:
                        surface = before
                    else:
                        surface = restored_surface(before, arc.spelling)
                    ws, we = self._window(text, units, *self._unit_range(units, first.start, last.end))
                    row_text = text[ws : first.start] + surface + text[last.end : we]
                    cs = first.start - ws
                    jobs.append((arc, row_text, cs, cs + len(surface), group))
        if not jobs:
            return plan
        unique = list(dict.fromkeys(job[1] for job in jobs))
        encoded = self.tokenizer(unique, add_special_tokens=True, return_offsets_mapping=True)
        by_text = {t: (encoded["input_ids"][k], encoded["offset_mapping"][k]) for k, t in enumerate(unique)}
        row_index: dict[tuple[int, ...], int] = {}
        mask_id = self.tokenizer.mask_token_id
        dropped: set[int] = set()
        for arc, row_text, cs, ce, group in jobs:
            ids, offsets = by_text[row_text]
            inside = [k for k, (s, e) in enumerate(offsets) if e > s and s < ce and e > cs]
            if not inside or inside != list(range(inside[0], inside[-1] + 1)):
                dropped.add(id(group))  # no pieces of its own: the position's arcs would not compare
                continue
            ids, a, b = _trim(list(ids), inside[0], inside[-1] + 1, self.max_length)
            reads = []
            for j in range(a, b):
                # l2r: piece j read with itself and the pieces after it masked; joint: every row is the
                # one with all k pieces masked (shared by all k-piece candidates of the span; cheaper, but
                # blind to how the pieces of a word go together)
                first = j if self.pll == "l2r" else a
                masked = tuple(ids[:first] + [mask_id] * (b - first) + ids[b:])
                row = row_index.setdefault(masked, len(row_index))
                reads.append(_Read(row, j, ids[j]))
            plan.reads[arc] = reads
        if dropped:
            for _arc, _text, _cs, _ce, group in jobs:
                if id(group) in dropped:
                    for arc in group:
                        plan.reads.pop(arc, None)
        plan.rows = list(row_index)
        return plan

    def _units(self, text: str) -> _Units:
        """Sentence units; a boundary sits after the last space between two sentences, so an
        opening quote stays with its sentence and a closing full stop with the one before."""
        tokens = tokenize(text)
        cuts: list[int] = []  # token indices where a unit starts
        for i, j in _sentence_spans(tokens):
            cuts.extend(range(i, j, LONG_SENTENCE_WORDS))
        starts = [0] * len(cuts)
        for n, k in enumerate(cuts):
            if k == 0:
                continue
            gap_start, pos = tokens[k - 1].end, tokens[k].start
            while pos > gap_start and not text[pos - 1].isspace():
                pos -= 1
            starts[n] = tokens[k].start if pos == gap_start else pos
        ends = [len(text[s:e].rstrip()) + s for s, e in zip(starts, starts[1:] + [len(text)], strict=True)]
        texts = [text[s:e] for s, e in zip(starts, ends, strict=True)]
        pieces = (
            [len(ids) for ids in self.tokenizer(texts, add_special_tokens=False)["input_ids"]]
            if texts
            else []
        )
        return _Units(starts, ends, pieces)

    def _unit_range(self, units: _Units, start: int, end: int) -> tuple[int, int]:
        lo = max(0, bisect.bisect_right(units.starts, start) - 1)
        hi = max(lo, bisect.bisect_right(units.starts, max(start, end - 1)) - 1)
        return lo, hi

    def _window(self, text: str, units: _Units, lo: int, hi: int) -> tuple[int, int]:
        """Grow [lo, hi] by whole units, alternately left and right, while the window fits."""
        budget = self.window - SLACK - 2
        total = sum(units.pieces[lo : hi + 1])
        grow_left, grow_right = True, True
        while grow_left or grow_right:
            if grow_left:
                if lo > 0 and total + units.pieces[lo - 1] <= budget:
                    lo -= 1
                    total += units.pieces[lo]
                else:
                    grow_left = False
            if grow_right:
                if hi + 1 < len(units.pieces) and total + units.pieces[hi + 1] <= budget:
                    hi += 1
                    total += units.pieces[hi]
                else:
                    grow_right = False
        return units.starts[lo], units.ends[hi]

    # -- running -------------------------------------------------------------------------------------

    def _gather_hook(self, module, inputs, output):
        if self._gather_index is None:
            return None
        hidden = output[0]
        output["last_hidden_state"] = hidden.reshape(-1, hidden.shape[-1]).index_select(
            0, self._gather_index
        )[None]
        return output

    def _run(self, plan: Plan) -> dict[tuple[int, int, int], float]:
        """log P(target) for every read of the plan, in batches of similar length."""
        torch, _ = _import_torch()
        wanted: dict[int, dict[int, set[int]]] = {}
        for reads in plan.reads.values():
            for r in reads:
                wanted.setdefault(r.row, {}).setdefault(r.pos, set()).add(r.target)
        order = sorted(wanted, key=lambda row: len(plan.rows[row]))
        values: dict[tuple[int, int, int], float] = {}
        start = 0
        while start < len(order):
            stop = start + 1
            while (
                stop < len(order)
                and (stop - start + 1) * len(plan.rows[order[stop]]) <= self.max_batch_tokens
            ):
                stop += 1
            batch = order[start:stop]
            try:
                values.update(self._forward(torch, plan, batch, wanted))
            except (torch.cuda.OutOfMemoryError, MemoryError, RuntimeError) as exc:
                if len(batch) == 1 or not _is_oom(exc):
                    raise
                self.max_batch_tokens = max(1, self.max_batch_tokens // 2)  # remember the smaller size
                continue
            start = stop
        return values

    def _forward(self, torch, plan: Plan, batch: list[int], wanted) -> dict[tuple[int, int, int], float]:
        width = max(len(plan.rows[row]) for row in batch)
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        rows = [plan.rows[row] for row in batch]
        ids = torch.tensor([list(seq) + [pad] * (width - len(seq)) for seq in rows], dtype=torch.long)
        attention = torch.tensor(
            [[1] * len(seq) + [0] * (width - len(seq)) for seq in rows], dtype=torch.long
        )
        flat: list[int] = []
        targets: list[tuple[int, int, list[int]]] = []
        for b, row in enumerate(batch):
            for pos, tset in wanted[row].items():
                flat.append(b * width + pos)
                targets.append((row, pos, sorted(tset)))
        index = torch.tensor(flat, device=self.device)
        with torch.inference_mode():
            self._gather_index = index if self._hook is not None else None
            try:
                logits = self.model(
                    input_ids=ids.to(self.device), attention_mask=attention.to(self.device)
                ).logits
            finally:
                self._gather_index = None
            logits = logits.reshape(-1, logits.shape[-1])
            if logits.shape[0] != len(flat):  # the head ran on every piece (no base model to hook)
                logits = logits.index_select(0, index)
            logprobs = torch.log_softmax(logits.float(), dim=-1).cpu()
        out = {}
        for k, (row, pos, tlist) in enumerate(targets):
            got = logprobs[k, tlist].tolist()
            for t, v in zip(tlist, got, strict=True):
                out[(row, pos, t)] = v
        return out

    def close(self) -> None:
        if self._hook is not None:
            self._hook.remove()
            self._hook = None


def _is_oom(exc: BaseException) -> bool:
    return isinstance(exc, MemoryError) or "out of memory" in str(exc).lower()


def _max_length(model, tokenizer) -> int:
    limits = [512]
    model_max = getattr(tokenizer, "model_max_length", None)
    if isinstance(model_max, int) and 0 < model_max < 100_000:
        limits.append(model_max)
    positions = getattr(model.config, "max_position_embeddings", None)
    if isinstance(positions, int) and positions > 0:
        # RoBERTa-style models offset positions by padding_idx + 1
        offset = (
            (getattr(model.config, "pad_token_id", 0) or 0) + 1
            if model.config.model_type
            in (
                "roberta",
                "xlm-roberta",
                "camembert",
            )
            else 0
        )
        limits.append(positions - offset)
    return min(limits)


def _batch_budget(model, device, torch) -> int:
    """Pieces per batch that fit comfortably in the memory free now (the OOM fallback halves it)."""
    config = model.config
    hidden = getattr(config, "hidden_size", None) or getattr(config, "dim", 768)
    inner = getattr(config, "intermediate_size", None) or getattr(config, "hidden_dim", 4 * hidden)
    heads = getattr(config, "num_attention_heads", None) or getattr(config, "n_heads", 12)
    width = next(model.parameters()).element_size()
    per_piece = width * (inner + 8 * hidden + heads * DEFAULT_WINDOW) * 2
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        return int(min(max(free * 0.3 / per_piece, 512), 131_072))
    try:
        free = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # pragma: no cover
        free = 2 << 30
    # On a CPU large batches buy little beyond keeping the cores busy: cap it.
    return int(min(max(free * 0.1 / per_piece, 256), 4096))


def _trim(ids: list[int], a: int, b: int, limit: int) -> tuple[list[int], int, int]:
    """Cut context evenly from both sides (keeping the first and last special pieces) to ``limit``."""
    excess = len(ids) - limit
    if excess <= 0:
        return ids, a, b
    left_room, right_room = a - 1, len(ids) - 1 - b
    cut_left = min(left_room, max(excess - right_room, math.ceil(excess / 2)))
    cut_right = excess - cut_left
    ids = ids[:1] + ids[1 + cut_left : len(ids) - 1 - cut_right] + ids[-1:]
    return ids, a - cut_left, b - cut_left


def _sentence_spans(tokens: list[Token]) -> list[tuple[int, int]]:
    """Whole sentences (a full stop or a line break between two tokens), whatever the LM's units are."""
    starts = [i for i, tok in enumerate(tokens) if i == 0 or tok.sentence_start]
    return list(zip(starts, starts[1:] + [len(tokens)], strict=True)) if tokens else []


def _covered(arcs: list[list[Arc]]) -> set[int]:
    """Token indices with alternatives, plus every token a candidate span covers."""
    covered: set[int] = set()
    for i, out in enumerate(arcs):
        if len(out) > 1:
            covered.add(i)
            for arc in out[1:]:
                covered.update(range(arc.start, arc.end))
    return covered


def count_positions(sentences: Iterable[tuple[list[Token], list[list[Arc]]]]) -> int:
    """Flagged token positions of a document, spans' covered tokens included (what the stage scores)."""
    return sum(len(_covered(arcs)) for _tokens, arcs in sentences)
