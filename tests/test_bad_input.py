"""Bad input, clear errors: a corpus of broken files, hostile questions, hostile upload names
(issue #6; results in docs/reliability.md). The fake embedder of ``conftest.py`` throughout."""

from __future__ import annotations

import itertools
import json
import os
import random
from pathlib import Path

import pytest

from assistant import InvalidQuery, Searcher, Settings, answer, build_index, documents, regions_overview
from assistant.query import MAX_QUERY_CHARS
from assistant.store import load_index
from ui import uploads

from .conftest import FakeEmbedder
from .pdf_files import pdf_document
from .test_documents import _build_sample_docx, docx_bytes, pdf_bytes

SETTINGS = Settings(chunk_tokens=40, chunk_overlap=5)
GOOD = (
    "---\ntitle: Павлодар и Послание\nregion: Pavlodar region\ndate: 2025-09-15\n---\n"
    "Павлодарская область представила план цифровизации школ: классы робототехники и новые компьютеры."
)
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8
ALIAS_BOMB = (
    "---\na: &a [x, x, x, x, x, x, x, x, x]\n"
    + "".join(f"{chr(98 + n)}: &{chr(98 + n)} [{', '.join([f'*{chr(97 + n)}'] * 9)}]\n" for n in range(8))
    + "title: *i\n---\nТекст о дорогах."
)  # title: 9**9 x's if anything printed it


def write(folder: Path, name: str, content: str | bytes) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def record_opens(patch: pytest.MonkeyPatch, module: object, opened: list[str]) -> None:
    """Append the name of every file ``module`` opens, and of every ``Path.read_bytes``, to ``opened``."""
    real_open, real_read_bytes = open, Path.read_bytes

    def recording_open(path, *args, **kwargs):
        opened.append(Path(path).name)
        return real_open(path, *args, **kwargs)

    def recording_read_bytes(path: Path) -> bytes:
        opened.append(path.name)
        return real_read_bytes(path)

    patch.setattr(module, "open", recording_open, raising=False)
    patch.setattr(Path, "read_bytes", recording_read_bytes)


# ------------------------------------------------------------------------------------------------
# A corpus of bad files
# ------------------------------------------------------------------------------------------------


