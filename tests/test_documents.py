"""Loading corpus files: formats, encodings, metadata precedence, headings, corpus walking."""

from __future__ import annotations

import hashlib
import io
import os
import zipfile
from pathlib import Path

import pytest

from assistant.documents import (
    Document,
    file_fingerprint,
    iter_corpus_files,
    load_document,
)
from assistant.errors import DocumentError, UnsupportedFormat

from .conftest import SHARED, require_shared_file
from .pdf_files import pdf_document

SEED = SHARED / "seed" / "000_8e621c451e969ccc.txt"
LEGAL_RU = SHARED / "data" / "official" / "kz-legal-ru"
STATE_PROPERTY_LAW = LEGAL_RU / "z1100000413.25-08-2025.rus.docx"

RUSSIAN = "Под председательством акима области состоялось заседание по реализации Послания."
KAZAKH = "Қазақстан Республикасының Президенті Жолдауды жариялады. Әкімдік өңірде жұмыс істейді."


# ---------------------------------------------------------------------------------------------
# Fixture makers
# ---------------------------------------------------------------------------------------------


def write(root: Path, name: str, content: str | bytes) -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    return path


def load(root: Path, name: str, content: str | bytes, **kwargs) -> Document:
    return load_document(write(root, name, content), root, **kwargs)


