"""Several app processes on one database (issue #19, need 3): two real ``assistant serve --store``
processes and a third running ``assistant build --store``. A build puts its documents in service in
both without a restart; a build killed mid-write leaves the previous build serving in both."""

from __future__ import annotations

import pytest

from tests.app_processes import run_build, start_app
from tests.postgres import postgres_server, store_dsn  # noqa: F401

from .test_build import write_corpus

pytestmark = [pytest.mark.postgres, pytest.mark.web, pytest.mark.slow]

QUESTION = "цифровизация образования Павлодар"


def _documents(app) -> set[str]:
    return {passage["doc_id"] for passage in app.search(QUESTION, k=10)}


def test_two_app_processes_serve_each_build_of_a_third_and_survive_a_killed_one(tmp_path, store_dsn):
    corpus = write_corpus(tmp_path / "corpus")
    first = run_build(store_dsn, corpus)
    assert first.returncode == 0, first.stderr
    apps = []
    try:
        apps = [start_app(store_dsn, tmp_path / f"app-{number}") for number in (1, 2)]
        before = [_documents(app) for app in apps]
        assert before[0] == before[1] and before[0] and "pavlodar.txt" not in before[0]

        (corpus / "pavlodar.txt").write_text("Павлодар представил план цифровизации образования.", encoding="utf-8")
        killed = run_build(store_dsn, corpus, die_while_writing=True)
        assert killed.returncode == -9, killed.stderr
        assert [_documents(app) for app in apps] == before  # the previous build, in both

        finished = run_build(store_dsn, corpus)
        assert finished.returncode == 0 and "added 1" in finished.stdout, finished.stderr
        for app in apps:  # no restart: the next search reads the new build
            assert app.search(QUESTION, k=1)[0]["doc_id"] == "pavlodar.txt"
            assert _documents(app) == before[0] | {"pavlodar.txt"}
    finally:
        for app in apps:
            app.stop()
