"""Web UI helpers without a browser or model: inert rendering of answers and sources, upload names, strings."""

from __future__ import annotations

import html
import inspect
import re
import string
import typing
from pathlib import Path

import pytest
import yaml

from assistant.answer import NO_ANSWER, Answer, Quote, Source
from assistant.model import CITATION_FIELDS, Citation, Passage, Provenance
from ui import render, texts, uploads

from .conftest import import_resource

GRADIO_MISSING = "gradio, the web chat's library, is not installed: pip install -e ."

TRICKS = (
    '<script>window.__pwned=1</script> <img src=x onerror="window.__pwned=2"> '
    "[click me](javascript:window.__pwned=3) ![x](http://evil.example/x.png) $$x^2$$ **bold** `code`"
)


def passage(text: str = "Первое предложение. Второе предложение.", **fields) -> Passage:
    values = {
        "rank": 1, "score": 0.87, "chunk_id": "doc.txt#0", "doc_id": "doc.txt", "text": text, "title": "Заголовок",
        "date": "2025-09-10", "region": "Aktobe region", "doc_type": "regional_response", "lang": "ru",
        "source": "https://www.zakon.kz/obshestvo/1-x.html", "section": "", "start": 0, "end": len(text),
    }  # fmt: skip
    values = {**values, **fields}
    citation = Citation(**{name: values.pop(name) for name in CITATION_FIELDS})
    return Passage(citation=citation, **values)


def found_answer(source_passage: Passage) -> Answer:
    first = source_passage.text.index(".") + 1
    quote = Quote(text=source_passage.text[:first], source=1, start=0, end=first, score=0.9)
    second = Quote(
        text=source_passage.text[first:].strip(), source=1, start=first + 1, end=len(source_passage.text), score=0.88
    )
    return Answer(
        question="q", text="", found=True, lang="ru", quotes=(quote, second),
        sources=(Source(1, source_passage, ((0, first), (first + 1, len(source_passage.text)))),),
    )  # fmt: skip


def visible_text(markup: str) -> str:
    """What a browser shows for ``markup`` (tags dropped, ``<br>`` as newline, entities decoded)."""
    return html.unescape(re.sub(r"<[^>]+>", "", markup.replace("<br>", "\n")))


def tags(markup: str) -> set[str]:
    return {name.lower() for name in re.findall(r"<\s*([a-zA-Z][\w-]*)", markup)}


def test_inert_text_has_no_markup_and_shows_exactly_the_input():
    shown = render.inert(TRICKS + "\nline two")
    assert tags(shown) == {"br"}
    for active in "<>[]()!`*$":
        assert active not in shown.replace("<br>", "")
    assert visible_text(shown) == TRICKS + "\nline two"


def test_inert_drops_control_characters_but_keeps_tabs_and_newlines():
    assert visible_text(render.inert("a\x00b\x1bc\td\ne\u200b")) == "abc\td\ne"


@pytest.mark.parametrize(
    ("source", "link"),
    [
        ("https://www.zakon.kz/a-b.html?x=1&y=2", True),
        ("http://example.kz/", True),
        ("javascript:alert(1)", False),
        ("JaVaScRiPt:alert(1)", False),
        ("data:text/html,<script>alert(1)</script>", False),
        ('https://x.kz/" onmouseover="alert(1)', False),
        ("https:///nohost", False),
        ("//evil.example/x", False),
    ],
)
def test_only_http_urls_become_links(source, link):
    shown = render.source_html(source)
    assert ("<a " in shown) is link
    if link:
        assert f'href="{html.escape(source, quote=True)}"' in shown and 'rel="noopener noreferrer nofollow"' in shown
    else:
        assert tags(shown) <= {"span"} and visible_text(shown) == source


