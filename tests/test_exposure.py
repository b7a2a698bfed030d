"""What a server on a network shows of itself (#20): which hosts and pages it answers, no server paths in
what visitors read, nothing a document says reaching the terminal as control codes, the first-run hint.

The real server on loopback is in ``test_web_server.py``; these need no browser and no model (the fake embedder).
"""

from __future__ import annotations

import shutil
from types import SimpleNamespace

import pytest

from assistant import Settings
from assistant.errors import AssistantError
from assistant.store import BUILDS, read_pointer
from ui import texts
from ui.hosts import host_allowed, is_loopback, origin_allowed
from ui.service import without_server_paths

from .conftest import SAMPLE, FakeEmbedder, import_resource

# --- which Host and Origin headers are answered -------------------------------------------------

HOSTS = {
    "127.0.0.1:7860": True,
    "localhost:7860": True,
    "LOCALHOST.": True,
    "[::1]:7860": True,
    "10.0.0.5": True,  # an IP address cannot be rebound
    "assistant.example.kz": True,  # listed below
    "Assistant.Example.KZ.:443": True,
    "evil.example": False,  # a DNS-rebinding page sends its own name
    "evil.example:7860": False,
    "127.0.0.1.nip.io": False,
    "localhost.evil.example": False,
    "evil.example@127.0.0.1": False,
    "127.0.0.1:port": False,
    "": False,
    None: False,
}


@pytest.mark.parametrize("host", list(HOSTS))
def test_the_host_header_must_be_an_address_localhost_or_a_listed_name(host):
    assert host_allowed(host, ["assistant.example.kz"]) is HOSTS[host]


ORIGINS = [
    ("http://127.0.0.1:7860", "127.0.0.1:7860", True),  # the app's own page
    ("http://localhost:7860", "localhost:7860", True),
    ("https://assistant.example.kz", "assistant.example.kz", True),  # behind a TLS proxy
    ("https://assistant.example.kz", "127.0.0.1:7860", True),  # a proxy that does not pass the Host: listed
    ("http://evil.example", "127.0.0.1:7860", False),
    ("http://evil.example:7860", "evil.example:7860", True),  # same origin; its Host is refused on its own
    ("http://127.0.0.1:9999", "127.0.0.1:7860", False),  # another local app's page
    ("http://10.0.0.5:443", "10.0.0.5", False),  # another port of the same machine: another site
    ("null", "127.0.0.1:7860", False),  # a sandboxed frame
    ("file://", "127.0.0.1:7860", False),
    ("", "127.0.0.1:7860", False),
]


@pytest.mark.parametrize(("origin", "host", "allowed"), ORIGINS)
def test_an_origin_must_be_the_page_of_the_host_asked_or_a_listed_name(origin, host, allowed):
    assert origin_allowed(origin, host, ["assistant.example.kz"]) is allowed


def test_loopback_is_told_from_other_addresses():
    assert all(map(is_loopback, ["127.0.0.1", "localhost", "::1", "[::1]", "127.1.2.3"]))
    assert not any(map(is_loopback, ["0.0.0.0", "::", "10.0.0.5", "assistant.example.kz"]))


def test_allowed_hosts_come_from_the_environment_and_must_be_host_names():
    environ = {"ASSISTANT_ALLOWED_HOSTS": "assistant.example.kz, xn--80ak6aa92e.kz"}
    assert Settings.from_env(environ).allowed_hosts == ("assistant.example.kz", "xn--80ak6aa92e.kz")
    assert Settings.from_env({}).allowed_hosts == ()
    for wrong in ("https://assistant.example.kz", "assistant.example.kz:443", "*", "a/b"):
        with pytest.raises(AssistantError, match="not a host name"):
            Settings.from_env({"ASSISTANT_ALLOWED_HOSTS": wrong})


def test_launch_options_turn_off_monitoring_and_run_history_and_guard_every_request():
    import_resource("gradio", "gradio, the web chat's library, is not installed: pip install -e .")
    from ui.app import launch_options
    from ui.hosts import HostGuard

    options = launch_options(allowed_hosts=["assistant.example.kz"])
    assert options["enable_monitoring"] is False and options["run_history"] is False
    assert "runs" not in options["footer_links"]
    [middleware] = options["app_kwargs"]["middleware"]
    assert middleware.cls is HostGuard and middleware.kwargs == {"allowed_hosts": ("assistant.example.kz",)}


