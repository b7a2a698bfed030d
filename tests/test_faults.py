"""Faults, nothing lost: builds killed at random moments, full disks, damaged index files, and a
searcher that keeps answering through all of it (issue #6; results in docs/reliability.md).

Builds here use the fake embedder of ``conftest.py``. Killed builds run in real child processes
started from a ``forkserver`` that has imported the package once, so twenty kills cost seconds,
not twenty interpreter start-ups; the child embeds slowly and syncs to disk slowly on purpose so
that there is time to kill it in every stage (reading, embedding chunks, embedding sentences,
writing, switching the pointer).
"""

from __future__ import annotations

import errno
import itertools
import json
import multiprocessing
import os
import random
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from assistant import AssistantError, IndexCorrupt, ModelMismatch, Searcher, Settings, build_index
from assistant.store import BUILDS, LOCK, POINTER, load_index, read_pointer

from .conftest import FakeEmbedder
from .test_build import TEXTS, write_corpus

SETTINGS = Settings(chunk_tokens=40, chunk_overlap=5)
QUESTIONS = (
    "цифровизация государственных услуг в районе",
    "водоснабжение сел и ремонт дорог",
    "аким поручил построить школы",
    "Атырау нефтехимия",
)
MODES = ("hybrid", "dense", "keyword")
STAGES = ("reading", "chunks", "sentences", "writing", "pointer")

_REGIONS = ("Актюбинская", "Атырауская", "Павлодарская", "Карагандинская", "Жамбылская", "Туркестанская")
_TOPICS = (
    "цифровизация государственных услуг", "водоснабжение сел", "ремонт дорог", "строительство школ",
    "новые поликлиники", "инвестиции в переработку", "сельское хозяйство", "подготовка к зиме",
)  # fmt: skip


def document_text(number: int, version: int = 0) -> str:
    """A small regional news item; ``version`` changes its wording (and so its vectors)."""
    rng = random.Random(number * 1000 + version)
    paragraphs = [
        f"Документ {number}, редакция {version}. {rng.choice(_REGIONS)} область обсудила "
        f"{rng.choice(_TOPICS)}, {rng.choice(_TOPICS)} и {rng.choice(_TOPICS)}. Аким поручил завершить "
        f"работы до {2025 + part} года в районе номер {number % 17}, отметка v{version}x{number}."
        for part in range(rng.randint(2, 5))
    ]
    return "\n\n".join(paragraphs)


def write_documents(corpus: Path, numbers, version: int = 0) -> None:
    corpus.mkdir(parents=True, exist_ok=True)
    for number in numbers:
        (corpus / f"doc-{number:04d}.txt").write_text(document_text(number, version), encoding="utf-8")


def answers(index: Path, searcher: Searcher | None = None) -> dict:
    """Every question's passages in every mode: what a user would see."""
    searcher = searcher or Searcher(index, embedder=FakeEmbedder())
    return {(question, mode): searcher.search(question, k=5, mode=mode) for question in QUESTIONS for mode in MODES}


def debris(index: Path) -> list[str]:
    """Anything in an index folder a finished build does not leave: staging folders, temporary pointers."""
    expected = {POINTER, BUILDS, ".build.lock"}
    stray = [path.name for path in index.iterdir() if path.name not in expected]
    builds = index / BUILDS
    stray += (
        [f"{BUILDS}/{path.name}" for path in builds.iterdir() if path.name.startswith(".")] if builds.is_dir() else []
    )
    return stray


# ------------------------------------------------------------------------------------------------
# Builds killed with SIGKILL
# ------------------------------------------------------------------------------------------------


def _slow_build(corpus: str, index: str, events: str, delay: float) -> None:
    """Child process: a build whose embedder and disk are slow, logging each stage as it starts."""
    from assistant import files, store, stores

    with open(events, "a", buffering=1, encoding="utf-8") as log:  # line-buffered: each event on disk at once

        def note(stage: str) -> None:
            log.write(f"{stage} {time.monotonic():.6f}\n")

        class SlowEmbedder(FakeEmbedder):
            def embed_passages(self, texts, *, progress=None):
                parts = []
                for start in range(0, len(texts), 16):
                    time.sleep(delay)
                    parts.append(super().embed_passages(texts[start : start + 16], progress=progress))
                return np.concatenate(parts) if parts else np.zeros((0, self.dimension), np.float32)

        seen: set[str] = set()

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in seen:
                seen.add(stage)
                note(stage)

        def slowly(function: Callable, stage: str | None = None) -> Callable:
            def wrapper(*args, **kwargs):
                if stage:
                    note(stage)
                time.sleep(delay)
                return function(*args, **kwargs)

            return wrapper

        stores.write_build = slowly(stores.write_build, "writing")  # what a build into a folder calls
        store._replace_pointer = slowly(store._replace_pointer, "pointer")
        files.sync_path = slowly(files.sync_path)  # a slow disk: every fsync of a file or folder waits
        note("reading")
        build_index(corpus, index, settings=SETTINGS, embedder=SlowEmbedder(), progress=progress)
        note("done")