def test_every_bad_file_is_reported_with_its_reason_and_the_rest_is_indexed(tmp_path, fake_embedder):
    corpus, outside = tmp_path / "corpus", tmp_path / "outside"
    write(corpus, "good.txt", GOOD)
    failing = {  # name: (content, words of the reason)
        "empty.txt": (b"", "empty file"),
        "blank.md": (" \n\t\n\u00a0 \n", "no text"),
        "only-invisible.txt": ("\u200b\u200c\u200d\ufeff\u2060" * 10, "no text"),
        "png-named.txt": (PNG, "not a text file"),
        "png-named.html": (PNG, "not a text file"),
        "control-characters.md": (bytes(range(1, 32)) * 4, "not a text file"),
        "truncated.docx": (docx_bytes(_build_sample_docx)[:1500], "corrupt .docx"),
        "truncated.pdf": (pdf_bytes(["Decree of the Government", "Annex"])[:300], "corrupt .pdf"),
        "bad-date.md": ("---\ndate: 2025-02-30\n---\nТекст.", "malformed front matter"),  # crashed the build
        "alias-bomb.md": (ALIAS_BOMB, "must be a single value"),
        "deep-yaml.md": ("---\ntitle: " + "{a: " * 3000 + "1" + "}" * 3000 + "\n---\nТекст.", "malformed front matter"),
        "python-tag.md": (
            "---\ntitle: !!python/object/apply:os.system ['echo hi']\n---\nТекст.",
            "malformed front matter",
        ),
    }
    for name, (content, _) in failing.items():
        write(corpus, name, content)
    with open(corpus / "enormous.txt", "wb") as sparse:  # 1 byte over the 50 MB limit, no disk used
        sparse.truncate(int(Settings().max_file_mb * 1024 * 1024) + 1)
    failing["enormous.txt"] = (b"", "file too large")
    write(corpus, "table.xlsx", b"PK\x03\x04")
    write(outside, "secret.txt", "Секретный документ вне корпуса о ядерной энергетике.")
    (corpus / "link-out.txt").symlink_to(outside / "secret.txt")
    (corpus / "link-broken.txt").symlink_to(corpus / "missing.txt")
    (corpus / "folder-out").symlink_to(outside, target_is_directory=True)
    # A Windows-1251 file name, as unzipping an archive made on Windows leaves it: it stopped the build.
    (corpus / os.fsdecode("Приказ.txt".encode("cp1251"))).write_text("Приказ о школах.", encoding="utf-8")
    os.mkfifo(corpus / "pipe.txt")  # opening it would wait for a writer forever
    indexed = {
        "cp1251.txt": "Жамбылская область: орошение и фермеры.".encode("cp1251"),
        "kz1048.txt": "Жамбыл облысында фермерлер суаруға қаржы алады.".encode("kz1048"),
        "koi8r.txt": "Костанайская область: уборка зерна завершена.".encode("koi8_r"),
        "utf16.txt": "\ufeffТуркестанская область: хлопок и текстиль.".encode("utf-16-le"),
        "mixed-lines.txt": "Первая строка в UTF-8 об Атырау.\n".encode()
        + "Вторая строка в cp1251 о нефтехимии.".encode("cp1251"),
        "stray-nul.txt": "Акмолинская область\x00 строит дороги и мосты.".encode(),
        "invisible.md": "# Цифро\u200bвизация\n\nЦифро\u200bвиза\u200dция районов\x07 и\u00ad ремонт\ufeff школ.",
        "good-copy.txt": GOOD,  # the same text under another name
    }
    for name, content in indexed.items():
        write(corpus, name, content)

    opened: list[str] = []
    with pytest.MonkeyPatch.context() as patch:
        record_opens(patch, documents, opened)
        report = build_index(corpus, tmp_path / "index", settings=SETTINGS, embedder=fake_embedder)
    assert "good.txt" in opened and "enormous.txt" not in opened  # refused from its size, never read
    reasons = {problem.path: problem.reason for problem in report.failed}
    assert set(reasons) == set(failing), reasons
    for name, (_, words) in failing.items():
        assert words in reasons[name], (name, reasons[name])
    skipped = {problem.path: problem.reason for problem in report.skipped}
    assert set(skipped) == {"table.xlsx", "link-out.txt", "link-broken.txt", "folder-out", "Приказ.txt", "pipe.txt"}
    assert "outside the corpus" in skipped["link-out.txt"] and "broken" in skipped["link-broken.txt"]
    assert skipped["pipe.txt"] == "not a regular file (named pipe): skipped"
    assert "not UTF-8 (it reads 'Приказ.txt' in cp1251)" in skipped["Приказ.txt"]
    json.dumps(report.to_dict(), ensure_ascii=False).encode("utf-8")  # printable as `assistant build --json`
    assert report.documents == 1 + len(indexed)

    searcher = Searcher(tmp_path / "index", embedder=fake_embedder)
    expected = {
        "cp1251.txt": "орошение фермеры",
        "kz1048.txt": "фермерлер суаруға",
        "koi8r.txt": "уборка зерна",
        "utf16.txt": "хлопок текстиль",
        "mixed-lines.txt": "нефтехимии",
        "stray-nul.txt": "дороги мосты",
        "invisible.md": "цифровизация районов",
    }
    for doc_id, words in expected.items():
        top = searcher.search(words, k=1, mode="keyword")
        assert top and top[0].doc_id == doc_id, (doc_id, top)
    chunks = load_index(tmp_path / "index").chunks
    invisible = "".join(chunk.text for chunk in chunks if chunk.doc_id == "invisible.md")
    assert "Цифровизация районов и ремонт школ." in invisible
    assert not any(char in invisible for char in "\u200b\u200d\ufeff\u00ad\x07")
    mixed = next(chunk.text for chunk in chunks if chunk.doc_id == "mixed-lines.txt")
    assert mixed == "Первая строка в UTF-8 об Атырау.\nВторая строка в cp1251 о нефтехимии."
    assert not searcher.search("ядерной энергетике секретный", k=3, mode="keyword")  # the link was not followed
    copies = searcher.search("Павлодарская область цифровизации школ", k=5)
    assert [p.doc_id for p in copies].count("good.txt") + [p.doc_id for p in copies].count("good-copy.txt") == 1
    assert copies[0].also_published in (("good.txt",), ("good-copy.txt",))