def docx_bytes(build) -> bytes:
    """A .docx made with python-docx; ``build(document)`` adds the content."""
    import docx

    document = docx.Document()
    build(document)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _pdf_string(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def pdf_bytes(pages: list[str], *, compress: bool = False) -> bytes:
    """A minimal valid PDF: one Helvetica text object per page (ASCII lines), empty text = no text layer.

    ``compress``: page contents deflated (``/FlateDecode``), as most PDF writers store them."""
    contents = []
    for text in pages:
        lines = [f"({_pdf_string(line)}) Tj T*" for line in text.split("\n") if line]
        contents.append(
            ("BT /F1 12 Tf 72 720 Td 14 TL\n" + "\n".join(lines) + "\nET" if lines else "q Q").encode("latin-1")
        )
    return pdf_document(contents, compress=compress)


def section_titles(document: Document) -> list[str]:
    return [section.title for section in document.sections]


def section_at(document: Document, title_part: str) -> str:
    """The text from the section whose title contains ``title_part`` to the next section."""
    sections = list(document.sections)
    for index, section in enumerate(sections):
        if title_part in section.title:
            end = sections[index + 1].start if index + 1 < len(sections) else len(document.text)
            return document.text[section.start : end]
    raise AssertionError(f"no section titled like {title_part!r} in {section_titles(document)}")


# ---------------------------------------------------------------------------------------------
# The sample document and plain text
# ---------------------------------------------------------------------------------------------


def test_seed_document_date_marker_is_read_and_removed():
    require_shared_file(SEED)
    document = load_document(SEED, SEED.parent)
    assert document.doc_id == SEED.name
    assert document.date == "2025-09-10"
    assert document.lang == "ru"
    assert document.text.startswith("Под председательством")
    assert "date 2025-09-10" not in document.text
    # The hash-like file name would make a useless citation title; the opening words do not.
    assert document.title.startswith("Под председательством акима Актюбинской области")
    assert document.source == SEED.name
    assert document.content_hash == file_fingerprint(SEED)


def test_date_marker_on_a_line_of_its_own(tmp_path):
    document = load(tmp_path, "news.txt", " date 2025-09-12\nАким района провёл встречу с фермерами.\n")
    assert document.date == "2025-09-12"
    assert document.text == "Аким района провёл встречу с фермерами."


def test_invalid_date_marker_is_an_error(tmp_path):
    with pytest.raises(DocumentError, match="2025-13-45"):
        load(tmp_path, "news.txt", " date 2025-13-45 Текст новости.")


def test_text_is_normalised(tmp_path):
    raw = "Заголовок\r\nПервая\u200b строка\x07\r\nВторая\tстрока\rТретья\ufeff e\u0301"
    document = load(tmp_path, "note.txt", raw)
    assert document.text == "Заголовок\nПервая строка\nВторая\tстрока\nТретья é"


def test_title_fallbacks(tmp_path):
    assert load(tmp_path, "a.txt", "Короткий заголовок\n\nТекст документа.").title == "Короткий заголовок"
    long_sentence = "Это первое предложение документа, в котором очень много разных слов и никакого заголовка нет."
    assert load(tmp_path, "plan_of-actions.txt", long_sentence).title == "plan of actions"
    assert load(tmp_path, "b.md", "Вступление\n\n# План мероприятий\n\nТекст.").title == "План мероприятий"


def test_language_detection(tmp_path):
    assert load(tmp_path, "ru.txt", RUSSIAN).lang == "ru"
    assert load(tmp_path, "kk.txt", KAZAKH).lang == "kk"
    assert load(tmp_path, "en.txt", "The President delivered the Address to the nation.").lang == "en"
    # A Russian report quoting Kazakh names stays Russian.
    assert load(tmp_path, "ru2.txt", RUSSIAN + " Выступил Қасым-Жомарт Тоқаев. " + RUSSIAN * 3).lang == "ru"


def test_date_from_file_name(tmp_path):
    assert load(tmp_path, "2019-03-20-speech.txt", "Speech.").date == "2019-03-20"
    assert load(tmp_path, "z1100000413.25-08-2025.rus.txt", "Закон.").date == "2025-08-25"
    assert load(tmp_path, "report 10.09.2025.txt", "Отчёт.").date == "2025-09-10"
    assert load(tmp_path, "no-date-99-99-2025.txt", "Отчёт.").date == ""


def test_legal_act_detected_from_its_opening(tmp_path):
    act = "О государственном имуществе\n\nЗакон Республики Казахстан от 1 марта 2011 года № 413-IV.\n\nТекст."
    assert load(tmp_path, "law.txt", act).doc_type == "legal_act"
    kazakh_act = "Мемлекеттік мүлік туралы\nҚазақстан Республикасының 2011 жылғы 1 наурыздағы № 413-IV Заңы.\nМәтін."
    assert load(tmp_path, "law_kk.txt", kazakh_act).doc_type == "legal_act"
    assert load(tmp_path, "news.txt", RUSSIAN).doc_type == "other"


def test_legal_headings_in_plain_text(tmp_path):
    text = (
        "Закон Республики Казахстан\n\n"
        "Глава 1. Общие положения\n\n"
        "Статья 1. Основные понятия\n\nТекст статьи 1.\n\n"
        "Статья 1 дополнена подпунктом 2-1) в соответствии с Законом РК.\n\n"
        "Статья 2. Сфера применения\n\nТекст статьи 2.\n\n"
        "Глава 2. Управление\n\n"
        "Статья 3. Органы\n\nТекст статьи 3.\n"
    )
    document = load(tmp_path, "law.txt", text)
    assert section_titles(document) == [
        "Глава 1. Общие положения",
        "Глава 1. Общие положения › Статья 1. Основные понятия",
        "Глава 1. Общие положения › Статья 2. Сфера применения",
        "Глава 2. Управление",
        "Глава 2. Управление › Статья 3. Органы",
    ]
    assert "дополнена подпунктом" in section_at(document, "Статья 1.")
    for section in document.sections:
        assert document.text[section.start :].startswith(section.title.split(" › ")[-1])


def test_kazakh_and_english_headings_in_plain_text(tmp_path):
    kazakh = "1-тарау. Жалпы ережелер\n\n1-бап. Негізгі ұғымдар\n\nМәтін.\n\n18-1-бап. Өкілеттіктер\n\nМәтін."
    assert section_titles(load(tmp_path, "kk.txt", kazakh)) == [
        "1-тарау. Жалпы ережелер",
        "1-тарау. Жалпы ережелер › 1-бап. Негізгі ұғымдар",
        "1-тарау. Жалпы ережелер › 18-1-бап. Өкілеттіктер",
    ]
    constitution = "Section I\n\nGeneral Provisions\n\nArticle 1\n\n1. The Republic of Kazakhstan proclaims itself."
    titles = section_titles(load(tmp_path, "en.txt", constitution))
    assert titles == ["Section I. General Provisions", "Article 1"]


def test_markdown_headings_are_hierarchical_sections(tmp_path):
    text = "# Послание\n\nВступление.\n\n## Экономика\n\nТекст.\n\n```\n# not a heading\n```\n\n## Образование\n\nТ."
    document = load(tmp_path, "address.md", text)
    assert section_titles(document) == ["Послание", "Послание › Экономика", "Послание › Образование"]
    assert document.text[document.sections[1].start :].startswith("## Экономика")
    assert document.title == "Послание"


# ---------------------------------------------------------------------------------------------
# Metadata: front matter, sidecar, validation
# ---------------------------------------------------------------------------------------------

FRONT_MATTER_DOC = """---
title: Ответ акимата Карагандинской области
date: 12.09.2025
region: Karaganda region
doc_type: regional_response
layout: post
---

# Заголовок в тексте

Аким области поручил подготовить план.
"""


def test_front_matter_sets_metadata_and_is_removed_from_text(tmp_path):
    document = load(tmp_path, "response.md", FRONT_MATTER_DOC)
    assert document.title == "Ответ акимата Карагандинской области"
    assert document.date == "2025-09-12"
    assert document.region == "Karaganda region"
    assert document.doc_type == "regional_response"
    assert document.lang == "ru"
    assert document.text.startswith("# Заголовок в тексте")
    assert "layout" not in document.text


def test_sidecar_wins_over_front_matter_and_changes_the_hash(tmp_path):
    path = write(tmp_path, "response.md", FRONT_MATTER_DOC)
    before = load_document(path, tmp_path).content_hash
    write(
        tmp_path,
        "response.md.meta.yaml",
        "title: Уточнённое название\ndate: 2025-09-15\ndoc_type: address\nsource: https://example.kz/a\nlang: RU\n",
    )
    document = load_document(path, tmp_path)
    assert document.title == "Уточнённое название"
    assert document.date == "2025-09-15"
    assert document.doc_type == "address"
    assert document.source == "https://example.kz/a"
    assert document.lang == "ru"
    assert document.region == "Karaganda region"  # not in the sidecar: front matter still applies
    assert document.content_hash == file_fingerprint(path) != before


def test_sidecar_works_for_binary_formats(tmp_path):
    path = write(tmp_path, "scan.pdf", pdf_bytes(["Decree text"]))
    write(tmp_path, "scan.pdf.meta.yaml", "title: Decree No. 5\ndate: 2024-01-31\nregion: Astana\n")
    document = load_document(path, tmp_path)
    assert (document.title, document.date, document.region) == ("Decree No. 5", "2024-01-31", "Astana")


def test_front_matter_datetime_and_jekyll_dates(tmp_path):
    doc = load(tmp_path, "a.md", "---\ndate: 2019-04-09 13:32:31 -0500\n---\nText.")
    assert doc.date == "2019-04-09"
    doc = load(tmp_path, "b.md", "---\ndate: 2019-09-02 09:00 -0400\n---\nText.")
    assert doc.date == "2019-09-02"


@pytest.mark.parametrize(
    ("metadata", "message"),
    [
        ("date: 31.02.2025\n", "invalid date"),
        ("date: yesterday\n", "invalid date"),
        ("doc_type: decree\n", "address, regional_response, legal_act, other"),
        ("title: [a, b]\n", "single value"),
        ("title: 'unclosed\n", "malformed"),
        ("- just\n- a list\n", "malformed"),
    ],
)
def test_bad_sidecar_metadata_is_reported(tmp_path, metadata, message):
    path = write(tmp_path, "doc.txt", "Текст документа.")
    write(tmp_path, "doc.txt.meta.yaml", metadata)
    with pytest.raises(DocumentError, match=message):
        load_document(path, tmp_path)


def test_malformed_front_matter_is_reported(tmp_path):
    with pytest.raises(DocumentError, match="front matter"):
        load(tmp_path, "a.md", "---\ntitle: [unclosed\n---\nText.")
    with pytest.raises(DocumentError, match="closing"):
        load(tmp_path, "b.md", "---\ntitle: x\nText without an end of front matter.")


def test_unquoted_colon_in_a_value_is_read_as_text(tmp_path):
    document = load(tmp_path, "a.txt", "---\ntitle: Алматы: приоритеты\nregion: Almaty city\n---\nТекст.")
    assert (document.title, document.region) == ("Алматы: приоритеты", "Almaty city")


def test_unknown_metadata_keys_are_ignored(tmp_path):
    document = load(tmp_path, "a.md", "---\ntitle: T\ncategories: Speech\npermalink: /x\n---\nText.")
    assert document.title == "T"
    assert document.text == "Text."


# ---------------------------------------------------------------------------------------------
# Provenance: how a file entered the corpus, told by its sidecar only
# ---------------------------------------------------------------------------------------------

FORGED = "---\nsource: https://www.akorda.kz/ru/x\noutlet: Акорда\ndate: 1999-01-01\norigin: shipped\n---\nТекст закона."
UPLOAD_SIDECAR = "origin: uploaded\nadded_by: editor1\nadded_at: 2026-01-05T10:11:12Z\nregion: Astana\n"


def test_a_file_without_a_sidecar_is_shipped_and_its_own_claims_stand(tmp_path):
    path = write(tmp_path, "law.md", FORGED)
    document = load_document(path, tmp_path)
    assert document.provenance.origin == "shipped"  # "origin" in front matter is not read at all
    assert document.provenance.file_sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert (document.source, document.date) == ("https://www.akorda.kz/ru/x", "1999-01-01")
    assert (document.provenance.stated_source, document.provenance.added_by) == ("", "")


def test_an_uploaded_file_cannot_name_its_source_or_outlet(tmp_path):
    path = write(tmp_path, "law.md", FORGED)
    write(tmp_path, "law.md.meta.yaml", UPLOAD_SIDECAR)
    document = load_document(path, tmp_path)
    provenance = document.provenance
    assert (provenance.origin, provenance.added_by) == ("uploaded", "editor1")
    assert provenance.added_at == "2026-01-05T10:11:12Z"
    assert (provenance.stated_source, provenance.stated_outlet) == ("https://www.akorda.kz/ru/x", "Акорда")
    assert document.source == "law.md"  # its place in the corpus, not the address it claims
    assert (document.date, document.region) == ("1999-01-01", "Astana")  # the rest of its metadata stands
    # An upload's page address (og:url) is a claim too.
    html = write(tmp_path, "news.html", NEWS_PAGE.format(charset="utf-8"))
    write(tmp_path, "news.html.meta.yaml", UPLOAD_SIDECAR)
    page = load_document(html, tmp_path)
    assert (page.source, page.provenance.stated_source) == ("news.html", "https://example.kz/news/123")


def test_a_sidecar_may_give_an_upload_its_source(tmp_path):
    """The sidecar is the operator's (or the upload form's, which never writes a source)."""
    path = write(tmp_path, "law.md", FORGED)
    write(tmp_path, "law.md.meta.yaml", UPLOAD_SIDECAR + "source: https://adilet.zan.kz/rus/docs/Z1\n")
    document = load_document(path, tmp_path)
    assert document.source == "https://adilet.zan.kz/rus/docs/Z1"
    assert document.provenance.stated_source == "https://www.akorda.kz/ru/x"


@pytest.mark.parametrize(
    ("sidecar", "expected"),
    [
        ("origin: fetched\nfetched_from: https://x.kz/1\nadded_at: 2026-01-05T10:11:12+05:00\n", "2026-01-05T05:11:12Z"),
        ("origin: uploaded\nadded_at: '2026-01-05T10:11:12Z'\nadded_by: '  a\tb  '\n", "2026-01-05T10:11:12Z"),
    ],
)
def test_sidecar_provenance_is_normalised(tmp_path, sidecar, expected):
    path = write(tmp_path, "doc.txt", "Текст документа.")
    write(tmp_path, "doc.txt.meta.yaml", sidecar)
    provenance = load_document(path, tmp_path).provenance
    assert provenance.added_at == expected
    assert "\t" not in provenance.added_by


def test_an_unknown_origin_in_a_sidecar_is_reported(tmp_path):
    path = write(tmp_path, "doc.txt", "Текст документа.")
    write(tmp_path, "doc.txt.meta.yaml", "origin: official\n")
    with pytest.raises(DocumentError, match="unknown origin 'official'"):
        load_document(path, tmp_path)


# ---------------------------------------------------------------------------------------------
# Encodings and rejected files
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        (RUSSIAN, "cp1251"),
        ("Привет, мир", "cp1251"),  # short: charset-normalizer alone guesses another code page
        ("ПОСТАНОВЛЕНИЕ АКИМАТА ОБЛАСТИ", "cp1251"),
        (KAZAKH, "kz1048"),
        ("Әкімдік", "kz1048"),
        (RUSSIAN, "koi8_r"),
        (RUSSIAN, "cp866"),
        (RUSSIAN, "utf-16"),  # with BOM (little endian here)
        (RUSSIAN, "utf-8-sig"),
    ],
)
def test_text_encodings_are_decoded(tmp_path, text, encoding):
    document = load(tmp_path, "doc.txt", text.encode(encoding))
    assert document.text == text


