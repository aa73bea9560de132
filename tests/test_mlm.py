"""The masked-LM stage (restore/mlm.py) on a tiny randomly initialised BERT built inside the test.

No weights can be downloaded, so the model is random: these tests check the plumbing (which pieces
are masked, how rows are batched and windowed, how the scores reach the decoder), not the choices.
"""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys

import pytest
from conftest import ROOT, lattices

try:
    import torch
    import transformers
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
except ImportError as exc:  # the base install has no torch; CI installs the mlm extra and must run these
    if os.environ.get("CI"):
        raise
    pytest.skip(f"needs the mlm extra ({exc.name} missing): pip install -e '.[mlm]'", allow_module_level=True)

from restore.mlm import MaskedLMRescorer, count_positions
from restore.tokenize import tokenize

SPUN = "In a telephone name, the minister mentioned that a soiled bomb was being built."
FILLER = [
    "The council met on Tuesday to discuss the budget.",
    '"We need more time," the mayor told reporters after the meeting.',
    "Residents raised concerns about rising property taxes in the city.",
    "Officials said the plan would also increase spending on health services.",
    "The proposal faces strong opposition from business groups.",
    "A vote is expected next month, before the end of the year.",
]
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
SPLIT = {"telephone": ["tele", "##phone"], "minister": ["minis", "##ter"]}  # multi-piece words


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, tables) -> str:
    """A 2-layer BERT with a word-level WordPiece vocabulary, saved as a model directory."""
    words: set[str] = set()
    for text in [SPUN, *FILLER]:
        words.update(tok.norm for tok in tokenize(text))
        for _tokens, arcs in lattices(text, tables):
            for out in arcs:
                for arc in out:
                    words.update(re.findall(r"\w+", " ".join(arc.words)))
    pieces: list[str] = []
    for word in sorted(words):
        pieces.extend(SPLIT.get(word, [word]))
    vocab = {p: i for i, p in enumerate(dict.fromkeys(SPECIALS + list(".,;:'\"!?-") + pieces))}
    backend = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]"))
    backend.normalizer = normalizers.BertNormalizer(lowercase=True)
    backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    backend.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])]
    )
    tokenizer = transformers.PreTrainedTokenizerFast(
        tokenizer_object=backend,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_max_length=128,
    )
    torch.manual_seed(0)
    config = transformers.BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
        pad_token_id=0,
    )
    model = transformers.BertForMaskedLM(config).eval()
    with torch.no_grad():  # make the model loathe "said": the CLI test sees "mentioned" kept
        model.cls.predictions.decoder.bias[vocab["said"]] -= 40.0
    path = tmp_path_factory.mktemp("tiny-bert")
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return str(path)


@pytest.fixture(scope="module")
def rescorer(model_dir) -> MaskedLMRescorer:
    return MaskedLMRescorer.load(model_dir, "cpu", dtype="float32")  # exact sums; auto may pick bfloat16


def _doc(*parts: str) -> str:
    return " ".join(parts)


def test_loads_by_path_with_safetensors(model_dir, rescorer):
    assert any(name.endswith(".safetensors") for name in os.listdir(model_dir))
    assert rescorer.device.type == "cpu"
    assert rescorer.max_length == 128


def test_single_piece_candidates_share_one_masked_row(rescorer, tables):
    sents = lattices("The minister mentioned the plan.", tables)
    tokens, arcs = sents[0]
    group = arcs[2]  # "mentioned": keep + said, noted, ... + "said that" (two tokens)
    plan = rescorer.plan("The minister mentioned the plan.", sents)
    rows = {r.row for arc in group for r in plan.reads[arc] if len(arc.words) == 1}
    assert len(group) > 3 and len(rows) == 1  # one forward row scores every one-word candidate


def test_batched_scores_equal_unbatched(model_dir, rescorer, tables):
    text = _doc(FILLER[0], SPUN, FILLER[1], SPUN.replace("soiled", "filthy"))
    sents = lattices(text, tables)
    batched = rescorer.log_scores(text, sents)
    one_by_one = MaskedLMRescorer(rescorer.model, rescorer.tokenizer, max_batch_tokens=1)
    single = one_by_one.log_scores(text, sents)
    assert batched.keys() == single.keys() and len(batched) > 50
    for arc, value in batched.items():
        assert value == pytest.approx(single[arc], abs=1e-4), arc
    assert count_positions(sents) == rescorer.plan(text, sents).positions


