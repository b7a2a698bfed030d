"""Roles over the wire: the app on 127.0.0.1 with users, driven by gradio_client, the raw queue API and Chromium.

A reader can ask but not upload or rebuild, an editor can upload, and nobody without an editor login
changes the corpus: not through the page, not through Gradio's queue (where the buttons' events stay
callable though hidden from the API page), not through Gradio's file upload route. The index is built
with the fake embedder, so no model is loaded.
"""

from __future__ import annotations

import json
import shutil
import uuid
from contextlib import contextmanager
from types import SimpleNamespace

import pytest

from assistant import Searcher, Settings, build_index
from assistant.users import add_user, remove_user
from ui import texts

from .conftest import REPO, FakeEmbedder, import_resource
from .test_web import browser, expect, free_port  # noqa: F401 - the browser fixture, shared

pytestmark = pytest.mark.web

EDITOR, READER, PASSWORD = "aigerim", "daniyar", "correct horse battery"
REFUSED = {lang: texts.text(lang, "editor_only") for lang in ("ru", "en")}
NEW_TEXT = "Новая платформа для фермеров Карагандинской области обработала две тысячи заявок.\n"


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    """An index of the sample corpus made with the fake embedder, and that embedder."""
    import_resource("gradio", "gradio, the web chat's library, is not installed: pip install -e .")
    root = tmp_path_factory.mktemp("access")
    shutil.copytree(REPO / "corpus", root / "corpus")
    settings = Settings(corpus_dir=root / "corpus", index_dir=root / "index", sentence_vectors=False)
    embedder = FakeEmbedder()
    build_index(settings=settings, embedder=embedder)
    return SimpleNamespace(settings=settings, embedder=embedder, root=root)


@contextmanager
def running(settings: Settings, embedder: FakeEmbedder):
    """The app with the access rules of ``settings``, launched as ``serve`` does, on a free local port."""
    from ui.access import Access
    from ui.app import build_app, launch_options

    access = Access(settings)
    searcher = Searcher(settings.index_dir, settings=settings, embedder=embedder)
    demo = build_app(settings, searcher=searcher, access=access)
    port = free_port()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GRADIO_ANALYTICS_ENABLED", "False")
        demo.launch(
            server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True, **launch_options(access)
        )
    try:
        yield SimpleNamespace(url=f"http://127.0.0.1:{port}/", demo=demo, settings=settings, access=access)
    finally:
        demo.close()


@pytest.fixture(scope="module")
def app(index):
    """Reading open, one editor and one reader."""
    users = index.root / "open-users.json"
    add_user(users, EDITOR, "editor", PASSWORD)
    add_user(users, READER, "reader", PASSWORD)
    with running(index.settings.with_(users_file=users), index.embedder) as server:
        yield server


def queue_call(app, handler: str, data: list, cookies: dict | None = None, headers: dict | None = None):
    """Run the event of ``handler`` through Gradio's queue, as any script can: (succeeded, output or error)."""
    import httpx

    event = next(d for d in app.demo.config["dependencies"] if d["api_name"] == handler)
    session = uuid.uuid4().hex
    body = {"data": data, "fn_index": event["id"], "session_hash": session, "event_data": None, "trigger_id": None}
    with httpx.Client(base_url=app.url, cookies=cookies, headers=headers, timeout=60) as http:
        joined = http.post("gradio_api/queue/join", json=body)
        if joined.status_code != 200:
            return False, f"HTTP {joined.status_code}"
        with http.stream("GET", "gradio_api/queue/data", params={"session_hash": session}) as stream:
            for line in stream.iter_lines():
                message = json.loads(line[5:]) if line.startswith("data:") else {}
                if message.get("msg") == "process_completed":
                    output = message["output"]
                    return message["success"], output.get("data") if message["success"] else output.get("error")
    raise AssertionError("the queue closed without completing the event")


def save_through_queue(app, uploaded: list | None, cookies: dict | None = None, headers: dict | None = None):
    """The upload form's event (files, doc type, region, date, language, interface language) through the queue."""
    return queue_call(app, "save_files", [uploaded, None, "", "", None, "en"], cookies, headers)


