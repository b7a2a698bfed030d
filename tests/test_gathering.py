"""Issue #5 end to end: regional news served on loopback, fetched, indexed, then seen region by region.

Some rows of the sources list give no region (it is detected from the text), one story is
republished by a second outlet (a near duplicate), and the region view is asked several topics.
The fake embedder matches exact words only, so each topic shares words with its page.
"""

from __future__ import annotations

import pytest

from assistant import Searcher, Settings, build_index
from assistant.overview import regions_overview
from assistant.tools.fetch import fetch_sources

from .test_fetch import HEADER, LOOPBACK, news_page, site  # noqa: F401 - the loopback web site fixture

SETTINGS = Settings(chunk_tokens=80, chunk_overlap=10)

PAVLODAR = [
    "В Павлодарской области аким региона провёл совещание по реализации Послания Главы государства.",
    "Главной темой стала цифровизация государственных услуг и внедрение искусственного интеллекта в работу акимата.",
    "До конца года в Павлодаре переведут в электронный формат ещё сорок услуг для жителей области.",
]
TURKESTAN = [
    "Туркестанская область представила план по развитию сельского хозяйства на три года.",
    "Аграриям региона выделят льготные кредиты на покупку техники и строительство теплиц.",
    "Посевные площади хлопчатника в Туркестанской области увеличат на десять процентов.",
]
SHYMKENT = [
    "В Шымкенте обсудили привлечение инвестиций в промышленность города.",
    "Аким Шымкента сообщил о запуске трёх заводов и двух индустриальных зон до конца года.",
    "Объём инвестиций в основной капитал города вырос на двенадцать процентов.",
]


@pytest.fixture
def gathered(tmp_path, site, fake_embedder):  # noqa: F811 - pytest fixture injection
    pages = {
        "/pavlodar": news_page(PAVLODAR, title="Павлодар: цифровизация услуг", date="2025-09-11"),
        # The same story on a second outlet: another headline wrapper and one sentence changed.
        "/copy/pavlodar": news_page(
            [*PAVLODAR[:2], "До конца года в Павлодаре переведут в электронный формат сорок новых услуг для жителей."],
            title="Цифровизация услуг в Павлодарской области", date="2025-09-12",
        ),
        "/turkestan": news_page(TURKESTAN, title="План развития АПК", date="2025-09-10"),
        "/shymkent": news_page(SHYMKENT, title="Инвестиции в Шымкенте", date="2025-09-13"),
    }  # fmt: skip
    rows = [
        f"regional_response\t{site.page(path, html)}\tn/a\tru\t{region}"
        for (path, html), region in zip(pages.items(), ["Pavlodar region", "", "", "Шымкент"])
    ]
    tsv = tmp_path / "sources.tsv"
    tsv.write_text(HEADER + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    report = fetch_sources(tsv, tmp_path / "corpus", delay=0, timeout=2.0, limits=LOOPBACK)
    assert [result.status for result in report.results] == ["written"] * 4
    build = build_index(tmp_path / "corpus", tmp_path / "index", settings=SETTINGS, embedder=fake_embedder)
    assert build.failed == ()
    return Searcher(tmp_path / "index", settings=SETTINGS, embedder=fake_embedder)


def test_regions_come_from_the_list_or_the_text_in_one_canonical_form(gathered):
    regions = {record.title: record.region for record in gathered.index.documents.values()}
    assert regions["Павлодар: цифровизация услуг"] == "Pavlodar region"  # from the list
    assert regions["Цифровизация услуг в Павлодарской области"] == "Pavlodar region"  # detected
    assert regions["План развития АПК"] == "Turkestan region"  # detected
    assert regions["Инвестиции в Шымкенте"] == "Shymkent city"  # the list's Russian form, normalised


def test_a_republished_story_appears_once_with_the_other_outlet(gathered, site):  # noqa: F811
    passages = gathered.search("цифровизация государственных услуг в Павлодаре", k=5)
    pavlodar = [p for p in passages if p.region == "Pavlodar region"]
    assert len({p.doc_id for p in pavlodar}) == 1
    assert pavlodar[0].source == site.url("/pavlodar")  # the earlier publication is the one shown
    assert pavlodar[0].also_published == (site.url("/copy/pavlodar"),)


@pytest.mark.parametrize(
    ("topic", "region"),
    [
        ("цифровизация государственных услуг", "Pavlodar region"),
        ("посевные площади хлопчатника", "Turkestan region"),
        ("инвестиции в промышленность", "Shymkent city"),
    ],
)
def test_the_region_view_finds_each_topic_where_it_was_discussed(gathered, topic, region):
    overview = regions_overview(topic, searcher=gathered, settings=SETTINGS.with_(answer_threshold_shift=-0.5))
    found = {finding.region: finding for finding in overview.found}
    assert region in found
    finding = found[region]
    assert finding.passage.text[finding.quote_start : finding.quote_end] == finding.quote
    assert "Akmola region" in overview.missing and region not in overview.missing