def test_decompression_bombs_are_refused_before_they_are_expanded(tmp_path, fake_embedder):
    """A .docx or .pdf far under max_file_mb that unpacks to more than twice it (here 1 MB -> 2 MB),
    or a .pdf whose pages draw one form until ten times that is parsed."""
    corpus = tmp_path / "corpus"
    settings = Settings(chunk_tokens=40, chunk_overlap=5, max_file_mb=1)
    decree = "Decree on digital schools in Pavlodar region."
    write(corpus, "bomb.docx", docx_bytes(lambda document: document.add_paragraph(decree + " " * 3_000_000)))
    pages = [decree, "Annex 1.\n" + " " * 700_000, "Annex 2.\n" + " " * 700_000, "Annex 3.\n" + " " * 700_000]
    write(corpus, "bomb.pdf", pdf_bytes(pages, compress=True))  # 2.1 MB unpacked by p. 4, not before
    form = b"BT /F1 12 Tf 72 700 Td (Letterhead of the akimat) Tj ET" + b" " * 300_000
    page = "BT /F1 12 Tf 72 720 Td (Page {}) Tj ET".format
    write(corpus, "forms.pdf", pdf_document([page(n).encode() for n in range(80)], form=form))  # 24 MB parsed
    write(corpus, "fine.docx", docx_bytes(lambda document: document.add_paragraph("Decree on roads in Atyrau region.")))
    write(corpus, "fine.pdf", pdf_bytes(pages[:3], compress=True))  # 1.4 MB unpacked
    write(corpus, "letters.pdf", pdf_document([page(n).encode() for n in range(60)], form=form))  # 18 MB parsed
    assert all(path.stat().st_size < 40_000 for path in corpus.iterdir())

    report = build_index(corpus, tmp_path / "index", settings=settings, embedder=fake_embedder)
    reasons = {problem.path: problem.reason for problem in report.failed}
    assert set(reasons) == {"bomb.docx", "bomb.pdf", "forms.pdf"}, reasons
    assert reasons["bomb.docx"].startswith("the .docx unpacks to 3,") and "limit 2,097,152" in reasons["bomb.docx"]
    assert "limit reached at p. 4" in reasons["bomb.pdf"] and "decompression bomb" in reasons["bomb.pdf"]
    assert "draw more than 20,971,520 bytes" in reasons["forms.pdf"] and "p. 70;" in reasons["forms.pdf"]
    assert report.documents == 3
    searcher = Searcher(tmp_path / "index", embedder=fake_embedder)
    assert searcher.search("roads Atyrau", k=1, mode="keyword")[0].doc_id == "fine.docx"
    assert searcher.search("Annex 3", k=1, mode="keyword")[0].doc_id == "fine.pdf"
    assert searcher.search("Page 59", k=1, mode="keyword")[0].doc_id == "letters.pdf"


@pytest.mark.slow
def test_a_five_megabyte_single_line_is_indexed_in_budgeted_chunks(tmp_path, fake_embedder):
    rng = random.Random(5)
    words = [
        "".join(rng.choice("абвгдежзиклмнопрстуфхцчшщыэюя") for _ in range(rng.randint(9, 20))) for _ in range(3000)
    ]
    line = " ".join(rng.choice(words) for _ in range(400_000))[: 5 * 1024 * 1024].strip()
    corpus = tmp_path / "corpus"
    write(corpus, "line.txt", "Павлодар " + line + " финальнаяотметка")
    write(corpus, "good.txt", GOOD)
    settings = Settings(chunk_tokens=200, chunk_overlap=20, sentence_vectors=False)
    report = build_index(corpus, tmp_path / "index", settings=settings, embedder=fake_embedder)
    assert report.failed == () and report.documents == 2
    chunks = [chunk for chunk in load_index(tmp_path / "index").chunks if chunk.doc_id == "line.txt"]
    assert len(chunks) > 100 and max(len(chunk.text.split()) for chunk in chunks) <= 200
    assert chunks[0].start == 0 and chunks[-1].end == len("Павлодар " + line + " финальнаяотметка")
    assert all(later.start <= earlier.end + 1 for earlier, later in itertools.pairwise(chunks))  # no gap
    top = Searcher(tmp_path / "index", embedder=fake_embedder).search("финальнаяотметка", k=1, mode="keyword")
    assert top[0].doc_id == "line.txt" and top[0].text.endswith("финальнаяотметка")


