"""Answers with the real model over look-alike regional reports: the right sentence, or an honest "not found"."""

from __future__ import annotations

import pytest

from assistant import Searcher, Settings, build_index
from assistant.answer import REASON_NO_DOCUMENTS, REASON_NOT_FOUND, REASON_REGION_SILENT, answer

from .test_build import write_corpus

pytestmark = pytest.mark.model

# Four reports in the same mould, each with its own chair, numbers and deadlines (invented).
REPORTS = {
    "pavlodar.txt": """---
title: В Павлодарской области обсудили Послание
region: Pavlodar region
date: 2025-09-15
---
В Павлодаре состоялось расширенное заседание актива области по реализации Послания Главы государства.
Заседание провёл аким области Нурлан Касымов. В нём приняли участие депутаты маслихата и руководители управлений.
До конца 2026 года к высокоскоростному интернету подключат 46 сёл области. На цифровизацию школ выделено 3,2 млрд тенге.
Базовые станции 5G в Павлодаре установит компания «Kcell».
Руководителю управления цифровизации поручено до 20 октября 2025 года представить дорожную карту.
""",
    "kostanay.txt": """---
title: В Костанайской области обсудили Послание
region: Kostanay region
date: 2025-09-18
---
В Костанае состоялось заседание акимата по реализации Послания Главы государства.
Заседание провела аким области Гульмира Ахметова. В работе приняли участие акимы районов и представители бизнеса.
До конца 2026 года к высокоскоростному интернету подключат 73 села области. На цифровизацию больниц выделено 2,8 млрд тенге.
Операторы связи установят в Костанае 30 базовых станций 5G.
Акимам районов поручено до 1 ноября 2025 года представить предложения по цифровизации сёл.
""",
    "astana.txt": """---
title: В Астане обсудили Послание
region: Astana
date: 2025-09-20
---
В Астане состоялось заседание городского акимата по реализации Послания Главы государства.
Заседание провёл аким столицы Ерлан Сапаров. В нём участвовали руководители городских управлений.
В 2026 году в столице установят 120 базовых станций 5G. Проект «Smart Astana» объединит городские службы на одной платформе.
""",
    "turkestan.txt": """---
title: Түркістан облысында Жолдау талқыланды
region: Turkestan region
date: 2025-09-22
lang: kk
---
Түркістанда облыс әкімі Ерлан Бекмұратовтың төрағалығымен Жолдауды іске асыру жөнінде кеңейтілген отырыс өтті.
Отырысқа аудан әкімдері мен басқарма басшылары қатысты.
2026 жылдың соңына дейін облыстағы 58 ауыл жоғары жылдамдықты интернетке қосылады.
""",
}


@pytest.fixture(scope="module")
def searcher(tmp_path_factory) -> Searcher:
    root = tmp_path_factory.mktemp("look-alike")
    build_index(write_corpus(root / "corpus", REPORTS), root / "index")
    return Searcher(root / "index")


def ask(searcher: Searcher, question: str):
    return answer(question, searcher=searcher, settings=Settings())


@pytest.mark.parametrize(
    ("question", "doc", "expected"),
    [
        # Who: the sentence with the name, not the "a meeting was held" sentence before it.
        ("Кто вёл заседание в Павлодаре?", "pavlodar.txt", "Нурлан Касымов"),
        ("Who chaired the meeting in Kostanay region?", "kostanay.txt", "Гульмира Ахметова"),
        ("Павлодардағы отырысты кім өткізді?", "pavlodar.txt", "Нурлан Касымов"),
        # How many: the sentence with the number, from the region asked about.
        ("Сколько сёл подключат к интернету в Костанайской области?", "kostanay.txt", "73 села"),
        ("How many villages will get high-speed internet in Pavlodar region?", "pavlodar.txt", "46 сёл"),
        ("Түркістан облысында қанша ауыл интернетке қосылады?", "turkestan.txt", "58 ауыл"),
        ("Сколько ауылов подключат к интернету в Туркестанской области?", "turkestan.txt", "58 ауыл"),
        # When: the sentence with the deadline.
        ("До какого числа акимы районов Костанайской области должны внести предложения?", "kostanay.txt", "до 1 ноября 2025 года"),
        # Who the akim is: the region's akim named as chair.
        ("Кто аким Павлодарской области?", "pavlodar.txt", "Нурлан Касымов"),
        ("Who is the akim of Kostanay region?", "kostanay.txt", "Гульмира Ахметова"),
        ("Түркістан облысының әкімі кім?", "turkestan.txt", "Ерлан Бекмұратов"),
        # What is it called.
        ("Как называется проект, который объединит городские службы Астаны?", "astana.txt", "«Smart Astana»"),
    ],
)
def test_the_first_quote_is_the_sentence_that_answers_from_the_region_asked(searcher, question, doc, expected):
    reply = ask(searcher, question)
    assert reply.found, reply.text
    first = reply.quotes[0]
    assert reply.sources[first.source - 1].passage.doc_id == doc
    assert expected in first.text


def test_a_region_without_documents_is_named_in_the_refusal(searcher):
    reply = ask(searcher, "Кто провёл заседание по Посланию в Восточно-Казахстанской области?")
    assert not reply.found and reply.reason == REASON_NO_DOCUMENTS
    assert reply.region == "East Kazakhstan region"
    assert "Восточно-Казахстанская область" in reply.text and not reply.quotes
    english = ask(searcher, "How many villages will be connected to the internet in West Kazakhstan region?")
    assert not english.found and english.reason == REASON_NO_DOCUMENTS
    assert "West Kazakhstan region" in english.text


