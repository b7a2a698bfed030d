"""The region-by-region overview: one cited quote per region with evidence, the others listed as missing."""

from __future__ import annotations

import html
import json
import re
import socket

import pytest

from assistant import InvalidQuery, RegionOverview, Searcher, Settings, build_index, regions_overview
from assistant.keywords import analyze_words
from assistant.model import CITATION_FIELDS, Citation, Passage
from assistant.overview import RegionFinding, relevant, word_share
from assistant.regions import REGIONS

from .conftest import FakeEmbedder, import_resource
from .test_build import write_corpus

# The fake embedder's cosines are small (a bag of hashed words): shift the thresholds down so that
# sharing the topic word is what makes a passage relevant, as it is for the real model's topics.
SHIFT = -0.7
SETTINGS = Settings(chunk_tokens=40, chunk_overlap=5, answer_threshold_shift=SHIFT)
TOPIC = "цифровизация"
TEXTS = {
    "aktobe.txt": "---\ntitle: Актобе и Послание\nregion: Aktobe region\ndate: 2025-09-10\n"
    "doc_type: regional_response\nlang: ru\nsource: https://example.kz/aktobe\n---\n"
    "Аким провел заседание с депутатами маслихата и руководителями управлений. "
    "Главной темой стала цифровизация государственных услуг в каждом районе.",
    "atyrau.txt": "---\ntitle: Атырау и Послание\nregion: Atyrau region\ndate: 2025-09-11\n"
    "doc_type: regional_response\nlang: ru\n---\n"
    "В Атырау обсудили нефтехимию, ремонт дорог и водоснабжение сел.",
    "pavlodar.txt": "---\ntitle: 'Павлодар: школы'\nregion: Pavlodar region\ndate: 2025-10-01\n"
    "doc_type: regional_response\nlang: ru\n---\n"
    "В школах области продолжится цифровизация обучения и появятся классы робототехники.",
    "almaty.txt": "---\ntitle: 'Алматы: приоритеты'\nregion: Алматы\ndate: 2025-09-12\n"
    "doc_type: regional_response\nlang: ru\n---\n"
    "Приоритеты города: метро, новые поликлиники и цифровизация городского транспорта.",
    "address.txt": "---\ntitle: Послание Президента\nregion: national\ndate: 2025-09-08\n"
    "doc_type: address\nlang: ru\n---\n"
    "Нам нужна полная цифровизация экономики страны в ближайшие три года.",
    "weather.md": "# Погода\n\nЗавтра в степи ожидается сильный ветер и пыльная буря, температура плюс тридцать.",
    "tricks.md": "---\ntitle: 'Проверка <img src=x onerror=alert(1)>'\nregion: Testing region\ndate: 2025-09-12\n"
    "doc_type: other\nlang: ru\nsource: 'javascript:alert(2)'\n---\n"
    "Документ <script>alert(3)</script> про цифровизация проверок безопасности.",
}
FOUND = {"Aktobe region", "Pavlodar region", "Almaty city"}


@pytest.fixture
def searcher(tmp_path, fake_embedder) -> Searcher:
    build_index(write_corpus(tmp_path / "corpus", TEXTS), tmp_path / "index", settings=SETTINGS, embedder=fake_embedder)
    return Searcher(tmp_path / "index", embedder=fake_embedder)


def overview(searcher: Searcher, question: str = TOPIC, **kwargs) -> RegionOverview:
    return regions_overview(question, settings=SETTINGS, searcher=searcher, **kwargs)


# --- the Python function ------------------------------------------------------------------------


def test_lists_each_region_with_a_relevant_passage_once_with_a_verbatim_quote(searcher):
    result = overview(searcher)
    assert {finding.region for finding in result.found} == FOUND
    assert len(result.found) == len(FOUND)
    for finding in result.found:
        assert finding.passage.text[finding.quote_start : finding.quote_end] == finding.quote
        assert TOPIC in finding.quote.casefold()
        assert finding.passage.region == finding.region or finding.region == "Almaty city"
        assert finding.score == finding.passage.similarity
    aktobe = next(finding for finding in result.found if finding.region == "Aktobe region")
    # The sentence that names the topic is quoted, not the one before it.
    assert aktobe.quote == "Главной темой стала цифровизация государственных услуг в каждом районе."
    assert aktobe.passage.title == "Актобе и Послание" and aktobe.passage.source == "https://example.kz/aktobe"


def test_found_is_best_first_and_missing_is_every_other_region_in_order(searcher):
    result = overview(searcher)
    scores = [finding.score for finding in result.found]
    assert scores == sorted(scores, reverse=True)
    assert result.missing == tuple(region for region in REGIONS if region not in FOUND)
    # Atyrau has a document, on another topic; Abai has none at all.
    assert "Atyrau region" in result.missing and "Atyrau region" not in result.no_documents
    assert "Abai region" in result.no_documents
    assert set(result.no_documents) == set(REGIONS) - FOUND - {"Atyrau region"}
    assert result.lang == "ru" and result.threshold == pytest.approx(0.80 + SHIFT)


