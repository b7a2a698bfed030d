"""Excerpts of sources: quoted sentences with a sentence of context, as `assistant ask` prints them."""

from __future__ import annotations

import json
import re
import shutil

import pytest
from hypothesis import given
from hypothesis import strategies as st

from assistant import Settings, build_index
from assistant.excerpts import CONTEXT_CHARS, OPENING_CHARS, Excerpt, excerpts

from .conftest import SAMPLE

SENTENCES = [
    "Первое предложение о погоде.",
    "Второе предложение о дорогах.",
    "Третье предложение о школах.",
    "Четвёртое предложение о больницах.",
    "Пятое предложение о заводах.",
    "Шестое предложение о парках.",
    "Седьмое предложение о мостах.",
]
TEXT = " ".join(SENTENCES)


def span(sentence: str, text: str = TEXT) -> tuple[int, int]:
    start = text.index(sentence)
    return start, start + len(sentence)


def shown(text: str, excerpt: Excerpt) -> str:
    return text[excerpt.start : excerpt.end]


def test_a_quote_comes_with_one_sentence_before_and_after():
    [excerpt] = excerpts(TEXT, [span(SENTENCES[3])], lang="ru")
    assert shown(TEXT, excerpt) == " ".join(SENTENCES[2:5])
    assert excerpt.quoted == (span(SENTENCES[3]),)


def test_at_the_ends_of_the_passage_there_is_nothing_to_cut():
    [first] = excerpts(TEXT, [span(SENTENCES[0])], lang="ru")
    [last] = excerpts(TEXT, [span(SENTENCES[-1])], lang="ru")
    assert (first.start, shown(TEXT, first)) == (0, " ".join(SENTENCES[:2]))
    assert (last.end, shown(TEXT, last)) == (len(TEXT), " ".join(SENTENCES[-2:]))


def test_a_long_neighbouring_sentence_is_cut_at_a_word_within_the_limit():
    long = "Очень " * 60 + "длинное предложение."
    text = f"{long} Цитата здесь. {long}"
    [excerpt] = excerpts(text, [span("Цитата здесь.", text)], lang="ru")
    before, after = text[excerpt.start : text.index("Цитата")], text[text.index("здесь.") + 6 : excerpt.end]
    assert 0 < len(before) <= CONTEXT_CHARS + 1 and 0 < len(after) <= CONTEXT_CHARS + 1
    assert before.startswith("Очень") and after.endswith("Очень")  # whole words
    assert 0 < excerpt.start and excerpt.end < len(text)


def test_quotes_close_together_share_one_excerpt_and_distant_ones_do_not():
    close = excerpts(TEXT, [span(SENTENCES[1]), span(SENTENCES[3])], lang="ru")
    assert [shown(TEXT, e) for e in close] == [" ".join(SENTENCES[:5])]
    assert close[0].quoted == (span(SENTENCES[1]), span(SENTENCES[3]))
    apart = excerpts(TEXT, [span(SENTENCES[6]), span(SENTENCES[0])], lang="ru")  # in any order
    assert [shown(TEXT, e) for e in apart] == [" ".join(SENTENCES[:2]), " ".join(SENTENCES[5:])]


def test_adjacent_and_overlapping_quotes_are_marked_as_one():
    [excerpt] = excerpts(TEXT, [span(SENTENCES[2]), span(SENTENCES[3]), (span(SENTENCES[3])[0] + 3, span(SENTENCES[3])[1])])
    assert excerpt.quoted == ((span(SENTENCES[2])[0], span(SENTENCES[3])[1]),)


def test_whole_shows_everything_and_no_quote_shows_the_opening():
    assert excerpts(TEXT, [span(SENTENCES[3])], whole=True) == [Excerpt(0, len(TEXT), (span(SENTENCES[3]),))]
    long = " ".join(SENTENCES * 5)
    [opening] = excerpts(long)
    assert opening.start == 0 and OPENING_CHARS - 20 < opening.end <= OPENING_CHARS and not opening.quoted
    assert long[opening.end] == " "  # cut between words
    assert excerpts(TEXT) == [Excerpt(0, len(TEXT))]  # short enough to show whole
    assert excerpts("   \n ", [(0, 3)]) == []


