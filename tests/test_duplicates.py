"""Duplicates: one news item republished by several outlets is found, stored, and shown once."""

from __future__ import annotations

import json
import random
import shutil

import numpy as np
import pytest

import assistant.parts as parts_module
import assistant.retrieval as retrieval_module
from assistant import IndexCorrupt, Searcher, Settings, build_index
from assistant.duplicates import (
    NUM_PERM,
    THRESHOLD,
    DuplicateGroup,
    canonical_key,
    duplicate_groups,
    estimated_similarity,
    normalised_words,
    signature,
)
from assistant.store import DUPLICATES, MANIFEST, load_index
from assistant.tools.fetch import fetch_sources
from ui import uploads

from .conftest import REPO, SAMPLE, FakeEmbedder
from .test_fetch import ARTICLE as FETCHED_ARTICLE
from .test_fetch import HEADER, LOOPBACK, news_page, site  # noqa: F401 - the loopback web site fixture

SETTINGS = Settings(chunk_tokens=60, chunk_overlap=5)

# The sample report (Aktobe akimat meeting, zakon.kz, 2025-09-10) without its " date" marker line.
ARTICLE = SAMPLE.read_text(encoding="utf-8").split(" ", 2)[2]
REWORDED = "Акимы районов подключились к совещанию через видеоконференцсвязь."
assert REWORDED in ARTICLE
# The same article as another outlet runs it: its masthead and footer, and one sentence rewritten.
NEAR_COPY = (
    "Новости Актобе | mgorod.kz\nОбщество · 10 сентября 2025, 12:40 · Просмотров: 1 532\n\n"
    + ARTICLE.replace(REWORDED, "Акимы городов и районов области участвовали в совещании в онлайн-формате.")
    + "\n\nФото: пресс-служба акимата Актюбинской области.\n"
    "Подписывайтесь на наш Telegram-канал и первыми узнавайте главные новости региона!\n"
    "При полном или частичном использовании материалов ссылка на mgorod.kz обязательна."
)
# A different report of the same meeting: same facts, names and even one quote, other words.
OTHER_REPORT = """В Актобе аким области Асхат Шахаров провёл расширенное совещание по итогам Послания Главы \
государства «Казахстан в эпоху искусственного интеллекта: актуальные вопросы и их решение посредством радикальных \
цифровых преобразований», с которым Касым-Жомарт Токаев выступил 8 сентября.

На встрече присутствовали депутаты областного маслихата, общественники, предприниматели и руководители управлений; \
районные акимы работали по видеосвязи.

По словам Шахарова, документ задаёт стране новый курс, и регион должен быстро перевести его в конкретные проекты. \
Он напомнил, что Президент поставил задачи по инвестициям, сельскому хозяйству, логистике, внедрению \
искусственного интеллекта, а также по социальной справедливости, образованию, медицине и экологии.

«Времени очень мало, расслабляться нельзя», – сказал глава региона, добавив, что лично отвечает за исполнение поручений.

Заместители акима доложили о планах по своим отраслям. Частному сектору и госорганам предложено действовать \
сообща, отчёт о первых результатах ожидается до конца года."""

ZAKON = (
    "https://www.zakon.kz/obshestvo/6490439-v-aktyubinskom-regione-obsudili-puti-realizatsii-poslaniya-prezidenta.html"
)
MGOROD = "https://mgorod.kz/news/v-aktyubinskoj-oblasti-obsudili-puti-realizacii-poslaniya-prezidenta"
AKIMAT = "https://www.gov.kz/memleket/entities/aktobe/press/news/details/1"
KAZINFORM = "https://www.inform.kz/ru/aktobe-zasedanie"


def _front(source: str, date: str = "2025-09-10", region: str = "Aktobe region") -> str:
    return f"---\ntitle: Заседание по Посланию\ndate: {date}\nregion: {region}\nsource: {source}\n---\n"


