"""Behaviour with the real offline model, through the `assistant` command and `retrieve()`."""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assistant import Settings, answer, retrieve
from assistant.store import BUILDS, read_pointer

from .conftest import REPO, SAMPLE

pytestmark = pytest.mark.model

ASSISTANT = str(Path(sys.executable).with_name("assistant"))

DISTRACTORS = {
    "atyrau.txt": "---\ntitle: В Атырау обсудили меры по реализации Послания\nregion: Atyrau region\n"
    "date: 2025-09-11\ndoc_type: regional_response\n---\n"
    "Аким Атырауской области провел совещание с руководителями управлений. Обсуждались нефтехимия, "
    "строительство дорог и обеспечение сел питьевой водой.",
    "football.txt": "Футбольный клуб «Кайрат» обыграл соперника со счетом 2:1 в матче чемпионата страны. "
    "Решающий гол был забит на последних минутах.",
    "weather.txt": "Синоптики прогнозируют на выходных сильный ветер, пыльные бури и жару до сорока градусов "
    "на юге республики.",
    "law.txt": "Статья 74. Имущественный наем (аренда) государственного имущества осуществляется на "
    "основании договора, заключенного по итогам тендера или аукциона.",
}
QUESTIONS = {
    "ru": "Кто председательствовал на заседании в Актюбинской области?",
    "kk": "Ақтөбе облысындағы Жолдауды іске асыру жөніндегі отырысқа кім төрағалық етті?",
    "en": "Who chaired the meeting in Aktobe region on implementing the President's Address?",
}