def test_serve_answers_the_name_it_listens_on_and_warns_when_names_are_not_listed(monkeypatch, caplog):
    import_resource("gradio", "gradio, the web chat's library, is not installed: pip install -e .")
    import ui.app

    launched = []

    class Demo:
        def launch(self, **options):
            launched.append(options)

    monkeypatch.setattr(ui.app, "build_app", lambda settings, access=None: Demo())
    monkeypatch.setenv("GRADIO_ANALYTICS_ENABLED", "False")
    open_editing = {"allow_open_editing": True}  # no users here: beyond loopback the operator must say so
    ui.app.serve(Settings(allowed_hosts=("assistant.example.kz",)), host="assistant.lan", port=7999, **open_editing)
    ui.app.serve(Settings(), host="127.0.0.1", port=7999)
    assert not caplog.records
    ui.app.serve(Settings(), host="0.0.0.0", port=7999, **open_editing)
    assert "ASSISTANT_ALLOWED_HOSTS" in caplog.text
    served = [options["app_kwargs"]["middleware"][0].kwargs["allowed_hosts"] for options in launched]
    assert served == [("assistant.example.kz", "assistant.lan"), (), ()]
    assert all(options["server_port"] == 7999 and options["enable_monitoring"] is False for options in launched)


# --- no server paths in what visitors read --------------------------------------------------------


def test_server_paths_are_cut_from_messages_and_links_are_kept():
    index = "/srv/kz/data/index"
    assert without_server_paths(f"{index}/builds/x/manifest.json is damaged", [index]) == (
        "index/builds/x/manifest.json is damaged"
    )
    assert without_server_paths("[Errno 13] Permission denied: '/srv/kz/corpus/laws/a.pdf'") == (
        "[Errno 13] Permission denied: 'a.pdf'"
    )
    assert without_server_paths(r"cannot read C:\kz\corpus\a.txt") == "cannot read a.txt"
    kept = "see https://www.akorda.kz/ru/a/b.html, laws/a.pdf and 10/09/2025"
    assert without_server_paths(kept) == kept


@pytest.fixture
def documents_service(tmp_path, monkeypatch):
    """The documents tab's service over a corpus of the sample, its builds made with the fake embedder."""
    import_resource("gradio", "gradio, the web chat's library, is not installed: pip install -e .")
    import assistant.build
    import assistant.retrieval
    from ui.service import Service

    embedder = FakeEmbedder()
    monkeypatch.setattr(assistant.build, "load_embedder", lambda *args, **kwargs: embedder)
    monkeypatch.setattr(assistant.retrieval, "load_embedder", lambda *args, **kwargs: embedder)
    root = tmp_path.resolve() / "srv"
    settings = Settings(corpus_dir=root / "corpus", index_dir=root / "index", lock_timeout=0.0)
    settings.corpus_dir.mkdir(parents=True)
    for file in SAMPLE.parent.glob(f"{SAMPLE.name}*"):
        shutil.copy(file, settings.corpus_dir)
    return Service(settings)


# An anonymous visitor of a fresh install, where editing is open (no users): ui/access.py.
ANONYMOUS = SimpleNamespace(username="", headers={})


def test_rebuild_errors_and_notes_name_no_server_path(documents_service, tmp_path):
    from ui.documents_tab import rebuild

    def status() -> str:
        return rebuild(documents_service, "en", ANONYMOUS, progress=lambda *args, **kwargs: None)[0]

    settings = documents_service.settings
    assert "Index rebuilt" in status()
    # A damaged index: the rebuild's note says why, and where, without the server's folders.
    (settings.index_dir / BUILDS / read_pointer(settings.index_dir) / "manifest.json").write_text("{", encoding="utf-8")
    (settings.corpus_dir / "new.txt").write_text("Аким Павлодарской области провёл совещание.", encoding="utf-8")
    shown = status()
    assert "previous index unusable" in shown and "index/builds/" in shown and str(tmp_path) not in shown
    # A build that cannot run at all: the corpus folder is gone.
    shutil.rmtree(settings.corpus_dir)
    shown = status()
    assert "could not be rebuilt" in shown and "corpus" in shown and str(tmp_path) not in shown


def test_a_duplicate_upload_names_the_file_it_repeats_not_where_the_corpus_keeps_it(documents_service, tmp_path):
    from ui.documents_tab import save_files

    folder = documents_service.settings.corpus_dir / "fetched" / "zakon.kz"
    folder.mkdir(parents=True)
    (folder / "aktobe.txt").write_text("Аким Актюбинской области провёл заседание.", encoding="utf-8")
    upload = tmp_path / "copy.txt"
    upload.write_text("Аким Актюбинской области провёл заседание.", encoding="utf-8")
    shown, _ = save_files(documents_service, [str(upload)], None, "", "", None, "en", ANONYMOUS)
    assert "the same file is already in the corpus: “aktobe.txt”" in shown
    assert "fetched" not in shown and str(tmp_path) not in shown


