"""Chunking: exact offsets, token budgets, section boundaries, stable ids."""

from __future__ import annotations

from assistant.chunks import ChunkerSettings, embedding_text, header_limiter, split_document
from assistant.documents import Document, Section
from assistant.model import Citation


def words(text: str) -> int:
    return len(text.split())


def make_document(text: str, sections: tuple[Section, ...] = ()) -> Document:
    return Document(doc_id="acts/law.txt", text=text, citation=Citation("Закон о государственном имуществе"), sections=sections)


LONG = "\n\n".join(
    f"Пункт {n}. Государственное имущество номер {n} передаётся в аренду по решению комиссии, "
    f"которая рассматривает заявку в течение {n + 3} рабочих дней и публикует итоги на портале."
    for n in range(1, 40)
)


def test_every_chunk_is_the_exact_slice_of_its_document():
    document = make_document(LONG)
    chunks = split_document(document, ChunkerSettings(chunk_tokens=60, overlap_tokens=10), words)
    assert len(chunks) > 5
    for chunk in chunks:
        assert document.text[chunk.start : chunk.end] == chunk.text
        assert chunk.chunk_id == f"acts/law.txt#{chunk.start}"


def test_chunks_respect_the_token_budget_and_cover_the_text():
    document = make_document(LONG)
    chunks = split_document(document, ChunkerSettings(chunk_tokens=60, overlap_tokens=10), words)
    assert max(words(chunk.text) for chunk in chunks) <= 60
    covered = set()
    for chunk in chunks:
        covered.update(range(chunk.start, chunk.end))
    text_positions = {i for i, ch in enumerate(document.text) if not ch.isspace()}
    assert text_positions <= covered


def test_consecutive_chunks_of_one_long_paragraph_overlap():
    # Overlap works at the splitter's granularity: here sentences inside one long paragraph.
    paragraph = " ".join(f"Предложение номер {n} о развитии региона." for n in range(80))
    document = make_document(paragraph)
    chunks = split_document(document, ChunkerSettings(chunk_tokens=60, overlap_tokens=20), words)
    overlapping = sum(1 for a, b in zip(chunks, chunks[1:]) if b.start < a.end)
    assert overlapping >= len(chunks) // 2


def test_chunks_never_cross_a_section_and_carry_its_title():
    chapter_one = "Глава 1. Общие положения\n\nСтатья 1. Основные понятия\n\n" + "понятие " * 30
    chapter_two = "Статья 2. Сфера действия\n\n" + "действие " * 30
    text = chapter_one + "\n\n" + chapter_two
    sections = (
        Section(0, "Глава 1. Общие положения › Статья 1. Основные понятия"),
        Section(len(chapter_one) + 2, "Глава 1. Общие положения › Статья 2. Сфера действия"),
    )
    document = make_document(text, sections)
    chunks = split_document(document, ChunkerSettings(chunk_tokens=25, overlap_tokens=0), words)
    for chunk in chunks:
        if "действие" in chunk.text:
            assert chunk.section.endswith("Статья 2. Сфера действия")
            assert "понятие" not in chunk.text
        if "понятие" in chunk.text:
            assert chunk.section.endswith("Статья 1. Основные понятия")


def test_chunk_ids_survive_rechunking_an_unchanged_document():
    document = make_document(LONG)
    settings = ChunkerSettings(chunk_tokens=60, overlap_tokens=10)
    first = [c.chunk_id for c in split_document(document, settings, words)]
    second = [c.chunk_id for c in split_document(document, settings, words)]
    assert first == second


def test_embedding_text_puts_a_bounded_header_before_the_chunk():
    document = make_document(LONG, (Section(0, "Глава 1. Общие положения"),))
    chunk = split_document(document, ChunkerSettings(chunk_tokens=60, overlap_tokens=0), words)[0]
    limit = header_limiter(words, budget=4)
    text = embedding_text(chunk, "Очень длинное название закона о государственном имуществе", limit)
    header, body = text.split("\n\n", 1)
    assert words(header) <= 4
    assert header.startswith("Очень длинное")
    assert body == chunk.text


def test_whitespace_only_document_gives_no_chunks():
    assert split_document(make_document("  \n\n \t "), ChunkerSettings(64, 8), words) == []