# ------------------------------------------------------------------------------------------------
# Hostile questions
# ------------------------------------------------------------------------------------------------

# Letters of 50 scripts (Unicode blocks), so every tokenizer and analyzer path sees them.
SCRIPTS = {
    "Latin": (0x61, 0x7A), "Latin Extended": (0x100, 0x17F), "Greek": (0x3B1, 0x3C9), "Cyrillic": (0x430, 0x44F),
    "Kazakh Cyrillic": (0x492, 0x4E9), "Armenian": (0x561, 0x586), "Hebrew": (0x5D0, 0x5EA), "Arabic": (0x627, 0x64A),
    "Syriac": (0x710, 0x72C), "Thaana": (0x780, 0x7A5), "NKo": (0x7CA, 0x7EA), "Devanagari": (0x905, 0x939),
    "Bengali": (0x985, 0x9B9), "Gurmukhi": (0xA05, 0xA39), "Gujarati": (0xA85, 0xAB9), "Oriya": (0xB05, 0xB39),
    "Tamil": (0xB85, 0xBB9), "Telugu": (0xC05, 0xC39), "Kannada": (0xC85, 0xCB9), "Malayalam": (0xD05, 0xD39),
    "Sinhala": (0xD85, 0xDC6), "Thai": (0xE01, 0xE30), "Lao": (0xE81, 0xEAE), "Tibetan": (0xF40, 0xF6A),
    "Myanmar": (0x1000, 0x102A), "Georgian": (0x10D0, 0x10FA), "Hangul Jamo": (0x1100, 0x1159),
    "Ethiopic": (0x1200, 0x1248), "Cherokee": (0x13A0, 0x13F4), "Canadian Syllabics": (0x1401, 0x166C),
    "Ogham": (0x1681, 0x169A), "Runic": (0x16A0, 0x16EA), "Khmer": (0x1780, 0x17B3), "Mongolian": (0x1820, 0x1877),
    "Limbu": (0x1900, 0x191E), "Tai Le": (0x1950, 0x196D), "Buginese": (0x1A00, 0x1A16), "Balinese": (0x1B05, 0x1B33),
    "Glagolitic": (0x2C30, 0x2C5E), "Tifinagh": (0x2D30, 0x2D67), "Hiragana": (0x3041, 0x3096),
    "Katakana": (0x30A1, 0x30FA), "Bopomofo": (0x3105, 0x312F), "CJK": (0x4E00, 0x9FA5), "Yi": (0xA000, 0xA48C),
    "Vai": (0xA500, 0xA60B), "Hangul": (0xAC00, 0xD7A3), "Gothic": (0x10330, 0x1034A), "Deseret": (0x10428, 0x1044F),
    "Cuneiform": (0x12000, 0x1236E),
}  # fmt: skip
HOSTILE = {
    "html and script": '<script>alert("x")</script><img src=x onerror=alert(1)> цифровизация',
    "markdown tricks": "[цифровизация](javascript:alert(1)) ![x](http://evil/x.png) **bold** `code` # heading\n---\n> quote",
    "sql-like": "цифровизация'; DROP TABLE chunks; -- OR 1=1 /* */ UNION SELECT * FROM manifest",
    "control characters": "цифро\x00визация\x07\x1b[31m районов\x7f\u202e\u200b",
    "only punctuation": "?!.,;:—«»()[]{}",
    "format strings": "%s %d {0} {question} ${HOME} $(rm -rf /) `id`",
    "regex metacharacters": r".*+?^$()[]{}|\ (a+)+$ статья 12",
    "emoji and combining marks": "🇰🇿🏛️ цифровизация́̈ 👩‍💻 ZWJ",
    "numbers and codes": "413-IV 12.09.2025 № 1-бап 3.5 % ст. 12",
    "very long word": "ц" * MAX_QUERY_CHARS,  # as long as a question may be
    "as long as allowed": ("цифровизация государственных услуг в районах " * 25_000)[:MAX_QUERY_CHARS],
    "a megabyte of blanks then a word": " \t\n" * 350_000 + "цифровизация",
}
# Longer than Settings.max_question_chars: refused everywhere with one clear line (issue #20).
TOO_LONG = {
    "a word of 50,000 letters": "ц" * 50_000,
    "a megabyte": ("цифровизация государственных услуг в районах " * 25_000)[: 1024 * 1024],
}
EMPTY = {"empty": "", "blanks": " \n\t\u00a0 ", "control characters only": "\x00\x01\x02\x1b\x7f", "not text": None}


