"""Fetching from a hostile web site on loopback: decompression bombs, redirects to where fetch must
not go, slow drips and a 2 MB title. Each refused page is one line in the report, nothing of it is
written, and the other listed pages are still fetched."""

from __future__ import annotations

import gzip
import logging
import shutil
import socket
import ssl
import subprocess
import time
import tracemalloc
import zlib
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from assistant.config import Settings
from assistant.errors import AssistantError
from assistant.tools.download import DownloadLimits, address_refusal
from assistant.tools.fetch import fetch_sources
from ui.cli import main

from .conftest import require_resource
from .test_fetch import (  # noqa: F401 - site is the loopback web site fixture
    ARTICLE,
    LOOPBACK,
    Route,
    news_page,
    running_site,
    sidecar_of,
    site,
    sources,
    text_of,
)

MIB = 1024 * 1024


def fetch(tmp_path: Path, tsv: Path, limits: DownloadLimits = LOOPBACK, **options):
    return fetch_sources(tsv, tmp_path / "corpus", delay=0, limits=limits, **options)


def packed(site, path: str, body: bytes, encoding: str) -> str:
    url = site.page(path, body)
    site.routes[path].headers["Content-Encoding"] = encoding
    return url


def fetched_files(tmp_path: Path) -> list[str]:
    folder = tmp_path / "corpus" / "fetched"
    return sorted(path.name for path in folder.iterdir()) if folder.is_dir() else []


def redirect(site, path: str, location: str) -> str:
    site.routes[path] = Route(status=302, headers={"Location": location})
    return site.url(path)


# ---------------------------------------------------------------------------------------------
# Size after decoding
# ---------------------------------------------------------------------------------------------


def test_a_gzip_bomb_is_refused_before_it_unpacks_and_the_next_page_is_still_fetched(tmp_path, site):
    bomb = gzip.compress(bytes(10 * MIB))  # 10 KB on the wire
    url = packed(site, "/bomb", bomb, "gzip")
    good = site.page("/good", news_page())

    report = fetch(
        tmp_path, sources(tmp_path, f"other\t{url}", f"other\t{good}"), limits=replace(LOOPBACK, max_bytes=MIB)
    )

    bombed, written = report.results
    assert (bombed.status, bombed.path, bombed.reason) == ("failed", "", "page larger than 1 MB once gzip-decoded")
    assert len(site.hits("/bomb")) == 1  # refused for good: not retried
    assert written.status == "written"
    assert fetched_files(tmp_path) == sorted([Path(written.path).name, Path(written.path).name + ".meta.yaml"])


def test_a_gigabyte_bomb_never_holds_more_than_the_cap_in_memory(tmp_path, site):
    member = gzip.compress(bytes(64 * MIB))
    bomb = member * 16  # a gzip file of 16 members: 4 MB sent, 1 GB unpacked
    url = packed(site, "/bomb", bomb, "gzip")

    tracemalloc.start()
    try:
        (result,) = fetch(tmp_path, sources(tmp_path, f"other\t{url}")).results  # the default 20 MB cap
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert result.reason == "page larger than 20 MB once gzip-decoded"
    assert peak < 48 * MIB  # the 20 MB kept and a copy in the making; one read (64 KB) unpacks to 64 MB
    assert fetched_files(tmp_path) == []


def test_a_deflate_bomb_is_refused_too(tmp_path, site):
    url = packed(site, "/bomb", zlib.compress(bytes(4 * MIB)), "deflate")

    (result,) = fetch(tmp_path, sources(tmp_path, f"other\t{url}"), limits=replace(LOOPBACK, max_bytes=MIB)).results

    assert result.reason == "page larger than 1 MB once deflate-decoded"


def _raw_deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return packer.compress(data) + packer.flush()


