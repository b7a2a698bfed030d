"""Calibration of the support check (assistant/support.py) on XQuAD dev paragraphs.

For N Russian paragraphs (the cited passage) we score four kinds of sentence:

* supported, same language: a Russian sentence of the paragraph cut to its first 60 % of
  words (a model shortening what it read);
* supported, another language: the aligned English paragraph's sentences (translations);
* unsupported, same language: a sentence of *another* paragraph of the same article (same
  topic, different facts: the hard case);
* unsupported, another language: an English sentence of another paragraph of the same article.

It prints the score distributions and, for a grid of thresholds, how many supported sentences
pass and how many unsupported ones are (wrongly) accepted, with the number rule off, so the
table shows what the scores alone separate.

Usage:
    python bench/support_bench.py [--shared ../shared] [--paragraphs 150]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from assistant import support
from assistant.embeddings import load_embedder
from assistant.model import Citation, Passage
from assistant.sentences import split_sentences


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    parser.add_argument("--paragraphs", type=int, default=150)
    args = parser.parse_args()
    eval_dir = args.shared / "data" / "eval"
    ru = json.loads((eval_dir / "xquad-ru-dev.json").read_text(encoding="utf-8"))["data"]
    en = json.loads((eval_dir / "xquad-en-dev.json").read_text(encoding="utf-8"))["data"]
    random.seed(7)
    embedder = load_embedder()
    checker = support.SupportChecker(embedder.embed_passages)
    pairs = [(a, i) for a in range(len(ru)) for i in range(len(ru[a]["paragraphs"]))]
    random.shuffle(pairs)
    kinds: dict[str, list[support.Support]] = {"pos-ru": [], "pos-en": [], "neg-ru": [], "neg-en": []}
    for article, index in pairs[: args.paragraphs]:
        paragraphs = ru[article]["paragraphs"]
        if len(paragraphs) < 2:
            continue
        text = paragraphs[index]["context"].strip()
        passage = Passage(0, 0.0, f"{article}-{index}", str(article), text, Citation("", lang="ru"), "", 0, len(text))
        other = random.choice([i for i in range(len(paragraphs)) if i != index])
        english = en[article]["paragraphs"][index]["context"].strip()
        english_other = en[article]["paragraphs"][other]["context"].strip()
        samples = {
            "pos-ru": [_shortened(s) for s in _sentences(text, "ru")],
            "pos-en": _sentences(english, "en"),
            "neg-ru": _sentences(paragraphs[other]["context"].strip(), "ru"),
            "neg-en": _sentences(english_other, "en"),
        }
        for kind, sentences in samples.items():
            chosen = [s for s in sentences if len(s.split()) >= 6][:3]
            if not chosen:
                continue
            lang = "en" if kind.endswith("en") else "ru"
            kinds[kind] += checker.check(chosen, [(1,)] * len(chosen), {1: passage}, [lang] * len(chosen))
    print(
        f"constants: cosine floor {support.COSINE_FLOOR}, ceiling {support.COSINE_CEILING}, "
        f"dense weight {support.DENSE_WEIGHT}, threshold {support.SUPPORT_THRESHOLD}\n"
    )
    print(
        "| sentences | n | cosine p10 / p50 / p90 | overlap p50 | score p10 / p50 / p90 | pass (score ≥ threshold) | pass incl. number and name rules |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for kind, results in kinds.items():
        cos = np.array([r.cosine for r in results])
        ov = np.array([r.overlap for r in results])
        sc = np.array([r.score for r in results])
        passed = np.mean(sc >= support.SUPPORT_THRESHOLD)
        passed_rule = np.mean([r.supported for r in results])
        print(
            f"| {kind} | {len(results)} | {_p(cos)} | {np.percentile(ov, 50):.2f} | {_p(sc)} | {passed:.3f} | {passed_rule:.3f} |"
        )
    print("\nthreshold grid (score alone): supported passing, unsupported passing")
    print("| threshold | pos-ru | pos-en | neg-ru | neg-en |")
    print("|---:|---:|---:|---:|---:|")
    for threshold in np.arange(0.3, 0.75, 0.05):
        cells = [f"{np.mean([r.score >= threshold for r in kinds[k]]):.3f}" for k in kinds]
        print(f"| {threshold:.2f} | {' | '.join(cells)} |")


def _sentences(text: str, lang: str) -> list[str]:
    return [text[s:e] for s, e in split_sentences(text, lang)]


def _shortened(sentence: str) -> str:
    words = sentence.split()
    return " ".join(words[: max(6, int(len(words) * 0.6))])


def _p(values: np.ndarray) -> str:
    return " / ".join(f"{v:.2f}" for v in np.percentile(values, [10, 50, 90]))


if __name__ == "__main__":
    main()