def _script_question(name: str) -> str:
    low, high = SCRIPTS[name]
    rng = random.Random(name)
    return " ".join("".join(chr(rng.randint(low, high)) for _ in range(rng.randint(2, 7))) for _ in range(5))


QUESTIONS = {**HOSTILE, **{f"script {name}": _script_question(name) for name in SCRIPTS}}


@pytest.fixture(scope="module")
def searcher(tmp_path_factory) -> Searcher:
    from .test_overview import SETTINGS as OVERVIEW_SETTINGS
    from .test_overview import TEXTS

    root = tmp_path_factory.mktemp("bad-queries")
    corpus = root / "corpus"
    for name, text in TEXTS.items():
        write(corpus, name, text)
    embedder = FakeEmbedder()
    build_index(corpus, root / "index", settings=OVERVIEW_SETTINGS, embedder=embedder)
    return Searcher(root / "index", embedder=embedder)


@pytest.mark.parametrize("name", list(QUESTIONS))
def test_any_question_gets_a_normal_result_in_every_entry_point(searcher, name):
    question = QUESTIONS[name]
    for mode in ("hybrid", "dense", "keyword"):
        passages = searcher.search(question, k=5, mode=mode)
        assert len(passages) <= 5 and all(p.text and p.rank == n for n, p in enumerate(passages, 1))
    reply = answer(question, settings=SETTINGS, searcher=searcher)
    assert reply.text and (reply.found or not reply.sources)
    overview = regions_overview(question, settings=SETTINGS, searcher=searcher)
    json.dumps(overview.to_dict(), ensure_ascii=False)
    assert overview.question == question


@pytest.mark.parametrize("name", list(EMPTY))
def test_an_empty_question_is_a_clear_invalid_query_everywhere(searcher, name):
    question = EMPTY[name]
    for mode in ("hybrid", "dense", "keyword"):
        with pytest.raises(InvalidQuery, match="empty|text"):
            searcher.search(question, mode=mode)
    with pytest.raises(InvalidQuery):
        answer(question, settings=SETTINGS, searcher=searcher)
    with pytest.raises(InvalidQuery):
        regions_overview(question, settings=SETTINGS, searcher=searcher)


@pytest.mark.parametrize("name", list(TOO_LONG))
def test_a_question_over_the_limit_is_refused_in_every_entry_point(searcher, name):
    """Refused, not cut (issue #20): nobody is answered about a question they did not finish, and a
    megabyte never reaches the model (the answer refuses before the language model is asked)."""
    question = TOO_LONG[name]
    limit = f"more than the {MAX_QUERY_CHARS:,} allowed"
    for mode in ("hybrid", "dense", "keyword"):
        with pytest.raises(InvalidQuery, match=limit):
            searcher.search(question, k=5, mode=mode)
    for entry_point in (answer, regions_overview):
        with pytest.raises(InvalidQuery, match="max_question_chars"):
            entry_point(question, settings=SETTINGS, searcher=searcher)


@pytest.fixture
def cli(searcher, monkeypatch):
    """``assistant`` in-process over the fixture's index, with the fake embedder."""
    import assistant.retrieval
    from ui.cli import main

    monkeypatch.setattr(assistant.retrieval, "load_embedder", lambda *args, **kwargs: searcher.embedder)

    def run(*args: str) -> int:
        return main([*args, "--index", str(searcher.index_dir)])

    return run