@pytest.mark.parametrize(
    ("encoding", "pack"),
    [
        ("gzip", gzip.compress),
        ("gzip", lambda data: gzip.compress(data[:1000]) + gzip.compress(data[1000:])),  # two members
        ("deflate", zlib.compress),
        ("deflate", _raw_deflate),  # no zlib header, as some servers send it
    ],
    ids=["gzip", "gzip-two-members", "deflate", "raw-deflate"],
)
def test_compressed_pages_under_the_cap_read_as_before(tmp_path, site, encoding, pack):
    url = packed(site, "/packed", pack(news_page().encode("utf-8")), encoding)

    (result,) = fetch(tmp_path, sources(tmp_path, f"other\t{url}")).results

    assert result.status == "written"
    assert ARTICLE[2] in text_of(tmp_path, result)


def test_a_truncated_gzip_body_is_reported_as_corrupt(tmp_path, site):
    url = packed(site, "/cut", gzip.compress(news_page().encode("utf-8"))[:-20], "gzip")

    (result,) = fetch(tmp_path, sources(tmp_path, f"other\t{url}"), retries=0).results

    assert result.reason == "corrupt gzip response: it ends before its end-of-stream marker"


def test_a_page_larger_than_the_cap_as_sent_is_refused_from_its_content_length(tmp_path, site):
    url = site.page("/big", news_page([ARTICLE[0] * 10000]))

    (result,) = fetch(tmp_path, sources(tmp_path, f"other\t{url}"), limits=replace(LOOPBACK, max_bytes=MIB)).results

    assert result.status == "failed"
    assert result.reason.startswith("page larger than 1 MB (")


# ---------------------------------------------------------------------------------------------
# Redirects and addresses
# ---------------------------------------------------------------------------------------------


def test_a_redirect_to_the_cloud_metadata_address_is_refused_without_connecting(tmp_path, site):
    url = redirect(site, "/meta", "http://169.254.169.254/latest/meta-data/")
    good = site.page("/good", news_page())
    limits = replace(LOOPBACK, connect_timeout=5.0)

    started = time.monotonic()
    refused, written = fetch(tmp_path, sources(tmp_path, f"other\t{url}", f"other\t{good}"), limits=limits).results

    assert refused.status == "failed"
    assert refused.reason == (
        "refused the redirect to http://169.254.169.254/latest/meta-data/: 169.254.169.254 is not a public "
        "address (link-local); --allow-private covers only the sites named in the sources list"
    )
    assert time.monotonic() - started < 3  # no connection was tried (it would have waited 5 s)
    assert written.status == "written"
    assert len(fetched_files(tmp_path)) == 2


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_a_redirect_to_another_loopback_service_is_refused_even_with_allow_private(tmp_path, site, host):
    with running_site() as internal:
        internal.page("/admin", news_page(["Секретные данные внутреннего сервиса"] * 4))
        port = internal.base.rsplit(":", 1)[1]
        url = redirect(site, "/go", f"http://{host}:{port}/admin")

        (result,) = fetch(tmp_path, sources(tmp_path, f"other\t{url}")).results

        assert internal.requests == []
    assert result.status == "failed"
    assert result.reason.startswith(f"refused the redirect to http://{host}:{port}/admin: {host} ")
    assert "not a public address (loopback)" in result.reason
    if host == "localhost":  # a name is judged by the addresses it resolves to
        assert "localhost resolves to " in result.reason
    assert fetched_files(tmp_path) == []


def test_a_redirect_to_another_listed_site_is_followed_with_allow_private(tmp_path, site):
    with running_site() as other:
        target = other.page("/article", news_page())
        url = redirect(site, "/moved", target)

        moved, listed = fetch(tmp_path, sources(tmp_path, f"other\t{url}", f"other\t{target}")).results

    assert moved.status == "written" and f"redirected to {target}" in moved.reason
    assert listed.status == "written"


def test_a_redirect_to_a_local_file_is_refused(tmp_path, site):
    url = redirect(site, "/passwd", "file:///etc/passwd")

    (result,) = fetch(tmp_path, sources(tmp_path, f"other\t{url}")).results

    assert result.reason == "refused the redirect to file:///etc/passwd: only http and https pages are fetched"
    assert fetched_files(tmp_path) == []


