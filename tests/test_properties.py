"""Properties that hold for any input (hypothesis): loaders, chunker, keyword analyzer, query path.

Examples are small, deadlines off and generation derandomized, so CI sees the same cases every
run. Every failing case hypothesis found is kept as an ``@example`` (results in docs/reliability.md).
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from assistant import InvalidQuery, Searcher, Settings, build_index
from assistant.chunks import SEPARATORS, ChunkerSettings, _segments, split_document
from assistant.documents import Document, Section, file_fingerprint, load_document
from assistant.errors import DocumentError
from assistant.keywords import KeywordIndex, analyze, analyze_words
from assistant.model import Citation

from .conftest import FakeEmbedder
from .test_build import TEXTS, write_corpus

PROPERTIES = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def words(text: str) -> int:
    return len(text.split())


# ------------------------------------------------------------------------------------------------
# Loaders: bytes in, a Document or a DocumentError out
# ------------------------------------------------------------------------------------------------

# Pieces that steer generated files into the readers' branches: front matter, the date marker,
# BOMs, Cyrillic in several encodings, headings, HTML tags, NULs and stray high bytes.
PIECES = [
    b"---\n", b"\n---\n", b"title: x\n", b"date: 2025-02-30\n", b"date: 2025-09-10\n", b"region: ",
    b"doc_type: law\n", b"lang: ru\n", b" date 2025-09-10 ", b"# ", b"\n\n", b"\r\n", b"\x00", b"\xff\xfe",
    b"\xfe\xff", b"\xef\xbb\xbf", b"\xd0", b"\xd0\xb0", "Статья 1. ".encode(), "Глава 2. ".encode(),
    "1-бап. ".encode(), "Заң".encode(), "Закон".encode("cp1251"), "қаласы".encode("kz1048"), b"```",
    b"<html>", b"<title>", b"</title>", b"<p>", b"</p>", b"<script>", b"&amp;", b"<meta charset=cp1251>",
    b"\xe2\x80\x8b", b"!!python/object ", b"&a [*a]", b"*a", b"[", b"{", b": ", b"- ", b"\x0c", b"\x1b",
]  # fmt: skip
FILE_BYTES = st.one_of(
    st.binary(max_size=200),
    st.lists(st.one_of(st.sampled_from(PIECES), st.binary(max_size=4)), max_size=25).map(b"".join),
)


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("loaders")  # each example overwrites the one file in it


def _check_document(document: Document, path: Path) -> None:
    assert document.text.strip()
    assert unicodedata.is_normalized("NFC", document.text)
    assert not any(unicodedata.category(char) == "Cc" and char not in "\n\t" for char in document.text)
    assert "\r" not in document.text and "\u200b" not in document.text
    assert [section.start for section in document.sections] == sorted(section.start for section in document.sections)
    assert all(0 <= section.start <= len(document.text) for section in document.sections)
    assert document.date == "" or re.fullmatch(r"\d{4}-\d{2}-\d{2}", document.date)
    assert document.title and "\n" not in document.title
    assert document.content_hash == file_fingerprint(path)


@PROPERTIES
@given(data=FILE_BYTES, suffix=st.sampled_from([".txt", ".md", ".html"]))
@example(data=b"---\ndate: 2025-02-30\n---\ntext", suffix=".md")  # YAML's date constructor raised ValueError
@example(data=b"---\ntitle: &a [x]\nlang: *a\n---\ntext", suffix=".txt")
@example(data="Текст\x00 с одним NUL.".encode(), suffix=".txt")
@example(data=b"\xef\xbb\xbf", suffix=".md")
@example(data=b"<html><script>x()</script></html>", suffix=".html")
def test_any_bytes_load_as_a_document_or_a_document_error(folder, data, suffix):
    path = folder / f"file{suffix}"
    path.write_bytes(data)
    try:
        document = load_document(path, folder)
    except DocumentError as error:
        assert str(error) and "\n" not in str(error)
        return
    _check_document(document, path)


# ------------------------------------------------------------------------------------------------
# The chunker: exact slices covering the text, unique ids, the token budget, langchain's pieces
# ------------------------------------------------------------------------------------------------

TEXT_PARTS = ["a", "b", " ", "  ", "\n", "\n\n", "\n\n\n", ". ", ", ", "! ", "? ", "; ", ": ", "\t", "\u00a0",
              "\u3000", "слово", "ж", "x" * 30, "Статья 1.", "Абзац о дорогах. "]  # fmt: skip


@st.composite
def documents(draw) -> Document:
    text = "".join(draw(st.lists(st.sampled_from(TEXT_PARTS), max_size=80)))
    starts = draw(st.lists(st.integers(0, max(len(text), 0)), max_size=3)) if text else []
    sections = tuple(Section(start, f"s{start}") for start in sorted(set(starts)))
    return Document("doc.txt", text, Citation("t"), sections=sections)


@st.composite
def chunker_settings(draw) -> ChunkerSettings:
    size = draw(st.integers(1, 12))
    return ChunkerSettings(size, draw(st.integers(0, size - 1)))


def _langchain_pieces(document: Document, chunker: ChunkerSettings) -> list[str]:
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(
        chunk_size=chunker.chunk_tokens, chunk_overlap=chunker.overlap_tokens, length_function=words,
        separators=list(SEPARATORS), keep_separator="end", strip_whitespace=True,
    )  # fmt: skip
    return [piece for start, end, _ in _segments(document) for piece in splitter.split_text(document.text[start:end])]


@PROPERTIES
@given(document=documents(), chunker=chunker_settings())
# Found by hypothesis: repetitive text. Chunks were located by searching for their text, so a
# run of one word or character put later chunks at earlier copies: text in no chunk, ids twice.
@example(
    document=Document("doc.txt", "x" * 30 + "  ; " + "x" * 30, Citation("t"), sections=(Section(26, "s26"),)),
    chunker=ChunkerSettings(9, 5),
)
@example(document=Document("doc.txt", "слово " * 40, Citation("t")), chunker=ChunkerSettings(3, 2))
@example(document=Document("doc.txt", "А. Б. А. Б. А. Б. В.", Citation("t")), chunker=ChunkerSettings(2, 1))
@example(document=Document("doc.txt", "\n\n\n\nx", Citation("t")), chunker=ChunkerSettings(1, 0))
def test_chunks_are_exact_slices_covering_the_text_within_the_budget(document, chunker):
    chunks = split_document(document, chunker, words)
    text = document.text
    covered = np.zeros(len(text), dtype=bool)
    for chunk in chunks:
        assert chunk.text == text[chunk.start : chunk.end] and chunk.text.strip() == chunk.text
        assert chunk.chunk_id == f"doc.txt#{chunk.start}"
        assert words(chunk.text) <= chunker.chunk_tokens
        covered[chunk.start : chunk.end] = True
    uncovered = [char for char, done in zip(text, covered) if not done and not char.isspace()]
    assert not uncovered, f"text in no chunk: {''.join(uncovered)!r}"
    assert len({chunk.chunk_id for chunk in chunks}) == len(chunks)
    assert [chunk.start for chunk in chunks] == sorted(chunk.start for chunk in chunks)
    boundaries = [section.start for section in document.sections]
    assert not any(chunk.start < boundary < chunk.end for chunk in chunks for boundary in boundaries)
    assert [chunk.text for chunk in chunks] == _langchain_pieces(document, chunker)


# ------------------------------------------------------------------------------------------------
# The keyword analyzer and BM25 index
# ------------------------------------------------------------------------------------------------

ANY_TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=60)
MIXED_TEXT = st.one_of(
    ANY_TEXT,
    st.lists(st.sampled_from(["Статья", "12", "413-IV", "облыстарындағы", "ё", "Ёлка", "ß", "İ", "ﬁ", "Ꮳ", "ꮳ", "²", "-",
                              ".", "/", " ", "\u00a0", "\u0301", "½", "١٢", "Ⅻ", "ǅ", "ΐ"]), max_size=12).map("".join),
)  # fmt: skip


@PROPERTIES
@given(text=MIXED_TEXT, lang=st.sampled_from(["", "ru", "kk", "en", "de"]), query=st.booleans())
@example(text="ꮳꮳꮳ", lang="", query=False)  # Cherokee: casefold() gives capitals, lower() small letters
@example(text="İstanbul ǅ ﬁnance ΐ", lang="en", query=True)
def test_the_analyzer_never_raises_and_gives_casefolded_terms_without_spaces(text, lang, query):
    terms = analyze(text, lang, query=query)
    assert all(isinstance(term, str) and term for term in terms)
    assert not any(char.isspace() for term in terms for char in term)
    assert all(term == term.casefold() for term in terms)
    assert [term for word in analyze_words(text, lang, query=query) for term in word] == terms


@PROPERTIES
@given(rows=st.lists(MIXED_TEXT, min_size=1, max_size=6), question=MIXED_TEXT)
def test_bm25_scores_every_chunk_for_any_question(rows, question):
    index = KeywordIndex.from_terms([analyze(row, "ru") for row in rows])
    hits = index.score(question)
    assert hits.scores.shape == (len(rows),) and np.all(np.isfinite(hits.scores)) and np.all(hits.scores >= 0)
    assert 0.0 <= hits.coverage <= 1.0


# ------------------------------------------------------------------------------------------------
# The query path: any text gives passages or InvalidQuery
# ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def searcher(tmp_path_factory) -> Searcher:
    root = tmp_path_factory.mktemp("properties")
    embedder = FakeEmbedder()
    build_index(
        write_corpus(root / "corpus", TEXTS),
        root / "index",
        settings=Settings(chunk_tokens=40, chunk_overlap=5),
        embedder=embedder,
    )
    return Searcher(root / "index", embedder=embedder)


@PROPERTIES
@given(query=st.one_of(ANY_TEXT, MIXED_TEXT, st.text(alphabet=st.characters(categories=("Cc", "Cf", "Zs", "Zl", "Zp")), max_size=10)),
       mode=st.sampled_from(["hybrid", "dense", "keyword"]), k=st.integers(1, 7))  # fmt: skip
@example(query="\x00\u200b\u2028 ", mode="hybrid", k=1)
def test_any_query_gives_ranked_passages_or_invalid_query(searcher, query, mode, k):
    printable = "".join(char for char in query if char.isprintable()).strip()
    try:
        passages = searcher.search(query, k=k, mode=mode)
    except InvalidQuery:
        assert not printable
        return
    assert printable
    assert len(passages) <= k
    assert [passage.rank for passage in passages] == list(range(1, len(passages) + 1))
    assert [passage.score for passage in passages] == sorted((passage.score for passage in passages), reverse=True)
    assert all(passage.doc_id in TEXTS and passage.text for passage in passages)