def test_a_file_source_shows_only_the_file_name():
    assert visible_text(render.source_html("/srv/corpus/sub/Закон <1>.docx")) == "Закон <1>.docx"
    assert visible_text(render.source_html(r"C:\corpus\law.PDF")) == "law.PDF"
    assert (
        visible_text(render.source_html("Ведомости Парламента РК, 2025, № 3/1"))
        == "Ведомости Парламента РК, 2025, № 3/1"
    )


def test_highlighted_marks_spans_merging_overlaps_and_clipping():
    text = "abc <def> ghi"
    shown = render.highlighted(text, [(4, 9), (6, 11), (12, 99), (3, 3)])
    assert shown.count("<mark>") == 2
    marked = [visible_text(part) for part in re.findall(r"<mark>(.*?)</mark>", shown)]
    assert marked == ["<def> g", "i"]
    assert visible_text(shown) == text


def test_found_answer_has_markers_and_a_collapsed_sources_block_with_quotes_marked():
    source_passage = passage("Первое предложение. " + TRICKS + " конец.", title=TRICKS, section="Глава 1 › Статья 2")
    reply = found_answer(source_passage)
    shown = render.render_answer(reply, "ru")
    assert tags(shown) <= {"div", "span", "details", "summary", "strong", "a", "blockquote", "mark", "br"}
    assert "<details" in shown and '<details class="kz-sources" open' not in shown
    assert "[1]" in shown and "Источники (1)" in shown
    assert "Регион: Актюбинская область" in shown and "Тип: Ответ региона &#40;акимата&#41;" in shown
    assert "Раздел: Глава 1 › Статья 2" in visible_text(shown)
    assert TRICKS in visible_text(shown)  # the title and the passage, as text
    assert shown.count("<a ") == 1 and "javascript:" not in re.sub(r">[^<]*<", "><", shown)
    assert [visible_text(m) for m in re.findall(r"<mark>(.*?)</mark>", shown)] == [q.text for q in reply.quotes]


def test_not_found_reply_lists_related_passages_without_markers():
    reply = Answer(
        question="q", text=NO_ANSWER["en"], found=False, lang="en",
        related=(passage(title="Atyrau"), passage(title="Weather", source="corpus/weather.txt")),
    )  # fmt: skip
    shown = render.render_answer(reply, "en")
    assert NO_ANSWER["en"] in visible_text(shown)
    assert "Possibly related passages (2)" in shown and '<details class="kz-related" open>' in shown
    assert not re.search(r"\[\d+\]", visible_text(shown))
    assert "weather.txt" in visible_text(shown) and "corpus/" not in visible_text(shown)


def test_answer_steps_add_one_quote_at_a_time_and_end_with_the_full_message():
    reply = found_answer(passage())
    steps = list(render.answer_steps(reply, "kk"))
    assert len(steps) == len(reply.quotes) + 1
    for count, step in enumerate(steps[:-1], 1):
        assert step.count("kz-cite") == count and "<details" not in step
    assert steps[-1] == render.render_answer(reply, "kk") and "Дереккөздер" in steps[-1]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("../../etc/Послание.TXT", "Послание.txt"),
        (r"..\..\Windows\law.docx", "law.docx"),
        (".hidden.md", "hidden.md"),
        ("  ...  spaced   name .pdf", "spaced name.pdf"),
        ("a\x00b\x1f\u202ec.html", "abc.html"),
        ('what?<is>:"this"|*.htm', "what__is___this___.htm"),
        ("README.md", "document-README.md"),
        ("~$lock.docx", "lock.docx"),
        ("-rf.txt", "rf.txt"),
    ],
)
def test_safe_file_name(name, expected):
    assert uploads.safe_file_name(name) == expected


@pytest.mark.parametrize(
    ("name", "reason"),
    [("x.exe", "type"), ("x.meta.yaml", "type"), ("noext", "type"), (".txt", "type"), ("...___.txt", "name")],
)
def test_safe_file_name_refuses(name, reason):
    with pytest.raises(uploads.UploadRejected) as caught:
        uploads.safe_file_name(name)
    assert caught.value.reason == reason