def test_a_chain_of_redirects_longer_than_the_limit_is_cut(tmp_path, site):
    for hop in range(10):
        redirect(site, f"/hop/{hop}", f"/hop/{hop + 1}")  # relative: resolved against the page

    (result,) = fetch(
        tmp_path, sources(tmp_path, f"other\t{site.url('/hop/0')}"), limits=replace(LOOPBACK, max_redirects=3)
    ).results

    assert result.reason == f"more than 3 redirects (the last to {site.url('/hop/4')})"
    assert [path for path, _ in site.requests] == ["/hop/0", "/hop/1", "/hop/2", "/hop/3"]


def test_a_redirect_loop_is_named(tmp_path, site):
    redirect(site, "/a", "/b")
    redirect(site, "/b", "/a")

    (result,) = fetch(tmp_path, sources(tmp_path, f"other\t{site.url('/a')}")).results

    assert result.reason == f"redirect loop: back to {site.url('/a')}"
    assert len(site.requests) == 2


def test_a_listed_loopback_address_needs_the_operators_word(tmp_path, site):
    url = site.page("/page", news_page())
    tsv = sources(tmp_path, f"other\t{url}")

    (refused,) = fetch(tmp_path, tsv, limits=DownloadLimits()).results
    (allowed,) = fetch(tmp_path, tsv, limits=DownloadLimits.from_settings(
        Settings.from_env({"ASSISTANT_FETCH_ALLOW_PRIVATE": "1"})
    )).results  # fmt: skip

    assert refused.reason == (
        "127.0.0.1 is not a public address (loopback); to fetch from private addresses, "
        "pass --allow-private (ASSISTANT_FETCH_ALLOW_PRIVATE=1)"
    )
    assert allowed.status == "written"
    assert len(site.hits("/page")) == 1  # the refused one never connected


def test_a_host_name_is_resolved_once_and_the_checked_address_is_the_one_connected_to(tmp_path, site, monkeypatch):
    """DNS rebinding: a second lookup would now answer with the metadata address."""
    real = socket.getaddrinfo
    answers = iter(["127.0.0.1", "169.254.169.254", "169.254.169.254"])
    asked = []

    def rebinding(host, port, *args, **kwargs):
        if host != "news.test":
            return real(host, port, *args, **kwargs)
        asked.append(host)
        return real(next(answers), port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    site.page("/rebind", news_page())
    url = site.url("/rebind").replace("127.0.0.1", "news.test")

    (result,) = fetch(tmp_path, sources(tmp_path, f"other\t{url}")).results

    assert result.status == "written"
    assert asked == ["news.test"]
    assert site.hits("/rebind")[0]["Host"] == url.split("/")[2]  # the name, not the address


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("127.0.0.1", "loopback"),
        ("10.1.2.3", "private"),
        ("192.168.0.1", "private"),
        ("169.254.169.254", "link-local"),
        ("224.0.0.1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("0.0.0.0", "unspecified"),
        ("100.64.0.1", "not globally routable"),
        ("::1", "loopback"),
        ("::", "unspecified"),
        ("fe80::1%eth0", "link-local"),
        ("fd00::1", "private"),
        ("ff02::1", "multicast"),
        ("::ffff:169.254.169.254", "link-local"),
        ("64:ff9b::a9fe:a9fe", "link-local"),  # NAT64 of 169.254.169.254
        ("2002:7f00:1::", "loopback"),  # 6to4 of 127.0.0.1
        ("8.8.8.8", ""),
        ("2a00:1450:4001:80b::200e", ""),
    ],
)
def test_addresses_are_judged_public_or_not(address, why):
    assert address_refusal(address) == why


@pytest.fixture
def tls_site(tmp_path, monkeypatch):
    """A loopback site over TLS whose self-signed certificate names 127.0.0.1 and news.test, and is trusted."""
    openssl = shutil.which("openssl")
    require_resource(openssl, "the openssl command is not installed (it makes the test site's certificate)")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=news.test",
         "-addext", "subjectAltName=DNS:news.test,IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # read by ssl.create_default_context()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    with running_site(context) as secure:
        yield secure