# --- control characters from documents never reach the terminal ----------------------------------

HOSTILE_TITLE = "\x1b]0;pwned\x07Заголовок \x1b[2J\x9b31mс кодами\r"


@pytest.fixture
def cli_index(tmp_path, monkeypatch):
    """``assistant`` in-process over an index of one document whose metadata and text carry escape codes."""
    import assistant.build
    import assistant.retrieval

    embedder = FakeEmbedder()
    monkeypatch.setattr(assistant.build, "load_embedder", lambda *args, **kwargs: embedder)
    monkeypatch.setattr(assistant.retrieval, "load_embedder", lambda *args, **kwargs: embedder)
    monkeypatch.setenv("ASSISTANT_ANSWER_THRESHOLD_SHIFT", "-1")  # the fake embedder's cosines pass
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    front = f'---\ntitle: "{HOSTILE_TITLE.encode("unicode_escape").decode()}"\nregion: "Aktobe\\x1b[8m region"\n'
    front += 'section: x\nsource: "https://example.kz/\\x1b]8;;evil\\x07a"\ndate: 2025-09-10\nlang: ru\n---\n'
    body = "Аким Актюбинской области \x1b[31mпровёл\x1b[0m заседание о цифровизации школ.\n"
    (corpus / "codes.md").write_text(front + body, encoding="utf-8")
    return corpus, tmp_path / "index"


def test_the_command_line_prints_no_control_characters_from_documents(cli_index, capsys):
    from ui.cli import main

    corpus, index = cli_index
    assert main(["build", "--corpus", str(corpus), "--index", str(index)]) == 0
    capsys.readouterr()
    question = "Кто провёл заседание о цифровизации школ?"
    for command in (["search", question], ["ask", question], ["ask", question, "--full"], ["regions", question]):
        assert main([*command, "--index", str(index)]) == 0, command
        out = capsys.readouterr().out
        assert "Заголовок" in out or "провёл" in out, (command, out)
        controls = sorted({char for char in out if char not in "\n\t" and (ord(char) < 32 or 0x7F <= ord(char) < 0xA0)})
        assert not controls, (command, controls)
    assert main(["search", question, "--index", str(index / "\x1b]0;pwned\x07")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("assistant: error:") and "\x1b" not in err and "\x07" not in err


def test_terminal_text_strips_c0_and_c1_controls_but_newline_and_tab():
    from ui.cli import terminal_text

    assert terminal_text("\x1b]0;pwned\x07Title") == "]0;pwnedTitle"
    assert terminal_text("a\tb\nc\rd\x08e\x7ff\x9bg\x85h") == "a\tb\ncdefgh"
    assert terminal_text("Қазақстан «цитата» — ok") == "Қазақстан «цитата» — ok"


# --- the first run: only the shipped sample indexed -----------------------------------------------


def test_first_run_is_the_sample_alone():
    assert texts.first_run([texts.SAMPLE_DOCUMENT]) and texts.first_run([f"sub/{texts.SAMPLE_DOCUMENT}"])
    assert not texts.first_run([]) and not texts.first_run(["other.txt"])
    assert not texts.first_run([texts.SAMPLE_DOCUMENT, "fetched/akorda.txt"])
    assert SAMPLE.name == texts.SAMPLE_DOCUMENT


def test_the_chat_and_assistant_build_say_how_to_get_the_address_on_a_first_run(documents_service, capsys):
    import gradio as gr

    from ui import chat_tab
    from ui.cli import main

    settings = documents_service.settings
    assert main(["build", "--corpus", str(settings.corpus_dir), "--index", str(settings.index_dir)]) == 0
    assert "assistant fetch corpus/sources.tsv" in " ".join(capsys.readouterr().out.split())
    for lang in texts.LANGUAGE_NAMES:
        welcome = chat_tab.welcome(documents_service, lang)
        assert welcome.startswith(texts.text(lang, "chatbot_placeholder"))
        assert "assistant fetch corpus/sources.tsv" in welcome and texts.text(lang, "first_run") in welcome
    with gr.Blocks():
        tab = chat_tab.add(documents_service, gr.Radio(["ru"], value="ru"))
    assert "assistant fetch corpus/sources.tsv" in tab.relabel("kk")[tab.chatbot]["placeholder"]

    # A second document: no longer a first run, in the chat or the build's report.
    (settings.corpus_dir / "address.txt").write_text("Послание Президента народу Казахстана.", encoding="utf-8")
    assert main(["build", "--corpus", str(settings.corpus_dir), "--index", str(settings.index_dir)]) == 0
    assert "assistant fetch" not in capsys.readouterr().out
    assert chat_tab.welcome(documents_service, "en") == texts.text("en", "chatbot_placeholder")