def test_safe_file_name_shortens_long_names_keeping_the_extension():
    name = uploads.safe_file_name("ж" * 300 + ".txt")
    assert name.endswith(".txt") and len(name.encode()) <= uploads.MAX_NAME_BYTES


def test_save_upload_never_overwrites(tmp_path):
    corpus = tmp_path / "corpus"
    upload = tmp_path / "upload" / "doc.txt"
    upload.parent.mkdir()
    upload.write_text("новый текст", encoding="utf-8")
    corpus.mkdir()
    (corpus / "doc.txt").write_text("старый", encoding="utf-8")
    (corpus / "doc (2).txt.meta.yaml").write_text("region: X\n", encoding="utf-8")  # orphan sidecar: skip the name

    first = uploads.save_upload(upload, corpus, original_name="../doc.txt")
    upload.write_text("новый текст, исправленный", encoding="utf-8")
    second = uploads.save_upload(upload, corpus)
    assert (first.name, first.renamed) == ("doc (3).txt", True)
    assert (second.name, second.renamed) == ("doc (4).txt", True)
    assert (corpus / "doc.txt").read_text(encoding="utf-8") == "старый"
    assert first.path.read_text(encoding="utf-8") == "новый текст"
    upload.write_text("другой документ", encoding="utf-8")
    fresh = uploads.save_upload(upload, corpus, original_name="other.txt")
    assert (fresh.name, fresh.renamed) == ("other.txt", False)


def test_a_file_already_in_the_corpus_is_not_saved_again_under_any_name(tmp_path):
    corpus = tmp_path / "corpus"
    (corpus / "2025").mkdir(parents=True)
    (corpus / "2025" / "decree.txt").write_text("Постановление о школах.", encoding="utf-8")
    (corpus / "same-size.txt").write_text("Постановление о дорог.", encoding="utf-8")  # same length, other bytes
    upload = tmp_path / "upload.txt"
    upload.write_text("Постановление о школах.", encoding="utf-8")
    with pytest.raises(uploads.UploadRejected) as caught:
        uploads.save_upload(upload, corpus, original_name="копия.txt")
    assert (caught.value.reason, caught.value.existing) == ("duplicate", "2025/decree.txt")
    assert sorted(path.name for path in corpus.rglob("*") if path.is_file()) == ["decree.txt", "same-size.txt"]
    upload.write_text("Постановление о школах!", encoding="utf-8")  # one byte differs
    assert uploads.save_upload(upload, corpus, original_name="копия.txt").name == "копия.txt"


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.txt", b"", "empty"),
        ("big.txt", b"x" * 101, "size"),
        ("fake.pdf", b"<html>", "content"),
        ("fake.docx", b"%PDF-1.4", "content"),
    ],
)
def test_save_upload_refuses_bad_files_and_leaves_nothing(tmp_path, name, content, reason):
    upload = tmp_path / name
    upload.write_bytes(content)
    with pytest.raises(uploads.UploadRejected) as caught:
        uploads.save_upload(upload, tmp_path / "corpus", max_bytes=100)
    assert caught.value.reason == reason
    assert not list((tmp_path / "corpus").glob("*")) if (tmp_path / "corpus").exists() else True


def test_metadata_is_checked_and_written_as_a_sidecar(tmp_path):
    metadata = uploads.check_metadata(
        {"doc_type": "legal_act", "region": " Aktobe\x00 region ", "date": "2025-09-10", "lang": ""}
    )
    assert metadata == {"doc_type": "legal_act", "region": "Aktobe region", "date": "2025-09-10"}
    document = tmp_path / "law.txt"
    sidecar = uploads.write_sidecar(document, metadata)
    assert sidecar.name == "law.txt.meta.yaml"
    assert yaml.safe_load(sidecar.read_text(encoding="utf-8")) == metadata
    assert uploads.write_sidecar(tmp_path / "x.txt", {}) is None
    for bad in ({"date": "2025-02-30"}, {"date": "10.09.2025"}, {"doc_type": "novel"}, {"lang": "de"}, {"title": "x"}):
        with pytest.raises(ValueError):
            uploads.check_metadata(bad)