def test_an_https_page_is_fetched_over_the_checked_connection(tmp_path, tls_site):
    url = tls_site.page("/secure", news_page())

    (result,) = fetch(tmp_path, sources(tmp_path, f"other\t{url}")).results

    assert url.startswith("https://") and result.status == "written"
    assert ARTICLE[1] in text_of(tmp_path, result)


def test_a_redirect_from_https_down_to_http_is_refused(tmp_path, tls_site, site):
    plain = site.page("/plain", news_page())
    url = redirect(tls_site, "/down", plain)

    downgraded, listed = fetch(tmp_path, sources(tmp_path, f"other\t{url}", f"other\t{plain}")).results

    assert downgraded.reason == f"refused the redirect to {plain}: from https to plain http"
    assert listed.status == "written"
    assert len(site.hits("/plain")) == 1  # only as listed


def test_a_certificate_for_another_name_is_rejected(tmp_path, tls_site, monkeypatch):
    real = socket.getaddrinfo
    monkeypatch.setattr(
        socket,
        "getaddrinfo",
        lambda host, *rest, **options: real("127.0.0.1" if host == "other.test" else host, *rest, **options),
    )
    url = tls_site.page("/secure", news_page()).replace("127.0.0.1", "other.test")

    (result,) = fetch(tmp_path, sources(tmp_path, f"other\t{url}")).results

    assert result.status == "failed" and result.reason.startswith("TLS certificate rejected: ")
    assert "other.test" in result.reason


# ---------------------------------------------------------------------------------------------
# Time
# ---------------------------------------------------------------------------------------------


def test_a_body_dripping_one_byte_a_second_times_out_and_the_next_page_is_fetched(tmp_path, site):
    slow = site.page("/drip", news_page(), drip=1.0)
    good = site.page("/good", news_page())
    limits = replace(LOOPBACK, read_timeout=0.5)

    started = time.monotonic()
    dripped, written = fetch(
        tmp_path, sources(tmp_path, f"other\t{slow}", f"other\t{good}"), limits=limits, retries=0
    ).results

    assert dripped.reason == "timed out (no data for 0.5 s)"
    assert written.status == "written"
    assert time.monotonic() - started < 3


def test_a_drip_fast_enough_for_each_read_still_ends_with_the_urls_time(tmp_path, site):
    slow = site.page("/drip", news_page(), drip=0.05)  # 2 KB at 20 bytes a second: 100 s
    limits = replace(LOOPBACK, read_timeout=5.0, total_timeout=1.0)

    started = time.monotonic()
    (result,) = fetch(tmp_path, sources(tmp_path, f"other\t{slow}"), limits=limits).results

    assert result.reason == "timed out (the 1 s allowed for this URL ran out)"
    assert time.monotonic() - started < 3
    assert fetched_files(tmp_path) == []


def test_headers_dripping_in_time_out_although_each_byte_comes_soon(tmp_path, site):
    slow = site.page("/drip", news_page(), drip_headers=0.05)
    limits = replace(LOOPBACK, header_timeout=0.5, read_timeout=1.0)

    started = time.monotonic()
    (result,) = fetch(tmp_path, sources(tmp_path, f"other\t{slow}"), limits=limits, retries=0).results

    assert result.reason == "timed out (no complete response headers within 0.5 s)"
    assert time.monotonic() - started < 3


def test_a_resolver_that_hangs_costs_the_dns_timeout(tmp_path, monkeypatch, site):
    real = socket.getaddrinfo

    def hanging(host, port, *args, **kwargs):
        if host == "slow-dns.test":
            time.sleep(3)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", hanging)
    good = site.page("/good", news_page())

    started = time.monotonic()
    hung, written = fetch(
        tmp_path, sources(tmp_path, "other\thttp://slow-dns.test/page", f"other\t{good}"),
        limits=replace(LOOPBACK, dns_timeout=0.3), retries=0,
    ).results  # fmt: skip

    assert hung.reason == "timed out (no DNS answer for slow-dns.test within 0.3 s)"
    assert written.status == "written"
    assert time.monotonic() - started < 2