@pytest.mark.parametrize(
    "name",
    [
        *HOSTILE,
        "script Arabic",
        "script CJK",
        "script Cuneiform",
        "empty",
        "blanks",
        "control characters only",
        *TOO_LONG,
    ],
)
def test_the_command_line_answers_or_says_one_line_never_a_traceback(cli, capsys, name):
    question = {**QUESTIONS, **EMPTY, **TOO_LONG}[name]
    for command in (
        ["search", question],
        ["search", question, "--mode", "keyword", "--json"],
        ["ask", question, "--json"],
        ["regions", question],
    ):
        code = cli(*command)
        out, err = capsys.readouterr()
        assert "Traceback" not in err
        if name in EMPTY or name in TOO_LONG:
            assert code == 1 and err.startswith("assistant: error:") and err.count("\n") == 1, (command[0], err)
            assert name in EMPTY or "max_question_chars" in err
        else:
            assert code == 0 and out, (command[0], err)
    assert cli("search", "цифровизация", "-k", "0") == 1 and "positive" in capsys.readouterr().err
    assert cli("search", "цифровизация", "-k", "51") == 1 and "max_k" in capsys.readouterr().err


def test_a_question_typed_in_another_encoding_prints_valid_utf8(cli, capsys):
    """Bytes that are not UTF-8 on the command line (a cp1251 terminal) reach Python as lone
    surrogates; echoed by ``ask --json`` they made invalid JSON, or a traceback on a strict stdout."""
    typed = os.fsdecode("школы ".encode() + "цифровизация".encode("cp1251"))
    assert cli("ask", typed, "--json", "--region", os.fsdecode(b"\xcf\xe0\xe2")) == 0
    out, err = capsys.readouterr()
    reply = json.loads(out.encode("utf-8").decode("utf-8"))  # strict both ways
    assert reply["question"] == "школы " + "\ufffd" * len("цифровизация") and "Traceback" not in err
    for command in (["search", typed, "--json"], ["regions", typed]):
        assert cli(*command) == 0
        out, err = capsys.readouterr()
        assert out and "Traceback" not in err
        out.encode("utf-8")


# ------------------------------------------------------------------------------------------------
# Upload names and files (ui/uploads.py); the basic cases are in test_ui_render.py
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("/etc/passwd.txt", "passwd.txt"),
        ("../../../../../../tmp/x.md", "x.md"),
        ("C:\\Windows\\System32\\drivers\\etc\\hosts.txt", "hosts.txt"),
        ("\\\\server\\share\\law.docx", "law.docx"),
        ("..\\..\\..\\boot.ini.txt", "boot.ini.txt"),
        ("a/../../b.pdf", "b.pdf"),
        ("law\x00.pdf.txt", "law.pdf.txt"),  # NUL cannot cut the name short
        ("line\nbreak\r\ttab.md", "linebreaktab.md"),
        ("\u202egnp.txt", "gnp.txt"),  # right-to-left override dropped
        ("CON.txt", "document-CON.txt"),
        ("nul.tar.md", "document-nul.tar.md"),
        ("Com1 .pdf", "document-Com1.pdf"),
        ("LPT9.docx", "document-LPT9.docx"),
        ("console.txt", "console.txt"),
        ("Послание\u0301.TXT", "Послание\u0301.txt"),
        ("x.exe.txt", "x.exe.txt"),
    ],
)
def test_upload_names_cannot_leave_the_corpus_or_hide(name, expected):
    safe = uploads.safe_file_name(name)
    assert safe == expected
    assert "/" not in safe and "\\" not in safe and not safe.startswith(".") and safe.isprintable()


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("../../x", "type"),
        ("/", "type"),
        ("..", "type"),
        ("payload.txt.exe", "type"),
        ("archive.tar.gz", "type"),
        ("x.TXT\x00.exe", "type"),
        ("script.js", "type"),
        ("page.svg", "type"),
        ("x.meta.yaml", "type"),
        ("___.txt", "name"),
        ("«»—.pdf", "name"),
    ],
)
def test_upload_names_of_other_types_or_without_a_name_are_refused(name, reason):
    with pytest.raises(uploads.UploadRejected) as caught:
        uploads.safe_file_name(name)
    assert caught.value.reason == reason and str(caught.value)


