"""Retrieval assistant for Kazakhstan's official texts: build an index of a corpus, retrieve cited passages."""

from assistant.answer import Answer, Draft, Quote, Source, answer, answer_stream
from assistant.build import BuildReport, FileProblem, build_index
from assistant.config import Settings
from assistant.errors import (
    AssistantError,
    BuildInProgress,
    DocumentError,
    IndexCorrupt,
    IndexNotFound,
    InvalidQuery,
    ModelMismatch,
    ModelUnavailable,
)
from assistant.overview import RegionFinding, RegionOverview, regions_overview
from assistant.retrieval import Passage, Searcher, retrieve

__all__ = [
    "Answer",
    "AssistantError",
    "BuildInProgress",
    "BuildReport",
    "DocumentError",
    "Draft",
    "FileProblem",
    "IndexCorrupt",
    "IndexNotFound",
    "InvalidQuery",
    "ModelMismatch",
    "ModelUnavailable",
    "Passage",
    "Quote",
    "RegionFinding",
    "RegionOverview",
    "Searcher",
    "Settings",
    "Source",
    "answer",
    "answer_stream",
    "build_index",
    "regions_overview",
    "retrieve",
]