@given(
    st.lists(st.sampled_from(SENTENCES + ["Ещё одно.", "Статья 5.", "\n\n", "Слово"]), min_size=1, max_size=30),
    st.lists(st.tuples(st.integers(-5, 400), st.integers(-5, 400)), max_size=5),
)
def test_excerpts_hold_their_quotes_in_order_and_never_overlap(pieces, spans):
    text = " ".join(pieces)
    result = excerpts(text, spans, lang="ru")
    if not text.strip():
        assert result == []  # nothing to show, whatever was asked to be marked
        return
    quoted = [q for e in result for q in e.quoted]
    for excerpt in result:
        assert 0 <= excerpt.start < excerpt.end <= len(text)
        assert all(excerpt.start <= start < end <= excerpt.end for start, end in excerpt.quoted)
    assert all(a.end < b.start for a, b in zip(result, result[1:]))
    assert quoted == sorted(quoted)
    covered = {i for start, end in quoted for i in range(start, end)}
    wanted = {i for start, end in spans for i in range(max(0, start), min(len(text), end))}
    assert wanted <= covered  # every quoted character is shown marked


# ------------------------------------------------------------------------------------------------
# `assistant ask` over an index of the sample document, with the fake embedder
# ------------------------------------------------------------------------------------------------


@pytest.fixture
def ask(tmp_path, fake_embedder, monkeypatch, capsys):
    import assistant.retrieval
    from ui.cli import main

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for file in SAMPLE.parent.glob(f"{SAMPLE.name}*"):
        shutil.copy(file, corpus)
    build_index(corpus, tmp_path / "index", settings=Settings(chunk_tokens=400), embedder=fake_embedder)
    monkeypatch.setattr(assistant.retrieval, "load_embedder", lambda *args, **kwargs: fake_embedder)

    def run(*args: str, shift: float = -1.0) -> str:  # -1: the fake embedder's cosines pass
        monkeypatch.setenv("ASSISTANT_ANSWER_THRESHOLD_SHIFT", str(shift))
        assert main(["ask", *args, "--index", str(tmp_path / "index")]) == 0
        return capsys.readouterr().out

    return run


QUESTION = "Кто председательствовал на заседании в Актюбинской области?"


def flat(text: str) -> str:
    return " ".join(text.split())


def test_ask_shows_the_quotes_marked_in_context_not_the_whole_passage(ask):
    reply = json.loads(ask(QUESTION, "--json"))
    passage = reply["sources"][0]["passage"]["text"]
    out = flat(ask(QUESTION))
    marked = " ".join(re.findall(r"\*\*(.+?)\*\*", out))
    assert reply["quotes"] and all(flat(quote["text"]) in marked for quote in reply["quotes"])
    assert "…" in out and len(out) < len(flat(passage))
    full = flat(ask(QUESTION, "--full"))
    assert flat(passage) in full.replace("**", "")  # the whole passage, quotes still marked
    assert marked == " ".join(re.findall(r"\*\*(.+?)\*\*", full))


def test_a_not_found_reply_shows_the_opening_of_each_related_passage(ask):
    reply = json.loads(ask("Какая погода на Марсе?", "--json", shift=1.0))
    assert not reply["found"] and reply["related"]
    passage = flat(reply["related"][0]["text"])
    out = flat(ask("Какая погода на Марсе?", shift=1.0))
    assert passage[:200] in out and passage[-100:] not in out and "…" in out and "**" not in out


def test_a_terminal_gets_reverse_video_closed_at_every_line_end(monkeypatch):
    from ui.cli import _is_color_terminal, _marked_lines

    text = " ".join(SENTENCES * 3)
    excerpt = Excerpt(0, len(text), ((30, 200),))
    lines = _marked_lines(text, excerpt, terminal=True, width=40)
    assert len(lines) > 3 and "**" not in "".join(lines)
    for line in lines:  # no highlight may spill into the next line's indentation
        assert line.count("\x1b[7m") == line.count("\x1b[0m")
    assert re.sub(r"\x1b\[\d+m", "", " ".join(lines)) == text

    class Terminal:
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr("sys.stdout", Terminal())
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert _is_color_terminal()
    monkeypatch.setenv("NO_COLOR", "1")
    assert not _is_color_terminal()