TEXTS = {
    "zakon.txt": _front(ZAKON) + ARTICLE,
    "reposts/akimat copy.txt": _front(AKIMAT) + ARTICLE,  # the exact text under another name
    "mgorod.txt": _front(MGOROD, date="2025-09-11") + NEAR_COPY,
    "kazinform.txt": _front(KAZINFORM) + OTHER_REPORT,
    "almaty.txt": "---\ntitle: Алматы\nregion: Almaty city\n---\nАким Алматы рассказал о метро и новых школах.",
}
GROUP = ("reposts/akimat copy.txt", "zakon.txt", "mgorod.txt")  # canonical (same date, official site) first


def _corpus(tmp_path, texts=TEXTS):
    corpus = tmp_path / "corpus"
    for name, text in texts.items():
        (corpus / name).parent.mkdir(parents=True, exist_ok=True)
        (corpus / name).write_text(text, encoding="utf-8")
    return corpus


def _build(corpus, index, embedder=None):
    return build_index(corpus, index, settings=SETTINGS, embedder=embedder or FakeEmbedder())


@pytest.fixture
def index(tmp_path):
    _build(_corpus(tmp_path), tmp_path / "index")
    return tmp_path / "index"


def test_normalisation_ignores_case_yo_punctuation_and_spacing():
    assert normalised_words("«Ёлка» —\n в  Астане!") == ["елка", "в", "астане"]
    first = signature("Аким области провёл совещание: «Времени мало».")
    assert (first == signature("аким области  провел\nсовещание - времени мало")).all()
    assert not (first == signature("Аким района провёл совещание: «Времени мало».")).all()


def test_signatures_are_fixed_uint64_values_that_later_builds_can_reuse():
    values = signature(ARTICLE)
    assert values.dtype == np.uint64 and values.shape == (NUM_PERM,)
    # Pinned: if datasketch, the hash or the normaliser changes these, stored signatures no
    # longer compare with new ones, and signature_parameters() must change with them.
    pinned = [3899009437404906186, 17226138663189837325]
    assert [int(v) for v in signature("Послание Главы государства народу Казахстана")[:2]] == pinned


def test_exact_and_near_copies_group_and_a_different_report_does_not():
    signatures = {
        name: signature(text)
        for name, text in {"a": ARTICLE, "b": ARTICLE, "near": NEAR_COPY, "other": OTHER_REPORT}.items()
    }
    assert estimated_similarity(signatures["a"], signatures["near"]) > THRESHOLD + 0.1
    assert estimated_similarity(signatures["a"], signatures["other"]) < 0.1
    assert duplicate_groups(signatures) == (DuplicateGroup("a", ("a", "b", "near")),)
    assert duplicate_groups({"a": signatures["a"], "other": signatures["other"]}) == ()


def test_the_canonical_copy_is_the_earliest_then_the_official_then_the_shortest_name():
    same = signature(ARTICLE)
    names = {"news (2).txt": same, "news.txt": same, "gov.txt": same, "late.txt": same, "undated.txt": same}
    dates = {"news (2).txt": "2025-09-10", "news.txt": "2025-09-10", "gov.txt": "2025-09-10", "late.txt": "2025-09-11"}
    sources = {"gov.txt": "https://www.akorda.kz/ru/address", "news.txt": "https://www.zakon.kz/1"}
    (group,) = duplicate_groups(names, dates=dates, sources=sources)
    assert group.members == ("gov.txt", "news.txt", "news (2).txt", "late.txt", "undated.txt")
    assert group.canonical == "gov.txt"
    assert canonical_key("b.txt", "2025-01-01") < canonical_key("a.txt", "2025-01-02") < canonical_key("a.txt")
    assert canonical_key("x.txt", source="https://aktobe.gov.kz/n/1") < canonical_key("x.txt", source="https://x.kz/1")


def test_an_uploaded_copy_comes_after_every_other_whatever_its_date_and_source():
    same = signature(ARTICLE)
    dates = {"forged.txt": "1999-01-01", "news.txt": "2025-09-10"}
    sources = {"forged.txt": "https://www.akorda.kz/ru/x", "news.txt": "https://www.zakon.kz/1"}
    origins = {"forged.txt": "uploaded", "news.txt": "fetched", "shipped.txt": "shipped"}
    (group,) = duplicate_groups(
        {name: same for name in ("forged.txt", "news.txt", "shipped.txt")}, dates=dates, sources=sources, origins=origins
    )
    assert group.members == ("news.txt", "shipped.txt", "forged.txt")
    assert canonical_key("a.txt", "2025-09-10") < canonical_key("a.txt", "1999-01-01", "https://akorda.kz/", "uploaded")