def test_another_region_s_number_is_not_given_for_the_region_asked(searcher):
    reply = ask(searcher, "Сколько сёл подключат к интернету в Астане?")
    assert not reply.found and reply.reason == REASON_REGION_SILENT
    assert "г. Астана" in reply.text
    assert reply.related and reply.related[0].doc_id == "astana.txt"


@pytest.mark.parametrize(
    "question",
    [
        "Сколько стоит проект «Smart Astana»?",  # the project is there, its cost is not
        "When will the Smart Astana platform be launched?",
        "Сколько станций 5G уже работает в Астане?",  # 120 will be installed in 2026: a plan, nothing done
        "Когда к интернету подключат сёла Павлодарской области?",  # 46 villages, by the end of 2026: the date is there
    ],
)
def test_a_question_asking_for_a_number_or_a_date_is_answered_only_by_a_sentence_with_one(searcher, question):
    reply = ask(searcher, question)
    if "Павлодар" in question:
        assert reply.found and "До конца 2026 года" in reply.quotes[0].text, reply.text
    else:
        assert not reply.found, reply.text
        assert reply.related and reply.related[0].doc_id == "astana.txt"


@pytest.mark.parametrize(
    "question",
    [
        "Какой бюджет выделен на цифровизацию в Астане?",  # Astana's report has numbers, but no money
        "How much money will Astana spend on digitalisation?",
        "Астанада цифрландыруға қанша қаражат бөлінді?",
    ],
)
def test_money_asked_of_a_report_that_states_none_is_not_answered_with_another_number(searcher, question):
    reply = ask(searcher, question)
    assert not reply.found and reply.reason == REASON_REGION_SILENT, reply.text
    assert not any("базовых станций" in quote.text or "млрд" in quote.text for quote in reply.quotes)


@pytest.mark.parametrize(
    "question",
    [
        "Сколько денег выделено на цифровизацию школ в Павлодарской области?",
        "How much money was allocated to digitalising schools in Pavlodar region?",
        "Павлодар облысында мектептерді цифрландыруға қанша қаражат бөлінді?",
    ],
)
def test_money_asked_is_answered_by_the_sentence_with_the_amount(searcher, question):
    reply = ask(searcher, question)
    assert reply.found, reply.text
    assert reply.sources[reply.quotes[0].source - 1].passage.doc_id == "pavlodar.txt"
    assert "3,2 млрд тенге" in reply.quotes[0].text


@pytest.mark.parametrize(
    "question",
    [
        "Какой оператор установит станции 5G в Павлодаре?",
        "Which company will install the 5G base stations in Pavlodar?",
        "Павлодарда 5G станцияларын қай компания орнатады?",
    ],
)
def test_which_company_is_answered_by_the_sentence_naming_it(searcher, question):
    reply = ask(searcher, question)
    assert reply.found, reply.text
    assert "«Kcell»" in reply.quotes[0].text


@pytest.mark.parametrize(
    "question",
    ["Какой оператор установит станции 5G в Костанае?", "Which operator will install the 5G stations in Kostanay?"],
)
def test_which_company_is_not_answered_by_a_sentence_naming_none(searcher, question):
    """Kostanay's report says "операторы связи установят …" and names none."""
    reply = ask(searcher, question)
    assert not reply.found and reply.reason == REASON_REGION_SILENT, reply.text


@pytest.mark.parametrize("question", ["Кто аким Павлодара?", "Who is the akim of Kostanay city?"])
def test_the_akim_of_a_city_is_not_answered_by_the_akim_of_its_region(searcher, question):
    """Both reports name the region's akim; the city's is another official."""
    reply = ask(searcher, question)
    assert not reply.found and reply.reason == REASON_REGION_SILENT, reply.text


def test_a_quoted_title_is_answered_from_the_document_that_names_it(searcher):
    reply = ask(searcher, "Сколько станций 5G установят по проекту «Smart Astana»?")
    assert reply.found, reply.text
    assert reply.sources[reply.quotes[0].source - 1].passage.doc_id == "astana.txt"
    assert "120 базовых станций 5G" in reply.quotes[0].text


@pytest.mark.parametrize(
    "question",
    [
        "Во сколько начнётся заседание акимата в Астане?",  # no report gives an hour, and a year is none
        "What time does the Kostanay meeting start?",
    ],
)
def test_an_hour_that_no_document_holds_is_not_answered(searcher, question):
    reply = ask(searcher, question)
    assert not reply.found, reply.text
    assert not reply.quotes


@pytest.mark.parametrize(
    "question",
    [
        "Какая погода будет завтра в Астане?",
        "What's the weather forecast for Astana tomorrow?",
        "Бешбармак қалай дайындалады?",
        "Рецепт плова",
        "Who won the football cup last year?",
    ],
)
def test_off_topic_questions_are_refused(searcher, question):
    reply = ask(searcher, question)
    assert not reply.found, reply.text
    assert reply.reason in (REASON_NOT_FOUND, REASON_REGION_SILENT)


@pytest.mark.parametrize("topic", ["цифровизация и интернет в сёлах", "Internet for villages"])
def test_the_region_view_finds_a_kazakh_report_for_a_topic_in_another_language(searcher, topic):
    from assistant.overview import regions_overview

    overview = regions_overview(topic, searcher=searcher, settings=Settings())
    assert {finding.region for finding in overview.found} == {"Kostanay region", "Pavlodar region", "Turkestan region"}
    assert "Astana" in overview.missing  # its report is about 5G and a city platform, not villages
