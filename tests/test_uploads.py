"""Changing the corpus from the browser: uploads saved whole and with who sent them, limits, removals, the audit log.

The core of it (``ui/uploads.py``, ``assistant/audit.py``) runs on real files; the documents
tab's handlers run on a real index built with the fake embedder, without a server.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from assistant import Searcher, Settings, audit, build_index, files
from assistant.documents import iter_corpus_files, load_document
from ui import uploads

from .conftest import FakeEmbedder, import_resource

SETTINGS = Settings(chunk_tokens=40, chunk_overlap=5)
LAW = "Закон о языках. Статья 1. Государственным языком является казахский язык.\n" * 20


def upload_file(folder: Path, name: str, content: str | bytes) -> Path:
    path = folder / "browser" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


# ---------------------------------------------------------------------------------------------
# Saving an upload
# ---------------------------------------------------------------------------------------------


def test_an_upload_has_a_sidecar_saying_who_sent_it_and_when(tmp_path):
    corpus, log = tmp_path / "corpus", tmp_path / "audit.jsonl"
    source = upload_file(tmp_path, "закон.md", LAW)
    saved = uploads.save_upload(
        source, corpus, metadata={"region": "Astana"}, uploader="editor\x1b[31m 1", audit_log=log
    )
    sidecar = yaml.safe_load(saved.sidecar.read_text(encoding="utf-8"))
    assert sidecar["origin"] == "uploaded" and sidecar["added_by"] == "editor [31m 1"  # no terminal escape kept
    assert sidecar["region"] == "Astana" and sidecar["added_at"].endswith("Z")
    assert saved.sha256 == hashlib.sha256(LAW.encode()).hexdigest()
    document = load_document(saved.path, corpus)
    assert (document.provenance.origin, document.provenance.added_by) == ("uploaded", "editor [31m 1")
    assert document.provenance.file_sha256 == saved.sha256
    (entry,) = audit.read_entries(log)
    assert (entry.action, entry.user, entry.document, entry.sha256, entry.name) == (
        "upload", "editor [31m 1", "закон.md", saved.sha256, "закон.md",
    )  # fmt: skip
    nobody = uploads.save_upload(upload_file(tmp_path, "other.txt", "Другой текст."), corpus)
    assert yaml.safe_load(nobody.sidecar.read_text(encoding="utf-8"))["added_by"] == "anonymous"


def test_a_build_at_any_moment_of_an_upload_sees_nothing_or_the_whole_file_with_its_sidecar(tmp_path, monkeypatch):
    """Every flush of the upload is a moment a concurrent build could scan the corpus."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    content = ("Постановление акимата. " * 50_000).encode()  # several blocks of the copy loop
    seen = []
    real_sync = files.sync

    def scan_then_sync(handle):
        real_sync(handle)
        for path in iter_corpus_files(corpus):
            sidecar = path.with_name(path.name + uploads.SIDECAR_SUFFIX)
            seen.append((path.name, path.read_bytes() == content, sidecar.is_file()))

    monkeypatch.setattr(files, "sync", scan_then_sync)
    saved = uploads.save_upload(upload_file(tmp_path, "decree.txt", content), corpus)
    assert seen == []  # flushing the copy, then the sidecar: the document was not there yet
    scan_then_sync(open(saved.path, "rb"))
    assert seen == [("decree.txt", True, True)]
    assert sorted(path.name for path in corpus.iterdir()) == ["decree.txt", "decree.txt.meta.yaml"]  # no leftovers


def test_a_refused_or_failed_upload_leaves_nothing_behind(tmp_path, monkeypatch):
    corpus = tmp_path / "corpus"
    corpus.mkdir()

    def broken_link(source, target):
        raise PermissionError("disk gone read-only")

    monkeypatch.setattr(uploads.os, "link", broken_link)
    monkeypatch.setattr(uploads.os, "rename", broken_link)
    with pytest.raises(PermissionError):
        uploads.save_upload(upload_file(tmp_path, "a.txt", "Текст."), corpus)
    assert list(corpus.iterdir()) == []  # neither the hidden copy nor an orphan sidecar


def test_the_corpus_quota_refuses_what_does_not_fit(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "old.txt").write_bytes(b"x" * 1000)
    (corpus / "sub").mkdir()
    (corpus / "sub" / "old.txt.meta.yaml").write_bytes(b"y" * 24)
    assert uploads.corpus_bytes(corpus) == 1024
    with pytest.raises(uploads.UploadRejected) as caught:
        uploads.save_upload(upload_file(tmp_path, "big.txt", "z" * 101), corpus, room_bytes=100)
    assert caught.value.reason == "quota" and "room for 100" in str(caught.value)
    assert sorted(path.name for path in corpus.iterdir()) == ["old.txt", "sub"]
    assert uploads.save_upload(upload_file(tmp_path, "fits.txt", "z" * 100), corpus, room_bytes=100).path.is_file()


