"""The command line with a PostgreSQL store: build --store, store copy, and one line for each way it cannot connect."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

import assistant.build
from assistant.database_store import DatabaseStore
from assistant.store import load_index
from tests.postgres import postgres_server, store_dsn  # noqa: F401
from ui.cli import main

from .conftest import REPO, FakeEmbedder
from .test_build import write_corpus

pytestmark = pytest.mark.postgres


@pytest.fixture
def fake_model(monkeypatch):
    """``assistant build`` in-process with the fake embedder and small chunks, whatever the environment holds."""
    embedder = FakeEmbedder()
    monkeypatch.setattr(assistant.build, "load_embedder", lambda *args, **kwargs: embedder)
    monkeypatch.setenv("ASSISTANT_CHUNK_TOKENS", "40")
    monkeypatch.setenv("ASSISTANT_CHUNK_OVERLAP", "5")
    monkeypatch.delenv("ASSISTANT_STORE", raising=False)
    return embedder


def test_build_into_the_database_writes_no_index_files(tmp_path, store_dsn, fake_model, capsys, monkeypatch):
    corpus = write_corpus(tmp_path / "corpus")
    monkeypatch.chdir(tmp_path)
    assert main(["build", "--corpus", str(corpus), "--store", store_dsn]) == 0
    out = capsys.readouterr().out
    assert "added 3" in out and "postgresql://postgres@" in out and "(build " in out
    assert sorted(path.name for path in tmp_path.iterdir()) == ["corpus"]  # no index/ anywhere
    assert len(DatabaseStore(store_dsn).load().documents) == 3
    # The setting does the same as the option.
    monkeypatch.setenv("ASSISTANT_STORE", store_dsn)
    assert main(["build", "--corpus", str(corpus), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["changed"] is False and report["build_path"] is None and report["unchanged"] == 3


def test_store_copy_both_ways(tmp_path, store_dsn, fake_model, capsys):
    corpus = write_corpus(tmp_path / "corpus")
    assert main(["build", "--corpus", str(corpus), "--index", str(tmp_path / "index")]) == 0
    capsys.readouterr()
    assert main(["store", "copy", "--from", str(tmp_path / "index"), "--to", store_dsn, "--json"]) == 0
    there = json.loads(capsys.readouterr().out)
    assert there["documents"] == 3 and there["target"].startswith("postgresql://postgres@")
    assert main(["store", "copy", "--from", store_dsn, "--to", str(tmp_path / "back")]) == 0
    assert "copied build" in capsys.readouterr().out
    assert list(load_index(tmp_path / "back").chunks) == list(load_index(tmp_path / "index").chunks)


def _bad_stores(server) -> dict[str, tuple[str, str]]:
    """Each way a store cannot be used: (URL, what the line must say)."""
    no_extension = server.url(server.new_database(vector=False))
    server.execute("DO $$ BEGIN CREATE ROLE visitor LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$")
    return {
        "malformed": ("postgresql://ann:s3cret@[::1/db", "malformed"),
        "unreachable": ("postgresql://ann:s3cret@127.0.0.1:1/db", "cannot connect to postgresql://ann@127.0.0.1:1/db"),
        "no pgvector": (no_extension, "CREATE EXTENSION vector;"),
        "no privilege": (server.url(server.new_database(), user="visitor"), "GRANT CREATE ON DATABASE"),
    }


@pytest.mark.parametrize("case", ["malformed", "unreachable", "no pgvector", "no privilege"])
def test_each_unusable_store_is_one_line_without_traceback(tmp_path, postgres_server, fake_model, capsys, case):
    url, says = _bad_stores(postgres_server)[case]
    corpus = write_corpus(tmp_path / "corpus")
    assert main(["build", "--corpus", str(corpus), "--index", str(tmp_path / "index")]) == 0
    capsys.readouterr()
    commands = [
        ["build", "--corpus", str(corpus), "--store", url],
        ["store", "copy", "--from", str(tmp_path / "index"), "--to", url],
    ]
    if case != "no privilege":  # reading needs no privilege to create: that database just has no index
        commands.append(["store", "copy", "--from", url, "--to", str(tmp_path / "copy")])
    for command in commands:
        assert main(command) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("assistant: error: ") and says in err, err
        assert "s3cret" not in err and "Traceback" not in err


def test_the_installed_command_says_one_line_for_an_unreachable_store(tmp_path):
    corpus = write_corpus(tmp_path / "corpus")
    environment = {**os.environ, "ASSISTANT_STORE": "postgresql://ann:s3cret@127.0.0.1:1/db"}
    done = subprocess.run(
        [sys.executable, "-m", "ui.cli", "build", "--corpus", str(corpus)],
        cwd=REPO, env=environment, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        "assistant: error: cannot connect to postgresql://ann@127.0.0.1:1/db"
    )
    assert "s3cret" not in done.stderr + done.stdout
