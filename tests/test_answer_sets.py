"""Our answer dev sets stay well-formed: what bench/answerability_fit.py and the reports rely on."""

from __future__ import annotations

import re

import pytest

from assistant.regions import REGIONS

from .answer_sets import SETS, documents, load_questions


@pytest.mark.parametrize("name", SETS)
def test_a_dev_set_is_consistent(name):
    questions = load_questions(name)  # raises on a fragment missing from its document
    assert len({q.id for q in questions}) == len(questions)
    regions_with_documents = {re.search(r"^region: (.+)$", path.read_text(encoding="utf-8"), re.M)[1] for path in documents(name)}
    for question in questions:
        assert question.region in ("", *REGIONS), question
        if question.kind == "no_documents":
            assert question.region not in regions_with_documents, question
        if question.kind in ("absent", "other_region") and question.region:
            assert question.region in regions_with_documents, question
    assert {q.lang for q in questions} == {"ru", "kk", "en"}