@pytest.fixture(scope="module")
def forkserver():
    """A multiprocessing context whose children start with the package already imported."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["tests.test_faults"])
    return context


def _events(path: Path) -> list[tuple[str, float]]:
    if not path.exists():
        return []
    events = []
    for line in path.read_text(encoding="utf-8").splitlines():
        stage, _, moment = line.partition(" ")
        if moment:
            events.append((stage, float(moment)))
    return events


def _start(forkserver, corpus: Path, index: Path, events: Path, delay: float):
    events.unlink(missing_ok=True)
    process = forkserver.Process(target=_slow_build, args=(str(corpus), str(index), str(events), delay), daemon=True)
    process.start()
    return process


def _wait_for(events: Path, stage: str, process, timeout: float = 60.0) -> float | None:
    """When ``stage`` began (monotonic clock), or ``None`` if the build ended without reaching it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for name, moment in _events(events):
            if name == stage:
                return moment
        if not process.is_alive():
            return None
        time.sleep(0.002)
    raise AssertionError(f"the build never reached {stage}: {_events(events)}")


def _stage_lengths(forkserver, corpus: Path, index: Path, events: Path, delay: float) -> dict[str, float]:
    """Run one slow build to the end on a copy of the index and time its stages."""
    scratch = index.parent / "calibration"
    shutil.rmtree(scratch, ignore_errors=True)
    shutil.copytree(index, scratch)
    process = _start(forkserver, corpus, scratch, events, delay)
    process.join(120)
    assert process.exitcode == 0, "the calibration build failed"
    moments = dict(_events(events))
    shutil.rmtree(scratch)
    order = [stage for stage in (*STAGES, "done") if stage in moments]
    return {stage: moments[after] - moments[stage] for stage, after in itertools.pairwise(order)}


def _change_corpus(corpus: Path, round_number: int) -> set[str]:
    """Rewrite a quarter of the documents, delete one and add one; returns the changed ids."""
    numbers = [n for n in range(300) if n % 4 == round_number % 4][:60]
    write_documents(corpus, numbers, version=round_number + 1)
    (corpus / f"doc-{(round_number * 7 + 1) % 300:04d}.txt").unlink(missing_ok=True)
    write_documents(corpus, [300 + round_number], version=round_number + 1)
    return {f"doc-{n:04d}.txt" for n in numbers} | {f"doc-{300 + round_number:04d}.txt"}


@pytest.mark.slow
def test_builds_killed_at_twenty_random_moments_lose_nothing(tmp_path, forkserver):
    """SIGKILL a build of 300 documents at 20 seeded random moments spread over its five stages:
    each time the previous build keeps serving the same answers, and the next build succeeds."""
    corpus, index, events = tmp_path / "corpus", tmp_path / "index", tmp_path / "events.log"
    write_documents(corpus, range(300))
    first = build_index(corpus, index, settings=SETTINGS, embedder=FakeEmbedder())
    assert first.documents == 300 and first.chunks > 600
    delay = 0.004
    _change_corpus(corpus, 0)
    lengths = _stage_lengths(forkserver, corpus, index, events, delay)
    assert set(lengths) >= {"reading", "chunks", "sentences", "writing", "pointer"}, lengths
    rng = random.Random(6)  # issue #6
    long_lived = Searcher(index, embedder=FakeEmbedder())
    killed_in: list[str] = []
    for round_number in range(20):
        changed = _change_corpus(corpus, round_number)
        before_pointer = read_pointer(index)
        before = answers(index)
        stage = STAGES[round_number % len(STAGES)]
        process = _start(forkserver, corpus, index, events, delay)
        began = _wait_for(events, stage, process)
        assert began is not None, f"round {round_number}: the build ended before {stage}"
        time.sleep(max(0.0, began + rng.uniform(0.0, lengths[stage]) - time.monotonic()))
        process.kill()
        process.join(30)
        reached = _events(events)[-1][0]
        killed_in.append("reading" if reached == "documents" else reached)  # "documents": the first file is read
        if reached == "done" or read_pointer(index) != before_pointer:
            # Killed after the new build was put in service: it must be whole.
            assert load_index(index).manifest.documents
        else:
            assert load_index(index).path.name == before_pointer
            assert answers(index) == before, f"round {round_number}: answers changed after a kill in {reached}"
            assert answers(index, long_lived) == before
        report = build_index(corpus, index, settings=SETTINGS, embedder=FakeEmbedder())
        assert report.failed == () and report.documents == len(list(corpus.glob("*.txt")))
        assert debris(index) == [], f"round {round_number}: left behind {debris(index)}"
        marker = min(changed)
        hits = long_lived.search(f"отметка v{round_number + 1}x{int(marker[4:8])}", k=3, mode="keyword")
        assert hits and hits[0].doc_id == marker
    assert {"reading", "chunks", "sentences", "writing", "pointer"} <= set(killed_in), killed_in


