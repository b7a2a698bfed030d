"""Fetching listed pages into the corpus from a loopback web server: extraction, encodings, politeness, reruns."""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import os
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from assistant.documents import load_document
from assistant.errors import AssistantError
from assistant.tools.download import DownloadLimits
from assistant.tools.fetch import (
    STATE_FILE,
    SourceListError,
    fetch_sources,
    page_slug,
    parse_list_date,
    read_sources,
)

HEADER = "kind\turl\tdate\tlang\tregion"

ARTICLE = [
    "Аким Актюбинской области провёл расширенное совещание по реализации Послания Главы государства.",
    "Особое внимание уделено цифровизации, развитию искусственного интеллекта и строительству новых дорог в районах.",
    "В ближайшие три года в регионе планируется реализовать двенадцать инвестиционных проектов на 450 млрд тенге.",
    "Участники совещания обсудили меры поддержки малого бизнеса и создание не менее пяти тысяч рабочих мест.",
]
NAVIGATION = "Главная страница портала"
ADVERT = "Купите квартиру в рассрочку без первоначального взноса"
COMMENT = "Отличная новость, спасибо акиму за работу"


def news_page(
    paragraphs: list[str] = ARTICLE,
    *,
    title: str = "В Актюбинской области обсудили Послание",
    date: str = "2025-09-10",
    charset: str = "utf-8",
    meta_charset: bool = True,
    lang: str = "ru",
) -> str:
    """A news-site page: menu, advert and reader comments around the article."""
    body = "\n".join(f"<p>{paragraph}</p>" for paragraph in paragraphs)
    charset_meta = f'<meta charset="{charset}">' if meta_charset else ""
    date_meta = f'<meta property="article:published_time" content="{date}T10:00:00+05:00">' if date else ""
    return f"""<!DOCTYPE html>
<html lang="{lang}"><head>{charset_meta}
<title>{title} | Актобе Ньюс</title>
<meta property="og:title" content="{title}">
<meta property="og:site_name" content="Актобе Ньюс">
<meta name="author" content="Айгуль Серикова">
{date_meta}
</head><body>
<header><nav class="menu"><ul>
<li><a href="/">{NAVIGATION}</a></li><li><a href="/politics">Политика</a></li><li><a href="/sport">Спорт</a></li>
</ul></nav></header>
<div class="advertisement banner"><a href="/ad">{ADVERT}</a></div>
<main><article>
<h1>{title}</h1>
{body}
</article></main>
<section id="comments" class="comments"><h3>Комментарии</h3>
<div class="comment"><p>{COMMENT}</p></div>
</section>
<footer><p>© 2025 Актобе Ньюс. Все права защищены.</p></footer>
</body></html>"""


# ---------------------------------------------------------------------------------------------
# A small web site on loopback
# ---------------------------------------------------------------------------------------------


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    sleep: float = 0.0
    etag: str = ""
    fail_first: int = 0  # answer 503 this many times before serving the page
    drip: float = 0.0  # seconds between two bytes of the body
    drip_headers: float = 0.0  # seconds between two bytes of the status line and headers


@dataclass
class Site:
    base: str
    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    def url(self, path: str) -> str:
        return self.base + path

    def page(self, path: str, html: str | bytes, *, content_type: str = "text/html; charset=utf-8", **options) -> str:
        body = html.encode("utf-8") if isinstance(html, str) else html
        self.routes[path] = Route(body, headers={"Content-Type": content_type}, **options)
        return self.url(path)

    def hits(self, path: str) -> list[dict[str, str]]:
        return [headers for requested, headers in self.requests if requested == path]