def send_file(app, name: str, data: bytes, cookies: dict | None = None, headers: dict | None = None):
    """Gradio's upload route (where a browser puts a file before the event that uses it): the response."""
    import httpx

    return httpx.post(
        app.url + "gradio_api/upload", files={"files": (name, data)}, cookies=cookies, headers=headers, timeout=30
    )


def as_file_data(path: str, name: str) -> list[dict]:
    return [{"path": path, "orig_name": name, "meta": {"_type": "gradio.FileData"}}]


def client(app, auth=None, **kwargs):
    from gradio_client import Client

    return Client(app.url, auth=auth, verbose=False, **kwargs)


def corpus_files(app) -> set[str]:
    return {path.name for path in app.settings.corpus_dir.iterdir()}


# --- reading open, editing behind a login ------------------------------------------------------


def test_an_anonymous_visitor_reads_but_cannot_change_the_corpus_through_the_queue(app):
    before = corpus_files(app)
    reply = client(app).predict("Кто председательствовал на заседании?", api_name="/chat")
    assert 'class="kz-answer' in reply and "kz-error" not in reply
    assert queue_call(app, "rebuild", ["en"]) == (False, REFUSED["en"])
    assert save_through_queue(app, None) == (False, REFUSED["en"])  # refused before anything is looked at
    refused = send_file(app, "forged.txt", NEW_TEXT.encode())
    assert refused.status_code == 401  # the file never reaches the server's disk
    assert corpus_files(app) == before


def test_a_reader_signs_in_and_chats_but_cannot_upload_or_rebuild(app):
    reader = client(app, auth=(READER, PASSWORD))
    assert 'class="kz-answer' in reader.predict("Кто председательствовал на заседании?", api_name="/chat")
    before = corpus_files(app)
    assert queue_call(app, "rebuild", ["ru"], cookies=reader.cookies) == (False, REFUSED["ru"])
    assert save_through_queue(app, None, cookies=reader.cookies) == (False, REFUSED["en"])
    assert send_file(app, "forged.txt", NEW_TEXT.encode(), cookies=reader.cookies).status_code == 401
    assert corpus_files(app) == before


def test_an_editor_signs_in_and_uploads(app):
    editor = client(app, auth=(EDITOR, PASSWORD))
    sent = send_file(app, "karaganda.txt", NEW_TEXT.encode(), cookies=editor.cookies)
    assert sent.status_code == 200
    succeeded, (status, _) = save_through_queue(app, as_file_data(sent.json()[0], "karaganda.txt"), editor.cookies)
    assert succeeded and status.startswith("Saved: karaganda.txt")
    assert (app.settings.corpus_dir / "karaganda.txt").read_text(encoding="utf-8") == NEW_TEXT


def test_a_wrong_password_is_refused_and_a_removed_editor_loses_the_session_at_once(app):
    from gradio_client.exceptions import AuthenticationError

    with pytest.raises(AuthenticationError):
        client(app, auth=(EDITOR, PASSWORD + "!"))
    with pytest.raises(AuthenticationError):
        client(app, auth=("nobody", PASSWORD))
    users = app.access.users_file
    add_user(users, "temporary", "editor", PASSWORD)
    editor = client(app, auth=("temporary", PASSWORD))
    assert send_file(app, "a.txt", b"text", cookies=editor.cookies).status_code == 200
    remove_user(users, "temporary")
    assert save_through_queue(app, None, cookies=editor.cookies) == (False, REFUSED["en"])
    assert send_file(app, "a.txt", b"text", cookies=editor.cookies).status_code == 401


def test_a_forged_session_cookie_or_proxy_header_is_nobody(app):
    cookies = {app.access.cookie: "made-up-token"}
    assert save_through_queue(app, None, cookies=cookies) == (False, REFUSED["en"])
    headers = {"X-Forwarded-User": EDITOR, "X-Forwarded-Groups": "editors"}  # no proxy mode: just headers
    assert save_through_queue(app, None, headers=headers) == (False, REFUSED["en"])


# --- reading behind a login; a reverse proxy's single sign-on -----------------------------------