# ------------------------------------------------------------------------------------------------
# A full disk
# ------------------------------------------------------------------------------------------------


def _disk_full(
    function: Callable,
    fail_from: int,
    calls: list[int],
    writes: Callable = lambda *a, **k: True,
    error: Callable | None = None,
) -> Callable:
    """``function``, failing with ENOSPC from its ``fail_from``-th writing call on (a disk stays full)."""

    def wrapper(*args, **kwargs):
        if not writes(*args, **kwargs):
            return function(*args, **kwargs)
        calls[0] += 1
        if fail_from and calls[0] >= fail_from:
            raise error() if error else OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return function(*args, **kwargs)

    return wrapper


def _faiss_write_error() -> RuntimeError:
    # What faiss.write_index raises on a full disk (seen writing to /dev/full).
    return RuntimeError(
        "Error in void faiss::write_index(const Index*, IOWriter*, int) at index_write.cpp:499: "
        "Error: 'ret == (size * 4)' failed: write error in faiss.index: 4051 != 32000 (No space left on device)"
    )


def _hook(monkeypatch, where: str, fail_from: int) -> list[int]:
    """Patch one way of writing files; returns the live call counter."""
    import faiss

    from assistant import files, parts, store

    calls = [0]
    if where == "open":  # every file the store writes itself, and the temporary CURRENT

        def writing(file, mode="r", *args, **kwargs) -> bool:
            return any(flag in mode for flag in "wax+")

        failing_open = _disk_full(open, fail_from, calls, writing)
        for module in (store, parts, files):
            monkeypatch.setattr(module, "open", failing_open, raising=False)
    elif where == "numpy.save":  # vectors, sentence files, keyword and BM25 arrays, signatures
        monkeypatch.setattr(np, "save", _disk_full(np.save, fail_from, calls))
    elif where == "faiss.write_index":
        monkeypatch.setattr(
            faiss, "write_index", _disk_full(faiss.write_index, fail_from, calls, error=_faiss_write_error)
        )
    elif where == "Path.write_text":  # vocabulary, keyword parameters, duplicate groups
        monkeypatch.setattr(Path, "write_text", _disk_full(Path.write_text, fail_from, calls))
    elif where == "os.fsync":  # a write error that surfaces only when the data is flushed
        monkeypatch.setattr(os, "fsync", _disk_full(os.fsync, fail_from, calls))
    elif where == "os.replace":  # the pointer switch itself
        monkeypatch.setattr(os, "replace", _disk_full(os.replace, fail_from, calls))
    return calls


WRITERS = ("open", "numpy.save", "faiss.write_index", "Path.write_text", "os.fsync", "os.replace")


