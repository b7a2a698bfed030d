"""Embedding execution paths for the same model: PyTorch float32 and bfloat16, ONNX Runtime float32 and int8.

One run measures every path on identical inputs:

* **Throughput**: ``embed_passages`` over the same passages (XQuAD-ru dev paragraphs and KazQAD-kk
  dev passages, ``--passages`` of them), in rounds with the paths interleaved; the best round of
  each counts. Also the latency of embedding one question, as a query does.
* **Agreement**: cosine between each path's passage vectors and PyTorch float32's.
* **Retrieval**: ``assistant eval`` scoring (:func:`assistant.evaluation.evaluate`) of each path on
  XQuAD-ru dev (+ the 12 legal acts as distractors), XQuAD-en questions over the same index, and
  KazQAD-kk dev, in dense and hybrid modes. Every path builds its own index in a fresh workspace;
  the build time gives a second throughput figure (chunks per second of a real build).
  Sentence vectors are off in these builds (they double build time and do not change what is
  compared: the hybrid rows here lack the sentence rerank of the default).

Usage:
    /path/to/python bench/onnx_bench.py [--shared ../shared] [--passages 400] [--rounds 2]
        [--paths torch-float32,torch-bfloat16,onnx-float32,onnx-int8] [--skip-eval]
        [--modes dense,hybrid] [--no-distractors] [--eval-threads 1]

Needs ``onnxruntime`` and ``onnx`` for the ONNX paths (``pip install -e ".[onnx]"``). Prints Markdown tables.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from assistant.config import Settings
from assistant.embeddings import load_embedder
from assistant.evaluation import evaluate, latency_summary, load_eval_set, prepare_index

PATHS = ("torch-float32", "torch-bfloat16", "onnx-float32", "onnx-int8")


def make_embedder(path: str):
    if path.startswith("torch-"):
        return load_embedder(precision=path.removeprefix("torch-"))
    from assistant.tools.onnx_embeddings import OnnxEmbedder

    return OnnxEmbedder(variant=path.removeprefix("onnx-"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    parser.add_argument("--passages", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--questions", type=int, default=100, help="questions for the one-query latency")
    parser.add_argument("--paths", default=",".join(PATHS))
    parser.add_argument("--skip-eval", action="store_true")
    parser.add_argument("--modes", default="dense,hybrid", help="retrieval modes scored")
    parser.add_argument(
        "--eval-threads", type=int,
        help="torch threads for the retrieval part only (1 avoids OpenMP stalls on a loaded machine; scores do not depend on it)",
    )  # fmt: skip
    parser.add_argument(
        "--no-distractors", action="store_true", help="leave the 12 legal acts out of the XQuAD-ru index (faster)"
    )
    args = parser.parse_args()
    eval_dir = args.shared / "data" / "eval"
    if not (eval_dir / "xquad-ru-dev.json").is_file():
        sys.exit(f"no evaluation data under {args.shared}: pass --shared")
    paths = args.paths.split(",")
    ru = load_eval_set(eval_dir / "xquad-ru-dev.json")
    en = load_eval_set(eval_dir / "xquad-en-dev.json", eval_dir / "xquad-ru-dev.json")
    kk = load_eval_set(eval_dir / "kazqad-kk-dev.jsonl")
    rng = np.random.default_rng(0)
    pool = [p.text for p in ru.passages] + [p.text for p in kk.passages]
    texts = [pool[i] for i in rng.choice(len(pool), min(args.passages, len(pool)), replace=False)]
    questions = [q.question for q in (ru.questions + kk.questions)]
    questions = [questions[i] for i in rng.choice(len(questions), args.questions, replace=False)]

    started = time.perf_counter()
    embedders = {path: make_embedder(path) for path in paths}
    print(f"(loading / exporting the paths took {time.perf_counter() - started:.0f} s)", file=sys.stderr)
    print(machine())
    print(
        f"Passages: {len(texts)} (XQuAD-ru and KazQAD-kk dev, mean {np.mean([len(t) for t in texts]):.0f} characters); "
        f"batch size {embedders[paths[0]].batch_size}\n"
    )

    best: dict[str, float] = {}
    vectors: dict[str, np.ndarray] = {}
    for path in paths:
        embedders[path].embed_passages(texts[:16])  # warm up
    for _ in range(args.rounds):
        for path in paths:
            started = time.perf_counter()
            vectors[path] = embedders[path].embed_passages(texts)
            best[path] = min(best.get(path, float("inf")), time.perf_counter() - started)
    query_ms: dict[str, list[float]] = {path: [] for path in paths}
    for question in questions:
        for path in paths:
            started = time.perf_counter()
            embedders[path].embed_queries([question])
            query_ms[path].append((time.perf_counter() - started) * 1000)

    reference = vectors.get("torch-float32")
    print(
        "| path | passages/s | vs torch float32 | vs torch bf16 | one query p50 / p95 ms | cosine to float32 (mean / min) |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for path in paths:
        rate = len(texts) / best[path]
        f32 = f"{best['torch-float32'] / best[path]:.2f}x" if "torch-float32" in best else "—"
        bf16 = f"{best['torch-bfloat16'] / best[path]:.2f}x" if "torch-bfloat16" in best else "—"
        p50, p95 = latency_summary(query_ms[path])
        agreement = "—"
        if reference is not None:
            cosines = np.sum(vectors[path] * reference, axis=1)
            agreement = f"{cosines.mean():.5f} / {cosines.min():.5f}"
        print(f"| {path} | {rate:.1f} | {f32} | {bf16} | {p50:.1f} / {p95:.1f} | {agreement} |", flush=True)
    if args.skip_eval:
        return
    modes = args.modes.split(",")
    if args.eval_threads:
        import torch

        torch.set_num_threads(args.eval_threads)
    settings = Settings(sentence_vectors=False)
    acts = None if args.no_distractors else args.shared / "data" / "official" / "kz-legal-ru"
    corpus = "dev passages only" if args.no_distractors else "dev passages + the 12 legal acts for XQuAD"
    threads = f", torch {args.eval_threads} thread(s)" if args.eval_threads else ""
    print(
        f"\nRetrieval (`assistant eval` scoring, sentence vectors off, {corpus}{threads}; build = chunks/s of the two builds):\n"
    )
    print(
        "| path | build chunks/s | "
        + " | ".join(
            f"{name} {mode} R@1 / R@5 / R@10 / MRR" for name in ("XQuAD-ru", "en→ru", "KazQAD-kk") for mode in modes
        )
        + " |"
    )
    print("|---|---:|" + "---:|" * (3 * len(modes)), flush=True)
    work = Path(tempfile.mkdtemp(prefix="onnx-bench-"))
    try:
        from assistant.store import load_index

        for path in paths:
            embedder = embedders[path]
            started = time.perf_counter()
            prepare_index(ru, workspace=work / path / "ru", extra_corpus=acts, settings=settings, embedder=embedder)
            prepare_index(kk, workspace=work / path / "kk", settings=settings, embedder=embedder)
            seconds = time.perf_counter() - started
            chunks = sum(len(load_index(work / path / name / "index").chunks) for name in ("ru", "kk"))
            cells = []
            for dataset, workspace, extra in ((ru, "ru", acts), (en, "ru", acts), (kk, "kk", None)):
                for mode in modes:
                    report = evaluate(
                        dataset,
                        workspace=work / path / workspace,
                        extra_corpus=extra,
                        mode=mode,
                        settings=settings,
                        embedder=embedder,
                    )
                    cells.append(
                        f"{report.recall_at_1:.3f} / {report.recall_at_5:.3f} / {report.recall_at_10:.3f} / {report.mrr_at_10:.3f}"
                    )
            print(f"| {path} | {chunks / seconds:.1f} | " + " | ".join(cells) + " |", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"\nLoad average at the end: {', '.join(f'{value:.1f}' for value in os.getloadavg())}")


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.machine(),
    )
    import torch

    try:
        import onnxruntime

        ort = f", onnxruntime {onnxruntime.__version__}"
    except ImportError:
        ort = ""
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    return (
        f"Machine: {cpu}, {os.cpu_count()} cores; torch {torch.__version__} ({torch.get_num_threads()} threads){ort}; "
        f"load average at start {load}"
    )


if __name__ == "__main__":
    main()