def run(*args: str, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run([ASSISTANT, *args], capture_output=True, text=True, timeout=600, **kwargs)
    if check and result.returncode != 0:
        raise AssertionError(f"assistant {' '.join(args)} failed ({result.returncode}): {result.stderr}")
    return result


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("real")
    corpus = root / "corpus"
    shutil.copytree(REPO / "corpus", corpus)
    for name, text in DISTRACTORS.items():
        (corpus / name).write_text(text, encoding="utf-8")
    (corpus / "zhambyl-cp1251.txt").write_bytes(
        "Жамбылская область: фермеры получат субсидии на капельное орошение.".encode("cp1251")
    )
    (corpus / "broken.docx").write_bytes(b"PK\x03\x04 broken")
    result = run("build", "--corpus", str(corpus), "--index", str(root / "index"))
    assert "added 6" in result.stdout and "failed 1" in result.stdout
    assert "broken.docx" in result.stderr
    return corpus, root / "index"


# Kazakh questions over Russian text are the model's weak spot: the Atyrau distractor (the same
# kind of meeting in another region) outranks the sample. What holds is the top 3; the top 1 is
# what a user expects, and marked so that a fix shows up.
KAZAKH_FIRST = pytest.mark.xfail(strict=True, reason="the Atyrau report outranks the sample for the Kazakh question")


@pytest.mark.parametrize(("lang", "within"), [("ru", 1), pytest.param("kk", 1, marks=KAZAKH_FIRST), ("kk", 3), ("en", 1)])
def test_search_finds_the_sample_document_in_three_languages(built, lang, within):
    _, index = built
    lines = run("search", QUESTIONS[lang], "--index", str(index), "-k", "3", "--json").stdout.splitlines()
    found = [json.loads(line) for line in lines]
    assert "000_8e621c451e969ccc.txt" in [p["doc_id"] for p in found[:within]]
    top = next(p for p in found if p["doc_id"] == "000_8e621c451e969ccc.txt")
    assert top["rank"] <= within and len(lines) == 3
    for field in ("score", "text", "title", "date", "region", "doc_type", "lang", "source", "section", "start", "end", "chunk_id"):
        assert field in top
    assert top["date"] == "2025-09-10" and top["region"] == "Aktobe region"
    assert top["source"].startswith("https://www.zakon.kz/")


def test_human_readable_search_shows_citation(built):
    _, index = built
    out = run("search", QUESTIONS["ru"], "--index", str(index), "-k", "1").stdout
    assert "В Актюбинском регионе обсудили" in out and "2025-09-10" in out and "zakon.kz" in out
    assert "Шахаров" in out


def test_retrieve_from_python_with_filters(built):
    _, index = built
    settings = Settings.from_env(index_dir=index)
    passages = retrieve("субсидии на орошение", k=2, index_dir=index, settings=settings)
    assert passages[0].doc_id == "zhambyl-cp1251.txt" and "капельное орошение" in passages[0].text
    atyrau = retrieve("заседание по Посланию", k=5, filters={"region": "Atyrau region"}, index_dir=index, settings=settings)
    assert {p.doc_id for p in atyrau} == {"atyrau.txt"}


def test_user_errors_are_one_line_and_non_zero(built):
    _, index = built
    empty = run("search", "   ", "--index", str(index), check=False)
    assert empty.returncode != 0 and "empty" in empty.stderr and "Traceback" not in empty.stderr
    missing = run("search", "вопрос", "--index", str(index.parent / "none"), check=False)
    assert missing.returncode != 0 and "assistant build" in missing.stderr and "Traceback" not in missing.stderr


@pytest.mark.slow
def test_killed_build_leaves_the_previous_index_serving(built, tmp_path):
    corpus_template, index_template = built
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(corpus_template, corpus)
    shutil.copytree(index_template, index)
    before = read_pointer(index)
    expected = run("search", QUESTIONS["ru"], "--index", str(index), "--json").stdout
    for number in range(40):  # enough new text to keep the build busy embedding for a while
        (corpus / f"extra-{number}.txt").write_text(
            f"Документ {number}. " + "Областной акимат утвердил план мероприятий по цифровизации. " * 40,
            encoding="utf-8",
        )
    rng = random.Random(7)
    for attempt in range(4):
        process = subprocess.Popen(
            [ASSISTANT, "-v", "build", "--corpus", str(corpus), "--index", str(index)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        if attempt == 0:  # while it loads the model and reads the corpus
            time.sleep(rng.uniform(0.5, 2.0))
        else:
            for line in process.stderr:  # wait until it is embedding, then kill at a random moment
                if "embedding" in line:
                    break
            time.sleep(rng.uniform(0.0, 2.0))
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        assert read_pointer(index) == before
        assert run("search", QUESTIONS["ru"], "--index", str(index), "--json").stdout == expected
    finished = run("build", "--corpus", str(corpus), "--index", str(index))
    assert "added 40" in finished.stdout
    assert read_pointer(index) != before
    assert not list((index / BUILDS).glob(".tmp-*")) and not list(index.glob(".CURRENT.*"))  # no debris
    # More kills, at moments spread over every stage, with the fake embedder: tests/test_faults.py.


# (question, whether the corpus answers it): the sample, the distractors (Atyrau, football,
# weather, the law), the cp1251 Zhambyl note; the last three are about nothing indexed.
ANSWER_QUESTIONS = [
    ("Кто председательствовал на заседании в Актюбинской области?", True),
    ("Кто принял участие в заседании?", True),
    ("Как акимы районов подключились к совещанию?", True),
    ("Когда глава государства озвучил Послание?", True),
    ("Как называется Послание президента?", True),
    ("Что аким сказал о роли современных технологий?", True),
    ("Какие поручения были даны по итогам заседания?", True),
    ("Кто выступил с докладами на заседании?", True),
    ("Что обсуждали в Атырауской области?", True),
    ("Какой счет был в матче Кайрата?", True),
    ("Какую погоду прогнозируют синоптики?", True),
    ("Что такое имущественный наем государственного имущества?", True),
    ("Жамбыл облысының фермерлері не алады?", True),
    ("Ақтөбе облысының әкімі кім?", True),
    ("Who took part in the meeting in Aktobe?", True),
    ("What weather is forecast for the weekend?", True),
    ("Какая погода на Марсе?", False),
    ("Сколько стоит билет на самолет до Парижа?", False),
    ("What is the capital of France?", False),
]


@pytest.mark.parametrize(("question", "answered"), ANSWER_QUESTIONS)
def test_answer_quotes_are_verbatim_in_the_cited_passages(built, question, answered):
    _, index = built
    reply = answer(question, index_dir=index, settings=Settings.from_env(index_dir=index)).to_dict()
    markers = {int(n) for n in re.findall(r"\[(\d+)\]", reply["text"])}
    sources = {source["number"]: source["passage"] for source in reply["sources"]}
    assert markers == set(sources)
    assert reply["found"] == answered, reply["text"]
    if not answered:
        assert not reply["quotes"] and reply["related"]
    for quote in reply["quotes"]:
        passage = sources[quote["source"]]
        assert passage["text"][quote["start"] : quote["end"]] == quote["text"]
        assert f"{quote['text']} [{quote['source']}]" in reply["text"]


def test_ask_json_answers_about_the_sample_and_refuses_the_unrelated(built):
    _, index = built
    sample = json.loads(run("ask", QUESTIONS["ru"], "--index", str(index), "--json").stdout)
    assert sample["found"] and "Шахарова" in sample["text"] and "[1]" in sample["text"]
    assert sample["sources"][0]["passage"]["doc_id"] == "000_8e621c451e969ccc.txt"
    mars = json.loads(run("ask", "Какая погода на Марсе?", "--index", str(index), "--json").stdout)
    assert not mars["found"] and "[" not in mars["text"]


def test_eval_command_reports_recall_for_russian_and_cross_language_questions(tmp_path):
    from .test_evaluation import PARAGRAPHS, squad

    ru = squad(tmp_path / "ru.json", PARAGRAPHS)
    en = squad(
        tmp_path / "en.json",
        PARAGRAPHS,
        {
            "q0-0": "How many schools did the akim of Pavlodar region open?",
            "q1-0": "What will be built in Atyrau across the Ural river?",
            "q2-0": "What do forecasters promise in the south?",
        },
    )
    same = json.loads(run("eval", str(ru), "--index", str(tmp_path / "ws"), "--json").stdout)
    assert same["questions"] == 3 and same["recall_at_1"] == 1.0 and same["mrr_at_10"] == 1.0
    cross = json.loads(run("eval", str(en), "--passages", str(ru), "--index", str(tmp_path / "ws"), "--json").stdout)
    assert cross["recall_at_5"] == 1.0
    table = run("eval", str(ru), "--index", str(tmp_path / "ws")).stdout
    assert "| R@1 |" in table and "ru.json" in table


# A program using the library as the README shows, with logging set up the way most applications
# do it. Loading the model drew transformers' "Loading weights" bar on its stderr, and bm25s
# (which sets its own logger to DEBUG) printed "DEBUG:bm25s:Building index from IDs".
PYTHON_CALLER = """
import logging, sys
logging.basicConfig(level=logging.WARNING)
from transformers.utils import logging as transformers_logging
from assistant import answer, build_index, retrieve
corpus, index = sys.argv[1:]
build_index(corpus, index)
question = "Кто председательствовал на заседании в Актюбинской области?"
print(retrieve(question, index_dir=index)[0].doc_id)
print(answer(question, index_dir=index).found)
print(transformers_logging.is_progress_bar_enabled())  # the caller's setting, untouched
"""


def small_corpus(folder: Path) -> Path:
    folder.mkdir()
    for file in SAMPLE.parent.glob(f"{SAMPLE.name}*"):  # the text and its .meta.yaml
        shutil.copy(file, folder)
    return folder


def test_the_library_writes_nothing_to_stderr(tmp_path):
    corpus = small_corpus(tmp_path / "corpus")
    result = subprocess.run(
        [sys.executable, "-c", PYTHON_CALLER, str(corpus), str(tmp_path / "index")],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [SAMPLE.name, "True", "True"]
    assert result.stderr == ""


def test_build_and_ask_write_nothing_to_stderr(tmp_path):
    """Piped output (a log file, a script) holds what the command says, no bars or debug lines."""
    corpus, index = small_corpus(tmp_path / "corpus"), str(tmp_path / "index")
    build = run("build", "--corpus", str(corpus), "--index", index)
    assert "added 1" in build.stdout and build.stderr == ""
    ask = run("ask", QUESTIONS["ru"], "--index", index)
    assert "Шахаров" in ask.stdout and ask.stderr == ""
    assert "**" in ask.stdout  # piped: the quoted sentences are marked in their source's excerpt


def test_the_name_of_the_address_is_quoted_from_its_long_title(built):
    """A quoted official title of 120 characters is a name ("Как называется ...?")."""
    _, index = built
    reply = answer("Как называется Послание президента?", index_dir=index, settings=Settings.from_env(index_dir=index))
    assert reply.found and "Казахстан в эпоху искусственного интеллекта" in reply.quotes[0].text


# The sample answers these, but today the first quote is another sentence of it, or the answer is
# refused (issue #17: the answering sentence is found for ~85 % of questions). Strict: a fix shows.
WEAK_FIRST_QUOTES = [
    ("Who took part in the meeting in Aktobe?", "приняли участие"),  # quotes the chair's sentence
    ("What did the akim say about artificial intelligence?", "роль современных технологий"),  # refused
]


@pytest.mark.xfail(strict=True, reason="another sentence of the right document is quoted first, or none")
@pytest.mark.parametrize(("question", "fragment"), WEAK_FIRST_QUOTES)
def test_the_first_quote_answers_these_questions_too(built, question, fragment):
    _, index = built
    reply = answer(question, index_dir=index, settings=Settings.from_env(index_dir=index))
    assert reply.found and fragment in reply.quotes[0].text, reply.text