# ---------------------------------------------------------------------------------------------
# Removing a document, and the log of both
# ---------------------------------------------------------------------------------------------


def test_removing_a_document_deletes_it_and_its_sidecar_and_logs_the_hash(tmp_path):
    corpus, log = tmp_path / "corpus", tmp_path / "audit.jsonl"
    saved = uploads.save_upload(upload_file(tmp_path, "law.txt", LAW), corpus, audit_log=log)
    removed = uploads.remove_document(corpus, "law.txt", user="editor1", title="Закон о языках", audit_log=log)
    assert removed.sha256 == saved.sha256
    assert list(corpus.iterdir()) == []
    newest, oldest = audit.read_entries(log)
    assert (oldest.action, newest.action) == ("upload", "delete")
    assert (newest.user, newest.document, newest.sha256) == ("editor1", "law.txt", saved.sha256)
    assert newest.title == "Закон о языках"


@pytest.mark.parametrize(
    "doc_id",
    ["missing.txt", "../outside.txt", "/etc/passwd", ".audit.jsonl", "kept.txt.meta.yaml", "sub", "sub/../kept.txt", ""],
)
def test_only_a_document_of_the_corpus_can_be_removed(tmp_path, doc_id):
    corpus = tmp_path / "corpus"
    (corpus / "sub").mkdir(parents=True)
    (corpus / "kept.txt").write_text("Текст.", encoding="utf-8")
    (corpus / "kept.txt.meta.yaml").write_text("region: Astana\n", encoding="utf-8")
    (corpus / ".audit.jsonl").write_text("", encoding="utf-8")
    (tmp_path / "outside.txt").write_text("Чужой.", encoding="utf-8")
    with pytest.raises(uploads.RemovalRefused):
        uploads.remove_document(corpus, doc_id)
    assert (corpus / "kept.txt").is_file() and (corpus / "kept.txt.meta.yaml").is_file()
    assert (tmp_path / "outside.txt").is_file()


def test_the_audit_log_is_only_ever_appended_to(tmp_path):
    log = tmp_path / "log" / "audit.jsonl"
    audit.record(log, "upload", user="a", document="one.txt", sha256="1" * 64, name="one.txt")
    first = log.read_bytes()
    inode = log.stat().st_ino
    audit.record(log, "delete", user="b", document="one.txt", sha256="1" * 64, title="T\n\x1b[2Jx" * 200)
    assert log.read_bytes().startswith(first) and log.stat().st_ino == inode
    lines = log.read_bytes().splitlines()
    assert len(lines) == 2 and all(json.loads(line) for line in lines)
    assert len(json.loads(lines[1])["title"]) == audit.FIELD_CHARS and "\x1b" not in lines[1].decode()
    with open(log, "ab") as damaged:
        damaged.write(b'{"time": "x", "action": "format disk"}\nnot json\n\xff\xfe\n')
    audit.record(log, "upload", user="c", document="two.txt", sha256="2" * 64)
    assert [entry.user for entry in audit.read_entries(log)] == ["c", "b", "a"]  # newest first, damage skipped
    assert [entry.user for entry in audit.read_entries(log, last=1)] == ["c"]
    assert audit.read_entries(tmp_path / "none.jsonl") == ()
    with pytest.raises(ValueError, match="unknown audit action"):
        audit.record(log, "rename", user="c", document="two.txt", sha256="")


def test_settings_for_uploads_have_defaults_and_are_checked(tmp_path):
    defaults = Settings()
    assert (defaults.upload_max_mb, defaults.upload_max_files, defaults.corpus_max_mb) == (20.0, 20, 1024.0)
    assert Settings(corpus_dir=tmp_path).audit_log_path == tmp_path / ".audit.jsonl"
    configured = Settings.from_env({"ASSISTANT_AUDIT_LOG": str(tmp_path / "a.jsonl"), "ASSISTANT_UPLOAD_MAX_FILES": "3"})
    assert (configured.audit_log_path, configured.upload_max_files) == (tmp_path / "a.jsonl", 3)
    for bad in ({"upload_max_mb": 0}, {"corpus_max_mb": float("nan")}, {"upload_max_files": 0}):
        with pytest.raises(Exception, match="upload_max|corpus_max"):
            Settings(**bad)


# ---------------------------------------------------------------------------------------------
# The documents tab's handlers, on a real index
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def service(tmp_path):
    import_resource("gradio", "gradio, the web chat's library, is not installed: pip install -e .")
    from ui.service import Service

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "law.txt").write_text(LAW, encoding="utf-8")
    (corpus / "law.txt.meta.yaml").write_text("title: Закон о языках\n", encoding="utf-8")
    settings = SETTINGS.with_(corpus_dir=corpus, index_dir=tmp_path / "index", upload_max_files=2)
    build_index(settings=settings, embedder=FakeEmbedder())
    return Service(settings, Searcher(settings.index_dir, settings=settings, embedder=FakeEmbedder()))