def test_reading_behind_a_login_refuses_anonymous_requests_and_sends_browsers_to_the_login(index):
    import httpx
    from gradio_client.exceptions import AuthenticationError

    users = index.root / "login-users.json"
    add_user(users, READER, "reader", PASSWORD)
    with running(index.settings.with_(users_file=users, read_access="login"), index.embedder) as server:
        page = httpx.get(server.url, headers={"Accept": "text/html"}, follow_redirects=True)
        assert page.url.path == "/login" and 'name="password"' in page.text
        assert httpx.get(server.url + "config").status_code == 401
        with pytest.raises(AuthenticationError):
            client(server)
        assert queue_call(server, "chat", ["Кто председательствовал?"]) == (False, "HTTP 401")
        reader = client(server, auth=(READER, PASSWORD))
        assert 'class="kz-answer' in reader.predict("Кто председательствовал на заседании?", api_name="/chat")
        signed_in = httpx.get(server.url, cookies=reader.cookies, headers={"Accept": "text/html"})
        assert signed_in.status_code == 200 and "login" not in str(signed_in.url)


def test_behind_a_proxy_its_groups_header_decides_who_edits(index):
    settings = index.settings.with_(
        users_file=index.root / "no-users.json",
        read_access="login",
        proxy_user_header="X-Forwarded-User",
        proxy_groups_header="X-Forwarded-Groups",
        proxy_editor_groups="kz-editors",
    )
    editor = {"X-Forwarded-User": "aigerim@gov.kz", "X-Forwarded-Groups": "staff,kz-editors"}
    reader = {"X-Forwarded-User": "daniyar@gov.kz", "X-Forwarded-Groups": "staff"}
    with running(settings, index.embedder) as server:
        assert 'class="kz-answer' in client(server, headers=reader).predict("Кто?", api_name="/chat")
        assert send_file(server, "a.txt", b"text", headers=reader).status_code == 401
        assert queue_call(server, "rebuild", ["en"], headers=reader) == (False, REFUSED["en"])
        assert send_file(server, "a.txt", b"text", headers=editor).status_code == 200
        assert queue_call(server, "chat", ["Кто?"]) == (False, "HTTP 401")  # no header: not signed in


# --- the browser --------------------------------------------------------------------------------


@contextmanager
def signed_in_page(browser, app, name: str):  # noqa: F811 - the browser fixture's value
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="ru-RU")
    page = context.new_page()
    try:
        page.goto(app.url + "login", wait_until="load")
        page.locator("#username").fill(name)
        page.locator("#password").fill(PASSWORD)
        page.locator("button[type=submit]").click()
        page.locator("#chatbot").wait_for()
        page.get_by_role("tab", name="Документы").click()
        yield page
    finally:
        context.close()


def test_browser_an_editor_signs_in_and_uploads_a_reader_is_refused(app, browser, tmp_path):  # noqa: F811
    upload = tmp_path / "Костанай дороги.txt"
    upload.write_text("В Костанайской области отремонтировали сельские дороги к зиме.\n", encoding="utf-8")
    with signed_in_page(browser, app, EDITOR) as page:
        expect(page.locator("#access-note")).to_contain_text("Войти")
        page.locator("#upload input[type=file]").set_input_files(str(upload))
        expect(page.locator("#upload a[href*='/file=']")).to_have_count(1)
        page.locator("#upload-button").click()
        expect(page.locator("#status textarea")).to_have_value(
            "Сохранён: Костанай дороги.txt\n" + texts.text("ru", "upload_next"), timeout=30_000
        )
    assert (app.settings.corpus_dir / upload.name).exists()

    with signed_in_page(browser, app, READER) as page:
        page.locator("#rebuild").click()
        expect(page.get_by_text(REFUSED["ru"])).to_be_visible(timeout=30_000)
        expect(page.locator("#status textarea")).to_have_value("")


def test_browser_a_wrong_password_stays_on_the_login_page(app, browser):  # noqa: F811
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(app.url + "login", wait_until="load")
        page.locator("#username").fill(EDITOR)
        page.locator("#password").fill("not the password")
        page.locator("button[type=submit]").click()
        expect(page.locator("#login-failed")).to_be_visible()
        assert not context.cookies()
    finally:
        context.close()
