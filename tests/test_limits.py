"""Limits on what a stranger can send (issue #20, docs/security.md): each a setting, each refused or cut
with one clear line. Real indexes built by the test helpers, the fake embedder where only plumbing matters."""

from __future__ import annotations

import pytest

from assistant import InvalidQuery, Searcher, Settings, answer, build_index, regions_overview, retrieve
from assistant.errors import AssistantError
from assistant.query import recent_history

from .conftest import FakeEmbedder, import_resource
from .fake_llm import FakeLLM, Reply, say
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
    """The settings of the generation tests, with ``changes``."""
    return SETTINGS.with_(**{
        "answer_threshold_shift": -1.0, "answer_mode": "generative", "llm_base_url": llm.base_url, "llm_timeout": 3.0,
        "llm_rewrite_timeout": 1.0, **changes,
    })  # fmt: skip


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
        with pytest.raises(
            InvalidQuery, match=r"61 characters long, more than the 60 allowed \(setting max_question_chars\)"
        ):
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


# --- titles, regions, sections --------------------------------------------------------------------

LONG_TITLE = ("Длинный заголовок " * 120_000)[: 2 * 1024 * 1024]  # 2 MB


def test_a_two_megabyte_title_is_cut_in_the_index_and_in_the_answers_citation(tmp_path):
    from assistant.store import load_index

    texts = {
        **TEXTS,
        "long.md": f"---\ntitle: {LONG_TITLE}\nregion: {'Регион ' * 100_000}\n---\n"
        "В Экибастузе открыли музей угольной промышленности для школьников и студентов колледжей.",
    }
    corpus, index = write_corpus(tmp_path / "corpus", texts), tmp_path / "index"
    report = build_index(corpus, index, settings=SETTINGS, embedder=FakeEmbedder())
    assert f"long.md: title cut to 500 characters (it had {len(LONG_TITLE.strip()):,})" in report.notes
    assert "long.md: region cut to 100 characters (it had 699,999)" in report.notes
    stored = load_index(index)
    record = stored.documents["long.md"]
    assert len(record.title) <= 500 and record.title.startswith("Длинный заголовок") and record.title.endswith("…")
    assert len(record.region) <= 100
    assert all(len(chunk.section) <= 500 for chunk in stored.chunks)
    assert sum(file.stat().st_size for file in stored.path.rglob("*") if file.is_file()) < 200_000  # no megabyte stored

    searcher = Searcher(index, settings=SETTINGS, embedder=FakeEmbedder())
    reply = answer("Где открыли музей угольной промышленности для школьников?", settings=SETTINGS.with_(
        answer_threshold_shift=-1.0), searcher=searcher)  # fmt: skip
    cited = [source.passage for source in reply.sources]
    assert reply.found and [passage.doc_id for passage in cited] == ["long.md"]
    assert all(len(passage.title) <= 500 and len(passage.region) <= 100 for passage in cited)
    again = build_index(corpus, index, settings=SETTINGS, embedder=FakeEmbedder())
    assert not again.changed and not again.notes  # unchanged: not read again, nothing to say


def _docx_with_core_title(title: str) -> bytes:
    from .test_documents import docx_bytes

    def build(document) -> None:
        document.core_properties.title = title
        document.add_paragraph("Обычный текст документа без заголовка, о школах и дорогах района. " * 5)

    return docx_bytes(build)


def _pdf_with_title(title: str) -> bytes:
    import io

    from pypdf import PdfReader, PdfWriter

    from .test_documents import pdf_bytes

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf_bytes(["Decree of the Government on schools"]))))
    writer.add_metadata({"/Title": title})
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


TITLE_SOURCES = {
    "front matter": ("doc.md", lambda title: f"---\ntitle: {title}\n---\nТекст о школах."),
    "sidecar": ("doc.txt", lambda title: "Текст о школах."),
    "html og:title": (
        "page.html",
        lambda title: (
            f'<html><head><title>{title}</title><meta property="og:title" content="{title}"></head>'
            f"<body><article><h1>{title}</h1><p>{'Текст статьи о школах и дорогах района. ' * 20}</p></article></body></html>"
        ),
    ),
    "docx metadata": ("doc.docx", _docx_with_core_title),
    "pdf metadata": ("doc.pdf", _pdf_with_title),
}


