"""Shared fixtures: a deterministic fake embedder for plumbing tests, paths to shared data, and how tests skip.

A test needing something installed (the browser, the embedding model's libraries, the local language
model, ruff) calls :func:`require_resource`: it skips without it, and fails with the same reason when
``CI=true``, because CI installs all of them (``.ci/run``) and a silent skip there would hide a broken
setup. Data of the ``../shared`` folder beside the repository (not part of a clone) is optional
everywhere, CI included: :func:`require_shared_file` always skips.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
SAMPLE = REPO / "corpus" / "000_8e621c451e969ccc.txt"
# CI sets CI=true (as GitHub Actions and most CI services do); .ci/run sets it for its pytest step.
STRICT_RESOURCES = os.environ.get("CI", "").strip().lower() == "true"


def require_resource(available: object, reason: str) -> None:
    """Skip the calling test (or module) with ``reason`` unless ``available``; under ``CI=true``, fail instead.

    Args:
        available: whether the resource is there (anything truthy).
        reason: what is missing and how to install it, shown in the skip or failure.
    """
    if available:
        return
    if STRICT_RESOURCES:
        pytest.fail(f"{reason} [CI=true: a missing resource fails instead of skipping]", pytrace=False)
    pytest.skip(reason, allow_module_level=True)


def import_resource(module: str, reason: str) -> ModuleType:
    """``module`` imported, or :func:`require_resource`'s skip (failure under ``CI=true``) with ``reason``."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        require_resource(False, f"{reason} ({error})")
        raise  # not reached: require_resource skipped or failed


def require_shared_file(path: Path) -> Path:
    """``path`` under the ``../shared`` data folder, or a skip (never a failure: CI may not have that folder)."""
    if not path.exists():
        pytest.skip(
            f"{path} is absent: it comes from the shared data folder {SHARED} beside the repository, which a "
            "clone does not include (these tests run only where that folder exists)",
            allow_module_level=True,
        )
    return path


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
    return require_shared_file(SHARED)