@pytest.mark.parametrize("where", WRITERS)
def test_a_full_disk_at_any_write_fails_the_build_cleanly(tmp_path, fake_embedder, where):
    """Fail every write of one kind from its n-th call on, for every n a build makes: the build
    fails with a message naming the problem, the previous index keeps serving the same answers,
    nothing half-written stays behind, and once there is room again the next build succeeds."""
    corpus, index = write_corpus(tmp_path / "corpus"), tmp_path / "index"
    build_index(corpus, index, settings=SETTINGS, embedder=fake_embedder)
    (corpus / "new-0.txt").write_text("Павлодар представил план цифровизации школ.", encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:  # count the writes of one successful build
        counted = _hook(patch, where, 0)
        shutil.copytree(index, tmp_path / "count")
        build_index(corpus, tmp_path / "count", settings=SETTINGS, embedder=FakeEmbedder())
    assert counted[0] >= 1, f"a build never calls {where}"
    for attempt in range(1, counted[0] + 1):
        (corpus / f"new-{attempt}.txt").write_text(f"Новый документ {attempt} о дорогах.", encoding="utf-8")
        pointer, before = read_pointer(index), answers(index)
        builds = sorted(path.name for path in (index / BUILDS).iterdir())
        with pytest.MonkeyPatch.context() as patch:
            _hook(patch, where, attempt)
            try:
                build_index(corpus, index, settings=SETTINGS, embedder=fake_embedder)
            except AssistantError as error:
                message = str(error)
            else:
                # Only the sync of the index folder after the switch may fail without failing the
                # build: the new build is in service by then (and the old one is kept).
                assert (where, attempt) == ("os.fsync", counted[0]), f"write {attempt} of {where} did not fail"
                assert read_pointer(index) != pointer and debris(index) == []
                continue
        assert "No space left on device" in message and str(index) in message, message
        assert read_pointer(index) == pointer, f"write {attempt} of {where}: the pointer moved"
        assert answers(index) == before
        assert debris(index) == [], f"write {attempt} of {where} left {debris(index)}"
        assert sorted(path.name for path in (index / BUILDS).iterdir()) == builds  # no unserved build either
    report = build_index(corpus, index, settings=SETTINGS, embedder=fake_embedder)
    assert report.failed == () and report.documents == len(TEXTS) + counted[0] + 1
    assert Searcher(index, embedder=fake_embedder).search("Павлодар цифровизации школ", k=1)[0].doc_id == "new-0.txt"
    assert debris(index) == [] and len(list((index / BUILDS).iterdir())) <= 2


def test_a_full_disk_is_one_line_from_the_command_line(tmp_path, monkeypatch, capsys):
    import assistant.build
    from ui.cli import main

    corpus, index = write_corpus(tmp_path / "corpus"), tmp_path / "index"
    monkeypatch.setattr(assistant.build, "load_embedder", lambda *args, **kwargs: FakeEmbedder())
    assert main(["build", "--corpus", str(corpus), "--index", str(index)]) == 0
    (corpus / "new.txt").write_text("Павлодар представил план.", encoding="utf-8")
    capsys.readouterr()
    with pytest.MonkeyPatch.context() as patch:
        _hook(patch, "numpy.save", 2)
        assert main(["build", "--corpus", str(corpus), "--index", str(index)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("assistant: error:") and err.count("\n") == 1, err
    assert "No space left on device" in err and "Traceback" not in err


def test_a_lock_that_cannot_be_taken_is_one_line_and_changes_nothing(tmp_path, monkeypatch, capsys):
    """A full disk when the build lock file is created, or a file where the index folder should be:
    both were tracebacks (the lock was taken outside the build's error handling)."""
    import assistant.build
    from ui.cli import main

    corpus, index = write_corpus(tmp_path / "corpus"), tmp_path / "index"
    monkeypatch.setattr(assistant.build, "load_embedder", lambda *args, **kwargs: FakeEmbedder())
    assert main(["build", "--corpus", str(corpus), "--index", str(index)]) == 0
    pointer, before = read_pointer(index), answers(index)
    (corpus / "new.txt").write_text("Павлодар представил план.", encoding="utf-8")
    (index / LOCK).unlink(missing_ok=True)  # creating it anew needs room on the disk
    real_open = os.open

    def full_disk_for_the_lock(path, *args, **kwargs):
        if str(path).endswith(LOCK):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_open(path, *args, **kwargs)

    capsys.readouterr()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(os, "open", full_disk_for_the_lock)
        assert main(["build", "--corpus", str(corpus), "--index", str(index)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("assistant: error: cannot take the build lock") and err.count("\n") == 1, err
    assert "No space left on device" in err and str(index) in err
    assert read_pointer(index) == pointer and answers(index) == before and debris(index) == []

    (tmp_path / "notes.txt").write_text("not a folder", encoding="utf-8")
    assert main(["build", "--corpus", str(corpus), "--index", str(tmp_path / "notes.txt" / "index")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Not a directory" in err and "Traceback" not in err, err
    assert main(["build", "--corpus", str(corpus), "--index", str(index)]) == 0  # room again
    assert Searcher(index, embedder=FakeEmbedder()).search("Павлодар представил план", k=1)[0].doc_id == "new.txt"


# ------------------------------------------------------------------------------------------------
# An index damaged on purpose
# ------------------------------------------------------------------------------------------------


def _same_size(path: Path, edit: Callable[[bytes], bytes]) -> None:
    data = path.read_bytes()
    changed = edit(data)
    assert len(changed) == len(data) and changed != data
    path.write_bytes(changed)


def _garble_header(data: bytes) -> bytes:
    return data[:10] + b"X" * 20 + data[30:]  # inside the .npy header (or the JSON's first keys)


def _manifest(build: Path, change: Callable[[dict], None]) -> None:
    data = json.loads((build / "manifest.json").read_text(encoding="utf-8"))
    change(data)
    (build / "manifest.json").write_text(json.dumps(data), encoding="utf-8")


# (what is damaged, how, the words the error must contain). Truncating faiss.index, raising
# chunk_count, deleting chunks.jsonl and a bad chunk line are in test_build.py; a damaged
# keyword parameter file is in test_keywords.py.
DAMAGES = {
    "manifest not JSON": (
        lambda b: (b / "manifest.json").write_text('{"format_version": 1, "build', encoding="utf-8"),
        "manifest.json",
    ),
    "manifest missing": (lambda b: (b / "manifest.json").unlink(), "manifest.json is missing"),
    "manifest of a future format": (lambda b: _manifest(b, lambda m: m.update(format_version=99)), "format 99"),
    "manifest without documents": (lambda b: _manifest(b, lambda m: m.pop("documents")), "manifest.json"),
    "manifest with wrong document counts": (
        lambda b: _manifest(b, lambda m: m["documents"][0].update(chunks=m["documents"][0]["chunks"] + 5)),
        "row counts",
    ),
    "manifest with the wrong dimension": (
        lambda b: _manifest(b, lambda m: m["embedder"].update(dimension=384)),
        "dimension",
    ),
    "chunks.jsonl not UTF-8": (
        lambda b: _same_size(b / "chunks.jsonl", lambda d: d[:-8] + b"\xff" * 7 + d[-1:]),
        "chunks.jsonl",
    ),
    # The chunk columns (assistant.chunk_table): opening reads no record, so each is checked on its own.
    "chunks.jsonl first record edited": (
        lambda b: _same_size(b / "chunks.jsonl", lambda d: d.replace(b'"chunk_id"', b'"chunk_ix"', 1)),
        "chunks.jsonl",
    ),
    "chunk_offsets.npy edited": (
        lambda b: _same_size(b / "chunk_offsets.npy", lambda d: d[:-8] + (10**6).to_bytes(8, "little")),
        "chunk_offsets.npy",
    ),
    "chunk_offsets.npy header garbled": (lambda b: _same_size(b / "chunk_offsets.npy", _garble_header), "chunk_offsets"),
    "chunk_documents.npy edited": (
        lambda b: _same_size(b / "chunk_documents.npy", lambda d: d[:-4] + (99).to_bytes(4, "little")),
        "chunk_documents.npy",
    ),
    "chunk_ids.npy edited": (
        lambda b: _same_size(b / "chunk_ids.npy", lambda d: d[:-8] + (99).to_bytes(8, "little")),
        "chunk_ids.npy",
    ),
    "chunk_ids.npy missing": (lambda b: (b / "chunk_ids.npy").unlink(), "chunk_ids.npy"),
    "vectors.npy truncated": (lambda b: _truncate(b / "vectors.npy"), "vectors.npy"),
    "vectors.npy header garbled": (lambda b: _same_size(b / "vectors.npy", _garble_header), "vectors.npy"),
    "vectors.npy missing": (lambda b: (b / "vectors.npy").unlink(), "vectors.npy"),
    "faiss.index header garbled": (lambda b: _same_size(b / "faiss.index", _garble_header), "faiss.index"),
    "sentence_vectors.npy truncated": (lambda b: _truncate(b / "sentence_vectors.npy"), "sentence_vectors.npy"),
    "sentence_vectors.npy header garbled": (
        lambda b: _same_size(b / "sentence_vectors.npy", _garble_header),
        "sentence",
    ),
    "sentence_spans.npy truncated": (lambda b: _truncate(b / "sentence_spans.npy"), "sentence_spans.npy"),
    "sentence_offsets.npy edited": (
        lambda b: _same_size(b / "sentence_offsets.npy", lambda d: d[:-8] + (10**6).to_bytes(8, "little")),
        "sentence",
    ),
    "keywords/terms.npy truncated": (lambda b: _truncate(b / "keywords" / "terms.npy"), "terms.npy"),
    "keywords/terms.npy header garbled": (
        lambda b: _same_size(b / "keywords" / "terms.npy", _garble_header),
        "keywords",
    ),
    "keywords/vocabulary.json not JSON": (
        lambda b: _same_size(b / "keywords" / "vocabulary.json", lambda d: b"{" + d[1:]),
        "keywords",
    ),
    "keywords BM25 matrix header garbled": (
        lambda b: _same_size(b / "keywords" / "bm25" / "data.csc.index.npy", _garble_header),
        "keywords",
    ),
    "keywords BM25 vocabulary missing": (
        lambda b: (b / "keywords" / "bm25" / "vocab.index.json").unlink(),
        "vocab.index.json",
    ),
    "duplicates/groups.json not JSON": (
        lambda b: _same_size(b / "duplicates" / "groups.json", lambda d: b"[" + d[1:]),
        "duplicates",
    ),
    "duplicates/groups.json names an unknown document": (
        lambda b: _same_size(b / "duplicates" / "groups.json", lambda d: d.replace(b'"almaty.txt"', b'"almatz.txt"')),
        "duplicates",
    ),
    "duplicates/signatures.npy truncated": (lambda b: _truncate(b / "duplicates" / "signatures.npy"), "signatures.npy"),
    "duplicates/signatures.npy header garbled": (
        lambda b: _same_size(b / "duplicates" / "signatures.npy", _garble_header),
        "duplicates",
    ),
    "CURRENT names a build that is gone": (lambda b: shutil.rmtree(b), "manifest.json is missing"),
    # The pointer and the manifest name folders and files: none may lead out of the index (#20).
    # An absolute path to the real build, or "../<build>/chunks.jsonl", would have loaded.
    "CURRENT names a path out of the index": (lambda b: _point(b, "../../etc"), "not a build folder"),
    "CURRENT names an absolute path": (lambda b: _point(b, str(b.resolve())), "not a build folder"),
    "CURRENT names an unfinished build": (lambda b: _point(b, ".tmp-x"), "not a build folder"),
    "manifest lists a file out of its build": (
        lambda b: _manifest(b, lambda m: m["files"].update({f"../{b.name}/chunks.jsonl": m["files"]["chunks.jsonl"]})),
        "not inside",
    ),
    "manifest lists an absolute file": (
        lambda b: _manifest(
            b, lambda m: m["files"].update({str((b / "chunks.jsonl").resolve()): m["files"]["chunks.jsonl"]})
        ),
        "not inside",
    ),
    "manifest lists a link out of its build": (lambda b: _link_out(b), "not inside"),
}


def _point(build: Path, name: str) -> None:
    (build.parent.parent / POINTER).write_text(name + "\n", encoding="utf-8")


def _link_out(build: Path) -> None:
    """A listed file replaced by a link to a file of the same size outside the build."""
    outside = build.parent.parent.parent / "elsewhere.jsonl"
    shutil.copy(build / "chunks.jsonl", outside)
    (build / "chunks.jsonl").unlink()
    (build / "chunks.jsonl").symlink_to(outside)


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


@pytest.mark.parametrize("damage", list(DAMAGES))
def test_a_damaged_index_is_named_and_the_next_build_repairs_it(tmp_path, fake_embedder, damage):
    corpus, index = write_corpus(tmp_path / "corpus"), tmp_path / "index"
    build_index(corpus, index, settings=SETTINGS, embedder=fake_embedder)
    before = answers(index)
    harm, expected = DAMAGES[damage]
    harm(index / BUILDS / read_pointer(index))
    with pytest.raises(IndexCorrupt, match=expected.replace(".", r"\.")):
        Searcher(index, embedder=fake_embedder)
    report = build_index(corpus, index, settings=SETTINGS, embedder=fake_embedder)
    assert report.changed and report.documents == len(TEXTS)
    assert any("previous index unusable" in note for note in report.notes), report.notes
    assert answers(index) == before  # rebuilt from the same corpus: the same answers
    assert debris(index) == []


def test_an_index_of_another_model_is_refused_and_rebuilt_for_this_one(tmp_path, fake_embedder):
    corpus, index = write_corpus(tmp_path / "corpus"), tmp_path / "index"
    build_index(corpus, index, settings=SETTINGS, embedder=fake_embedder)
    _manifest(index / BUILDS / read_pointer(index), lambda m: m["embedder"].update(identity="someone-elses-model"))
    with pytest.raises(ModelMismatch, match="someone-elses-model"):
        Searcher(index, embedder=fake_embedder)
    report = build_index(corpus, index, settings=SETTINGS, embedder=fake_embedder)
    assert report.chunks_embedded == report.chunks and any("model changed" in note for note in report.notes)
    assert Searcher(index, embedder=fake_embedder).search("Атырау нефтехимия", k=1)[0].doc_id == "atyrau.txt"


def test_a_damaged_index_is_one_line_from_the_command_line(tmp_path, monkeypatch, capsys):
    import assistant.retrieval
    from ui.cli import main

    corpus, index = write_corpus(tmp_path / "corpus"), tmp_path / "index"
    embedder = FakeEmbedder()
    build_index(corpus, index, settings=SETTINGS, embedder=embedder)
    monkeypatch.setattr(assistant.retrieval, "load_embedder", lambda *args, **kwargs: embedder)
    _same_size(index / BUILDS / read_pointer(index) / "vectors.npy", _garble_header)
    assert main(["search", "Атырау", "--index", str(index)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("assistant: error:") and err.count("\n") == 1 and "vectors.npy" in err


# ------------------------------------------------------------------------------------------------
# A searcher answering while builds land, fail and die beside it
# ------------------------------------------------------------------------------------------------


class _Asker(threading.Thread):
    """Queries the index in a loop, in every mode; records every failure, and whether the build
    in service holds the document named by ``watch``."""

    def __init__(self, searcher: Searcher) -> None:
        super().__init__(daemon=True)
        self.searcher = searcher
        self.stop = threading.Event()
        self.watch = ""
        self.queries = 0
        self.failures: list[str] = []
        self.served: set[str] = set()

    def run(self) -> None:
        while not self.stop.is_set():
            for mode in MODES:
                try:
                    if not self.searcher.search("аким поручил завершить работы", k=5, mode=mode):
                        self.failures.append(f"no passages in {mode} mode")
                    watched = self.watch
                    if watched:
                        found = self.searcher.search("Павлодар план", k=1, mode=mode, filters={"doc_id": watched})
                        if found:
                            self.served.add(watched)
                except Exception as error:  # noqa: BLE001 - any failure is what this test counts
                    self.failures.append(f"{type(error).__name__}: {error}")
                self.queries += 1

    def sees(self, doc_id: str, timeout: float = 5.0) -> bool:
        self.watch = doc_id
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if doc_id in self.served:
                return True
            time.sleep(0.005)
        return False


@pytest.mark.slow
def test_a_searcher_keeps_answering_while_builds_land_fail_and_are_killed(tmp_path, forkserver, fake_embedder):
    corpus, index, events = tmp_path / "corpus", tmp_path / "index", tmp_path / "events.log"
    write_documents(corpus, range(120))
    build_index(corpus, index, settings=SETTINGS, embedder=fake_embedder)
    asker = _Asker(Searcher(index, embedder=FakeEmbedder()))
    asker.start()
    try:
        landed = 0
        for step in range(12):
            new = f"pavlodar-{step}.txt"
            (corpus / new).write_text(f"Павлодар представил план номер {step} по цифровизации.", encoding="utf-8")
            kind = ("lands", "disk full", "corrupt file", "killed")[step % 4]
            if kind == "lands":
                build_index(corpus, index, settings=SETTINGS, embedder=fake_embedder)
            elif kind == "disk full":
                with pytest.MonkeyPatch.context() as patch:
                    _hook(patch, "numpy.save", 1 + step % 5)
                    with pytest.raises(AssistantError, match="No space left"):
                        build_index(corpus, index, settings=SETTINGS, embedder=fake_embedder)
                assert not asker.sees(new, timeout=0.2)
                continue
            elif kind == "corrupt file":
                (corpus / f"broken-{step}.docx").write_bytes(b"PK\x03\x04 not a docx")
                report = build_index(corpus, index, settings=SETTINGS, embedder=fake_embedder)
                assert f"broken-{step}.docx" in [problem.path for problem in report.failed]
            else:
                process = _start(forkserver, corpus, index, events, 0.002)
                _wait_for(events, ("chunks", "writing")[step // 4 % 2], process)
                process.kill()
                process.join(30)
                build_index(corpus, index, settings=SETTINGS, embedder=fake_embedder)
            landed += 1
            assert asker.sees(new), f"step {step} ({kind}): the searcher never served the new build"
    finally:
        asker.stop.set()
        asker.join(30)
    assert asker.failures == [], asker.failures[:5]
    assert asker.queries > 100 and landed == 9


# --- permissions, as a user who is not root ------------------------------------------------------

NOBODY = 65534


def _build_as_nobody(corpus: str, index: str, result: str) -> None:
    """Drop to the ``nobody`` user, then build with the fake embedder; write what happened as JSON."""
    os.setgid(NOBODY)
    os.setuid(NOBODY)
    outcome: dict = {}
    try:
        report = build_index(corpus, index, settings=SETTINGS, embedder=FakeEmbedder())
        problems = report.failed + report.skipped
        outcome = {"added": report.added, "failed": {p.path: p.reason for p in problems}}
    except AssistantError as error:
        outcome = {"error": str(error), "kind": type(error).__name__}
    except Exception as error:  # noqa: BLE001 - the test reports any other exception as a defect
        outcome = {"crash": f"{type(error).__name__}: {error}"}
    Path(result).write_text(json.dumps(outcome, ensure_ascii=False), encoding="utf-8")


def _as_nobody(forkserver, corpus: Path, index: Path, scratch: Path) -> dict:
    result = scratch / f"result-{time.monotonic_ns()}.json"
    process = forkserver.Process(target=_build_as_nobody, args=(str(corpus), str(index), str(result)), daemon=True)
    process.start()
    process.join(120)
    assert process.exitcode == 0, f"the build process died with exit code {process.exitcode}"
    return json.loads(result.read_text(encoding="utf-8"))


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to switch to the nobody user (CI runs as root)")
def test_unreadable_files_and_folders_are_reported_and_an_unwritable_index_keeps_serving(tmp_path, forkserver):
    import tempfile

    # tmp_path's parents are private to root: work in a folder the nobody user can reach.
    scratch = Path(tempfile.mkdtemp(prefix="kz-perm-"))
    try:
        scratch.chmod(0o777)
        corpus = write_corpus(scratch / "corpus", TEXTS)
        (corpus / "secret.txt").write_text("Секретный приказ о цифровизации.", encoding="utf-8")
        (corpus / "secret.txt").chmod(0o000)
        (corpus / "closed").mkdir()
        (corpus / "closed" / "inside.txt").write_text("Документ в закрытой папке.", encoding="utf-8")
        (corpus / "closed").chmod(0o000)
        for path in [corpus, *corpus.rglob("*")]:
            if path.name not in ("secret.txt", "closed") and path.parent.name != "closed":
                path.chmod(0o777 if path.is_dir() else 0o644)
        index = scratch / "index"
        index.mkdir(mode=0o777)
        index.chmod(0o777)

        first = _as_nobody(forkserver, corpus, index, scratch)
        assert "crash" not in first and "error" not in first, first
        assert first["added"] == len(TEXTS)
        failed = " ".join(f"{path}: {reason}" for path, reason in first["failed"].items())
        assert "secret.txt" in failed and "closed" in failed, first["failed"]
        assert "ermission" in failed or "доступ" in failed, failed  # the reason says why
        before = answers(index)

        # The index folder becomes read-only: the next build fails with a clear message, and the
        # index in service is untouched.
        (corpus / "new.txt").write_text("Новый документ о ремонте дорог в районе.", encoding="utf-8")
        (corpus / "new.txt").chmod(0o644)
        for path in [index, *index.rglob("*")]:
            if path.is_dir():
                path.chmod(0o555)
        second = _as_nobody(forkserver, corpus, index, scratch)
        assert "crash" not in second, second
        assert second.get("kind") and "ermission" in second["error"], second
        assert str(index) in second["error"] or "index" in second["error"].lower(), second
        assert answers(index) == before
    finally:
        for path in [scratch, *scratch.rglob("*")]:
            try:
                path.chmod(0o777 if path.is_dir() else 0o644)
            except OSError:
                pass
        shutil.rmtree(scratch, ignore_errors=True)