@pytest.mark.parametrize("source", list(TITLE_SOURCES))
def test_a_long_title_is_cut_wherever_it_was_written(tmp_path, source):
    from assistant.documents import FieldLimits, load_document
    from assistant.metadata import shorten

    name, make = TITLE_SOURCES[source]
    title = ("Заголовок " * 25).strip()  # 249 characters: python-docx refuses more than 255 in its metadata
    content = make(title)
    path = tmp_path / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    if source == "sidecar":
        (tmp_path / f"{name}.meta.yaml").write_text(f"title: {title}\n", encoding="utf-8")
    document = load_document(path, tmp_path, limits=FieldLimits(title=60))
    assert document.title == shorten(title.strip(), 60) and len(document.title) <= 60
    assert document.cut == ("title cut to 60 characters (it had 249)",)
    assert load_document(path, tmp_path).title == title  # within the default limit, kept whole


def test_long_section_titles_and_regions_are_cut_with_one_note(tmp_path):
    from assistant.documents import FieldLimits, load_document

    (tmp_path / "act.txt").write_text(
        "region: " + "Район " * 30 + "\n"  # not front matter: a plain first line
        "Глава 1. " + "Общие положения " * 6 + "\n\nСтатья 1. " + "Основные понятия " * 6 + "\n\nТекст статьи.",
        encoding="utf-8",
    )
    (tmp_path / "act.txt.meta.yaml").write_text("region: " + "Район " * 30 + "\n", encoding="utf-8")
    document = load_document(tmp_path / "act.txt", tmp_path, limits=FieldLimits(region=30, section=60))
    assert len(document.region) <= 30 and all(len(section.title) <= 60 for section in document.sections)
    assert document.cut == (
        "region cut to 30 characters (it had 179)",
        "2 section title(s) cut to 60 characters (the longest had 218)",
    )


def test_a_changed_limit_reads_every_document_again(tmp_path):
    from assistant.store import load_index

    corpus, index = write_corpus(tmp_path / "corpus", TEXTS), tmp_path / "index"
    build_index(corpus, index, settings=SETTINGS, embedder=FakeEmbedder())
    report = build_index(corpus, index, settings=SETTINGS.with_(max_title_chars=20), embedder=FakeEmbedder())
    assert report.changed and "atyrau.txt: title cut to 20 characters (it had 23)" in report.notes
    assert load_index(index).documents["atyrau.txt"].title == "Атырау обсудил…"


# --- the time a file may take to be read ----------------------------------------------------------


def _slow_pdf(pages: int = 5000) -> bytes:
    """A valid PDF that pypdf takes seconds to read (2 to 6 ms a page, 10 s or more in all): a real
    slow path, no test double. Generating it takes a tenth of a second."""
    from .test_documents import pdf_bytes

    return pdf_bytes(
        ["\n".join(f"Line {n} of page {p} about schools and roads" for n in range(40)) for p in range(pages)]
    )


def _pdf(text: str) -> bytes:
    from .test_documents import pdf_bytes

    return pdf_bytes([text])


@pytest.fixture
def reader_calls(monkeypatch):
    """The suffix of every file the build hands to its reader worker process (spied on in the build's process)."""
    from assistant.parsing import WORKER_SUFFIXES, ReaderWorker

    calls: list[str] = []
    real = ReaderWorker.extract

    def spy(self, data, suffix, **kwargs):
        if suffix in WORKER_SUFFIXES:
            calls.append(suffix)
        return real(self, data, suffix, **kwargs)

    monkeypatch.setattr(ReaderWorker, "extract", spy)
    return calls