def test_every_language_has_every_string_with_the_same_placeholders():
    def fields(template: str) -> set[str]:
        return {name for _, name, _, _ in string.Formatter().parse(template) if name}

    reference = texts.TEXTS[texts.DEFAULT_LANGUAGE]
    for lang in texts.LANGUAGES:
        assert texts.TEXTS[lang].keys() == reference.keys(), lang
        for key, template in texts.TEXTS[lang].items():
            assert fields(template) == fields(reference[key]), (lang, key)
        assert texts.DOC_TYPE_LABELS[lang].keys() == {"address", "regional_response", "legal_act", "other"}
    assert texts.language("KK") == "kk" and texts.language("de") == "ru" and texts.language(None) == "ru"


def test_chatbot_shows_questions_as_text_and_gives_the_chat_function_what_was_typed():
    app = import_resource("ui.app", GRADIO_MISSING)
    question = 'Кто <img src=x onerror="alert(1)"> & [x](javascript:1)?\nвторая строка'
    chatbot = app.InertChatbot(render=False)
    shown = chatbot.postprocess([{"role": "user", "content": question}, {"role": "assistant", "content": "<b>ok</b>"}])
    user, assistant = shown.root
    assert tags(user.content[0].text) == {"br"} and visible_text(user.content[0].text) == question
    assert assistant.content[0].text == "<b>ok</b>"  # the app's own HTML is left alone
    restored = chatbot.preprocess(shown)
    assert restored[0]["content"][0]["text"] == question
    assert chatbot.postprocess(restored).root[0].content[0].text == user.content[0].text  # no double escaping


def test_importing_the_app_writes_nothing_into_the_source_tree():
    app = import_resource("ui.app", GRADIO_MISSING)
    assert not Path(app.__file__).with_suffix(".pyi").exists()  # gradio writes stubs for component classes
    assert not list(Path(app.__file__).parent.glob("*.pyi"))  # beside the module of each, e.g. ui/chatbot.py


def test_a_bound_handler_is_seen_by_gradio_as_the_handler_without_the_given_arguments():
    from ui.handlers import bind

    def answer(service: object, question: str, k: int = 5) -> list[str]:
        """The answer."""
        return [service, question, k]

    def steps(service: object, question: str):
        yield service
        yield question

    bound = bind(answer, "service")
    assert bound("q") == ["service", "q", 5] and bound("q", k=2) == ["service", "q", 2]
    assert bound.__name__ == "answer" and bound.__doc__ == "The answer."  # an event's API name, its description
    assert list(inspect.signature(bound).parameters) == ["question", "k"]
    assert typing.get_type_hints(bound) == {"question": str, "k": int, "return": list[str]}
    assert not inspect.isgeneratorfunction(bound)
    streamed = bind(steps, "service")
    assert inspect.isgeneratorfunction(streamed) and list(streamed("q")) == ["service", "q"]
    with pytest.raises(TypeError, match="answer"):
        bind(answer, 1, 2, 3, 4)


