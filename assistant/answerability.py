"""Answerability: which sentence answers a question, and whether it really does, weighed from evidence.

Two small logistic models over the features of :mod:`assistant.evidence`:

* the **ranking** weights order a question's candidate sentences: they were fitted on pairs of
  an answering and a non-answering sentence of the same question, so they weigh what tells two
  sentences of one question apart (the asked type present, the question's words, the region).
  They may also weigh each dimension of the elementwise product of the question's and the
  sentence's embeddings (a learned reweighting of their cosine, 384 numbers for
  multilingual-e5-small), used only with the embedding model they were fitted on. The fitting
  script cross-validates that head against the features alone and keeps it only if it wins;
  the shipped model does not use it (docs/quality.md, "Answers");
* the **answering** weights turn the best sentence's features, its ranking score and its
  margin over the runner-up into the probability that it answers at all; below
  :attr:`AnswerabilityModel.threshold` the reply is "not found".

The weights live in ``answerability.json`` beside this file, written by
``bench/answerability_fit.py``, which records the data and the error rates; nothing is tuned
by hand.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant.errors import AssistantError
from assistant.evidence import FEATURES

__all__ = ["ANSWER_FEATURES", "WEIGHTS_FILE", "AnswerabilityModel", "default_model"]

WEIGHTS_FILE = Path(__file__).with_name("answerability.json")
FORMAT = "answerability-logistic-2"
# What the answering weights read: the best sentence's features, then its ranking score and its
# lead over the second best (capped: a lone candidate leads by MARGIN_CAP).
ANSWER_FEATURES = (*FEATURES, "rank_score", "rank_margin")
MARGIN_CAP = 5.0


@dataclass(frozen=True)
class AnswerabilityModel:
    """Ranking and answering weights, and the thresholds of the answer.

    Attributes:
        ranking: one weight per :data:`~assistant.evidence.FEATURES` (raw features; no intercept:
            only differences between sentences of one question matter).
        vector_weights: one weight per embedding dimension, applied to question ⊙ sentence (empty: none).
        embedder: the identity of the embedding model ``vector_weights`` belong to.
        answering: one weight per :data:`ANSWER_FEATURES` (raw; any standardisation folded in).
        bias: the answering intercept.
        threshold: an answer is given when the answering probability reaches this.
        quote_margin: a further sentence is quoted only when its ranking score is within this of
            the best one's (and it adds words of its own).
        about: how and on what the weights were fitted.
    """

    ranking: tuple[float, ...]
    answering: tuple[float, ...]
    bias: float
    threshold: float
    quote_margin: float
    about: str = ""
    vector_weights: tuple[float, ...] = ()
    embedder: str = ""

    def __post_init__(self) -> None:
        if len(self.ranking) != len(FEATURES) or len(self.answering) != len(ANSWER_FEATURES):
            raise AssistantError(
                f"answerability model has {len(self.ranking)} ranking and {len(self.answering)} answering weights "
                f"for {len(FEATURES)} and {len(ANSWER_FEATURES)} features"
            )
        values = (*self.ranking, *self.answering, *self.vector_weights, self.bias, self.threshold, self.quote_margin)
        if not all(math.isfinite(value) for value in values):
            raise AssistantError("answerability model has a weight that is not a finite number")
        if not 0 <= self.threshold <= 1 or self.quote_margin < 0:
            raise AssistantError("answerability threshold must be a probability and quote_margin 0 or more")

    def scores(self, rows: np.ndarray, products: np.ndarray | None = None, embedder: str = "") -> np.ndarray:
        """Ranking score of each candidate sentence (higher: more likely the answer).

        Args:
            rows: the candidates' :data:`~assistant.evidence.FEATURES` rows.
            products: question vector ⊙ sentence vector, one row per candidate.
            embedder: the identity of the model that made the vectors; the vector weights apply
                only to the model they were fitted on.
        """
        if rows.size == 0:
            return np.zeros(len(rows), dtype=np.float32)
        scores = rows.astype(np.float64) @ np.asarray(self.ranking, dtype=np.float64)
        if self.uses_vectors(embedder) and products is not None:
            scores += products.astype(np.float64) @ np.asarray(self.vector_weights, dtype=np.float64)
        return scores.astype(np.float32)

    def uses_vectors(self, embedder: str) -> bool:
        """Whether the vector weights apply to vectors of ``embedder``."""
        return bool(self.vector_weights) and embedder == self.embedder

    def probability(self, best: np.ndarray, scores: np.ndarray, index: int) -> float:
        """Probability that candidate ``index`` (with feature row ``best``) answers, given all ``scores``."""
        return float(_sigmoid(answer_row(best, scores, index) @ np.asarray(self.answering, dtype=np.float64) + self.bias))

    def to_json(self, extra: Mapping[str, object] | None = None) -> str:
        data = {
            "format": FORMAT,
            "ranking": dict(zip(FEATURES, self.ranking)),
            "answering": dict(zip(ANSWER_FEATURES, self.answering)),
            "bias": self.bias,
            "threshold": self.threshold,
            "quote_margin": self.quote_margin,
            "about": self.about,
            "embedder": self.embedder,
            "vector_weights": list(self.vector_weights),
            **(extra or {}),
        }
        return json.dumps(data, ensure_ascii=False, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str, origin: str = "answerability model") -> AnswerabilityModel:
        """Parse and check a model written by :meth:`to_json`.

        Raises:
            AssistantError: not that format, or fitted on other features than today's.
        """
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise AssistantError(f"{origin} is not valid JSON: {error}") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise AssistantError(f"{origin}: expected format {FORMAT!r}")
        ranking, answering = data.get("ranking"), data.get("answering")
        if (
            not isinstance(ranking, dict)
            or not isinstance(answering, dict)
            or tuple(ranking) != FEATURES
            or tuple(answering) != ANSWER_FEATURES
        ):
            raise AssistantError(
                f"{origin} was fitted on other features than assistant.evidence.FEATURES: "
                "refit it with `python bench/answerability_fit.py --write`"
            )
        try:
            return cls(
                ranking=tuple(float(ranking[name]) for name in FEATURES),
                answering=tuple(float(answering[name]) for name in ANSWER_FEATURES),
                bias=float(data["bias"]),
                threshold=float(data["threshold"]),
                quote_margin=float(data["quote_margin"]),
                about=str(data.get("about", "")),
                vector_weights=tuple(float(value) for value in data.get("vector_weights", ())),
                embedder=str(data.get("embedder", "")),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise AssistantError(f"{origin} is incomplete: {error}") from None


def answer_row(best: np.ndarray, scores: np.ndarray, index: int) -> np.ndarray:
    """The :data:`ANSWER_FEATURES` row of candidate ``index``: its features, score and lead over the rest."""
    others = np.delete(scores, index)
    lead = float(scores[index] - others.max()) if others.size and np.isfinite(others.max()) else MARGIN_CAP
    return np.concatenate([best.astype(np.float64), [float(scores[index]), min(lead, MARGIN_CAP)]])


def _sigmoid(value: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(min(value, 40.0), -40.0)))


@functools.lru_cache(maxsize=1)
def default_model() -> AnswerabilityModel:
    """The model shipped with the package (``answerability.json``), read once."""
    return AnswerabilityModel.from_json(WEIGHTS_FILE.read_text(encoding="utf-8"), str(WEIGHTS_FILE))
