"""The web server on loopback as a DNS-rebinding page or another site would meet it (#20): the Gradio app
launched with ``launch_options`` on 127.0.0.1, raw HTTP requests with forged Host and Origin headers, and
gradio_client as scripts use it. No index and no model: the guard stands before anything is searched.
"""

from __future__ import annotations

import shutil

import pytest

from assistant import Settings

from .conftest import REPO, import_resource
from .test_web import free_port, shown

pytestmark = [pytest.mark.web]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The app on a free port of 127.0.0.1, before any index exists, as ``assistant serve`` launches it."""
    import_resource("gradio", "gradio, the web chat's library, is not installed: pip install -e .")
    from ui.app import build_app, launch_options

    root = tmp_path_factory.mktemp("server")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GRADIO_ANALYTICS_ENABLED", "False")
        patch.setenv("GRADIO_TEMP_DIR", str(root / "gradio-uploads"))
        settings = Settings.from_env(corpus_dir=root / "corpus", index_dir=root / "index")
        shutil.copytree(REPO / "corpus", settings.corpus_dir)
        demo = build_app(settings)
        port = free_port()
        options = launch_options(allowed_hosts=["assistant.example.kz"])
        demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True, **options)
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            demo.close()


def request(url: str, method: str = "GET", **headers: str):
    import httpx

    with httpx.Client(timeout=30) as client:
        return client.request(method, url, headers=headers)


def test_a_rebinding_page_is_refused_and_the_app_is_served_by_its_own_names(server):
    port = server.rsplit(":", 1)[1]
    for host in ("evil.example", f"evil.example:{port}", f"127.0.0.1.nip.io:{port}"):
        answer = request(f"{server}/", Host=host)
        assert answer.status_code == 400, host
        assert "gradio" not in answer.text.lower()
        config = request(f"{server}/config", Host=host, Origin=f"http://{host}")
        assert config.status_code == 400 and "components" not in config.text
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", "assistant.example.kz"):
        assert request(f"{server}/", Host=host).status_code == 200, host
        assert "components" in request(f"{server}/config", Host=host).text


def test_another_sites_page_cannot_ask_upload_or_read(server):
    import httpx

    evil = {"Origin": "http://evil.example"}
    for origin in ("http://evil.example", "null", "http://127.0.0.1:1"):
        answer = request(f"{server}/config", Origin=origin)
        assert answer.status_code == 403 and "components" not in answer.text, origin
    with httpx.Client(timeout=30) as client:
        asked = client.post(f"{server}/gradio_api/call/search", json={"data": ["Послание", 5]}, headers=evil)
        assert asked.status_code == 403 and "event_id" not in asked.text
        uploaded = client.post(f"{server}/gradio_api/upload", files={"files": ("x.txt", b"planted")}, headers=evil)
        assert uploaded.status_code == 403
        # The app's own page, sending its own Origin, is answered.
        own = client.post(
            f"{server}/gradio_api/call/search", json={"data": ["Послание", 5]}, headers={"Origin": server}
        )
        assert own.status_code == 200 and "event_id" in own.json()


def test_scripts_through_gradio_client_are_served(server):
    from gradio_client import Client

    client = Client(f"{server}/", verbose=False)
    try:
        assert "Индекс ещё не построен" in shown(client.predict("Кто председательствовал?", api_name="/chat"))
    finally:
        client.close()


def test_the_monitoring_page_and_the_run_history_are_not_served(server):
    for path in ("/monitoring", "/monitoring/summary", "/monitoring/anything"):
        answer = request(f"{server}{path}")
        assert answer.status_code in (403, 404), path
        assert "Monitoring URL" not in answer.text and "dashboard" not in answer.text.lower()
    assert request(f"{server}/gradio_api/runs").status_code == 404
    assert request(f"{server}/gradio_api/run-history/connect", "POST").status_code in (404, 405)