def test_a_retry_never_outlives_the_urls_time(tmp_path, site):
    site.routes["/busy"] = Route(b"busy", status=503, headers={"Retry-After": "5"})
    url = site.url("/busy")

    started = time.monotonic()
    (result,) = fetch(
        tmp_path, sources(tmp_path, f"other\t{url}"), limits=replace(LOOPBACK, total_timeout=2.0), retries=3
    ).results

    assert result.reason == "HTTP 503 Service Unavailable; no time left to try again within 2 s"
    assert time.monotonic() - started < 1.5


# ---------------------------------------------------------------------------------------------
# What a page says about itself
# ---------------------------------------------------------------------------------------------


def test_a_two_megabyte_title_is_cut_in_the_sidecar(tmp_path, site, caplog):
    huge = "Послание " * 230_000  # 2 million characters
    body = "".join(f"<p>{paragraph}</p>" for paragraph in ARTICLE)
    url = site.page("/title", f"<html><head><title>{huge}</title></head><body><article>{body}</article></body></html>")

    with caplog.at_level(logging.WARNING, logger="assistant.tools.fetch"):
        (result,) = fetch(tmp_path, sources(tmp_path, f"other\t{url}")).results

    assert result.status == "written"
    title = sidecar_of(tmp_path, result)["title"]
    assert len(title) <= 500 and title.startswith("Послание Послание") and title.endswith("…")
    assert ARTICLE[0] in text_of(tmp_path, result)
    assert (tmp_path / "corpus" / (result.path + ".meta.yaml")).stat().st_size < 2000
    assert "the page's title has" in caplog.text


# ---------------------------------------------------------------------------------------------
# Settings and the command line
# ---------------------------------------------------------------------------------------------


def test_the_limits_default_to_the_settings_defaults():
    assert DownloadLimits() == DownloadLimits.from_settings(Settings())


def test_fetch_settings_come_from_the_environment_and_are_checked():
    settings = Settings.from_env({"ASSISTANT_FETCH_MAX_MB": "2", "ASSISTANT_FETCH_MAX_REDIRECTS": "1"})
    assert DownloadLimits.from_settings(settings).max_bytes == 2 * MIB
    assert DownloadLimits.from_settings(settings).max_redirects == 1
    for name, value in [("READ_TIMEOUT", "0"), ("TOTAL_TIMEOUT", "nan"), ("MAX_MB", "-1"), ("MAX_REDIRECTS", "-1")]:
        with pytest.raises(AssistantError, match=f"fetch_{name.lower()}"):
            Settings.from_env({f"ASSISTANT_FETCH_{name}": value})


def test_the_command_line_reports_each_refused_page_on_one_line(tmp_path, site, monkeypatch, capsys):
    bomb = packed(site, "/bomb", gzip.compress(bytes(3 * MIB)), "gzip")
    meta = redirect(site, "/meta", "http://169.254.169.254/")
    good = site.page("/good", news_page())
    tsv = sources(tmp_path, f"other\t{bomb}", f"other\t{meta}", f"other\t{good}")
    monkeypatch.setenv("ASSISTANT_FETCH_MAX_MB", "1")
    arguments = ["fetch", str(tsv), "--corpus", str(tmp_path / "corpus"), "--delay", "0", "--retries", "0"]

    assert main(arguments) == 1  # every page refused: loopback is not allowed by default
    refused = [line for line in capsys.readouterr().err.splitlines() if line.startswith("failed: ")]
    assert main([*arguments, "--allow-private"]) == 0
    out, err = capsys.readouterr()

    assert len(refused) == 3 and all("pass --allow-private" in line for line in refused)
    assert [line for line in err.splitlines() if line.startswith("failed: ")] == [
        f"failed: {bomb}: page larger than 1 MB once gzip-decoded",
        f"failed: {meta}: refused the redirect to http://169.254.169.254/: 169.254.169.254 is not a public "
        "address (link-local); --allow-private covers only the sites named in the sources list",
    ]
    assert out.startswith("written 1, unchanged 0, failed 2")
    (sidecar,) = (tmp_path / "corpus" / "fetched").glob("*.meta.yaml")
    assert yaml.safe_load(sidecar.read_text(encoding="utf-8"))["source"] == good
