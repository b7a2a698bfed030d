"""The web chat end to end: a real index and model, the Gradio app on 127.0.0.1, gradio_client and Chromium.

The browser is ``$ASSISTANT_TEST_CHROMIUM`` when set, else ``chromium`` on the ``PATH`` (``apt-get install -y
chromium``), the same rule ``.ci/run`` follows; without it browser tests skip, or fail when ``CI=true``.
Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import html
import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import pytest

from assistant import Settings, build_index
from assistant.answer import NO_ANSWER
from ui import texts

from .conftest import REPO, SAMPLE, import_resource, require_resource

pytestmark = [pytest.mark.model, pytest.mark.web]

CHROMIUM_NAME = os.environ.get("ASSISTANT_TEST_CHROMIUM") or "chromium"
CHROMIUM = shutil.which(CHROMIUM_NAME)  # None when absent
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
ARTIFACTS = REPO / "test-artifacts"
SAMPLE_TITLE = "В Актюбинском регионе обсудили пути реализации Послания Президента"
QUESTION = "Кто председательствовал на заседании в Актюбинской области?"
ATYRAU_TITLE = "В Атырау обсудили меры по реализации Послания Президента"
DISTRACTORS = {
    "atyrau.txt": f"---\ntitle: {ATYRAU_TITLE}\nregion: Atyrau region\ndate: 2025-09-11\n"
    "doc_type: regional_response\nlang: ru\n---\n"
    "Аким Атырауской области провел совещание с руководителями управлений, на котором обсуждались меры "
    "по реализации Послания Президента. Обсуждались нефтехимия, строительство дорог и обеспечение сел "
    "питьевой водой.",
    "weather.txt": "Прогноз погоды\n\nСиноптики прогнозируют на выходных сильный ветер, пыльные бури и жару до "
    "сорока градусов на юге республики.",
    "tricks.md": '---\ntitle: "Проверка <img src=x onerror=window.__pwned=4> [ссылка](javascript:window.__pwned=5)"\n'
    "region: Testing region\ndate: 2025-09-12\ndoc_type: other\nlang: ru\n"
    'source: "javascript:window.__pwned=6"\n---\n'
    "Документ injectiontest проверяет безопасность: <script>window.__pwned=1</script> и "
    '<img src=x onerror="window.__pwned=2"> не должны выполняться.\n'
    "Ссылка injectiontest [click me](javascript:window.__pwned=3) и картинка ![x](http://evil.example/x.png) "
    "должны остаться текстом injectiontest.\n",
}
UPLOADED_TITLE = "Цифровая платформа для фермеров Карагандинской области"
UPLOADED_TEXT = (
    f"{UPLOADED_TITLE}\n\nВ Карагандинской области запустили цифровую платформу «Агро-онлайн», через которую "
    "фермеры подают заявки на субсидии без посещения акимата. За первый месяц платформа обработала более двух "
    "тысяч заявок от фермерских хозяйств.\n"
)
NEW_TITLE = "Ремонт сельских дорог в Костанайской области"
NEW_QUESTION = "Что отремонтировали в Костанайской области к зиме?"
UPLOADED_QUESTION = "Какую цифровую платформу запустили для фермеров в Карагандинской области?"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def eventually(condition: Callable[[], bool], *, within: float = 300.0, every: float = 0.5) -> bool:
    """Whether ``condition`` comes true, polled until then; ``within`` seconds only end a hang, it is no speed limit."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(every)
    return True


def marked(message: str) -> list[str]:
    """The highlighted (quoted) spans of a rendered message, as plain text."""
    return [html.unescape(part.replace("<br>", "\n")) for part in re.findall(r"<mark>(.*?)</mark>", message, re.DOTALL)]


