"""Limits on what a stranger can send (issue #20, docs/security.md): each a setting, each refused or cut
with one clear line. Real indexes built by the test helpers, the fake embedder where only plumbing matters."""

from __future__ import annotations

import pytest

from assistant import InvalidQuery, Searcher, Settings, answer, build_index, regions_overview, retrieve
from assistant.errors import AssistantError
from assistant.query import recent_history

from .conftest import FakeEmbedder, import_resource
from .fake_llm import FakeLLM, say
from .test_build import write_corpus
from .test_generation import QUESTION, SUPPORTED_SENTENCE, TEXTS

SETTINGS = Settings(chunk_tokens=40, chunk_overlap=5)


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    root = tmp_path_factory.mktemp("limits")
    build_index(write_corpus(root / "corpus", TEXTS), root / "index", settings=SETTINGS, embedder=FakeEmbedder())
    return root / "index"


@pytest.fixture(scope="module")
def searcher(index) -> Searcher:
    return Searcher(index, settings=SETTINGS, embedder=FakeEmbedder())


@pytest.fixture(scope="module")
def llm():
    with FakeLLM() as server:
        yield server


def generative(llm: FakeLLM, **changes) -> Settings:
    return SETTINGS.with_(
        answer_threshold_shift=-1.0, answer_mode="generative", llm_base_url=llm.base_url, llm_timeout=3.0,
        llm_rewrite_timeout=1.0, **changes,
    )  # fmt: skip


# --- k --------------------------------------------------------------------------------------------


def test_k_over_the_limit_is_refused_naming_the_limit(searcher, index, monkeypatch):
    assert len(searcher.search("цифровизация", k=50)) == 3  # the whole corpus: 50 is allowed
    for k in (51, 10**9):
        with pytest.raises(InvalidQuery, match=r"more than the 50 results .*\(setting max_k\)"):
            searcher.search("цифровизация", k=k)
        with pytest.raises(InvalidQuery, match="max_k"):
            searcher.search_vector(searcher.embed_query("цифровизация"), k=k)
    for name in ("MAX_K", "ANSWER_PASSAGES", "ANSWER_QUOTE_PASSAGES"):
        monkeypatch.setenv(f"ASSISTANT_{name}", "2")
    small = Settings.from_env()
    assert small.max_k == 2
    with pytest.raises(InvalidQuery, match="more than the 2 results"):
        Searcher(index, settings=small, embedder=FakeEmbedder()).search("цифровизация", k=3)


def test_the_limits_are_checked_when_settings_are_made():
    for bad in ({"max_k": 0}, {"max_question_chars": 0}, {"max_history_turns": -1}, {"max_history_chars": -1}):
        with pytest.raises(AssistantError, match=next(iter(bad))):
            Settings(**bad)
    with pytest.raises(AssistantError, match="must not exceed max_k"):
        Settings(max_k=4)  # an answer retrieves answer_passages (5)
    assert Settings(max_history_turns=0, max_history_chars=0).max_history_turns == 0


def test_the_web_search_endpoint_refuses_k_over_the_limit_with_the_message(searcher):
    app = import_resource("ui.app", "gradio, the web chat's library, is not installed: pip install -e .")
    import gradio as gr

    from ui.service import Service

    service = Service(SETTINGS, searcher)
    assert [row["rank"] for row in app.search(service, "цифровизация", k=2)] == [1, 2]
    with pytest.raises(gr.Error, match=r"k=1,000,000,000 is more than the 50 results one search may return"):
        app.search(service, "цифровизация", k=10**9)


# --- the question ---------------------------------------------------------------------------------