FORGED_TITLE = "Аким Актюбинской области Шахаров провёл заседание по Посланию"  # the query's words: it ranks first


def _forged(text: str) -> str:
    claims = "source: https://www.akorda.kz/ru/forged\noutlet: Акорда\ndate: 1999-01-01"
    return f"---\ntitle: {FORGED_TITLE}\n{claims}\n---\n{text}"


def _upload_forged(tmp_path, corpus, text: str) -> str:
    upload = tmp_path / "upload" / "law.md"
    upload.parent.mkdir(parents=True, exist_ok=True)
    upload.write_text(_forged(text), encoding="utf-8")
    return uploads.save_upload(upload, corpus).path.relative_to(corpus).as_posix()


def _primary_and_copies(tmp_path, corpus, query: str):
    _build(corpus, tmp_path / "index")
    passages = Searcher(tmp_path / "index", embedder=FakeEmbedder()).search(query, k=3, mode="dense")
    return passages[0], load_index(tmp_path / "index").duplicates.groups


def _assert_forgery_stays_behind(primary, groups, original: str, forged: str) -> None:
    assert primary.doc_id == original and primary.provenance.origin in ("shipped", "fetched")
    (group,) = groups
    assert group.canonical == original and group.members[-1] == forged
    assert forged in primary.also_published  # shown by its place in the corpus, not the address it claims
    stated = primary.also_published_provenance[primary.also_published.index(forged)]
    assert (stated.origin, stated.added_by) == ("uploaded", "anonymous")
    assert (stated.stated_source, stated.stated_outlet) == ("https://www.akorda.kz/ru/forged", "Акорда")
    assert "https://www.akorda.kz/ru/forged" not in primary.also_published


