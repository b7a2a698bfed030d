"""Shared fixtures: a deterministic fake embedder for plumbing tests, paths to shared data."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
SAMPLE = REPO / "corpus" / "000_8e621c451e969ccc.txt"


class FakeEmbedder:
    """Bag of hashed words: texts sharing words get similar unit vectors. Deterministic, instant."""

    identity = "fake-hashed-words-256"
    dimension = 256
    max_tokens = 512

    def __init__(self) -> None:
        self.embedded: list[str] = []  # every passage text embedded, for incremental-build tests

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def passage_overhead(self) -> int:
        return 2

    def _vector(self, text: str) -> np.ndarray:
        vector = np.zeros(self.dimension, dtype=np.float32)
        for word in re.findall(r"\w{3,}", text.lower()):
            digest = hashlib.blake2b(word.encode(), digest_size=4).digest()
            vector[int.from_bytes(digest, "little") % self.dimension] += 1.0
        norm = np.linalg.norm(vector)
        return vector / norm if norm else vector

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return np.stack([self._vector(t) for t in texts]) if texts else np.zeros((0, self.dimension), np.float32)

    def embed_passages(self, texts: Sequence[str], *, progress: Callable[[int], None] | None = None) -> np.ndarray:
        self.embedded.extend(texts)
        if progress:
            progress(len(texts))
        return self.embed_queries(texts)


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture
def shared() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"shared data folder {SHARED} is absent (only developers and CI have it)")
    return SHARED