def test_national_documents_and_other_region_values_come_apart_from_the_twenty(searcher):
    result = overview(searcher)
    assert {finding.region for finding in result.other} == {"national", "Testing region"}
    for finding in result.other:
        assert finding.passage.text[finding.quote_start : finding.quote_end] == finding.quote
    assert not {finding.region for finding in result.found} & {"national", "Testing region"}


def test_a_topic_nobody_mentions_finds_nothing(searcher):
    result = overview(searcher, "футбол и хоккей")
    assert result.found == () and result.other == ()
    assert result.missing == REGIONS


def test_filters_apply_to_every_region(searcher):
    early = overview(searcher, filters={"date_to": "2025-09-30"})
    assert {finding.region for finding in early.found} == FOUND - {"Pavlodar region"}
    assert "Pavlodar region" in early.missing and "Pavlodar region" in early.no_documents
    responses = overview(searcher, filters={"doc_type": "regional_response"})
    assert {finding.region for finding in responses.found} == FOUND
    assert responses.other == ()  # the Address and the test document are other types


def test_a_region_filter_limits_the_overview_to_the_regions_it_names(searcher):
    result = overview(searcher, filters={"region": ["Актюбинская область", "atyrau region"]})
    assert [finding.region for finding in result.found] == ["Aktobe region"]
    assert result.missing == ("Atyrau region",) and result.other == ()
    national = overview(searcher, filters={"region": "national"})
    assert national.found == () and national.missing == ()
    assert [finding.region for finding in national.other] == ["national"]


def test_a_doc_id_filter_is_respected(searcher):
    result = overview(searcher, filters={"doc_id": ["aktobe.txt", "address.txt"]})
    assert [finding.region for finding in result.found] == ["Aktobe region"]
    assert [finding.region for finding in result.other] == ["national"]


@pytest.mark.parametrize(
    ("question", "filters"),
    [("", None), ("   \n", None), (None, None), (TOPIC, {"colour": "red"}), (TOPIC, {"date_from": "10.09.2025"})],
)
def test_invalid_input_raises_invalid_query(searcher, question, filters):
    with pytest.raises(InvalidQuery):
        overview(searcher, question, filters=filters)


def test_the_overview_is_json_serialisable(searcher):
    data = json.loads(json.dumps(overview(searcher).to_dict(), ensure_ascii=False))
    assert data["question"] == TOPIC and len(data["missing"]) == len(REGIONS) - len(FOUND)
    first = data["found"][0]
    assert {"region", "quote", "quote_start", "quote_end", "score", "passage"} <= first.keys()
    assert first["passage"]["text"][first["quote_start"] : first["quote_end"]] == first["quote"]


# --- how relevance is judged ----------------------------------------------------------------------


def test_the_words_of_the_question_move_the_threshold():
    assert relevant(0.79, 1.0, 0.80)  # the quote names every word: a little below is enough
    assert not relevant(0.76, 1.0, 0.80)
    assert relevant(0.80, 0.5, 0.80) and not relevant(0.79, 0.5, 0.80)
    assert not relevant(0.83, 0.0, 0.80)  # meaning alone must be clearly above
    assert relevant(0.85, 0.0, 0.80)


def test_word_share_counts_stems_and_long_prefixes():
    topic = analyze_words("цифровизация экономики", query=True)
    assert word_share(topic, "Роль цифровых решений в экономике.", "ru") == 1.0  # цифров… is a prefix of цифровизац…
    assert word_share(topic, "Развитие экономики региона.", "ru") == 0.5
    assert word_share(topic, "Погода в степи.", "ru") == 0.0
    assert word_share(analyze_words("сельское хозяйство", query=True), "водоснабжение сел", "ru") == 0.0
    assert word_share([], "что угодно") == 0.0


# --- the command line ------------------------------------------------------------------------------


@pytest.fixture
def cli_index(tmp_path, monkeypatch):
    """An index built with the fake embedder, and the CLI's model loader patched to return it."""
    import assistant.retrieval

    embedder = FakeEmbedder()
    build_index(write_corpus(tmp_path / "corpus", TEXTS), tmp_path / "index", settings=SETTINGS, embedder=embedder)
    monkeypatch.setattr(assistant.retrieval, "load_embedder", lambda *args, **kwargs: embedder)
    monkeypatch.setenv("ASSISTANT_ANSWER_THRESHOLD_SHIFT", str(SHIFT))
    return tmp_path / "index"