def test_a_file_over_its_parse_time_is_refused_remembered_and_read_again_once_it_changes(tmp_path, reader_calls):
    import json
    import time

    from assistant.parsing import OVER_BUDGET_FILE

    corpus, index = tmp_path / "corpus", tmp_path / "index"
    write_corpus(corpus, TEXTS)
    (corpus / "a-slow.pdf").write_bytes(_slow_pdf())
    (corpus / "b-quick.pdf").write_bytes(_pdf("Decree on rural schools of Zhambyl region"))
    settings = SETTINGS.with_(parse_seconds=2.0)

    started = time.monotonic()
    first = build_index(corpus, index, settings=settings, embedder=FakeEmbedder())
    assert time.monotonic() - started < 30  # the slow file was stopped at its budget, not read to its end
    assert [(problem.path, problem.reason) for problem in first.failed] == [
        ("a-slow.pdf", "reading took longer than 2 s (setting parse_seconds): refused; "
         "it will not be read again until it changes"),
    ]  # fmt: skip
    assert first.documents == 4  # the worker killed for a-slow.pdf was started again for b-quick.pdf
    remembered = json.loads((index / OVER_BUDGET_FILE).read_text(encoding="utf-8"))
    assert [(entry["path"], entry["seconds"]) for entry in remembered["files"]] == [("a-slow.pdf", 2.0)]
    assert reader_calls == [".pdf", ".pdf"]

    reader_calls.clear()
    second = build_index(corpus, index, settings=settings, embedder=FakeEmbedder())
    assert reader_calls == [] and not second.changed  # nothing read again: the slow file is remembered
    assert "in an earlier build" in second.failed[0].reason and second.failed[0].path == "a-slow.pdf"

    (corpus / "a-slow.pdf").write_bytes(_pdf("Decree on the roads of Pavlodar region"))  # it changes
    third = build_index(corpus, index, settings=settings, embedder=FakeEmbedder())
    assert reader_calls == [".pdf"] and third.failed == () and third.added == 1
    assert json.loads((index / OVER_BUDGET_FILE).read_text(encoding="utf-8"))["files"] == []
    found = Searcher(index, settings=settings, embedder=FakeEmbedder()).search("roads Pavlodar", k=1, mode="keyword")
    assert found[0].doc_id == "a-slow.pdf"


@pytest.mark.slow
def test_a_raised_budget_reads_a_remembered_file_again(tmp_path, reader_calls):
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    write_corpus(corpus, TEXTS)
    (corpus / "slow.pdf").write_bytes(_slow_pdf())
    build_index(corpus, index, settings=SETTINGS.with_(parse_seconds=0.3), embedder=FakeEmbedder())
    assert reader_calls == [".pdf"]
    again = build_index(corpus, index, settings=SETTINGS.with_(parse_seconds=0.6), embedder=FakeEmbedder())
    assert reader_calls == [".pdf", ".pdf"] and "took longer than 0.6 s" in again.failed[0].reason


def test_a_damaged_memory_of_slow_files_only_means_reading_them_again(tmp_path, reader_calls, caplog):
    from assistant.parsing import OVER_BUDGET_FILE, load_over_budget

    (tmp_path / OVER_BUDGET_FILE).write_text('{"format": 1, "files": [{"path": "x"}]}', encoding="utf-8")
    assert load_over_budget(tmp_path) == {} and "will be read again" in caplog.text
    assert load_over_budget(tmp_path / "missing") == {}


def test_the_reader_worker_keeps_reasons_and_log_records_and_reads_text_in_process(tmp_path, caplog):
    from assistant.documents import load_document
    from assistant.errors import DocumentError, ReadTimeout
    from assistant.parsing import ReaderWorker

    page = "<html><head><meta charset='ascii'></head><body><article><p>{}</p></article></body></html>"
    (tmp_path / "page.html").write_bytes(page.format("Школы и дороги района. " * 20).encode("cp1251"))
    (tmp_path / "broken.pdf").write_bytes(_pdf("x")[:200])
    (tmp_path / "note.txt").write_text("Текст о школах.", encoding="utf-8")
    with ReaderWorker(20) as worker:
        document = load_document(tmp_path / "page.html", tmp_path, reader=worker.extract)
        assert "Школы и дороги района." in document.text
        assert "page declares charset ascii but is not" in caplog.text  # logged in the worker, shown here
        with pytest.raises(DocumentError, match="corrupt .pdf"):
            load_document(tmp_path / "broken.pdf", tmp_path, reader=worker.extract)
        assert load_document(tmp_path / "note.txt", tmp_path, reader=worker.extract).text == "Текст о школах."
        process = worker._process
        assert process is not None and process.poll() is None  # one worker served both files
        with pytest.raises(ReadTimeout):
            ReaderWorker(0.2).extract(_slow_pdf(), ".pdf", max_unpacked=10**9)
    assert process.poll() is not None  # stopped with the build