def test_utf16_big_endian_with_bom(tmp_path):
    data = b"\xfe\xff" + KAZAKH.encode("utf-16-be")
    document = load(tmp_path, "doc.txt", data)
    assert document.text == KAZAKH
    assert document.lang == "kk"


def test_binary_junk_with_a_text_extension_is_rejected(tmp_path):
    with pytest.raises(DocumentError, match="not a text file"):
        load(tmp_path, "image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4)
    with pytest.raises(DocumentError, match="not a text file"):
        load(tmp_path, "noise.md", bytes(range(1, 32)) * 20)


def test_empty_and_blank_files_are_rejected(tmp_path):
    with pytest.raises(DocumentError, match="empty file"):
        load(tmp_path, "empty.txt", b"")
    with pytest.raises(DocumentError, match="no text"):
        load(tmp_path, "blank.txt", " \n\t\n  ")
    with pytest.raises(DocumentError, match="no text"):
        load(tmp_path, "only_front_matter.md", "---\ntitle: x\n---\n\n")


def test_oversized_and_missing_files_are_rejected(tmp_path):
    with pytest.raises(DocumentError, match="too large"):
        load(tmp_path, "big.txt", "Текст. " * 100, max_bytes=100)
    with pytest.raises(DocumentError, match="cannot read"):
        load_document(tmp_path / "missing.txt", tmp_path)


def test_unsupported_suffix(tmp_path):
    with pytest.raises(UnsupportedFormat, match=r"\.xlsx"):
        load(tmp_path, "table.xlsx", b"PK\x03\x04")
    assert issubclass(UnsupportedFormat, DocumentError)


def test_doc_id_is_the_posix_path_relative_to_the_root(tmp_path):
    document = load(tmp_path, "regions/aktobe/news.txt", RUSSIAN)
    assert document.doc_id == "regions/aktobe/news.txt"
    assert document.source == "regions/aktobe/news.txt"


# ---------------------------------------------------------------------------------------------
# Word
# ---------------------------------------------------------------------------------------------


def _build_sample_docx(document) -> None:
    document.add_paragraph("Об утверждении Правил аренды")
    document.add_paragraph("Приказ Министра национальной экономики Республики Казахстан от 17 марта 2015 года № 212.")
    document.add_heading("Общие сведения", level=1)
    document.add_paragraph("\u00a0\u00a0\u00a0\u00a0 Первый пункт правил.")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "Наименование"
    table.cell(0, 1).text = "Ставка"
    table.cell(1, 0).text = "Здание"
    table.cell(1, 1).text = "1,5 МРП"
    merged = document.add_table(rows=1, cols=3)
    merged.cell(0, 0).merge(merged.cell(0, 1)).text = "Итого"
    merged.cell(0, 2).text = "10"
    document.add_paragraph("Глава 1. Общие положения")
    document.add_paragraph("Статья 1. Основные понятия")
    document.add_paragraph("Последний абзац после таблицы.")


def test_docx_round_trip_with_table_and_headings(tmp_path):
    document = load(tmp_path, "rules.docx", docx_bytes(_build_sample_docx))
    assert document.title == "Об утверждении Правил аренды"
    assert document.doc_type == "legal_act"
    assert document.lang == "ru"
    assert "Первый пункт правил." in document.text
    assert "\u00a0" not in document.text and "\n\n Первый" not in document.text
    assert "Наименование | Ставка\nЗдание | 1,5 МРП" in document.text
    assert "Итого | 10" in document.text  # a merged cell is written once
    assert document.text.index("Первый пункт") < document.text.index("Здание") < document.text.index("Последний")
    assert "\n\nПоследний абзац после таблицы." in document.text
    # A Word "Heading 1" sits above the chapters of an act, so they nest under it.
    assert section_titles(document) == [
        "Общие сведения",
        "Общие сведения › Глава 1. Общие положения",
        "Общие сведения › Глава 1. Общие положения › Статья 1. Основные понятия",
    ]
    assert document.text[document.sections[0].start :].startswith("Общие сведения\n\nПервый пункт")


def test_docx_style_heading_hierarchy(tmp_path):
    def build(document):
        document.add_heading("Послание", level=0)
        document.add_heading("Экономика", level=1)
        document.add_heading("Цифровизация", level=2)
        document.add_paragraph("Текст раздела.")
        document.add_heading("Образование", level=1)
        document.add_paragraph("Ещё текст.")

    titles = section_titles(load(tmp_path, "address.docx", docx_bytes(build)))
    assert titles == ["Послание", "Экономика", "Экономика › Цифровизация", "Образование"]


def test_truncated_or_fake_docx_is_corrupt(tmp_path):
    data = docx_bytes(_build_sample_docx)
    with pytest.raises(DocumentError, match=r"corrupt \.docx"):
        load(tmp_path, "truncated.docx", data[:1000])
    with pytest.raises(DocumentError, match=r"corrupt \.docx"):
        load(tmp_path, "random.docx", os.urandom(4096))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.txt", "not a word document")
    with pytest.raises(DocumentError, match=r"corrupt \.docx"):
        load(tmp_path, "zip.docx", buffer.getvalue())


@pytest.fixture(scope="module")
def state_property_law() -> Document:
    return load_document(require_shared_file(STATE_PROPERTY_LAW), LEGAL_RU)


def test_real_law_metadata(state_property_law):
    assert state_property_law.doc_id == STATE_PROPERTY_LAW.name
    assert state_property_law.title == "О государственном имуществе"
    assert state_property_law.doc_type == "legal_act"
    assert state_property_law.date == "2025-08-25"
    assert state_property_law.lang == "ru"
    assert state_property_law.text.startswith("О государственном имуществе\n\nЗакон Республики Казахстан")
    assert "\u00a0" not in state_property_law.text


def test_real_law_articles_are_nested_under_their_chapter(state_property_law):
    titles = section_titles(state_property_law)
    assert any(title.startswith("Глава 1.") for title in titles)
    article_1 = next(title for title in titles if title.split(" › ")[-1].startswith("Статья 1."))
    # The chapter title wraps over two paragraphs in the export; the section title joins them.
    assert article_1 == (
        "Глава 1. ОБЩИЕ ПОЛОЖЕНИЯ ОБ УПРАВЛЕНИИ ГОСУДАРСТВЕННЫМ ИМУЩЕСТВОМ"
        " › Статья 1. Основные понятия, используемые в настоящем Законе"
    )
    article_54 = next(title for title in titles if "Статья 54." in title)
    assert article_54.startswith("Глава 5. НАЦИОНАЛИЗАЦИЯ › Статья 54.")  # a new chapter resets the article
    assert not any("дополнена" in title for title in titles)  # footnotes are not headings
    assert all(len(part) <= 120 for title in titles for part in title.split(" › "))
    starts = [section.start for section in state_property_law.sections]
    assert starts == sorted(starts)
    for section in state_property_law.sections:
        assert state_property_law.text[section.start :].startswith(section.title.split(" › ")[-1][:40])


def test_real_legal_acts_load_with_dates_and_titles():
    require_shared_file(LEGAL_RU)
    path = LEGAL_RU / "v2300032833.16-06-2023.rus.docx"  # its title paragraph is 366 characters long
    document = load_document(path, LEGAL_RU)
    assert document.title.startswith("Об утверждении Правил предоставления субъектам малого")
    assert document.date == "2023-06-16"
    assert document.doc_type == "legal_act"
    assert "Глава 1. Общие положения" in section_titles(document)


# ---------------------------------------------------------------------------------------------
# HTML
# ---------------------------------------------------------------------------------------------

NEWS_PAGE = """<!DOCTYPE html>
<html lang="ru"><head><meta charset="{charset}">
<title>Аким области провёл заседание | Новости региона</title>
<meta property="og:title" content="Аким области провёл заседание по реализации Послания">
<meta property="og:url" content="https://example.kz/news/123">
<meta property="article:published_time" content="2025-09-10T10:00:00+05:00">
</head><body>
<header><nav class="menu"><ul><li><a href="/">Главная страница портала</a></li>
<li><a href="/about">О ведомстве и структуре</a></li></ul></nav></header>
<div class="ads banner">Купите квартиру в ипотеку прямо сейчас со скидкой</div>
<main><article>
<h1>Аким области провёл заседание по реализации Послания</h1>
<p>Под председательством акима области состоялось заседание, на котором были рассмотрены пути
реализации Послания Главы государства в регионе.</p>
<h2>Главные задачи</h2>
<p>Глава региона отметил, что Послание является стратегическим ориентиром для всех
уполномоченных органов и частного сектора.</p>
</article>
<section class="comments"><h3>Комментарии</h3><div class="comment">
<p>Комментарий читателя: всё это уже было много раз, ничего не изменится.</p></div></section>
</main>
<aside class="sidebar"><p>Популярное за неделю: курс тенге и погода на выходные</p></aside>
<footer><p>Пресс-служба акимата. Все права защищены.</p></footer>
</body></html>
"""


def test_html_keeps_the_article_and_drops_page_furniture(tmp_path):
    document = load(tmp_path, "news.html", NEWS_PAGE.format(charset="utf-8"))
    assert "Под председательством акима области состоялось заседание" in document.text
    assert "стратегическим ориентиром" in document.text
    for furniture in ("Главная страница", "ипотеку", "Комментарий читателя", "Популярное", "права защищены"):
        assert furniture not in document.text
    assert document.title == "Аким области провёл заседание по реализации Послания"
    assert document.date == "2025-09-10"
    assert document.source == "https://example.kz/news/123"
    assert document.lang == "ru"
    assert "Аким области провёл заседание по реализации Послания › Главные задачи" in section_titles(document)


def test_html_in_windows_1251(tmp_path):
    data = NEWS_PAGE.format(charset="windows-1251").encode("cp1251")
    document = load(tmp_path, "news.htm", data)
    assert "Под председательством акима области" in document.text
    assert document.title == "Аким области провёл заседание по реализации Послания"


def test_html_without_declared_charset_is_detected(tmp_path):
    page = "<html><body><article><p>" + RUSSIAN * 3 + "</p></article></body></html>"
    document = load(tmp_path, "page.html", page.encode("cp1251"))
    assert RUSSIAN in document.text


def test_html_declaring_a_code_page_but_saved_as_utf8(tmp_path):
    document = load(tmp_path, "resaved.html", NEWS_PAGE.format(charset="windows-1251").encode("utf-8"))
    assert "Под председательством акима области" in document.text


def test_html_falls_back_to_visible_body_text_when_trafilatura_finds_nothing(tmp_path, monkeypatch):
    import trafilatura

    monkeypatch.setattr(trafilatura, "bare_extraction", lambda *args, **kwargs: None)
    document = load(tmp_path, "news.html", NEWS_PAGE.format(charset="utf-8"))
    assert "Под председательством акима области" in document.text
    assert "Главная страница" not in document.text  # <nav>, <header>, <footer>, <aside> are dropped
    assert "права защищены" not in document.text
    assert document.title == "Аким области провёл заседание | Новости региона"
    assert "Аким области провёл заседание по реализации Послания › Главные задачи" in section_titles(document)


def test_short_html_article_is_kept_without_its_menu(tmp_path):
    page = """<html><head><title>Коротко</title></head><body>
    <nav><a href="/">Главная</a> <a href="/news">Все новости региона</a></nav>
    <div class="content"><p>Аким района встретился с фермерами.</p><p>Обсудили посевную.</p></div>
    </body></html>"""
    document = load(tmp_path, "short.html", page)
    assert "Аким района встретился с фермерами." in document.text
    assert "Все новости региона" not in document.text


def test_html_without_text_is_rejected(tmp_path):
    with pytest.raises(DocumentError, match="no text"):
        load(tmp_path, "empty.html", "<html><head><title>x</title></head><body><script>var a=1;</script></body></html>")


# ---------------------------------------------------------------------------------------------
# PDF
# ---------------------------------------------------------------------------------------------


def test_pdf_text_layer_with_page_sections(tmp_path):
    data = pdf_bytes(["Decree of the Government\nArticle text on page one.", "Second page (annex)."])
    document = load(tmp_path, "decree.pdf", data)
    assert "Article text on page one." in document.text
    assert "Second page (annex)." in document.text
    assert section_titles(document) == ["p. 1", "p. 2"]
    page_two = document.sections[1].start
    assert document.text[page_two:].startswith("Second page")
    assert document.lang == "en"


def test_pdf_without_text_layer(tmp_path):
    with pytest.raises(DocumentError, match="no text layer"):
        load(tmp_path, "scan.pdf", pdf_bytes([""]))


def test_corrupt_pdf(tmp_path):
    with pytest.raises(DocumentError, match=r"corrupt \.pdf"):
        load(tmp_path, "broken.pdf", b"%PDF-1.4\n" + os.urandom(2000))
    with pytest.raises(DocumentError, match=r"corrupt \.pdf"):
        load(tmp_path, "text.pdf", b"this is not a pdf at all")


def test_encrypted_pdf(tmp_path):
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for page in PdfReader(io.BytesIO(pdf_bytes(["Secret text"]))).pages:
        writer.add_page(page)
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="RC4-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    with pytest.raises(DocumentError, match="encrypted"):
        load(tmp_path, "locked.pdf", buffer.getvalue())


# ---------------------------------------------------------------------------------------------
# Walking a corpus
# ---------------------------------------------------------------------------------------------


def test_iter_corpus_files(tmp_path):
    root = tmp_path / "corpus"
    outside = tmp_path / "outside"
    write(root, "b/law.docx", b"x")
    write(root, "b/law.docx.meta.yaml", "title: x\n")
    write(root, "a.txt", "text")
    write(root, "table.xlsx", b"x")  # unsupported: yielded, the build reports it
    write(root, ".hidden.txt", "text")
    write(root, ".git/config.txt", "text")
    write(root, "README.md", "about this corpus")
    write(root, "~$law.docx", b"lock")
    write(outside, "secret.txt", "outside the corpus")
    write(outside, "dir/inner.txt", "outside the corpus")
    (root / "link_out.txt").symlink_to(outside / "secret.txt")
    (root / "linked_dir").symlink_to(outside / "dir", target_is_directory=True)
    (root / "link_in.txt").symlink_to(root / "a.txt")
    (root / "broken.txt").symlink_to(root / "missing.txt")

    found = [path.relative_to(root).as_posix() for path in iter_corpus_files(root)]
    assert found == ["a.txt", "b/law.docx", "link_in.txt", "table.xlsx"]
    assert all(path.parent == root or root in path.parents for path in iter_corpus_files(root))


def test_iter_corpus_files_requires_a_folder(tmp_path):
    with pytest.raises(DocumentError, match="does not exist"):
        list(iter_corpus_files(tmp_path / "nope"))


def test_symlink_inside_root_loads_under_its_own_id(tmp_path):
    write(tmp_path, "a.txt", RUSSIAN)
    (tmp_path / "alias.txt").symlink_to(tmp_path / "a.txt")
    document = load_document(tmp_path / "alias.txt", tmp_path)
    assert document.doc_id == "alias.txt"
    assert document.text == RUSSIAN