def test_the_apps_endpoints_keep_their_names_and_parameters(tmp_path, monkeypatch):
    """Scripts and the docs call /chat, /search and /regions by name, with these parameters."""
    app = pytest.importorskip("ui.app")
    from assistant import Settings

    monkeypatch.setenv("GRADIO_ANALYTICS_ENABLED", "False")
    for name in app.GRADIO_ANALYTICS:
        monkeypatch.delenv(name, raising=False)  # build_app sets them; unset again after the test
    demo = app.build_app(Settings.from_env(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index"))
    endpoints = demo.get_api_info()["named_endpoints"]
    parameters = {name: [p["parameter_name"] for p in endpoint["parameters"]] for name, endpoint in endpoints.items()}
    assert parameters == {
        "/chat": ["message", "doc_types", "regions", "date_from", "date_to", "doc_langs", "ui_lang", "answer_mode",
                  "history"],
        "/search": ["question", "k", "filters"],
        "/regions": ["question", "filters"],
    }  # fmt: skip
    assert endpoints["/search"]["parameters"][1]["parameter_default"] == 5
    assert all(endpoint["description"] for endpoint in endpoints.values())


def test_a_republished_passage_lists_the_other_outlets_as_safe_links():
    shown = passage(also_published=("https://mgorod.kz/news/x", 'javascript:alert(1)"><script>x</script>'))
    markup = render.passage_html(shown, "ru")
    assert "Также опубликовано" in visible_text(markup)
    assert 'href="https://mgorod.kz/news/x"' in markup
    assert "javascript:" not in re.findall(r'href="([^"]*)"', markup)[-1]
    assert "script" not in tags(markup)
    assert "Также опубликовано" not in render.passage_html(passage(), "ru")


FORGED_PROVENANCE = Provenance(
    origin="uploaded", added_by="anonymous", added_at="2026-01-05T10:11:12Z", file_sha256="ab" * 32,
    stated_source='https://www.akorda.kz/ru/x"><script>alert(1)</script>', stated_outlet="<b>Акорда</b>",
)  # fmt: skip


def test_a_citation_says_where_its_document_came_from_in_the_interface_language():
    url = "https://www.zakon.kz/obshestvo/1-x.html"  # the passage's source
    fetched = Provenance(origin="fetched", fetched_from=url, added_at="2026-01-04T08:00:00Z")
    markup = render.passage_html(passage(provenance=fetched), "en")
    assert "Provenance: fetched from the sources list on 2026-01-04 08:00 UTC" in visible_text(markup)
    shown = visible_text(render.passage_html(passage(source="doc.txt", provenance=FORGED_PROVENANCE), "ru"))
    assert "Происхождение: загружено пользователем аноним 2026-01-05 10:11 UTC" in shown
    assert "со слов загрузившего, не проверено: https://www.akorda.kz/ru/x" in shown
    kazakh = visible_text(render.passage_html(passage(provenance=Provenance(origin="shipped")), "kk"))
    assert "Шығу тегі: корпус құрамында" in kazakh
    assert "Происхождение" not in visible_text(render.passage_html(passage(), "ru"))  # an index from before


def test_what_an_upload_claims_is_text_never_a_link_or_markup():
    markup = render.passage_html(passage(source="doc.txt", provenance=FORGED_PROVENANCE), "en")
    assert "akorda" not in " ".join(re.findall(r'href="([^"]*)"', markup))
    assert "script" not in tags(markup) and "b" not in tags(markup)
    assert "stated by the uploader, not verified: https://www.akorda.kz/ru/x" in visible_text(markup)


def test_an_uploaded_copy_in_also_published_is_marked_with_its_uploader_and_claim():
    official = Provenance(origin="fetched", fetched_from="https://mgorod.kz/news/x")
    shown = passage(
        also_published=("https://mgorod.kz/news/x", "law.md"), also_published_provenance=(official, FORGED_PROVENANCE)
    )
    text = visible_text(render.passage_html(shown, "en"))
    assert "Also published at: https://mgorod.kz/news/x, law.md (uploaded by anonymous on 2026-01-05 10:11 UTC; " in text
    assert "stated by the uploader, not verified: https://www.akorda.kz/ru/x" in text


def test_api_records_are_equal_to_the_passage_but_hold_their_own_non_ascii_strings():
    text = "Аким области провёл совещание"
    record = render.detached({"text": text, "source": "https://example.kz", "rank": 1, "also": ("Ақтөбе",)})
    assert record == {"text": text, "source": "https://example.kz", "rank": 1, "also": ["Ақтөбе"]}
    assert record["text"] is not text