def _by_hand(
    rescorer: MaskedLMRescorer, context: str, start: int, end: int, words: str, joint=False
) -> float:
    """PLL (word-l2r) of ``words`` put over context[start:end], with the full logits of every piece."""
    tok, model = rescorer.tokenizer, rescorer.model
    text = context[:start] + words + context[end:]
    enc = tok(text, return_offsets_mapping=True)
    ids = enc["input_ids"]
    own = [
        k for k, (s, e) in enumerate(enc["offset_mapping"]) if e > s and s < start + len(words) and e > start
    ]
    total = 0.0
    for j in own:
        masked = list(ids)
        for k in own:
            if k >= j or joint:
                masked[k] = tok.mask_token_id
        rescorer._gather_index = None
        with torch.no_grad():
            logits = model(input_ids=torch.tensor([masked])).logits[0, j]
        total += torch.log_softmax(logits, dim=-1)[ids[j]].item()
    return total


def test_multi_piece_score_is_the_sum_by_hand(rescorer, tables):
    text = SPUN
    sents = lattices(text, tables)
    scores = rescorer.log_scores(text, sents)
    where = {tok.text: (tokens, arcs, k) for tokens, arcs in sents for k, tok in enumerate(tokens)}
    tokens, arcs, t = where["telephone"]
    tele = tokens[t]
    assert rescorer.tokenizer.tokenize(tele.text) == ["tele", "##phone"]
    keep = arcs[t][0]
    phone_call = next(a for a in arcs[t] if a.words == ("phone", "call"))
    span_end = tokens[t + 1].end
    name_keep = arcs[t + 1][0]
    tokens, arcs, t = where["mentioned"]
    said = next(a for a in arcs[t] if a.words == ("said",))
    m = tokens[t]
    assert scores[keep] == pytest.approx(
        _by_hand(rescorer, text, tele.start, tele.end, "telephone"), abs=1e-4
    )
    assert scores[phone_call] == pytest.approx(
        _by_hand(rescorer, text, tele.start, span_end, "phone call"), abs=1e-4
    )
    assert scores[said] == pytest.approx(_by_hand(rescorer, text, m.start, m.end, "said"), abs=1e-4)
    # "name" has no alternative of its own besides one-word ones, but "phone call" covers it: its keep is scored
    assert name_keep in scores
    # the cheaper variant reads every piece from the row with all of them masked
    joint = MaskedLMRescorer(rescorer.model, rescorer.tokenizer, pll="joint").log_scores(text, sents)
    by_hand = _by_hand(rescorer, text, tele.start, span_end, "phone call", joint=True)
    assert joint[phone_call] == pytest.approx(by_hand, abs=1e-4)
    assert joint[said] == pytest.approx(scores[said], abs=1e-5)  # one piece: the same either way
    # the weighting is a plain factor
    weighted = rescorer.arc_scores(text, sents)
    assert weighted[said] == pytest.approx(rescorer.weight * scores[said])
    assert all(math.isfinite(v) and v <= 0 for v in scores.values())


def test_windowing_matches_the_window_as_a_short_document(model_dir, tables):
    small = MaskedLMRescorer.load(model_dir, "cpu", window=40, dtype="float32")
    text = _doc(*FILLER[:3], SPUN, *FILLER[3:])
    sents = lattices(text, tables)
    long_scores = small.log_scores(text, sents)
    target = next(s for s in sents if s[0][0].text == "In")
    ws, we = small.window_for(text, target[0][0].start, target[0][-1].end)
    assert 0 < ws and we < len(text)  # context on both sides, but not the whole document
    assert text[ws:we].startswith("Residents") or text[ws:we].startswith('"We')
    assert text[ws:we].endswith(".")
    short = text[ws:we]
    short_sents = lattices(short, tables)
    short_target = next(s for s in short_sents if s[0][0].text == "In")
    short_scores = small.log_scores(short, short_sents)
    for out_long, out_short in zip(target[1], short_target[1], strict=True):
        for arc_long, arc_short in zip(out_long, out_short, strict=True):
            if arc_long in long_scores:
                assert long_scores[arc_long] == pytest.approx(short_scores[arc_short], abs=1e-4)
    # a short document fits in one window: every window is the whole text
    whole = MaskedLMRescorer.load(model_dir, "cpu", dtype="float32")
    assert whole.window_for(SPUN, 5, 10) == (0, len(SPUN))