def test_very_long_upload_names_fit_with_a_counter_and_a_sidecar(tmp_path):
    for name in ("ж" * 1000 + ".docx", "a" * 5000 + ".txt", "名" * 400 + ".md"):
        safe = uploads.safe_file_name(name)
        assert len((safe + " (999)" + uploads.SIDECAR_SUFFIX).encode()) <= 255
    corpus = tmp_path / "corpus"
    first = uploads.save_upload(write(tmp_path, "upload.bin", "Текст."), corpus, original_name="ж" * 1000 + ".txt")
    second = uploads.save_upload(
        write(tmp_path, "upload.bin", "Другой."), corpus, original_name="ж" * 1000 + ".txt",
        metadata={"region": "Aktobe region"},
    )  # fmt: skip
    assert second.renamed and second.path.is_file() and first.path != second.path
    # The sidecar, written by save_upload itself now, fits beside the numbered name.
    assert second.sidecar == second.path.with_name(second.path.name + uploads.SIDECAR_SUFFIX)
    assert "region: Aktobe region" in second.sidecar.read_text(encoding="utf-8")


def test_an_upload_never_follows_a_link_planted_in_the_corpus(tmp_path):
    corpus, outside = tmp_path / "corpus", tmp_path / "outside"
    corpus.mkdir()
    outside.mkdir()
    (corpus / "doc.txt").symlink_to(outside / "planted.txt")  # dangling: opening it would create the target
    saved = uploads.save_upload(write(tmp_path, "up.txt", "Новый текст."), corpus, original_name="doc.txt")
    assert saved.name == "doc (2).txt" and saved.renamed
    assert not (outside / "planted.txt").exists()


def test_upload_size_limit_is_inclusive_and_checked_before_reading(tmp_path):
    corpus = tmp_path / "corpus"
    exact = write(tmp_path, "exact.txt", b"x" * 100)
    assert uploads.save_upload(exact, corpus, max_bytes=100).path.stat().st_size == 100
    huge = tmp_path / "huge.pdf"
    with open(huge, "wb") as sparse:
        sparse.write(b"%PDF-1.4\n")
        sparse.truncate(10 * 1024**3)  # 10 GB, sparse: refused from its size alone
    opened: list[str] = []
    with pytest.MonkeyPatch.context() as patch, pytest.raises(uploads.UploadRejected) as caught:
        record_opens(patch, uploads, opened)
        uploads.save_upload(huge, corpus)
    assert caught.value.reason == "size" and opened == []  # refused from its size, never opened
    # The accepted file and its sidecar (who uploaded it, when); nothing of the refused one.
    assert sorted(path.name for path in corpus.iterdir()) == ["exact.txt", "exact.txt.meta.yaml"]


def test_upload_content_must_match_a_binary_extension(tmp_path):
    corpus = tmp_path / "corpus"
    for name, content in (
        ("fake.pdf", b"MZ\x90\x00 windows program"),
        ("fake.docx", b"Rar!\x1a\x07"),
        ("zip.pdf", b"PK\x03\x04"),
    ):
        with pytest.raises(uploads.UploadRejected) as caught:
            uploads.save_upload(write(tmp_path, name, content), corpus)
        assert caught.value.reason == "content"
    assert not corpus.exists() or not list(corpus.iterdir())


def test_upload_metadata_fields_are_checked(tmp_path):
    assert uploads.check_metadata({"region": "<script>alert(1)</script>" * 20, "lang": None}) == {
        "region": ("<script>alert(1)</script>" * 20)[:100]
    }
    for bad in (
        {"date": "2025-09-10\n title: injected"},
        {"date": "9999-99-99"},
        {"doc_type": "novel"},
        {"source": "x"},
    ):
        with pytest.raises(ValueError):
            uploads.check_metadata(bad)
    sidecar = uploads.write_sidecar(tmp_path / "law.txt", {"region": "a: b\n- c\n---\ntitle: x"})
    import yaml

    assert yaml.safe_load(sidecar.read_text(encoding="utf-8")) == {"region": "a: b\n- c\n---\ntitle: x"}
    with pytest.raises(FileExistsError):
        uploads.write_sidecar(tmp_path / "law.txt", {"region": "again"})


def test_an_upload_that_vanished_is_an_error_not_a_file(tmp_path):
    corpus = tmp_path / "corpus"
    with pytest.raises(OSError):
        uploads.save_upload(tmp_path / "gone.txt", corpus)
    assert not corpus.exists() or not list(corpus.iterdir())