@contextmanager
def running_site(tls: ssl.SSLContext | None = None) -> Iterator[Site]:
    """A web site on a free loopback port, serving the routes its :class:`Site` is given (over TLS with ``tls``)."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            site.requests.append((self.path, dict(self.headers.items())))
            route = site.routes.get(self.path)
            if route is None:
                return self._answer(404, {"Content-Type": "text/html"}, b"<html><body>Not found</body></html>")
            if route.sleep:
                time.sleep(route.sleep)
            if route.fail_first:
                route.fail_first -= 1
                return self._answer(503, {"Content-Type": "text/plain"}, b"busy")
            headers = dict(route.headers)
            if route.etag:
                headers["ETag"] = route.etag
                if self.headers.get("If-None-Match") == route.etag:
                    return self._answer(304, headers, b"")
            self._answer(route.status, headers, route.body, route)

        def _answer(self, status: int, headers: dict[str, str], body: bytes, route: Route = Route()) -> None:
            try:
                if status != 304:
                    headers = {**headers, "Content-Length": str(len(body))}
                if route.drip_headers:
                    lines = [f"HTTP/1.1 {status} OK", *(f"{name}: {value}" for name, value in headers.items())]
                    self._drip(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"), route.drip_headers)
                else:
                    self.send_response(status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                if status != 304:
                    self._drip(body, route.drip) if route.drip else self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting (the time-out tests)

        def _drip(self, data: bytes, pause: float) -> None:
            for byte in data:
                self.wfile.write(bytes([byte]))
                time.sleep(pause)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    site = Site(f"{'https' if tls else 'http'}://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def site(monkeypatch):
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)  # fetch ignores proxies, and says so in a warning
    with running_site() as running:
        yield running


def sources(tmp_path: Path, *lines: str, header: str = HEADER) -> Path:
    path = tmp_path / "sources.tsv"
    path.write_text("# pages to fetch\n" + header + "\n" + "\n".join(lines) + "\n", encoding="utf-8")
    return path


LOOPBACK = DownloadLimits(allow_private=True)  # the test site is on 127.0.0.1, which fetch refuses unless told


def fetch(tmp_path: Path, tsv: Path, **options):
    options = {"delay": 0, "timeout": 2.0, "limits": LOOPBACK, **options}
    return fetch_sources(tsv, tmp_path / "corpus", **options)


def text_of(tmp_path: Path, result) -> str:
    return (tmp_path / "corpus" / result.path).read_text(encoding="utf-8")


def sidecar_of(tmp_path: Path, result) -> dict:
    return yaml.safe_load((tmp_path / "corpus" / (result.path + ".meta.yaml")).read_text(encoding="utf-8"))


# ---------------------------------------------------------------------------------------------
# Extraction and metadata
# ---------------------------------------------------------------------------------------------


def test_article_text_is_kept_and_menus_adverts_and_comments_are_not(tmp_path, site):
    url = site.page("/news/aktobe.html", news_page())
    report = fetch(tmp_path, sources(tmp_path, f"regional_response\t{url}\tn/a\tru\tAktobe region"))

    (result,) = report.results
    assert (result.status, result.reason) == ("written", "new")
    assert result.path == f"fetched/{page_slug(url)}.txt"
    text = text_of(tmp_path, result)
    for paragraph in ARTICLE:
        assert paragraph in text
    for furniture in (NAVIGATION, ADVERT, COMMENT, "Все права защищены"):
        assert furniture not in text
    sidecar = sidecar_of(tmp_path, result)
    fetched_at = dt.datetime.strptime(sidecar.pop("added_at"), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    assert abs((dt.datetime.now(dt.UTC) - fetched_at).total_seconds()) < 600  # when, in UTC
    assert sidecar == {
        "title": "В Актюбинской области обсудили Послание",
        "date": "2025-09-10",
        "region": "Aktobe region",
        "doc_type": "regional_response",
        "lang": "ru",
        "source": url,
        "author": "Айгуль Серикова",
        "outlet": "Актобе Ньюс",
        "origin": "fetched",
        "fetched_from": url,
    }
    assert report.summary() == "written 1, unchanged 0, failed 0"
    assert (tmp_path / "corpus" / result.path).stat().st_mode & 0o777 == 0o644  # not mkstemp's private 0600


def test_fetched_page_loads_as_a_corpus_document_with_its_metadata(tmp_path, site):
    url = site.page("/a", news_page(date=""))
    report = fetch(tmp_path, sources(tmp_path, f"address_fulltext\t{url}\t5 Dec 2025\tru\tnational"))
    corpus = tmp_path / "corpus"

    document = load_document(corpus / report.results[0].path, corpus)

    assert document.text.startswith(ARTICLE[0]) or ARTICLE[0] in document.text
    assert (document.title, document.date, document.region, document.doc_type, document.lang, document.source) == (
        "В Актюбинской области обсудили Послание", "2025-12-05", "national", "address", "ru", url,
    )  # fmt: skip
    provenance = document.provenance
    assert (provenance.origin, provenance.fetched_from, provenance.added_by) == ("fetched", url, "")
    assert provenance.added_at == sidecar_of(tmp_path, report.results[0])["added_at"]
    assert provenance.file_sha256 == hashlib.sha256((corpus / report.results[0].path).read_bytes()).hexdigest()


@pytest.mark.parametrize(
    ("content_type", "meta_charset"),
    [
        ("text/html; charset=windows-1251", ""),
        ("text/html", "windows-1251"),
        ("text/html; charset=windows-1251", "koi8-r"),  # the HTTP header outranks a wrong <meta>
    ],
    ids=["http-charset", "meta-charset", "http-over-meta"],
)
def test_windows_1251_page_comes_out_as_readable_russian(tmp_path, site, content_type, meta_charset):
    html = news_page(charset=meta_charset, meta_charset=bool(meta_charset)).encode("cp1251")
    url = site.page("/cp1251", html, content_type=content_type)

    (result,) = fetch(tmp_path, sources(tmp_path, f"regional_response\t{url}\tn/a\tru\tAktobe region")).results

    assert result.status == "written"
    text = text_of(tmp_path, result)
    assert ARTICLE[2] in text
    assert sidecar_of(tmp_path, result)["title"] == "В Актюбинской области обсудили Послание"
    assert sidecar_of(tmp_path, result)["outlet"] == "Актобе Ньюс"


def test_utf8_page_served_with_a_wrong_legacy_charset_is_still_read_as_utf8(tmp_path, site):
    url = site.page("/mislabelled", news_page(charset="windows-1251"), content_type="text/html; charset=windows-1251")

    (result,) = fetch(tmp_path, sources(tmp_path, f"other\t{url}")).results

    assert ARTICLE[1] in text_of(tmp_path, result)


def test_gzip_response_is_decompressed(tmp_path, site):
    url = site.page("/gz", gzip.compress(news_page().encode("utf-8")))
    site.routes["/gz"].headers["Content-Encoding"] = "gzip"

    (result,) = fetch(tmp_path, sources(tmp_path, f"other\t{url}")).results

    assert result.status == "written"
    assert ARTICLE[0] in text_of(tmp_path, result)


def test_list_metadata_takes_precedence_over_the_page(tmp_path, site):
    url = site.page("/own", news_page(title="Заголовок страницы", date="2020-01-15", lang="en"))
    tsv = sources(
        tmp_path,
        f"regional_response\t{url}\t12.09.2025\tkk\tWest Kazakhstan region (Oral)\tСписочный заголовок\tother",
        header=HEADER + "\ttitle\tdoc_type",
    )

    (result,) = fetch(tmp_path, tsv).results

    metadata = sidecar_of(tmp_path, result)
    assert metadata["title"] == "Списочный заголовок"
    assert metadata["date"] == "2025-09-12"
    assert metadata["lang"] == "kk"
    assert metadata["region"] == "West Kazakhstan region (Oral)"
    assert metadata["doc_type"] == "other"


def test_an_annotated_list_date_only_fills_in_for_a_page_without_a_date(tmp_path, site):
    dated = site.page("/dated", news_page(date="2025-09-11"))
    undated = site.page("/undated", news_page(date=""))
    tsv = sources(
        tmp_path,
        f"regional_response\t{dated}\tn/a (~2025-09-10)\tru\tAbai region",
        f"regional_response\t{undated}\tn/a (event 11 Sept 2025)\tkk\tKaraganda region, Nura district",
    )

    first, second = fetch(tmp_path, tsv).results

    assert sidecar_of(tmp_path, first)["date"] == "2025-09-11"
    assert sidecar_of(tmp_path, second)["date"] == "2025-09-11"
    assert sidecar_of(tmp_path, second)["region"] == "Karaganda region, Nura district"


# ---------------------------------------------------------------------------------------------
# Failures, redirects, politeness
# ---------------------------------------------------------------------------------------------


def test_a_404_is_reported_once_and_the_other_pages_are_still_written(tmp_path, site):
    good = site.page("/good", news_page())
    tsv = sources(tmp_path, f"other\t{site.url('/missing')}", f"other\t{good}")

    report = fetch(tmp_path, tsv, retries=2)

    missing, written = report.results
    assert (missing.status, missing.path) == ("failed", "")
    assert "404" in missing.reason
    assert len(site.hits("/missing")) == 1  # a 404 is not retried
    assert written.status == "written"
    assert report.summary() == "written 1, unchanged 0, failed 1"


def test_a_server_slower_than_the_timeout_fails_fast_without_stopping_the_rest(tmp_path, site):
    slow = site.page("/slow", news_page(), sleep=3.0)
    good = site.page("/good", news_page())
    tsv = sources(tmp_path, f"other\t{slow}", f"other\t{good}")

    report = fetch(tmp_path, tsv, timeout=0.3, retries=1)

    slow_result, good_result = report.results  # had the time-out not applied, the page would arrive after 3 s
    assert slow_result.status == "failed"
    assert "timed out" in slow_result.reason and "2 attempts" in slow_result.reason
    assert len(site.hits("/slow")) == 2  # a time-out is retried
    assert good_result.status == "written"


def test_a_server_error_is_retried_until_the_page_comes(tmp_path, site):
    url = site.page("/busy", news_page(), fail_first=2)

    (result,) = fetch(tmp_path, sources(tmp_path, f"other\t{url}"), retries=2).results

    assert result.status == "written"
    assert len(site.hits("/busy")) == 3


def test_a_server_error_that_persists_fails_after_the_retries(tmp_path, site):
    url = site.page("/down", news_page(), fail_first=10)

    (result,) = fetch(tmp_path, sources(tmp_path, f"other\t{url}"), retries=1).results

    assert result.status == "failed"
    assert "503" in result.reason
    assert len(site.hits("/down")) == 2


def test_an_unreachable_host_is_reported(tmp_path, site):
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    good = site.page("/good", news_page())
    tsv = sources(tmp_path, f"other\thttp://127.0.0.1:{port}/x", f"other\t{good}")

    unreachable, written = fetch(tmp_path, tsv, retries=0).results

    assert unreachable.status == "failed" and "connection" in unreachable.reason
    assert written.status == "written"


def test_a_redirect_is_followed_to_the_article(tmp_path, site):
    target = site.page("/2025/article.html", news_page())
    site.routes["/old-link"] = Route(status=301, headers={"Location": target, "Content-Length": "0"})

    (result,) = fetch(tmp_path, sources(tmp_path, f"other\t{site.url('/old-link')}")).results

    assert result.status == "written"
    assert f"redirected to {target}" in result.reason
    assert ARTICLE[3] in text_of(tmp_path, result)
    assert sidecar_of(tmp_path, result)["source"] == site.url("/old-link")  # the listed URL is cited


def test_requests_name_the_project_in_the_user_agent(tmp_path, site):
    url = site.page("/ua", news_page())

    fetch(tmp_path, sources(tmp_path, f"other\t{url}"))

    (headers,) = site.hits("/ua")
    assert headers["User-Agent"].startswith("kz-official-assistant/")
    assert "(+http" in headers["User-Agent"]


def test_a_page_that_is_not_html_is_reported(tmp_path, site):
    url = site.page("/file.pdf", b"%PDF-1.4 ...", content_type="application/pdf")

    (result,) = fetch(tmp_path, sources(tmp_path, f"other\t{url}")).results

    assert result.status == "failed"
    assert "application/pdf" in result.reason


# ---------------------------------------------------------------------------------------------
# Reruns
# ---------------------------------------------------------------------------------------------


def _age(path: Path) -> tuple[int, int]:
    """Set an old modification time, so that any rewrite shows; returns (inode, mtime)."""
    os.utime(path, ns=(1_600_000_000_000_000_000, 1_600_000_000_000_000_000))
    stat = path.stat()
    return stat.st_ino, stat.st_mtime_ns


def test_a_rerun_leaves_unchanged_pages_alone(tmp_path, site):
    with_etag = site.page("/etag", news_page(), etag='"v1"')
    without_validators = site.page("/plain", news_page(title="Другая новость"))
    tsv = sources(tmp_path, f"other\t{with_etag}", f"other\t{without_validators}")
    first = fetch(tmp_path, tsv)
    written = [result.path for result in first.results]
    files = [tmp_path / "corpus" / path for name in written for path in (name, name + ".meta.yaml")]
    before = [_age(path) for path in files]

    second = fetch(tmp_path, tsv)

    assert [result.status for result in second.results] == ["unchanged", "unchanged"]
    assert "304" in second.results[0].reason
    assert site.hits("/etag")[-1]["If-None-Match"] == '"v1"'  # a conditional request
    assert [(path.stat().st_ino, path.stat().st_mtime_ns) for path in files] == before
    assert (tmp_path / "corpus" / STATE_FILE).is_file()


def test_a_changed_page_is_rewritten(tmp_path, site):
    url = site.page("/news", news_page(), etag='"v1"')
    tsv = sources(tmp_path, f"other\t{url}")
    fetch(tmp_path, tsv)
    site.page("/news", news_page([*ARTICLE, "Добавлен новый абзац о строительстве школ."]), etag='"v2"')

    (result,) = fetch(tmp_path, tsv).results

    assert (result.status, result.reason) == ("written", "text changed")
    assert "строительстве школ" in text_of(tmp_path, result)


def test_a_rerun_restores_a_deleted_file_and_applies_edited_list_metadata(tmp_path, site):
    first_url = site.page("/one", news_page(), etag='"1"')
    second_url = site.page("/two", news_page(title="Вторая"), etag='"2"')
    tsv = sources(tmp_path, f"other\t{first_url}\tn/a\tru\tAktobe region", f"other\t{second_url}")
    first = fetch(tmp_path, tsv).results[0]
    (tmp_path / "corpus" / first.path).unlink()
    tsv = sources(
        tmp_path, f"other\t{first_url}\tn/a\tru\tAktobe region", f"other\t{second_url}\tn/a\tru\tAtyrau region"
    )

    restored, relabelled = fetch(tmp_path, tsv).results

    assert restored.status == "written"
    assert "If-None-Match" not in site.hits("/one")[-1]  # nothing on disk to vouch for
    assert ARTICLE[0] in text_of(tmp_path, restored)
    assert (relabelled.status, relabelled.reason) == ("written", "metadata changed")
    assert "If-None-Match" in site.hits("/two")[-1]
    assert sidecar_of(tmp_path, relabelled)["region"] == "Atyrau region"


def test_a_page_that_now_fails_keeps_its_earlier_copy(tmp_path, site):
    url = site.page("/gone", news_page())
    tsv = sources(tmp_path, f"other\t{url}")
    (first,) = fetch(tmp_path, tsv).results
    del site.routes["/gone"]

    (again,) = fetch(tmp_path, tsv).results

    assert again.status == "failed"
    assert first.path in again.reason
    assert ARTICLE[0] in text_of(tmp_path, first)


def test_a_corrupt_state_file_only_costs_a_full_refetch(tmp_path, site):
    url = site.page("/news", news_page(), etag='"v1"')
    tsv = sources(tmp_path, f"other\t{url}")
    fetch(tmp_path, tsv)
    (tmp_path / "corpus" / STATE_FILE).write_text("{not json", encoding="utf-8")

    (result,) = fetch(tmp_path, tsv).results

    assert (result.status, result.reason) == ("unchanged", "same text and metadata")
    assert "If-None-Match" not in site.hits("/news")[-1]


# ---------------------------------------------------------------------------------------------
# The sources list
# ---------------------------------------------------------------------------------------------


def test_bad_rows_are_reported_with_their_line_and_skipped(tmp_path, site):
    good = site.page("/good", news_page())
    tsv = sources(
        tmp_path,
        f"regional_response\t{good}\t2025-09-10\tru\tAktobe region",
        "press_release\thttps://example.org/a\tn/a\tru\tAktobe region",
        "other\tftp://example.org/file\tn/a\tru\tnational",
        "other\t\tn/a\tru\tnational",
        "other\thttps://example.org/b\t31.02.2025\tru\tnational",
        "other\thttps://example.org/c\tn/a\tрусский\tnational",
        f"other\t{good}\tn/a\tru\tnational",
    )

    rows, problems = read_sources(tsv)
    report = fetch(tmp_path, tsv)

    assert [row.url for row in rows] == [good]
    assert [problem.split(":")[0] for problem in problems] == [f"line {n}" for n in (4, 5, 6, 7, 8, 9)]
    assert "unknown kind 'press_release'" in problems[0]
    assert "not an http(s) URL" in problems[1]
    assert "no URL" in problems[2]
    assert "no such date" in problems[3]
    assert "language code" in problems[4]
    assert "already listed on line 3" in problems[5]
    assert report.problems == problems
    assert [result.status for result in report.results] == ["written"]
    assert report.summary().endswith("bad rows 6")


def test_the_shipped_sources_list_parses_without_problems():
    rows, problems = read_sources(Path(__file__).resolve().parents[1] / "corpus" / "sources.tsv")

    assert problems == ()
    assert len(rows) == 25
    assert rows[0].doc_type == "address" and rows[0].region == "national" and rows[0].date == "2025-09-09"
    assert len({page_slug(row.url) for row in rows}) == len(rows)


def test_a_missing_sources_list_raises_a_project_error(tmp_path):
    with pytest.raises(SourceListError, match="does not exist") as caught:
        fetch_sources(tmp_path / "nope.tsv", tmp_path / "corpus")
    assert isinstance(caught.value, AssistantError)


def test_a_header_without_a_url_column_raises(tmp_path):
    tsv = sources(tmp_path, "other\thttps://example.org/a", header="kind\tlink\tdate")
    with pytest.raises(SourceListError, match="no 'url' column"):
        read_sources(tsv)


def test_a_list_without_a_header_is_read_in_the_default_column_order(tmp_path):
    path = tmp_path / "list.tsv"
    path.write_text("address_fulltext\thttps://example.org/x\t2025-09-09\ten\tnational\n", encoding="utf-8")

    (row,), problems = read_sources(path)

    assert problems == ()
    assert (row.doc_type, row.date, row.lang, row.region) == ("address", "2025-09-09", "en", "national")


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("2025-09-09", ("2025-09-09", "")),
        ("12.09.2025", ("2025-09-12", "")),
        ("5 Dec 2025", ("2025-12-05", "")),
        ("12 сентября 2025", ("2025-09-12", "")),
        ("Sept 12, 2025", ("2025-09-12", "")),
        ("n/a", ("", "")),
        ("", ("", "")),
        ("n/a (12 Sept)", ("", "")),
        ("n/a (~2025-09-10)", ("", "2025-09-10")),
        ("n/a (event 11 Sept 2025)", ("", "2025-09-11")),
    ],
)
def test_list_dates_are_read_leniently(cell, expected):
    assert parse_list_date(cell) == expected


def test_slugs_are_stable_readable_and_distinct():
    url = "https://www.zakon.kz/obshestvo/6490439-v-aktyubinskom-regione-obsudili-puti-realizatsii-poslaniya-prezidenta.html"

    slug = page_slug(url)

    assert slug == page_slug(url) == page_slug(url + "#comments")
    assert slug.startswith("zakon.kz-6490439-v-aktyubinskom-regione")
    assert len(slug) < 80
    assert page_slug(url + "?page=2") != slug