def test_a_back_dated_upload_claiming_an_official_source_does_not_displace_the_shipped_text(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in (SAMPLE.name, SAMPLE.name + ".meta.yaml"):
        (corpus / name).write_bytes((REPO / "corpus" / name).read_bytes())
    forged = _upload_forged(tmp_path, corpus, ARTICLE)
    primary, groups = _primary_and_copies(tmp_path, corpus, FORGED_TITLE)
    _assert_forgery_stays_behind(primary, groups, SAMPLE.name, forged)
    assert primary.source.startswith("https://www.zakon.kz/")


def test_a_back_dated_upload_claiming_an_official_source_does_not_displace_the_fetched_text(tmp_path, site):  # noqa: F811
    url = site.page("/news/aktobe", news_page())
    tsv = tmp_path / "sources.tsv"
    tsv.write_text(f"{HEADER}\nregional_response\t{url}\tn/a\tru\tAktobe region\n", encoding="utf-8")
    corpus = tmp_path / "corpus"
    (fetched,) = fetch_sources(tsv, corpus, delay=0, timeout=2.0, limits=LOOPBACK).results
    forged = _upload_forged(tmp_path, corpus, (corpus / fetched.path).read_text(encoding="utf-8"))
    primary, groups = _primary_and_copies(tmp_path, corpus, FORGED_TITLE + " " + FETCHED_ARTICLE[0])
    _assert_forgery_stays_behind(primary, groups, fetched.path, forged)
    assert (primary.source, primary.provenance.fetched_from) == (url, url)


def test_texts_without_words_and_bad_signatures():
    empty = signature(" — … ")
    assert duplicate_groups({"a": empty, "b": empty.copy()}) == ()
    with pytest.raises(ValueError, match="uint64"):
        duplicate_groups({"a": np.zeros(NUM_PERM, dtype=np.int64)})
    with pytest.raises(ValueError, match="threshold"):
        duplicate_groups({"a": empty}, threshold=0)


def test_planted_copies_are_found_among_many_documents():
    rng = random.Random(5)
    vocabulary = [f"слово{number}" for number in range(3000)]
    texts = {f"doc{number:04d}": " ".join(rng.choices(vocabulary, k=120)) for number in range(600)}
    for number in range(0, 60, 3):  # 20 originals, each with an edited copy
        words = texts[f"doc{number:04d}"].split()
        words[40:50] = rng.choices(vocabulary, k=10)
        texts[f"doc{number:04d}-copy"] = "Перепечатка. " + " ".join(words)
    groups = duplicate_groups({doc_id: signature(text) for doc_id, text in texts.items()})
    assert {group.members for group in groups} == {(f"doc{n:04d}", f"doc{n:04d}-copy") for n in range(0, 60, 3)}


def test_the_build_stores_the_groups(index):
    stored = load_index(index)
    assert stored.duplicates is not None
    assert stored.duplicates.groups == (DuplicateGroup(GROUP[0], GROUP),)
    assert stored.duplicates.group_of("kazinform.txt") is None
    assert stored.manifest.parts["duplicates"]["groups"] == 1 and stored.manifest.parts["duplicates"]["duplicates"] == 2
    assert set(stored.duplicates.doc_ids) == set(TEXTS)
    assert not list((index / "builds").rglob("*.pkl"))


def test_search_returns_one_copy_and_names_the_others(index):
    searcher = Searcher(index, embedder=FakeEmbedder())
    for mode in ("hybrid", "dense", "keyword"):
        passages = searcher.search("заседание акима Актюбинской области Шахаров Послание", k=5, mode=mode)
        shown = [p for p in passages if p.doc_id in GROUP]
        assert len({p.doc_id for p in shown}) == 1, mode
        copy = shown[0]
        own = {"zakon.txt": ZAKON, "reposts/akimat copy.txt": AKIMAT, "mgorod.txt": MGOROD}
        assert set(copy.also_published) == set(own.values()) - {copy.source}
        assert all(p.also_published == () for p in passages if p.doc_id not in GROUP)
        assert any(p.doc_id == "kazinform.txt" for p in passages)  # the other report is its own result
    assert all("also_published" in p.to_dict() for p in passages)


def test_k_is_honoured_when_copies_are_collapsed(tmp_path, monkeypatch):
    note = "Заседание акима области прошло в Актобе."
    copies = {f"copy{number}.txt": _front(f"https://outlet{number}.kz/news/1") + note for number in range(8)}
    copies["copy5.txt"] = _front(AKIMAT) + note  # the official copy: the canonical one, shown though tied
    others = {
        f"other{number}.txt": f"Заседание акима области номер {number} и "
        + " ".join(f"тема{number}x{w}" for w in range(6))
        for number in range(4)
    }
    _build(_corpus(tmp_path, {**copies, **others}), tmp_path / "index")
    monkeypatch.setattr(retrieval_module, "CANDIDATES", 2)  # the first look sees copies only: it must go deeper
    passages = Searcher(tmp_path / "index", embedder=FakeEmbedder()).search(
        "заседание акима области", k=5, mode="dense"
    )
    assert [p.rank for p in passages] == [1, 2, 3, 4, 5]
    assert passages[0].doc_id == "copy5.txt" and len(passages[0].also_published) == 7
    assert {p.doc_id for p in passages[1:]} == set(others)


def test_a_copy_excluded_by_a_filter_is_not_listed(index):
    searcher = Searcher(index, embedder=FakeEmbedder())
    filters = {"doc_id": ["zakon.txt", "mgorod.txt", "kazinform.txt"]}
    passages = searcher.search("заседание акима Актюбинской области", k=5, filters=filters)
    shown = [p for p in passages if p.doc_id in GROUP]
    assert len({p.doc_id for p in shown}) == 1
    assert AKIMAT not in shown[0].also_published and shown[0].also_published
    only = searcher.search("заседание акима Актюбинской области", k=5, filters={"date_from": "2025-09-11"})
    assert {p.doc_id for p in only} == {"mgorod.txt"} and all(p.also_published == () for p in only)


def test_a_rebuild_signs_only_new_and_changed_documents(tmp_path, monkeypatch):
    corpus = _corpus(tmp_path)
    _build(corpus, tmp_path / "index")
    signed: list[str] = []
    monkeypatch.setattr(parts_module, "signature", lambda text: signed.append(text) or signature(text))

    again = _build(corpus, tmp_path / "index")
    assert not again.changed and signed == []

    (corpus / "reposts" / "second copy.txt").write_text(_front("https://baq.kz/1") + ARTICLE, encoding="utf-8")
    (corpus / "almaty.txt").write_text("---\ntitle: Алматы\n---\nАким Алматы рассказал о метро.", encoding="utf-8")
    report = _build(corpus, tmp_path / "index")
    assert (report.added, report.updated, report.unchanged) == (1, 1, 4)
    assert len(signed) == 2 and any("метро." in text for text in signed)
    group = load_index(tmp_path / "index").duplicates.group_of("zakon.txt")
    assert set(group.members) == {*GROUP, "reposts/second copy.txt"}


def test_an_index_from_before_duplicates_loads_and_the_next_build_adds_them(index):
    build_path = load_index(index).path
    manifest = json.loads((build_path / MANIFEST).read_text(encoding="utf-8"))
    del manifest["duplicates"]  # as written before duplicate detection existed
    manifest["files"] = {name: size for name, size in manifest["files"].items() if not name.startswith(DUPLICATES)}
    (build_path / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    shutil.rmtree(build_path / DUPLICATES)

    old = load_index(index)
    assert old.duplicates is None
    passages = Searcher(index, embedder=FakeEmbedder()).search("заседание акима Актюбинской области", k=5, mode="dense")
    assert len({p.doc_id for p in passages} & set(GROUP)) > 1  # as before: copies not collapsed
    assert all(p.also_published == () for p in passages)

    embedder = FakeEmbedder()
    report = _build(index.parent / "corpus", index, embedder)
    assert report.changed and report.chunks_embedded == 0 and embedder.embedded == []
    assert load_index(index).duplicates.groups == (DuplicateGroup(GROUP[0], GROUP),)


def test_a_damaged_duplicate_table_is_refused_loudly(index):
    build_path = load_index(index).path
    groups_file = build_path / DUPLICATES / "groups.json"
    data = json.loads(groups_file.read_text(encoding="utf-8"))
    data["groups"][0]["members"].append("missing.txt")
    text = json.dumps(data)
    manifest = json.loads((build_path / MANIFEST).read_text(encoding="utf-8"))
    manifest["files"][f"{DUPLICATES}/groups.json"] = len(text.encode())  # sizes agree: only the content is wrong
    (build_path / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    groups_file.write_text(text, encoding="utf-8")
    with pytest.raises(IndexCorrupt, match="not indexed"):
        load_index(index)


def test_the_command_line_shows_where_each_copy_came_from(tmp_path, monkeypatch, capsys):
    import assistant.retrieval
    from ui.cli import main

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in (SAMPLE.name, SAMPLE.name + ".meta.yaml"):
        (corpus / name).write_bytes((REPO / "corpus" / name).read_bytes())
    forged = _upload_forged(tmp_path, corpus, ARTICLE)
    _build(corpus, tmp_path / "index")
    monkeypatch.setattr(assistant.retrieval, "load_embedder", lambda *args, **kwargs: FakeEmbedder())
    assert main(["search", FORGED_TITLE, "-k", "1", "--mode", "dense", "--index", str(tmp_path / "index")]) == 0
    out = capsys.readouterr().out
    digest = load_index(tmp_path / "index").documents[SAMPLE.name].provenance.file_sha256
    assert f"    provenance: shipped with the corpus · sha256 {digest}\n" in out
    (also,) = [line for line in out.splitlines() if "also published at:" in line]
    assert f"{forged} (uploaded by anonymous on 20" in also
    assert also.endswith("stated by the uploader, not verified: https://www.akorda.kz/ru/forged · Акорда)")