def shown(message: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", message.replace("<br>", "\n")))


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    """The app serving a fresh index of the sample corpus plus distractors, on a free local port."""
    import_resource("gradio", "gradio, the web chat's library, is not installed: pip install -e .")
    from ui.app import build_app, launch_options

    root = tmp_path_factory.mktemp("web")
    corpus = root / "corpus"
    shutil.copytree(REPO / "corpus", corpus)
    for name, text in DISTRACTORS.items():
        (corpus / name).write_text(text, encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GRADIO_ANALYTICS_ENABLED", "False")
        patch.setenv("GRADIO_TEMP_DIR", str(root / "gradio-uploads"))
        settings = Settings.from_env(corpus_dir=corpus, index_dir=root / "index", lock_timeout=0.0)
        report = build_index(settings=settings)
        assert report.added == 1 + len(DISTRACTORS) and not report.failed
        demo = build_app(settings)
        port = free_port()
        demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True, **launch_options())
        try:
            yield SimpleNamespace(url=f"http://127.0.0.1:{port}/", settings=settings, corpus=corpus)
        finally:
            demo.close()


@pytest.fixture(scope="module")
def client(web):
    from gradio_client import Client

    return Client(web.url, verbose=False)


# --- the API, as scripts use it ---------------------------------------------------------------


def test_chat_endpoint_answers_with_numbered_sources_quoting_the_document(client):
    message = client.predict(QUESTION, api_name="/chat")
    answer_part = message.split("<details", 1)[0]
    assert "[1]" in answer_part and "Шахаров" in shown(answer_part)
    assert SAMPLE_TITLE in shown(message) and "Актюбинская область" in message and "2025-09-10" in message
    assert "Aktobe region" not in message  # region names follow the interface language
    sample = SAMPLE.read_text(encoding="utf-8")
    quotes = marked(message)
    assert quotes and all(quote in sample for quote in quotes)
    assert '<a href="https://www.zakon.kz/' in message


def test_chat_endpoint_with_a_region_filter_does_not_cite_the_sample(client):
    message = client.predict(QUESTION, regions=["Atyrau region"], api_name="/chat")
    assert SAMPLE_TITLE not in shown(message)
    assert ATYRAU_TITLE in shown(message)


def test_chat_endpoint_rejects_a_malformed_date_with_a_clear_message(client):
    message = client.predict(QUESTION, date_from="2025-13-01", api_name="/chat")
    assert "2025-13-01" in shown(message) and "ГГГГ-ММ-ДД" in shown(message) and "[1]" not in message
    message = client.predict(QUESTION, date_from="2025-10-01", date_to="2025-09-01", ui_lang="en", api_name="/chat")
    assert "after the end date" in shown(message)


def test_chat_endpoint_says_not_found_for_an_unrelated_question(client):
    message = client.predict("Какая погода на Марсе?", api_name="/chat")
    assert NO_ANSWER["ru"] in shown(message) and not re.search(r"\[\d+\]", message)


def test_chat_endpoint_keeps_no_conversation_and_takes_the_earlier_questions(client):
    follow_up = "А кто участвовал?"
    alone = client.predict(follow_up, api_name="/chat")
    client.predict(QUESTION, api_name="/chat")
    assert client.predict(follow_up, api_name="/chat") == alone  # the call before did not become context
    joined = client.predict(follow_up, history=[QUESTION], api_name="/chat")
    assert joined != alone and SAMPLE_TITLE in shown(joined)


def test_search_endpoint_returns_passages_as_dicts(client):
    from gradio_client.exceptions import AppError

    passages = client.predict(QUESTION, 3, api_name="/search")
    assert len(passages) == 3 and passages[0]["doc_id"] == SAMPLE.name and passages[0]["rank"] == 1
    assert {
        "score",
        "text",
        "title",
        "date",
        "region",
        "doc_type",
        "lang",
        "source",
        "section",
        "chunk_id",
    } <= passages[0].keys()
    filtered = client.predict(QUESTION, 5, {"region": "Atyrau region"}, api_name="/search")
    assert filtered and {p["region"] for p in filtered} == {"Atyrau region"}
    with pytest.raises(AppError, match="k must be a positive integer"):
        client.predict(QUESTION, 0, api_name="/search")


def test_chat_keeps_serving_while_a_build_holds_the_index(web, client, page):
    """A build in progress (paused while it scans the corpus) neither stops answers nor lets a second one start."""
    paused, release = threading.Event(), threading.Event()
    failures: list[BaseException] = []

    def pause(stage: str, done: int, total: int) -> None:
        paused.set()
        release.wait(60)

    def run() -> None:
        try:
            build_index(settings=web.settings, progress=pause)
        except Exception as error:  # noqa: BLE001 - reported by the test below
            failures.append(error)

    builder = threading.Thread(target=run, daemon=True)
    builder.start()
    try:
        assert paused.wait(60)
        assert "[1]" in client.predict(QUESTION, api_name="/chat")
        page.get_by_role("tab", name="Документы").click()
        page.locator("#rebuild").click()
        expect(page.locator("#status textarea")).to_have_value(re.compile("уже перестраивается"), timeout=30_000)
    finally:
        release.set()
        builder.join(60)
    assert not failures


@pytest.mark.slow
def test_the_chat_keeps_answering_while_builds_are_killed_fail_and_land(web, tmp_path, monkeypatch):
    """Over HTTP, a user keeps asking while beside the server a real `assistant build` is killed
    mid-embedding, a build fails on a full disk, and a build lands: every answer arrives and cites the
    document, and the new document becomes citable only after the build that lands."""
    import errno
    import os
    import signal
    import subprocess
    import sys

    import numpy as np
    from gradio_client import Client

    from assistant import AssistantError
    from ui.app import build_app, launch_options

    corpus, index = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(web.corpus, corpus)
    shutil.copytree(web.settings.index_dir, index)
    settings = web.settings.with_(corpus_dir=corpus, index_dir=index)
    demo = build_app(settings)
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True, **launch_options())
    url = f"http://127.0.0.1:{port}/"
    problems: list[str] = []
    answered = [0]
    stop = threading.Event()

    def user() -> None:
        client = Client(url, verbose=False)
        while not stop.is_set():
            try:
                message = client.predict(QUESTION, api_name="/chat")
            except Exception as error:  # noqa: BLE001 - any failure of the chat is what the test reports
                problems.append(repr(error))
                continue
            if "[1]" not in message or "Шахаров" not in shown(message):
                problems.append(shown(message)[:300])
            answered[0] += 1

    def cites_new(client) -> bool:
        return NEW_TITLE in shown(client.predict(NEW_QUESTION, regions=["Kostanay region"], api_name="/chat"))

    def still_answering() -> None:
        """The other user gets at least one more answer (however slow the machine, it must come)."""
        mark = answered[0]
        eventually(lambda: answered[0] > mark or bool(problems) or not thread.is_alive(), every=0.1)
        assert thread.is_alive() and not problems, problems[:3]
        assert answered[0] > mark, "the chat stopped answering"

    thread = threading.Thread(target=user, daemon=True)
    thread.start()
    client = Client(url, verbose=False)
    try:
        for number in range(20):  # enough new text to keep a build embedding for a while
            (corpus / f"kostanay-{number:02d}.txt").write_text(
                f"---\ntitle: {NEW_TITLE} {number}\nregion: Kostanay region\ndate: 2025-09-20\n---\n"
                + "В Костанайской области отремонтировали сельские дороги и мосты к зиме. " * 30,
                encoding="utf-8",
            )
        # 1. The real CLI, killed while it embeds.
        process = subprocess.Popen(
            [str(Path(sys.executable).with_name("assistant")), "-v", "build", "--corpus", str(corpus), "--index", str(index)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        for line in process.stderr:
            if "embedding" in line:  # it has started to embed: nothing is written before it ends
                break
        os.kill(process.pid, signal.SIGKILL)
        assert process.wait(30) == -signal.SIGKILL, "the build ended before it could be killed mid-embedding"
        assert not cites_new(client)
        still_answering()

        # 2. A build that runs out of disk space while writing.
        def full_disk(*args, **kwargs):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        with monkeypatch.context() as patch:
            patch.setattr(np, "save", full_disk)
            with pytest.raises(AssistantError, match="No space left on device"):
                build_index(settings=settings)
        assert not cites_new(client)
        still_answering()
        # 3. A build that lands: the chat switches to it without a restart.
        build_index(settings=settings)
        assert eventually(lambda: cites_new(client), every=1.0), "the new build never reached the chat"
        still_answering()
    finally:
        stop.set()
        thread.join(120)
        demo.close()
    assert not problems, problems[:3]  # every answer during the builds cited the sample


def test_app_starts_without_an_index_and_serves_the_first_build(tmp_path):
    from gradio_client import Client

    from ui.app import build_app, launch_options

    settings = Settings.from_env(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index")
    shutil.copytree(REPO / "corpus", settings.corpus_dir)
    demo = build_app(settings)
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True, **launch_options())
    try:
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        assert "Индекс ещё не построен" in shown(client.predict(QUESTION, api_name="/chat"))
        build_index(settings=settings)
        assert SAMPLE_TITLE in shown(client.predict(QUESTION, api_name="/chat"))
    finally:
        demo.close()


# --- the browser ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser():
    require_resource(
        CHROMIUM,
        f"no browser: {CHROMIUM_NAME!r} is neither an executable file nor a command on the PATH; install one "
        "with `apt-get install -y chromium` or name it in ASSISTANT_TEST_CHROMIUM to run the browser tests",
    )
    sync_api = import_resource(
        "playwright.sync_api", "playwright is not installed (it comes with the test extra: pip install -e '.[test]')"
    )
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(web, browser):
    """A fresh page of the app; fails the test if the page requested anything outside 127.0.0.1."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="ru-RU")
    tab = context.new_page()
    tab.external_requests = []
    tab.on("request", lambda request: _record_external(tab, request.url))
    tab.goto(web.url, wait_until="load")
    tab.locator("#chatbot").wait_for()
    yield tab
    external = list(tab.external_requests)
    context.close()
    assert not external, f"the page fetched from outside: {external}"


def _record_external(tab, url: str) -> None:
    if not url.startswith(("http://127.0.0.1", "data:", "blob:")):
        tab.external_requests.append(url)


def expect(locator):
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"web-{name}.png"), full_page=True)


FINAL = "#chatbot .kz-sources, #chatbot .kz-not-found, #chatbot .kz-error"


def ask(page, question: str):
    """Type ``question``, send it, and return the bot's final message once it has arrived."""
    before = page.locator(FINAL).count()
    box = page.locator("#question textarea")
    box.fill(question)
    box.press("Enter")
    page.wait_for_function(
        "([selector, before]) => document.querySelectorAll(selector).length > before",
        arg=[FINAL, before],
        timeout=60_000,
    )
    return page.locator("#chatbot .message.bot, #chatbot [data-testid='bot']").last


def test_browser_streams_the_answer_with_markers_and_expandable_sources(page):
    # Record what the chat shows over time, to see the reply arrive in steps.
    page.evaluate(
        """() => { window.__seen = [];
        new MutationObserver(() => window.__seen.push(document.querySelector('#chatbot').innerText))
          .observe(document.querySelector('#chatbot'), {subtree: true, childList: true, characterData: true}); }"""
    )
    ask(page, QUESTION)
    seen = page.evaluate("window.__seen")
    assert any("Ищу в документах" in snapshot for snapshot in seen), "no 'searching' step was shown"
    assert any("[1]" in snapshot and "Источники" not in snapshot for snapshot in seen), "the answer did not stream"
    sources = page.locator("#chatbot details.kz-sources").last
    expect(sources.locator("summary")).to_contain_text("Источники")
    assert "[1]" in page.locator("#chatbot .kz-answer").last.inner_text()
    passage = sources.locator("blockquote").first
    expect(passage).to_be_hidden()
    sources.locator("summary").click()
    expect(passage).to_be_visible()
    expect(sources).to_contain_text(SAMPLE_TITLE)
    assert "Шахаров" in passage.locator("mark").first.inner_text()
    link = sources.locator("a").first
    assert link.get_attribute("href").startswith("https://www.zakon.kz/") and link.get_attribute("target") == "_blank"
    screenshot(page, "1-answer-with-sources")


def test_browser_region_filter_changes_what_is_cited(page):
    region = page.locator("#filter-region input")
    region.click()
    region.fill("Атырау")
    page.get_by_role("option", name="Атырауская область").click()  # named in the interface language
    ask(page, QUESTION)
    reply = page.locator("#chatbot .kz-sources, #chatbot .kz-related").last
    expect(reply).to_contain_text(ATYRAU_TITLE)
    assert SAMPLE_TITLE not in page.locator("#chatbot").inner_text()
    screenshot(page, "2-region-filter")


def test_browser_switches_the_interface_language(web, page):
    expect(page.locator("#filters")).to_contain_text("Фильтры")
    page.locator("#ui-lang").get_by_text("English", exact=True).click()
    expect(page.locator("#filters")).to_contain_text("Filters")
    expect(page.get_by_role("tab", name="Documents")).to_be_visible()
    expect(page.locator("#question textarea")).to_have_attribute("placeholder", "Your question…")
    # The chat keeps showing questions as text after its labels were updated.
    ask(page, "Who chaired the meeting in Aktobe region? <img src=x onerror=window.__pwned=9>")
    expect(page.locator("#chatbot")).to_contain_text("<img src=x onerror=window.__pwned=9>")
    assert page.locator("#chatbot img").count() == 0 and page.evaluate("typeof window.__pwned") == "undefined"
    expect(page.locator("#chatbot .kz-sources, #chatbot .kz-related").last).to_contain_text(
        re.compile("Sources|Possibly")
    )
    screenshot(page, "3-english")
    page.goto(web.url + "?lang=kk", wait_until="load")
    expect(page.locator("#filters")).to_contain_text("Сүзгілер")
    # The Kazakh example question comes first; the others stay, since any language may be asked.
    expect(page.locator("#chatbot button.example").first).to_contain_text(texts.EXAMPLES[1])
    expect(page.get_by_role("tab", name="Құжаттар")).to_be_visible()
    # The region view's example topics follow the interface language too.
    page.get_by_role("tab", name=texts.text("kk", "tab_regions")).click()
    for topic in texts.REGION_EXAMPLES["kk"]:
        expect(page.locator("#regions-examples")).to_contain_text(topic)
    expect(page.locator("#regions-examples")).not_to_contain_text(texts.REGION_EXAMPLES["ru"][0])
    screenshot(page, "4-kazakh")


def test_browser_example_question_in_kazakh(page):
    """Clicking an example asks it: the Kazakh question over Russian text is answered from the sample."""
    page.locator("#chatbot").get_by_text(texts.EXAMPLES[1]).click()
    page.wait_for_selector(FINAL, timeout=60_000)
    expect(page.locator("#chatbot .kz-answer").last).to_contain_text("Шахаров")
    expect(page.locator("#chatbot .kz-sources").last).to_contain_text(SAMPLE_TITLE)
    screenshot(page, "8-kazakh-example")


def test_browser_shows_document_html_and_markdown_as_text(page):
    question = (
        'Что проверяет документ injectiontest? <img src=x onerror="window.__pwned=7"> [q](javascript:window.__pwned=8)'
    )
    ask(page, question)
    for summary in page.locator("#chatbot details:not([open]) summary").all():
        summary.click()
    chat = page.locator("#chatbot")
    expect(chat.locator(".kz-sources")).to_contain_text("Проверка")
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert chat.locator("img, script, iframe, object, embed").count() == 0
    assert page.locator('a[href^="javascript:" i], [onerror], [onclick]').count() == 0
    text = chat.inner_text()
    assert "<script>window.__pwned=1</script>" in text and "[click me](javascript:window.__pwned=3)" in text
    assert '<img src=x onerror="window.__pwned=7">' in text  # the question, as typed
    screenshot(page, "5-injection-as-text")
    page.get_by_role("tab", name="Документы").click()
    table = page.locator("#documents-table")
    expect(table).to_contain_text("Проверка <img src=x onerror=window.__pwned=4>")
    assert table.locator("img, a").count() == 0
    assert page.evaluate("typeof window.__pwned") == "undefined"


def test_browser_region_tab_shows_a_card_per_region_with_evidence_and_lists_the_rest(web, page):
    page.get_by_role("tab", name="По регионам").click()
    page.locator("#regions-question textarea, #regions-question input").first.fill("цифровизация")
    page.locator("#regions-button").click()
    result = page.locator("#regions-result")
    card = result.locator('.kz-region-card[data-region="Aktobe region"]')
    expect(card).to_be_visible(timeout=60_000)
    expect(card).to_contain_text("Актюбинская область")
    expect(card).not_to_contain_text("Aktobe region")  # the interface language throughout
    expect(card).to_contain_text(SAMPLE_TITLE)
    expect(card).to_contain_text("2025-09-10")
    quote = card.locator("mark")
    expect(quote).to_have_count(1)
    assert " ".join(quote.inner_text().split()) in " ".join(SAMPLE.read_text(encoding="utf-8").split())
    link = card.locator("a")
    assert link.get_attribute("href").startswith("https://www.zakon.kz/") and link.get_attribute("target") == "_blank"
    missing = result.locator(".kz-missing")
    expect(missing).to_contain_text("Ничего не найдено")
    expect(missing).to_contain_text("Абайская область")
    assert "Актюбинская область" not in missing.inner_text()
    assert result.locator("img, script, iframe").count() == 0 and page.evaluate("typeof window.__pwned") == "undefined"
    screenshot(page, "9-by-region")
    # The filters show without opening anything, and a date typed there reaches the server: from the
    # day after the Aktobe document, its card goes and the region is listed with the rest.
    page.locator("#regions-date-from").get_by_role("textbox").fill("2025-09-11")
    page.locator("#regions-button").click()
    expect(result.locator(".kz-missing")).to_contain_text("Актюбинская область", timeout=60_000)
    expect(card).to_have_count(0)
    page.locator("#ui-lang").get_by_text("English", exact=True).click()
    expect(page.get_by_role("tab", name="By region")).to_be_visible()
    expect(page.locator("#regions-button")).to_have_text("Show by region")


def test_browser_upload_rebuild_and_cite_the_new_document(web, page, tmp_path):
    upload = tmp_path / ".Карагандинская платформа.txt"
    upload.write_text(UPLOADED_TEXT, encoding="utf-8")
    page.get_by_role("tab", name="Документы").click()
    expect(page.locator("#totals")).to_contain_text("Проиндексировано документов: 4")
    page.locator("#upload input[type=file]").set_input_files(str(upload))
    expect(page.locator("#upload a[href*='/file=']")).to_have_count(1)  # on the server, ready to save
    # The fields show without opening anything (a closed accordion could lose what was typed at once).
    for field, value in (("#upload-region", "Karaganda region"), ("#upload-date", "2025-09-15")):
        box = page.locator(field).get_by_role("textbox")
        expect(box).to_be_visible()
        box.fill(value)
        expect(box).to_have_value(value)
    page.locator("#upload-button").click()
    status = page.locator("#status textarea")
    expect(status).to_have_value(re.compile("Сохранён: Карагандинская платформа.txt"), timeout=30_000)
    assert (web.corpus / "Карагандинская платформа.txt").read_text(encoding="utf-8") == UPLOADED_TEXT
    assert "region: Karaganda region" in (web.corpus / "Карагандинская платформа.txt.meta.yaml").read_text(
        encoding="utf-8"
    )

    page.locator("#rebuild").click()
    expect(status).to_have_value(re.compile(r"Индекс перестроен: added 1, .*5 documents"), timeout=120_000)
    expect(page.locator("#documents-table")).to_contain_text(UPLOADED_TITLE)
    expect(page.locator("#documents-table")).to_contain_text("Карагандинская область")
    expect(page.locator("#totals")).to_contain_text("Проиндексировано документов: 5")
    expect(page.locator("#documents-table")).to_contain_text("загружено пользователем аноним")
    page.locator("#audit").get_by_text("Журнал изменений корпуса").click()
    expect(page.locator("#audit-log")).to_contain_text("Карагандинская платформа.txt")
    screenshot(page, "6-documents-after-rebuild")

    # The same file again is not saved a second time; an edited one under the same name is kept
    # under a new name, never over the first one.
    page.locator("#upload input[type=file]").set_input_files(str(upload))
    expect(page.locator("#upload a[href*='/file=']")).to_have_count(1)  # on the server, ready to save
    page.locator("#upload-button").click()
    expect(status).to_have_value(  # named by its title, not by where it lies on the server
        re.compile(rf"Не принят: .*тот же файл уже есть в корпусе: «{re.escape(UPLOADED_TITLE)}»"), timeout=30_000
    )
    upload.write_text(UPLOADED_TEXT + "\nДополнено.", encoding="utf-8")
    page.locator("#upload input[type=file]").set_input_files(str(upload))
    expect(page.locator("#upload a[href*='/file=']")).to_have_count(1)
    page.locator("#upload-button").click()
    expect(status).to_have_value(re.compile(r"Сохранён как «Карагандинская платформа \(2\)\.txt»"), timeout=30_000)

    page.get_by_role("tab", name="Чат").click()
    region = page.locator("#filter-region input")
    region.click()
    page.get_by_role("option", name="Карагандинская область").click()  # the new region is offered at once
    ask(page, UPLOADED_QUESTION)
    sources = page.locator("#chatbot .kz-sources").last
    expect(sources).to_contain_text(UPLOADED_TITLE)
    expect(sources).to_contain_text("Происхождение: загружено пользователем аноним")
    assert "[1]" in page.locator("#chatbot .kz-answer").last.inner_text()
    screenshot(page, "7-new-document-cited")


def test_sessions_beyond_the_cap_are_forgotten_and_a_forgotten_script_still_gets_answers(web, monkeypatch):
    """The server keeps at most ``MAX_SESSIONS`` sessions' state, its memory bound under many visitors;
    the API is stateless, so a script whose session was pushed out is answered as before."""
    from gradio_client import Client

    import ui.app
    from ui.app import build_app, launch_options

    monkeypatch.setattr(ui.app, "MAX_SESSIONS", 2)
    demo = build_app(web.settings)
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True, **launch_options())
    try:
        first = Client(f"http://127.0.0.1:{port}/", verbose=False)
        assert SAMPLE_TITLE in shown(first.predict(QUESTION, api_name="/chat"))
        for _ in range(3):
            script = Client(f"http://127.0.0.1:{port}/", verbose=False)
            assert SAMPLE_TITLE in shown(script.predict(QUESTION, api_name="/chat"))
            script.close()
        assert len(demo.state_holder.session_data) == 2
        assert first.session_hash not in demo.state_holder.session_data
        assert SAMPLE_TITLE in shown(first.predict(QUESTION, api_name="/chat"))
        first.close()
    finally:
        demo.close()


def test_the_server_keeps_only_a_window_of_request_analytics_and_the_users_own_setting_wins(web, monkeypatch):
    """Gradio's per-request analytics stay within the window ``ui.app`` sets (Gradio's own: 10,000
    requests, summarised again after each one, which cost a busy server a fifth of its throughput),
    unless the user set one."""
    from gradio_client import Client

    import ui.app
    from ui.app import build_app, launch_options

    for name in ui.app.GRADIO_ANALYTICS:
        monkeypatch.delenv(name, raising=False)  # restored, with what build_app sets, after the test
    monkeypatch.setattr(
        ui.app, "GRADIO_ANALYTICS", {"GRADIO_ANALYTICS_MAX_EVENTS": "3", "GRADIO_ANALYTICS_CACHE_FREQUENCY": "2"}
    )
    demo = build_app(web.settings)
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True, **launch_options())
    try:
        script = Client(f"http://127.0.0.1:{port}/", verbose=False)
        for _ in range(5):
            assert SAMPLE_TITLE in shown(script.predict(QUESTION, api_name="/chat"))
        script.close()
        assert len(demo._queue.event_analytics) == 3
        assert demo._queue.events_recorded == 5
    finally:
        demo.close()

    monkeypatch.setenv("GRADIO_ANALYTICS_MAX_EVENTS", "7")
    assert build_app(web.settings)._queue.ANALYTICS_MAX_EVENTS == 7


