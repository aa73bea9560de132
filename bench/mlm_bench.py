"""Positions scored per second by the masked-LM stage against the naive fill-mask pipeline.

Usage: python bench/mlm_bench.py [--text FILE]... [--rounds N] [--dtype auto|float32|bfloat16] [--naive-dtype D]

No weights can be downloaded here, so the model is a randomly initialised RoBERTa of DistilRoBERTa-base's
shape (6 layers, 768 wide, 12 heads, 3072 inner, 50,265 pieces, 82M parameters) with a byte-level BPE
tokenizer trained on the fly on wordfreq's English word list; speed does not depend on the weights.
Both approaches score the same positions of the same text: every token the lattice flags, plus the tokens
that multi-word candidates cover. Texts: the bundled spun sample (141 words) and, when ../shared/corpus/dev
is there, its median-length spun article. The two are timed in interleaved rounds and the best round of
each is kept, so other load on the machine hurts both alike.

- stage: ``MaskedLMRescorer.log_scores`` on the whole document (what ``restore fix --model`` runs).
- naive: what a user would write with ``transformers.pipeline("fill-mask")``: one call per flagged word,
  the document with that word masked, ``targets`` = the word and its candidates (a pipeline call scores
  only one piece per target, so it does less work per candidate than the stage).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def build_model(directory: Path, seed: int = 0) -> None:
    import torch
    import transformers
    import wordfreq
    from tokenizers import ByteLevelBPETokenizer, processors

    words = wordfreq.top_n_list("en", 60_000)
    bpe = ByteLevelBPETokenizer()
    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    # each word seen as often as it is common (roughly), lowercase and capitalised, with typographic
    # punctuation, so that news text splits about as finely as with RoBERTa's own vocabulary
    punctuation = "“ ” ‘ ’ ’s — – … ( ) , . : ; ! ? \" ' - $ % 0 1 2 3 4 5 6 7 8 9".split()

    def corpus():
        for i, w in enumerate(words):
            n = max(1, 12 - i // 5000)
            yield " ".join([w] * n + [w.capitalize()] * max(1, n // 2))
            if i % 50 == 0:
                yield " ".join(punctuation) + " " + "".join(punctuation)

    corpus = corpus()
    bpe.train_from_iterator(
        corpus, vocab_size=50_265, min_frequency=2, special_tokens=specials, show_progress=False
    )
    bpe._tokenizer.post_processor = processors.RobertaProcessing(("</s>", 2), ("<s>", 0))
    tokenizer = transformers.PreTrainedTokenizerFast(
        tokenizer_object=bpe._tokenizer,
        bos_token="<s>",
        eos_token="</s>",
        sep_token="</s>",
        cls_token="<s>",
        unk_token="<unk>",
        pad_token="<pad>",
        mask_token="<mask>",
        model_max_length=512,
    )
    torch.manual_seed(seed)
    config = transformers.RobertaConfig(
        vocab_size=50_265,
        hidden_size=768,
        num_hidden_layers=6,
        num_attention_heads=12,
        intermediate_size=3072,
        max_position_embeddings=514,
        type_vocab_size=1,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
    )
    model = transformers.RobertaForMaskedLM(config).eval()
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)


def lattices(text: str):
    """The sentences and arcs `restore fix --model` sends to the stage for this text.

    A recording rescorer sits where the masked LM would: the engine prunes its lattice and
    drops the arcs of spinner families the document gate switched off before calling it.
    """
    from restore import Restorer

    captured = []

    class Recorder:
        def arc_scores(self, text, sentences, *, active=frozenset()):
            captured.extend(sentences)
            return {}

    restorer = Restorer()
    restorer.span_restorer.rescorer = Recorder()
    restorer.restore(text, clean=False)
    return captured


MARK = re.compile(r"\{([^{}]*?)(=>|~>)([^{}]*)\}")


def default_texts() -> list[Path]:
    """The bundled sample, and the median-length spun article of ../shared/corpus/dev when it is there."""
    texts = [ROOT / "samples" / "spun_article.txt"]
    dev = ROOT.parent / "shared" / "corpus" / "dev"
    if dev.is_dir():
        spun = sorted(
            (len(read(p).split()), p.name, p)
            for p in dev.iterdir()
            if p.suffix == ".gold" or "spun" in p.name
        )
        if spun:
            texts.append(spun[len(spun) // 2][2])
    return texts


def read(path: Path) -> str:
    text = path.read_text(encoding="utf-8")
    return MARK.sub(lambda m: m.group(1), text) if path.suffix == ".gold" else text  # the spun side


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--text", type=Path, action="append", help="a text to score (repeatable)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds; the best of each is kept")
    parser.add_argument("--naive-calls", type=int, default=24, help="pipeline calls timed per round")
    parser.add_argument(
        "--dtype", default="auto", help="the stage's dtype (auto: bfloat16 where the CPU has it)"
    )
    parser.add_argument("--window", type=int, default=None)
    parser.add_argument(
        "--pll", default="l2r", help="the stage's multi-piece scoring: l2r (default) or joint"
    )
    parser.add_argument(
        "--naive-dtype",
        default="float32",
        help="the pipeline's dtype (float32 is what a user gets by default)",
    )
    args = parser.parse_args()

    import torch
    import transformers

    warnings.filterwarnings("ignore")
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()

    from restore.mlm import MaskedLMRescorer, _covered

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        build_model(Path(tmp))
        print(f"built a random DistilRoBERTa-shaped model in {time.perf_counter() - t0:.1f} s")
        kwargs = {"dtype": args.dtype, "pll": args.pll}
        if args.window:
            kwargs["window"] = args.window
        stage = MaskedLMRescorer.load(tmp, "cpu", **kwargs)
        fill = transformers.pipeline(
            "fill-mask", model=tmp, device="cpu", dtype=getattr(torch, args.naive_dtype)
        )
    params = sum(p.numel() for p in stage.model.parameters()) / 1e6
    stage_dtype = next(stage.model.parameters()).dtype
    naive_dtype = next(fill.model.parameters()).dtype
    print(
        f"model: {params:.0f}M parameters; stage {stage_dtype}, window {stage.window} pieces, pll {stage.pll}; "
        f"naive {naive_dtype}; "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads; load average {os.getloadavg()[0]:.1f}"
    )
    mask = fill.tokenizer.mask_token
    for path in args.text or default_texts():
        text = read(path)
        sents = lattices(text)
        plan = stage.plan(text, sents)
        pieces = len(stage.tokenizer(text)["input_ids"])
        print(
            f"\n{path.name}: {len(text.split())} words, {pieces} pieces; {plan.positions} positions, "
            f"{len(plan.reads)} arcs, {len(plan.rows)} masked rows of "
            f"{sum(map(len, plan.rows)) / max(1, len(plan.rows)):.0f} pieces on average"
        )
        calls = []
        for tokens, arcs in sents:
            for i in sorted(_covered(arcs)):
                tok = tokens[i]
                targets = list(dict.fromkeys(" ".join(arc.words) for arc in arcs[i]))
                calls.append((text[: tok.start] + mask + text[tok.end :], targets))
        step = max(1, len(calls) // max(1, args.naive_calls))
        sample = calls[::step][: args.naive_calls]
        stage.log_scores(text, sents)  # warm up both
        fill(sample[0][0], targets=sample[0][1], top_k=len(sample[0][1]))
        stage_rates, naive_rates = [], []
        for _ in range(args.rounds):  # interleaved, so a busy machine slows both alike
            t = time.perf_counter()
            stage.log_scores(text, sents)
            stage_rates.append(plan.positions / (time.perf_counter() - t))
            t = time.perf_counter()
            for masked, targets in sample:
                fill(masked, targets=targets, top_k=len(targets))
            naive_rates.append(len(sample) / (time.perf_counter() - t))
        best_stage, best_naive = max(stage_rates), max(naive_rates)
        print(f"  stage: {best_stage:7.1f} positions/s  (best of {args.rounds}; all: {_fmt(stage_rates)})")
        print(
            f"  naive: {best_naive:7.1f} positions/s  (best of {args.rounds}, {len(sample)} calls each; "
            f"all: {_fmt(naive_rates)})"
        )
        print(f"  ratio: {best_stage / best_naive:.1f}x")


def _fmt(values: list[float]) -> str:
    return ", ".join(f"{v:.1f}" for v in values)


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    main()
