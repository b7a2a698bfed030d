"""Embeddings: the model that turns queries and passages into unit vectors."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from assistant.errors import ModelUnavailable

logger = logging.getLogger(__name__)

BUNDLED_MODEL = "multilingual-e5-small"


class Embedder(Protocol):
    """What the index needs from an embedding model.

    ``identity`` is written into the index manifest: an index refuses to be queried
    by an embedder whose identity differs, because vectors from two models live in
    different spaces and mixing them returns plausible garbage.
    """

    identity: str
    dimension: int
    max_tokens: int

    def count_tokens(self, text: str) -> int:
        """Tokens of ``text`` alone (no special tokens, no prompt)."""

    def passage_overhead(self) -> int:
        """Tokens the model adds around every passage (special tokens and passage prompt)."""

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-norm float32 vectors, one row per query."""

    def embed_passages(
        self, texts: Sequence[str], *, progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        """Unit-norm float32 vectors, one row per passage; ``progress(n)`` after each batch."""


class SentenceTransformerEmbedder:
    """A sentence-transformers model, with its query/passage prompts applied.

    Args:
        model: ``multilingual-e5-small`` for the bundled offline model, or the path of a
            sentence-transformers model directory.
        device: torch device; ``None`` lets sentence-transformers pick.
        cache_dir: where the bundled model is converted and cached.
        batch_size: passages per forward pass.
        precision: ``float32``, ``bfloat16``, or ``auto``: bfloat16 on CPUs with native bf16
            instructions (AVX512-BF16/AMX), where it is ~1.6x faster with embeddings at cosine
            0.99999 to float32's; float32 elsewhere.
    """

    def __init__(
        self,
        model: str = BUNDLED_MODEL,
        *,
        device: str | None = None,
        cache_dir: Path | None = None,
        batch_size: int = 16,
        precision: str = "auto",
    ) -> None:
        from sentence_transformers import SentenceTransformer

        path, self.identity = resolve_model(model, cache_dir)
        try:
            with quiet_weight_loading():
                self._model = SentenceTransformer(str(path), device=device, local_files_only=True)
        except Exception as error:  # the library raises many types for a bad model dir
            raise ModelUnavailable(f"cannot load embedding model {model!r}: {error}") from error
        self.dimension = int(self._model.get_embedding_dimension())
        self.max_tokens = int(self._model.max_seq_length or 512)
        self.batch_size = batch_size
        self.precision = _resolve_precision(precision, str(self._model.device))
        self._tokenizer = self._model.tokenizer
        self._query_prompt, self._passage_prompt = prompt_pair(self._model.prompts or {})
        self._overhead = len(self._tokenizer(self._passage_prompt)["input_ids"])

    def count_tokens(self, text: str) -> int:
        return len(self._tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"])

    def passage_overhead(self) -> int:
        return self._overhead

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        with self._autocast():
            vectors = self._model.encode_query(
                list(texts), batch_size=self.batch_size, normalize_embeddings=True, show_progress_bar=False
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def _autocast(self):
        import contextlib

        import torch

        if self.precision == "bfloat16":
            return torch.autocast("cpu", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def embed_passages(
        self, texts: Sequence[str], *, progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        texts = list(texts)
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return out
        # Sorting by length keeps padding low; sentence-transformers sorts too, but only
        # inside one encode() call, and we call it in blocks to report progress.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]), reverse=True)
        block = self.batch_size * 8
        for begin in range(0, len(order), block):
            rows = order[begin : begin + block]
            with self._autocast():
                vectors = self._model.encode_document(
                    [texts[i] for i in rows],
                    batch_size=self.batch_size,
                    normalize_embeddings=True,
                    show_progress_bar=False,
                )
            out[rows] = vectors
            if progress is not None:
                progress(len(rows))
        return out


@functools.lru_cache(maxsize=4)
def load_embedder(
    model: str = BUNDLED_MODEL,
    device: str | None = None,
    cache_dir: Path | None = None,
    batch_size: int = 16,
    precision: str = "auto",
) -> SentenceTransformerEmbedder:
    """The embedder for these settings, loaded once per process (loading takes seconds)."""
    return SentenceTransformerEmbedder(
        model, device=device, cache_dir=cache_dir, batch_size=batch_size, precision=precision
    )


_LOADING = threading.RLock()  # one load at a time: each sets and restores the same hook


@contextlib.contextmanager
def quiet_weight_loading():
    """Keep transformers' "Loading weights" bar off the caller's terminal while a model loads.

    transformers 5 draws that bar on stderr for every load, piped or not. Its switch,
    ``transformers.utils.logging.disable_progress_bar()``, is process-wide and turns off
    huggingface_hub's download bars as well, a setting that belongs to the application. A tqdm
    hook (``set_tqdm_hook``, which returns the hook it replaces) silences the bars created during
    the load only, and the previous hook is put back after. Older transformers have no hook; there
    the switch is turned off for the load and back on only if it was on.
    """
    try:
        from transformers.utils import logging as transformers_logging
    except ImportError:
        yield
        return
    with _LOADING:
        set_hook = getattr(transformers_logging, "set_tqdm_hook", None)
        if set_hook is not None:
            previous = set_hook(_silent_bar)
            try:
                yield
            finally:
                set_hook(previous)
            return
        enabled = transformers_logging.is_progress_bar_enabled()
        transformers_logging.disable_progress_bar()
        try:
            yield
        finally:
            if enabled:
                transformers_logging.enable_progress_bar()


def _silent_bar(factory, args, kwargs):
    return factory(*args, **{**kwargs, "disable": True})


def prompt_pair(prompts: Mapping[str, str]) -> tuple[str, str]:
    """The query prompt and the passage prompt among a sentence-transformers model's ``prompts``."""
    passage = next((prompts[name] for name in ("document", "passage", "corpus") if name in prompts), "")
    return prompts.get("query", ""), passage


def _resolve_precision(precision: str, device: str) -> str:
    if precision not in ("auto", "float32", "bfloat16"):
        raise ModelUnavailable(f"precision must be auto, float32 or bfloat16, got {precision!r}")
    if precision != "auto":
        return precision
    if not device.startswith("cpu"):
        return "float32"  # GPUs: leave the choice to the user (bf16/fp16 need checking per card)
    try:
        flags = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "float32"
    return "bfloat16" if ("avx512_bf16" in flags or "amx_bf16" in flags) else "float32"


def resolve_model(model: str, cache_dir: Path | None) -> tuple[Path, str]:
    """Return the model directory and an identity that changes whenever its weights could."""
    if model == BUNDLED_MODEL:
        from assistant.checkpoint import ensure_checkpoint

        path = ensure_checkpoint(cache_dir)
        return path, f"{BUNDLED_MODEL}@{path.name}"
    path = Path(model).expanduser()
    if not path.is_dir():
        raise ModelUnavailable(
            f"embedding model {model!r} is neither {BUNDLED_MODEL!r} nor a model directory "
            "(models cannot be downloaded here: give the path of a sentence-transformers model)"
        )
    digest = hashlib.sha256()
    for name in sorted(p.name for p in path.iterdir() if p.is_file()):
        file = path / name
        digest.update(name.encode())
        if file.suffix == ".json":
            digest.update(file.read_bytes())
        else:  # weights: size is enough to notice a different checkpoint without reading GBs
            digest.update(str(file.stat().st_size).encode())
    return path.resolve(), f"{path.resolve().name}@{digest.hexdigest()[:12]}"