def test_parse_seconds_is_a_setting():
    assert Settings().parse_seconds == 30
    assert Settings.from_env({"ASSISTANT_PARSE_SECONDS": "5"}).parse_seconds == 5
    for bad in (-1.0, float("nan"), float("inf")):
        with pytest.raises(AssistantError, match="parse_seconds"):
            Settings(parse_seconds=bad)


# --- the language model's reply -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("script", "what"),
    [
        (say("Павлодарская область представила план [1]. " * 2000), "30,000 characters streamed"),
        (Reply("json", ["Павлодарская область представила план [1]. " * 50_000]), "a 2 MB completion"),
        (Reply("flood"), "one line that never ends"),
    ],
)
def test_a_reply_over_its_size_is_stopped_and_the_quotes_shown(llm, searcher, script, what):
    import time

    settings = generative(llm, llm_max_chars=1000, llm_timeout=20.0)
    llm.script(script)
    started = time.monotonic()
    reply = answer(QUESTION, settings=settings, searcher=searcher)
    assert time.monotonic() - started < 10, what  # stopped at the cap, not read to the end (or the timeout)
    assert reply.fallback == "too_long" and reply.mode == "extractive" and reply.found, what
    assert len(reply.generated_text) <= 1000, what


def test_a_reply_within_the_size_is_shown(llm, searcher):
    llm.script(say(SUPPORTED_SENTENCE))
    assert len(SUPPORTED_SENTENCE) < 100
    reply = answer(QUESTION, settings=generative(llm, llm_max_chars=100), searcher=searcher)
    assert reply.mode == "generative" and not reply.fallback


def test_a_server_that_drips_its_reply_is_cut_off_at_the_time_limit(llm, searcher):
    """A piece every 1.5 s: each arrives within httpx's read timeout, so only the deadline stops it."""
    import time

    llm.script(Reply("stream", ["Павлодарская ", "область ", "представила ", "план ", "[1]."], pause=1.5))
    started = time.monotonic()
    reply = answer(QUESTION, settings=generative(llm, llm_timeout=2.0), searcher=searcher)
    assert reply.fallback == "timeout" and 1.9 < time.monotonic() - started < 2.8


def test_the_rewrite_and_the_reply_share_one_time_limit(llm, searcher):
    """The follow-up rewrite takes 1.4 s of the 2.5: the reply gets what is left, not 2.5 s more."""
    import time

    llm.script(Reply("hang", pause=1.4), Reply("stream", ["Павлодарская "] * 100, pause=0.3))
    started = time.monotonic()
    reply = answer("А в школах?", history=[QUESTION], settings=generative(llm, llm_timeout=2.5, llm_rewrite_timeout=2.0),
                   searcher=searcher)  # fmt: skip
    assert len(llm.requests) == 2 and reply.fallback == "timeout" and time.monotonic() - started < 3.3


def test_the_reply_limits_are_settings():
    from assistant.llm import ChatClient

    settings = Settings.from_env({"ASSISTANT_LLM_MAX_CHARS": "500", "ASSISTANT_LLM_BASE_URL": "http://127.0.0.1:9/v1"})
    assert ChatClient.from_settings(settings).max_chars == 500 == settings.llm_max_chars
    assert Settings().llm_max_chars == 4000
    with pytest.raises(AssistantError, match="llm_max_chars"):
        Settings(llm_max_chars=10)