def test_cli_json_prints_the_overview(cli_index, capsys):
    from ui.cli import main

    assert main(["regions", TOPIC, "--index", str(cli_index), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {finding["region"] for finding in data["found"]} == FOUND
    assert data["missing"][0] == "Abai region"


def test_cli_prints_a_block_per_region_then_what_is_missing(cli_index, capsys):
    from ui.cli import main

    assert main(["regions", TOPIC, "--index", str(cli_index), "--date-to", "2025-09-30"]) == 0
    out = capsys.readouterr().out
    assert "Aktobe region" in out and "Актобе и Послание · 2025-09-10 · https://example.kz/aktobe" in out
    assert "Pavlodar region" not in out.split("Nothing found for:")[0]
    assert re.search(r"Nothing found for: Abai region, .*Atyrau region", out, re.DOTALL)


def test_cli_rejects_an_empty_question_with_one_line(cli_index, capsys):
    from ui.cli import main

    assert main(["regions", "  ", "--index", str(cli_index)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("assistant: error:") and err.count("\n") == 1


# --- the web view ----------------------------------------------------------------------------------


def _passage(text: str, **fields) -> Passage:
    values = {
        "rank": 1, "score": 0.9, "chunk_id": "doc.txt#0", "doc_id": "doc.txt", "text": text,
        "title": "<img src=x onerror=alert(1)> [x](javascript:alert(2))", "date": "2025-09-10",
        "region": "Aktobe region", "doc_type": "regional_response", "lang": "ru",
        "source": "javascript:alert(3)", "section": "", "start": 0, "end": len(text), "similarity": 0.83,
    }  # fmt: skip
    values = {**values, **fields}
    citation = Citation(**{name: values.pop(name) for name in CITATION_FIELDS})
    return Passage(citation=citation, **values)


def test_render_escapes_document_text_and_marks_the_quote():
    from ui import render

    text = "Вступление <script>alert(4)</script>. Цифровизация <b>услуг</b> идёт по плану. Конец."
    quote = "Цифровизация <b>услуг</b> идёт по плану."
    start = text.index(quote)
    found = RegionFinding("Aktobe region", _passage(text), quote, start, start + len(quote), 0.83)
    other = RegionFinding("<i>odd</i>", _passage(text, region="<i>odd</i>"), quote, start, start + len(quote), 0.81)
    result = RegionOverview(
        "q", (found,), ("Abai region", "Atyrau region"), (other,), no_documents=("Abai region",), threshold=0.8
    )
    markup = render.regions_html(result, "ru")
    assert "<script" not in markup and "<img" not in markup and "<b>" not in markup and "<i>" not in markup
    assert 'href="javascript' not in markup
    visible = html.unescape(re.sub(r"<[^>]+>", "", markup))
    assert "<script>alert(4)</script>" in visible and "<img src=x onerror=alert(1)>" in visible
    marks = [html.unescape(m) for m in re.findall(r"<mark>(.*?)</mark>", markup)]
    assert marks == [quote, quote]
    assert markup.count('class="kz-region-card"') == 2
    assert "Актюбинская область" in visible and "Aktobe region" not in visible  # the interface language only
    assert "Ничего не найдено (2):" in visible
    assert "документы есть, но о теме в них нет: Атырауская область" in visible
    assert "документов нет: Абайская область" in visible


def test_render_says_so_when_no_region_has_evidence():
    from ui import render

    result = RegionOverview("q", (), REGIONS, no_documents=REGIONS, threshold=0.8)
    visible = html.unescape(re.sub(r"<[^>]+>", "", render.regions_html(result, "en")))
    assert "No region has a passage close enough" in visible and "Nothing found (20):" in visible
    assert "kz-region-card" not in render.regions_html(result, "en")


def test_web_app_serves_the_overview_at_the_regions_endpoint(tmp_path, monkeypatch, searcher):
    """The ``/regions`` endpoint of the web app, over the fake index (no model, no browser)."""
    import_resource("gradio", "gradio, the web chat's library, is not installed: pip install -e .")
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    from ui.app import build_app, launch_options

    monkeypatch.setenv("GRADIO_ANALYTICS_ENABLED", "False")
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "gradio"))
    demo = build_app(SETTINGS.with_(index_dir=tmp_path / "index", corpus_dir=tmp_path / "corpus"), searcher=searcher)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True, **launch_options())
    try:
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        data = client.predict(TOPIC, api_name="/regions")
        assert {finding["region"] for finding in data["found"]} == FOUND
        early = client.predict(TOPIC, {"date_to": "2025-09-30"}, api_name="/regions")
        assert {finding["region"] for finding in early["found"]} == FOUND - {"Pavlodar region"}
        with pytest.raises(AppError, match="empty"):
            client.predict(" ", api_name="/regions")
    finally:
        demo.close()