def test_serving_passages_over_the_api_adds_nothing_to_the_index_in_memory(web):
    """The server's memory does not grow with the passages it has served: the open index parses a
    chunk record when a passage is shown and keeps none of them (nor their texts) afterwards."""
    import gc

    from gradio_client import Client

    from assistant import Searcher
    from assistant.model import Chunk
    from ui.app import build_app, launch_options

    def live_chunks() -> int:
        gc.collect()
        return sum(isinstance(item, Chunk) for item in gc.get_objects())

    searcher = Searcher(web.settings.index_dir, settings=web.settings)
    demo = build_app(web.settings, searcher=searcher)
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True, **launch_options())
    before = live_chunks()
    try:
        script = Client(f"http://127.0.0.1:{port}/", verbose=False)
        served = {}
        for question in (QUESTION, NEW_QUESTION, UPLOADED_QUESTION, "Послание Президента"):
            for passage in script.predict(question, len(searcher.index.chunks), api_name="/search"):
                served[passage["chunk_id"]] = passage["text"]
        overview = script.predict("Послание Президента", api_name="/regions")
        script.close()
        held = live_chunks() - before
    finally:
        demo.close()

    assert overview["found"], "the by-region overview found no evidence: its passages went unchecked"
    chunks = list(searcher.index.chunks)
    assert served and {chunk.chunk_id: chunk.text for chunk in chunks if chunk.chunk_id in served} == served
    assert held <= 0, f"serving passages left {held} chunk records held in memory"
