"""Evaluation: reading SQuAD and KazQAD-style files, scoring rankings, reusing the index."""

from __future__ import annotations

import json

import pytest

from assistant import AssistantError, Settings
from assistant.evaluation import EvalQuestion, evaluate, evaluate_index, load_eval_set, prepare_index, score_rankings
from assistant.stores import copy_index
from tests.postgres import postgres_server, store_dsn  # noqa: F401

SETTINGS = Settings(chunk_tokens=64, chunk_overlap=8)


def squad(path, paragraphs, questions_text=None):
    data = {"version": "1.1", "data": [{"title": "Тест_статья", "paragraphs": []}]}
    for index, (context, qas) in enumerate(paragraphs):
        data["data"][0]["paragraphs"].append(
            {
                "context": context,
                "qas": [
                    {"id": f"q{index}-{n}", "question": (questions_text or {}).get(f"q{index}-{n}", q), "answers": [{"text": a, "answer_start": 0}]}
                    for n, (q, a) in enumerate(qas)
                ],
            }
        )
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


PARAGRAPHS = [
    ("Аким Павлодарской области открыл три новые школы робототехники.", [("Сколько школ открыл аким Павлодарской области?", "три")]),
    ("В Атырау построят мост через реку Урал к 2027 году.", [("Что построят в Атырау через реку Урал?", "мост")]),
    ("Синоптики обещают сильный ветер и пыльные бури на юге.", [("Что обещают синоптики на юге?", "ветер")]),
]


def test_squad_file_becomes_passages_and_questions(tmp_path):
    dataset = load_eval_set(squad(tmp_path / "set.json", PARAGRAPHS))
    assert len(dataset.passages) == 3 and len(dataset.questions) == 3
    assert dataset.passages[0].title == "Тест статья"
    assert dataset.questions[1].gold == (dataset.passages[1].passage_id,)
    assert dataset.questions[1].answers == ("мост",)


def test_kazqad_rows_of_one_question_merge_their_gold_passages(tmp_path):
    rows = [
        {"id": "q1#a", "title": "Т", "context": "Абай Құнанбайұлы ақын болған.", "question": "Абай кім?", "answers": {"text": ["ақын"]}},
        {"id": "q1#b", "title": "Т", "context": "Абай ақын әрі ойшыл.", "question": "Абай кім?", "answers": "['ойшыл']"},
        {"id": "q2#c", "title": "Т", "context": "Алматы ірі қала.", "question": "Алматы қандай қала?", "answers": ["ірі"]},
    ]
    path = tmp_path / "kk.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    dataset = load_eval_set(path)
    assert len(dataset.passages) == 3 and len(dataset.questions) == 2
    first = dataset.questions[0]
    assert len(first.gold) == 2 and set(first.answers) == {"ақын", "ойшыл"}


def test_cross_language_takes_gold_from_the_passages_file(tmp_path):
    ru = squad(tmp_path / "ru.json", PARAGRAPHS)
    en = squad(tmp_path / "en.json", PARAGRAPHS, {"q1-0": "What will be built in Atyrau across the Ural river?"})
    dataset = load_eval_set(en, ru)
    assert dataset.questions[1].question.startswith("What will be built")
    assert dataset.questions[1].answers == ("мост",)
    other = squad(tmp_path / "other.json", PARAGRAPHS[:1])
    with pytest.raises(AssistantError, match="not aligned"):
        load_eval_set(en, other)


def test_unreadable_file_is_a_clear_error(tmp_path):
    (tmp_path / "bad.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(AssistantError, match="neither SQuAD"):
        load_eval_set(tmp_path / "bad.json")
    with pytest.raises(AssistantError, match="does not exist"):
        load_eval_set(tmp_path / "missing.json")


def test_recall_and_mrr_count_a_gold_chunk_holding_the_answer():
    questions = (
        EvalQuestion("a", "q1", ("мост",), ("p1",)),
        EvalQuestion("b", "q2", ("три",), ("p2",)),
        EvalQuestion("c", "q3", ("ветер",), ("p3",)),
    )
    rankings = {
        "q1": [("p1", "мост через Урал")],  # rank 1
        "q2": [("p9", "три"), ("p2", "без ответа"), ("p8", "x"), ("p2", "три школы")],  # gold without answer, then rank 4
        "q3": [("p9", "ветер")] * 10,  # the answer only in a wrong passage
    }
    recall, mrr, latencies = score_rankings(questions, lambda question: rankings[question])
    assert recall == {1: pytest.approx(1 / 3), 5: pytest.approx(2 / 3), 10: pytest.approx(2 / 3)}
    assert mrr == pytest.approx((1 + 1 / 4) / 3)
    assert len(latencies) == 3


def test_evaluate_builds_once_and_reuses_the_index(tmp_path, fake_embedder):
    dataset = load_eval_set(squad(tmp_path / "set.json", PARAGRAPHS))
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "noise.txt").write_text("Постороннй документ о футболе и погоде.", encoding="utf-8")
    report = evaluate(dataset, workspace=tmp_path / "ws", extra_corpus=extra, settings=SETTINGS, embedder=fake_embedder)
    assert report.questions == 3 and report.recall_at_10 == 1.0 and report.recall_at_1 >= 2 / 3
    assert "| R@1 |" in report.table()
    fake_embedder.embedded.clear()
    again = evaluate(dataset, workspace=tmp_path / "ws", extra_corpus=extra, settings=SETTINGS, embedder=fake_embedder)
    assert fake_embedder.embedded == [] and again.recall_at_1 == report.recall_at_1
    with pytest.raises(AssistantError, match="mode"):
        evaluate(dataset, workspace=tmp_path / "ws", mode="psychic", settings=SETTINGS, embedder=fake_embedder)


def test_evaluate_index_scores_a_built_index_as_evaluate_does(tmp_path, fake_embedder):
    dataset = load_eval_set(squad(tmp_path / "set.json", PARAGRAPHS))
    report = evaluate(dataset, workspace=tmp_path / "ws", settings=SETTINGS, embedder=fake_embedder)
    fake_embedder.embedded.clear()
    index = prepare_index(dataset, workspace=tmp_path / "ws", settings=SETTINGS, embedder=fake_embedder)
    scored = evaluate_index(dataset, index, settings=SETTINGS, embedder=fake_embedder)
    timeless = {"latency_p50_ms": 0, "latency_p95_ms": 0}
    assert scored.to_dict() | timeless == report.to_dict() | timeless
    assert fake_embedder.embedded == []  # no passage embedded again
    with pytest.raises(AssistantError, match="mode"):
        evaluate_index(dataset, index, mode="psychic", settings=SETTINGS, embedder=fake_embedder)


@pytest.mark.postgres
def test_the_same_build_in_a_database_scores_the_same(tmp_path, fake_embedder, store_dsn):
    dataset = load_eval_set(squad(tmp_path / "set.json", PARAGRAPHS))
    index = prepare_index(dataset, workspace=tmp_path / "ws", settings=SETTINGS, embedder=fake_embedder)
    copy_index(index, store_dsn)
    for mode in ("hybrid", "dense", "keyword"):
        in_files = evaluate_index(dataset, index, mode=mode, settings=SETTINGS, embedder=fake_embedder)
        in_database = evaluate_index(dataset, store_dsn, mode=mode, settings=SETTINGS, embedder=fake_embedder)
        assert (in_database.recall_at_1, in_database.recall_at_5, in_database.mrr_at_10) == (
            in_files.recall_at_1,
            in_files.recall_at_5,
            in_files.mrr_at_10,
        )
