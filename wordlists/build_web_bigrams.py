"""Rebuild wordlists/web_bigrams.tsv and web_unigrams.tsv from symspellpy's frequency data.

Source: symspellpy 6.10.1 (MIT), files frequency_bigramdictionary_en_243_342.txt and
frequency_dictionary_en_82_765.txt, which it derives from the Google Books Ngram data
(CC BY 3.0). These web-scale counts cover common collocations ("phone call") that the
speech-domain trigram LM handles poorly; restore interpolates them with it.

Rebuild:  .venv/bin/pip install symspellpy==6.10.1 && .venv/bin/python wordlists/build_web_bigrams.py
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
HEADER = (
    "# {what} counts from symspellpy 6.10.1 (MIT), derived from Google Books Ngram (CC BY 3.0).\n"
    "# Rebuild: python wordlists/build_web_bigrams.py (see its docstring).\n"
)


def main() -> None:
    import symspellpy

    src = Path(symspellpy.__file__).parent
    bigrams: dict[str, int] = {}
    for line in (src / "frequency_bigramdictionary_en_243_342.txt").read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[2].isdigit():
            key = f"{parts[0].lower()} {parts[1].lower()}"
            bigrams[key] = bigrams.get(key, 0) + int(parts[2])
    unigrams: dict[str, int] = {}
    for line in (src / "frequency_dictionary_en_82_765.txt").read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            unigrams[parts[0].lower()] = unigrams.get(parts[0].lower(), 0) + int(parts[1])
    with open(HERE / "web_bigrams.tsv", "w", encoding="utf-8") as fh:
        fh.write(HEADER.format(what="Bigram"))
        for key in sorted(bigrams):
            fh.write(f"{key}\t{bigrams[key]}\n")
    with open(HERE / "web_unigrams.tsv", "w", encoding="utf-8") as fh:
        fh.write(HEADER.format(what="Unigram"))
        for key in sorted(unigrams):
            fh.write(f"{key}\t{unigrams[key]}\n")
    print(f"{len(bigrams)} bigrams, {len(unigrams)} unigrams")


if __name__ == "__main__":
    main()