def request_of(username: str | None) -> SimpleNamespace:
    return SimpleNamespace(username=username)


def test_an_upload_names_the_logged_in_user_and_a_duplicate_by_its_title(service, tmp_path):
    from ui.documents_tab import save_files

    corpus = service.settings.corpus_dir
    new = upload_file(tmp_path, "новый.txt", "Новый документ о дорогах.")
    status, _ = save_files(service, [str(new)], None, "", "", None, "en", request_of("aigul"))
    assert status.splitlines()[0] == "Saved: новый.txt"
    assert yaml.safe_load((corpus / "новый.txt.meta.yaml").read_text(encoding="utf-8"))["added_by"] == "aigul"
    copy = upload_file(tmp_path, "копия.txt", LAW)
    status, _ = save_files(service, [str(copy)], None, "", "", None, "en", request_of(None))
    assert status == "Not accepted: копия.txt — the same file is already in the corpus: “Закон о языках”"
    entries = audit.read_entries(service.settings.audit_log_path)
    assert [(entry.action, entry.user, entry.document) for entry in entries] == [("upload", "aigul", "новый.txt")]


def test_too_many_files_or_too_little_room_are_refused_with_a_reason(service, tmp_path):
    from ui.documents_tab import save_files

    limit = 10_485  # bytes in 0.01 MB
    size = (limit - uploads.corpus_bytes(service.settings.corpus_dir)) * 3 // 5  # room for one file, not two
    paths = [str(upload_file(tmp_path, f"{n}.txt", str(n) * size)) for n in range(3)]
    status, _ = save_files(service, paths, None, "", "", None, "ru", None)
    assert status == "Не более 2 файлов за раз, выбрано 3: ничего не сохранено."
    assert not (service.settings.corpus_dir / "0.txt").exists()
    tight = SimpleNamespace(
        documents=service.documents, settings=service.settings.with_(corpus_max_mb=0.01), access=service.access
    )
    status, _ = save_files(tight, paths[:2], None, "", "", None, "en", None)
    assert status.splitlines() == [
        "Saved: 0.txt",
        "Not accepted: 1.txt — no room left in the corpus (its limit is 0.01 MB)",
        "Press Rebuild index to make the new files searchable.",
    ]
    assert not (service.settings.corpus_dir / "1.txt").exists()


def test_removing_from_the_documents_tab_deletes_and_shows_the_log(service):
    from ui.documents_tab import audit_table, remove_file

    status, _, table = remove_file(service, "law.txt", "en", request_of("editor1"))
    assert status == "Removed: “Закон о языках”. Press Rebuild index to take it out of the search."
    assert not (service.settings.corpus_dir / "law.txt").exists()
    assert table["data"][0][1:5] == ["removal", "editor1", "law.txt", "Закон о языках"]
    assert audit_table(service, "ru")["data"][0][1] == "удаление"
    status, _, _ = remove_file(service, "law.txt", "en", request_of("editor1"))
    assert status == "No such document in the corpus (it may have been removed already)."
    status, _, _ = remove_file(service, None, "en", None)
    assert status == "Choose a document to remove."


def test_the_servers_own_upload_limit_follows_the_setting():
    import_resource("gradio", "gradio, the web chat's library, is not installed: pip install -e .")
    from ui.app import launch_options

    assert launch_options()["max_file_size"] == "20mb"
    assert launch_options(settings=Settings(upload_max_mb=50))["max_file_size"] == "50mb"


def test_no_change_of_the_corpus_goes_unlogged(tmp_path):
    corpus, log = tmp_path / "corpus", tmp_path / "log-is-a-folder"
    log.mkdir()  # the log cannot be written
    with pytest.raises(IsADirectoryError):
        uploads.save_upload(upload_file(tmp_path, "law.txt", LAW), corpus, audit_log=log)
    assert list(corpus.iterdir()) == []  # the upload is undone
    (corpus / "kept.txt").write_text("Текст.", encoding="utf-8")
    with pytest.raises(IsADirectoryError):
        uploads.remove_document(corpus, "kept.txt", audit_log=log)
    assert (corpus / "kept.txt").is_file()  # not removed


def test_a_rebuild_refused_or_done_updates_the_status_and_the_whole_listing(service):
    from assistant.store import build_lock
    from ui.documents_tab import LISTING_OUTPUTS, rebuild, refresh_documents

    assert len(refresh_documents(service, "ru")) == LISTING_OUTPUTS
    with build_lock(service.settings.index_dir, 0):
        refused = rebuild(service, "ru", request_of("editor1"))
    assert "уже перестраивается" in refused[0] and len(refused) == 1 + LISTING_OUTPUTS
