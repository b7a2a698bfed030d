"""What hostile input costs, next to ordinary input, in one run.

Files: each is read by ``load_document`` in a child process of its own, so the peak memory shown
is that file's (the first row, a one-line ``.txt``, is the child's baseline). The hostile files
are small on disk and expand when read: ``.docx`` files whose XML unpacks to 50 MB (within the
limit of twice ``max_file_mb``) and to 150 MB, a ``.pdf`` of 20
pages of 70 MB content streams, one drawing a 70 MB form on 30 pages, and a sparse file one byte
over ``max_file_mb``; beside them a real-sized 300-page ``.pdf``. With ``--without-limits`` each
is also read with the size limits lifted (slow: the two PDFs take minutes).

Questions: the sample corpus is indexed with the real model; each entry point answers an
ordinary question and the same question followed by a megabyte of text (refused: it is longer
than ``Settings.max_question_chars``), interleaved, median of ``--repeat`` runs. Region detection, which
runs on every document without a declared region, on texts of 2 KB to 1 MB.

Usage:
    python bench/bad_input_bench.py [--without-limits] [--repeat 5]

Prints two Markdown tables.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import load_bench  # the sibling script's /proc readers

from tests.pdf_files import pdf_document

MB = 1024 * 1024
QUESTION = "Какие поручения дал аким Актюбинской области по реализации Послания?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--without-limits", action="store_true", help="also read each file with the limits lifted")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each question (median; default 5)")
    parser.add_argument("--read", type=Path, help=argparse.SUPPRESS)  # child mode: read one file
    parser.add_argument("--max-mb", type=float, default=50.0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.read:
        print(json.dumps(_read_one(args.read, args.max_mb)))
        return
    print(
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; Python {platform.python_version()}"
    )
    with tempfile.TemporaryDirectory() as scratch:
        _files_table(Path(scratch), args.without_limits)
        _questions_table(Path(scratch), args.repeat)
    _region_detection(args.repeat)


# ------------------------------------------------------------------------------------------------
# Files
# ------------------------------------------------------------------------------------------------


def _files_table(folder: Path, without_limits: bool) -> None:
    files = {
        "one-line .txt (the child's baseline)": ("baseline.txt", "Аким поручил построить школы.\n".encode()),
        ".docx, XML unpacks to 50 MB (within the limit)": ("large.docx", _docx(paragraphs=50_000)),
        ".docx, XML unpacks to 150 MB": ("bomb.docx", _docx(paragraphs=150_000)),
        ".pdf, 300 ordinary pages": ("ordinary.pdf", _pdf([_page_text(n) for n in range(300)])),
        ".pdf, 20 pages of 70 MB content": ("pages.pdf", _pdf([_page_text(n) + b" " * (70 * MB) for n in range(20)])),
        ".pdf, one 70 MB form drawn on 30 pages": (
            "forms.pdf",
            _pdf([_page_text(n) for n in range(30)], form=_letterhead(70 * MB)),
        ),
    }
    paths = {}
    for label, (name, data) in files.items():
        paths[label] = folder / name
        paths[label].write_bytes(data)
    sparse = folder / "enormous.txt"
    with open(sparse, "wb") as out:
        out.truncate(50 * MB + 1)
    paths["sparse .txt, 50 MB + 1 byte"] = sparse

    columns = ["with the limits"] + (["limits lifted"] if without_limits else [])
    print("\n| file | size | " + " | ".join(f"{c}: result | seconds | peak RSS" for c in columns) + " |")
    print("|---|---:|" + "---|---:|---:|" * len(columns))
    for label, path in paths.items():
        cells = []
        for column in columns:
            lifted = column == "limits lifted"
            if lifted and path == sparse:
                cells.append("(not read: 50 MB of zeros) | | ")
                continue
            outcome = _read_in_child(path, 1e6 if lifted else 50.0)
            cells.append(f"{outcome['result']} | {outcome['seconds']:.2f} | {outcome['peak_mb']:,.0f} MB")
        print(f"| {label} | {path.stat().st_size / 1024:,.0f} KB | " + " | ".join(cells) + " |")


def _read_in_child(path: Path, max_mb: float) -> dict:
    command = [sys.executable, __file__, "--read", str(path), "--max-mb", str(max_mb)]
    finished = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(finished.stdout.strip().splitlines()[-1])


def _read_one(path: Path, max_mb: float) -> dict:
    import docx  # noqa: F401
    import pypdf  # noqa: F401 - imported before the clock starts, like python-docx below

    from assistant.documents import load_document
    from assistant.errors import DocumentError

    started = time.perf_counter()
    try:
        document = load_document(path, path.parent, max_bytes=int(max_mb * MB))
        result = f"read, {len(document.text):,} characters"
    except DocumentError as error:
        reason = str(error)
        result = "refused: " + (reason.split(":")[0] if "bomb" in reason or "too large" in reason else reason)
    seconds = time.perf_counter() - started
    return {"result": result, "seconds": seconds, "peak_mb": _peak_rss_mb()}


def _peak_rss_mb() -> float:
    """This process's peak RSS. Not ``getrusage``: its ``ru_maxrss`` keeps the parent's peak across exec."""
    return int(load_bench.proc_status(os.getpid())["VmHWM"].split()[0]) / 1024  # "123456 kB"


def _pdf(contents: list[bytes], form: bytes | None = None) -> bytes:
    return pdf_document(contents, form=form, compress=True)


def _letterhead(padding: int) -> bytes:
    return b"BT /F1 12 Tf 72 80 Td (Letterhead of the akimat) Tj ET" + b" " * padding


def _page_text(number: int) -> bytes:
    line = f"(Article {number}. The akimat approves the plan of digital schools and roads.) Tj T*\n".encode()
    return b"BT /F1 11 Tf 72 740 Td 13 TL\n" + line * 50 + b"ET\n"


def _docx(paragraphs: int) -> bytes:
    """A .docx (python-docx's template) holding ``paragraphs`` paragraphs of 1,000 letters."""
    import docx

    document = docx.Document()
    document.add_paragraph("Decree on digital schools.")
    buffer = io.BytesIO()
    document.save(buffer)
    source = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for member in source.infolist():
            data = source.read(member.filename)
            if member.filename == "word/document.xml":
                body = data.index(b"<w:body>") + len(b"<w:body>")
                paragraph = b"<w:p><w:r><w:t>" + b"a" * 1000 + b"</w:t></w:r></w:p>"
                data = data[:body] + paragraph * paragraphs + data[body:]
            target.writestr(member.filename, data)
    return out.getvalue()


# ------------------------------------------------------------------------------------------------
# Questions
# ------------------------------------------------------------------------------------------------


def _questions_table(folder: Path, repeat: int) -> None:
    from assistant import InvalidQuery, Searcher, Settings, answer, build_index, regions_overview

    settings = Settings()
    build_index(REPO / "corpus", folder / "index", settings=settings)
    searcher = Searcher(folder / "index", settings=settings)
    megabyte = QUESTION + " " + ("программа " * (MB // 10))[:MB]
    entry_points = {
        **{
            f"search ({mode})": (lambda q, m=mode: searcher.search(q, k=5, mode=m))
            for mode in ("dense", "keyword", "hybrid")
        },
        "answer": lambda q: answer(q, settings=settings, searcher=searcher),
        "regions_overview": lambda q: regions_overview(q, settings=settings, searcher=searcher),
    }
    for run in entry_points.values():  # warm-up
        run(QUESTION)
    print(f"\nQuestions: the sample corpus, real model; median of {repeat} runs, interleaved.\n")
    print("| entry point | ordinary question | the same + 1 MB of text (refused) | ratio |")
    print("|---|---:|---:|---:|")
    for name, run in entry_points.items():
        times: dict[str, list[float]] = {"ordinary": [], "megabyte": []}
        for _ in range(repeat):
            for kind, question in (("ordinary", QUESTION), ("megabyte", megabyte)):
                started = time.perf_counter()
                try:
                    run(question)
                except InvalidQuery:  # longer than max_question_chars
                    pass
                times[kind].append(time.perf_counter() - started)
        ordinary, huge = statistics.median(times["ordinary"]), statistics.median(times["megabyte"])
        print(f"| {name} | {1000 * ordinary:.1f} ms | {1000 * huge:.1f} ms | {huge / ordinary:.0f} |")


def _region_detection(repeat: int) -> None:
    """``detect_region`` runs on every document of a build without a declared region."""
    from assistant.regions import detect_region

    paragraph = (REPO / "corpus" / "000_8e621c451e969ccc.txt").read_text(encoding="utf-8")
    print(f"\n| text | region detection (best of {repeat}) |\n|---|---:|")
    for size in (len(paragraph), 100_000, 1_000_000):
        text = (paragraph * (size // len(paragraph) + 1))[:size]
        detect_region(text)
        best = min(_seconds(detect_region, text) for _ in range(repeat))
        print(f"| the sample document repeated to {size:,} characters | {1000 * best:.1f} ms |")


def _seconds(function, *args) -> float:
    started = time.perf_counter()
    function(*args)
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