def test_a_question_at_the_limit_is_answered_and_one_character_more_is_refused(index, monkeypatch):
    import assistant.retrieval

    monkeypatch.setattr(assistant.retrieval, "load_embedder", lambda *args, **kwargs: FakeEmbedder())
    limited = SETTINGS.with_(max_question_chars=60)
    searcher = Searcher(index, settings=limited, embedder=FakeEmbedder())
    at_limit = ("цифровизация школ Павлодар " * 5)[:60]
    assert searcher.search("  " + at_limit + "\n")  # blanks around it do not count
    assert answer(at_limit, settings=limited, searcher=searcher).question == at_limit
    for entry_point in (
        lambda question: searcher.search(question),
        lambda question: answer(question, settings=limited, searcher=searcher),
        lambda question: regions_overview(question, settings=limited, searcher=searcher),
        lambda question: retrieve(question, index_dir=index, settings=limited),
    ):
        with pytest.raises(InvalidQuery, match=r"61 characters long, more than the 60 allowed \(setting max_question_chars\)"):
            entry_point(at_limit + "ы")


def test_a_question_over_the_limit_never_reaches_the_language_model(llm, searcher):
    llm.script(say(SUPPORTED_SENTENCE))
    with pytest.raises(InvalidQuery, match="max_question_chars"):
        answer("цифровизация " * 1000, history=["Павлодар?"], settings=generative(llm), searcher=searcher)
    assert not llm.requests


# --- the history ----------------------------------------------------------------------------------


def test_recent_history_keeps_the_newest_turns_within_the_limits():
    history = ["первый", " ", "второй вопрос", "третий вопрос", "четвёртый"]
    assert recent_history(history, turns=3, chars=1000) == ("второй вопрос", "третий вопрос", "четвёртый")
    assert recent_history(history, turns=3, chars=20) == ("третий вопр", "четвёртый")  # the oldest kept is cut
    assert recent_history(history, turns=0, chars=1000) == () == recent_history(history, turns=3, chars=0)
    assert recent_history(["x" * 10**6] * 10**4, turns=3, chars=2000) == ("x" * 2000,)
    for bad in ("one question as a string", [1, 2], {"a": 1}, None):
        with pytest.raises(InvalidQuery, match="history"):
            recent_history(bad, turns=3, chars=2000)


def test_megabytes_of_history_never_reach_the_language_model(llm, searcher):
    """A client sends 200 earlier questions of 50,000 characters: the rewrite is asked with the last
    three, 2,000 characters in all, and the answer's prompt is no bigger than without that history."""
    history = [f"Вопрос {n} о Павлодаре " + "ц" * 50_000 for n in range(200)]
    settings = generative(llm)
    llm.script(say("Что представила Павлодарская область по цифровизации?"), say(SUPPORTED_SENTENCE))
    reply = answer("А по цифровизации?", history=history, settings=settings, searcher=searcher)
    rewrite, generation = llm.requests
    assert "Вопрос 199" in rewrite.user and "Вопрос 196" not in rewrite.user
    assert len(rewrite.user) < settings.max_history_chars + 300
    assert "Earlier questions:" in rewrite.user and "Вопрос 199" in generation.user  # the earlier question, cut
    assert sum(len(message["content"]) for message in generation.messages) < 10_000
    assert reply.found


def test_a_follow_up_searched_with_a_long_previous_question_stays_within_the_limit(searcher):
    limited = SETTINGS.with_(max_question_chars=100, max_history_chars=5000)
    reply = answer("А в школах?", history=["Павлодар " * 500], settings=limited, searcher=searcher)
    assert len(reply.retrieval_query) <= 100 and reply.retrieval_query.endswith(" А в школах?")
    assert reply.retrieval_query.startswith("Павлодар")


def test_the_history_limits_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("ASSISTANT_MAX_HISTORY_TURNS", "1")
    monkeypatch.setenv("ASSISTANT_MAX_HISTORY_CHARS", "50")
    monkeypatch.setenv("ASSISTANT_MAX_QUESTION_CHARS", "300")
    settings = Settings.from_env()
    assert (settings.max_history_turns, settings.max_history_chars, settings.max_question_chars) == (1, 50, 300)


def test_a_question_that_is_the_question_of_the_generation_tests_is_answered(searcher):
    """The fixtures above answer: the refusals are the limits', not a broken index."""
    assert answer(QUESTION, settings=SETTINGS.with_(answer_threshold_shift=-1.0), searcher=searcher).found