def test_bfloat16_stays_close_to_float32(model_dir, rescorer, tables):
    half = MaskedLMRescorer.load(model_dir, "cpu", dtype="bfloat16")
    sents = lattices(SPUN, tables)
    exact, rough = rescorer.log_scores(SPUN, sents), half.log_scores(SPUN, sents)
    assert next(half.model.parameters()).dtype == torch.bfloat16
    for arc, value in exact.items():
        assert rough[arc] == pytest.approx(value, abs=0.1 * max(1, len(arc.words)))


def _run_cli(*args: str, stdin: str, env: dict | None = None) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-c", "from cli import main; main()", *args]
    full_env = {k: v for k, v in os.environ.items() if k != "RESTORE_MODEL"}
    full_env.update(PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1", **(env or {}))
    return subprocess.run(cmd, input=stdin, capture_output=True, text=True, env=full_env, timeout=120)


def test_cli_model_flag_end_to_end(model_dir):
    base = _run_cli("fix", "--no-clean", "--diff", "none", stdin=SPUN + "\n")
    assert base.returncode == 0, base.stderr
    assert "said" in base.stdout and "mentioned" not in base.stdout
    # the tiny model loathes "said", and its evidence reaches the decoder: "mentioned" stays
    with_model = _run_cli(
        "fix", "--no-clean", "--diff", "none", "--model", model_dir, "--device", "cpu", stdin=SPUN + "\n"
    )
    assert with_model.returncode == 0, with_model.stderr
    assert "mentioned" in with_model.stdout and "said" not in with_model.stdout
    assert with_model.stderr == ""  # no progress bars or warnings from the loaders
    from_env = _run_cli(
        "fix", "--no-clean", "--diff", "none", stdin=SPUN + "\n", env={"RESTORE_MODEL": model_dir}
    )
    assert from_env.returncode == 0 and from_env.stdout == with_model.stdout


def test_missing_model_is_a_one_line_error(tmp_path):
    missing = tmp_path / "no-such-model"
    proc = _run_cli("fix", "--no-clean", "--model", str(missing), stdin=SPUN + "\n")
    assert proc.returncode == 5
    assert str(missing) in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    hub = _run_cli(
        "fix", "--no-clean", "--model", "nobody/nothing", stdin=SPUN + "\n", env={"HF_HOME": str(tmp_path)}
    )
    assert hub.returncode == 5, hub.stderr
    assert str(tmp_path) in hub.stderr and "cannot be reached" in hub.stderr
    assert len(hub.stderr.strip().splitlines()) == 1


def test_base_import_does_not_load_torch():
    code = "import sys, cli, restore, restore.mlm, restore.clm; restore.Restorer(); assert 'torch' not in sys.modules"
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )
    assert proc.returncode == 0, proc.stderr


def test_batch_model_flag_reaches_the_workers(model_dir, tmp_path):
    source = tmp_path / "in.jsonl"
    source.write_text('{"id": 1, "text": "' + SPUN + '"}\n', encoding="utf-8")
    plain = _run_cli(
        "batch", str(source), str(tmp_path / "plain.jsonl"), "--no-clean", "--workers", "1", stdin=""
    )
    assert plain.returncode == 0, plain.stderr
    with_model = _run_cli(
        "batch",
        str(source),
        str(tmp_path / "model.jsonl"),
        "--no-clean",
        "--workers",
        "1",
        "--model",
        model_dir,
        "--device",
        "cpu",
        stdin="",
    )
    assert with_model.returncode == 0, with_model.stderr
    import json

    plain_text = json.loads((tmp_path / "plain.jsonl").read_text(encoding="utf-8"))["restored_text"]
    model_text = json.loads((tmp_path / "model.jsonl").read_text(encoding="utf-8"))["restored_text"]
    assert "said" in plain_text and "mentioned" not in plain_text
    assert "mentioned" in model_text  # the tiny model's dislike of "said" reached the batch worker
