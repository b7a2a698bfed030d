"""Fetch: pages listed in a sources TSV downloaded into the corpus as text plus a metadata sidecar."""

from __future__ import annotations

import codecs
import datetime as dt
import hashlib
import json
import logging
import re
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from assistant import files
from assistant.errors import AssistantError, DocumentError
from assistant.metadata import detect_language, make_date, one_line, shorten
from assistant.model import DOC_TYPES, SIDECAR_SUFFIX, Citation, Cited
from assistant.tools.download import Download, Downloader, DownloadError, DownloadLimits, ascii_url, origin

__all__ = [
    "FETCHED_FOLDER",
    "STATE_FILE",
    "FetchReport",
    "FetchResult",
    "SourceListError",
    "SourceRow",
    "fetch_sources",
    "page_slug",
    "parse_list_date",
    "read_sources",
    "user_agent",
]

logger = logging.getLogger(__name__)

FETCHED_FOLDER = "fetched"  # inside the corpus folder
STATE_FILE = ".fetch-state.json"  # a hidden file: the corpus walker skips it
STATE_FORMAT = 1
# A page's own title, author and site name are cut to this many characters: the sidecar keeps them,
# and every answer citing the page resends them (a hostile page can hold a 2 MB <title>).
MAX_PAGE_FIELD_CHARS = 500
DISTRIBUTION = "kz-official-assistant"
PROJECT_URL = "https://github.com/kz-official-assistant/kz-official-assistant"  # when the package names none

# kind column values (and doc_type values, accepted as kinds) -> doc_type
KINDS = {"address_fulltext": "address", "regional_response": "regional_response", "other": "other"}
KINDS.update({doc_type: doc_type for doc_type in DOC_TYPES})
COLUMNS = ("kind", "url", "date", "lang", "region", "title", "doc_type")  # order of a list without header
_NOT_AVAILABLE = ("", "n/a", "na", "-", "—", "?", "none", "unknown")

# progress(stage, done, total), as for builds: stage is "pages".
ProgressCallback = Callable[[str, int, int], None]


class SourceListError(AssistantError):
    """A sources list that is missing, unreadable or has no ``url`` column; a corpus folder that cannot be written."""


@dataclass(frozen=True)
class SourceRow(Cited):
    """One page of a sources list, with the citation the list gives for it.

    Attributes:
        line: line number in the list (1-based), for messages.
        citation: ``source`` is the page address (``http`` or ``https``, also read as ``url``);
            ``doc_type`` comes from the ``doc_type`` column, else from ``kind``
            (``address_fulltext`` -> ``address``); ``date`` is ``YYYY-MM-DD`` when the cell is just
            a full date, and overrides the page's own date; ``lang``, ``region`` and ``title`` are
            as written in the list (``n/a`` read as empty; region not normalised). Empty title,
            date and language are filled from the page.
        date_hint: a full date found inside an annotated cell (``n/a (~2025-09-10)``,
            ``n/a (event 11 Sept 2025)``): used only when the page itself carries no date.
        kind: the ``kind`` cell as written.
    """

    line: int
    citation: Citation
    date_hint: str = ""
    kind: str = ""

    @property
    def url(self) -> str:
        return self.citation.source


@dataclass(frozen=True)
class FetchResult:
    """What happened to one URL.

    Attributes:
        url: the URL as listed.
        status: ``written`` (text or sidecar created or changed), ``unchanged`` or ``failed``.
        path: the text file relative to the corpus folder (``fetched/<slug>.txt``); empty on failure.
        reason: why it failed, or what was written (``new``, ``text changed``...); for
            ``unchanged``, how that was known.
    """

    url: str
    status: str
    path: str
    reason: str = ""


@dataclass(frozen=True)
class FetchReport:
    """Outcome of :func:`fetch_sources`: one result per listed URL, plus the rows that were skipped."""

    results: tuple[FetchResult, ...]
    problems: tuple[str, ...] = ()

    @property
    def written(self) -> tuple[FetchResult, ...]:
        return tuple(result for result in self.results if result.status == "written")

    @property
    def unchanged(self) -> tuple[FetchResult, ...]:
        return tuple(result for result in self.results if result.status == "unchanged")

    @property
    def failed(self) -> tuple[FetchResult, ...]:
        return tuple(result for result in self.results if result.status == "failed")

    def summary(self) -> str:
        """One line for people: ``written 20, unchanged 3, failed 2, bad rows 1``."""
        line = f"written {len(self.written)}, unchanged {len(self.unchanged)}, failed {len(self.failed)}"
        if self.problems:
            line += f", bad rows {len(self.problems)}"
        return line

    def to_dict(self) -> dict:
        return asdict(self)


# --------------------------------------------------------------------------------------------
# The sources list
# --------------------------------------------------------------------------------------------


def read_sources(path: str | Path) -> tuple[tuple[SourceRow, ...], tuple[str, ...]]:
    """Parse a tab-separated sources list.

    Format: UTF-8, one page per line, cells separated by tabs; lines starting with ``#`` and blank
    lines are ignored. The first other line is a header if one of its cells is ``url``; columns
    are then found by name (``kind url date lang region``, optionally ``title`` and ``doc_type``),
    otherwise they are taken in that order. Dates are read leniently (``2025-09-09``,
    ``12.09.2025``, ``5 Dec 2025``, ``12 сентября 2025``); a cell without a full date
    (``n/a``, ``n/a (12 Sept)``) leaves the date to the page.

    Example::

        kind\turl\tdate\tlang\tregion
        regional_response\thttps://www.zakon.kz/...\t2025-09-10\tru\tAktobe region

    Args:
        path: the list file.

    Returns:
        The good rows in list order, and one message per skipped row (``line 7: ...``): no URL,
        not an http(s) URL, unknown kind or doc_type, malformed language code, impossible date,
        more cells than columns, or a URL already listed.

    Raises:
        SourceListError: the file is missing, unreadable, not UTF-8, or its header has no ``url`` column.
    """
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError as error:
        raise SourceListError(f"sources list {path} does not exist") from error
    except OSError as error:
        raise SourceListError(f"cannot read sources list {path}: {error.strerror or error}") from error
    except UnicodeDecodeError as error:
        raise SourceListError(f"sources list {path} is not UTF-8: {error.reason} at byte {error.start}") from error

    rows: list[SourceRow] = []
    problems: list[str] = []
    columns: tuple[str, ...] | None = None
    seen: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        cells = [cell.strip() for cell in line.split("\t")]
        while cells and not cells[-1]:
            cells.pop()
        if columns is None:
            names = tuple(cell.lower().replace("-", "_").replace(" ", "_") for cell in cells)
            if "url" in names:
                columns = _header(names, number, problems)
                continue
            if any(name in COLUMNS for name in names):
                raise SourceListError(f"sources list {path}: the header on line {number} has no 'url' column")
            columns = COLUMNS
        try:
            row = _row(dict(zip(columns, cells)), number, len(cells) > len(columns))
        except ValueError as error:
            problems.append(f"line {number}: {error}")
            continue
        if row.url in seen:
            problems.append(f"line {number}: {row.url} is already listed on line {seen[row.url]}")
            continue
        seen[row.url] = number
        rows.append(row)
    return tuple(rows), tuple(problems)


def _header(names: tuple[str, ...], number: int, problems: list[str]) -> tuple[str, ...]:
    columns = []
    for name in names:
        if name not in COLUMNS:
            problems.append(f"line {number}: unknown column {name!r} is ignored (known: {', '.join(COLUMNS)})")
        elif name in columns:
            problems.append(f"line {number}: column {name!r} appears twice; the first one is used")
            name = ""
        columns.append(name if name in COLUMNS else "")
    return tuple(columns)


_LANG_CODE = re.compile(r"[a-z]{2,3}(?:-[a-z0-9]{2,8})*")


def _row(cells: Mapping[str, str], number: int, too_many: bool) -> SourceRow:
    """A :class:`SourceRow` from the cells of one line; ``ValueError`` says why the row is bad."""
    if too_many:
        raise ValueError("more cells than columns (a tab inside a value?)")
    url = cells.get("url", "")
    if not url:
        raise ValueError("no URL")
    parts = urllib.parse.urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {url!r}")
    kind = cells.get("kind", "")
    doc_type = _known(cells.get("doc_type", ""), DOC_TYPES, "doc_type")
    if not doc_type:
        doc_type = KINDS.get(kind.lower(), "") if not _missing(kind) else "other"
        if not doc_type:
            raise ValueError(f"unknown kind {kind!r} (known: {', '.join(sorted(KINDS))})")
    lang = "" if _missing(cells.get("lang", "")) else cells["lang"].lower().replace("_", "-")
    if lang and not _LANG_CODE.fullmatch(lang):
        raise ValueError(f"lang must be a language code such as ru, kk, en; got {cells['lang']!r}")
    date, date_hint = parse_list_date(cells.get("date", ""))
    citation = Citation(
        title="" if _missing(cells.get("title", "")) else " ".join(cells["title"].split()),
        date=date,
        region="" if _missing(cells.get("region", "")) else cells["region"],
        doc_type=doc_type,
        lang=lang,
        source=url,
    )
    return SourceRow(line=number, citation=citation, date_hint=date_hint, kind=kind)


def _missing(cell: str) -> bool:
    return cell.strip().lower() in _NOT_AVAILABLE


def _known(value: str, allowed: tuple[str, ...], name: str) -> str:
    if _missing(value):
        return ""
    if value not in allowed:
        raise ValueError(f"unknown {name} {value!r} (allowed: {', '.join(allowed)})")
    return value


_MONTHS = {
    # English, Russian (nominative and genitive stems), Kazakh: the first letters identify the month.
    **dict.fromkeys(("jan", "янв", "қаң"), 1),
    **dict.fromkeys(("feb", "фев", "ақп"), 2),
    **dict.fromkeys(("mar", "мар", "нау"), 3),
    **dict.fromkeys(("apr", "апр", "сәу"), 4),
    **dict.fromkeys(("may", "мая", "май", "мам"), 5),
    **dict.fromkeys(("jun", "июн", "мау"), 6),
    **dict.fromkeys(("jul", "июл", "шіл"), 7),
    **dict.fromkeys(("aug", "авг", "там"), 8),
    **dict.fromkeys(("sep", "сен", "қыр"), 9),
    **dict.fromkeys(("oct", "окт", "қаз"), 10),
    **dict.fromkeys(("nov", "ноя", "қар"), 11),
    **dict.fromkeys(("dec", "дек", "жел"), 12),
}
_MONTH_WORD = r"([^\W\d_]{3,12})\.?"
_LIST_DATES = (
    (re.compile(r"(?<!\d)(\d{4})-(\d{1,2})-(\d{1,2})(?!\d)"), ("year", "month", "day")),
    (re.compile(r"(?<!\d)(\d{1,2})[./](\d{1,2})[./](\d{4})(?!\d)"), ("day", "month", "year")),
    (re.compile(rf"(?<!\d)(\d{{1,2}})\s+{_MONTH_WORD},?\s+(\d{{4}})(?!\d)"), ("day", "month", "year")),
    (re.compile(rf"{_MONTH_WORD}\s+(\d{{1,2}}),?\s+(\d{{4}})(?!\d)"), ("month", "day", "year")),
)


def parse_list_date(cell: str) -> tuple[str, str]:
    """(date, hint) from a date cell of a sources list, each ``YYYY-MM-DD`` or empty.

    A cell that is just a full date gives ``date``; a full date inside other words (``n/a
    (~2025-09-10)``, ``n/a (event 11 Sept 2025)``) gives ``hint``, weaker than the page's own
    date; anything else (``n/a``, ``n/a (12 Sept)``) gives neither. Numeric dates are day first
    (``12.09.2025``), as written in Kazakhstan.

    Raises:
        ValueError: the cell is a full date that does not exist (``31.02.2025``).
    """
    text = " ".join(cell.split())
    for pattern, order in _LIST_DATES:
        for match in pattern.finditer(text):
            parts = dict(zip(order, match.groups()))
            month = parts["month"]
            if not month.isdigit():
                month = _MONTHS.get(month[:3].lower())
                if month is None:
                    continue
            date = make_date(int(parts["year"]), int(month), int(parts["day"]))
            whole = match.group(0) == text or text == match.group(0) + "."
            if date is None:
                if whole:
                    raise ValueError(f"no such date: {cell!r}")
                continue
            return (date, "") if whole else ("", date)
    return "", ""


# --------------------------------------------------------------------------------------------
# Fetching
# --------------------------------------------------------------------------------------------


def fetch_sources(
    sources_tsv: str | Path,
    corpus_dir: str | Path,
    *,
    delay: float = 1.0,
    timeout: float | None = None,
    retries: int = 2,
    limits: DownloadLimits | None = None,
    progress: ProgressCallback | None = None,
) -> FetchReport:
    """Download every page of a sources list into ``corpus_dir/fetched/`` as text plus metadata.

    For each URL, the article's main text (trafilatura: no menus, ads or comments) is written to
    ``fetched/<slug>.txt`` (see :func:`page_slug`) and its citation metadata to the sidecar
    ``fetched/<slug>.txt.meta.yaml``: ``title``, ``date``, ``region``, ``doc_type``, ``lang`` and
    ``source`` (the listed URL), the list's values taking precedence over the page's, plus
    ``author`` and ``outlet`` (site name) when the page names them, and its provenance
    (``origin: fetched``, ``fetched_from``, and ``added_at``: when its current text was
    fetched, UTC). Both files are written atomically, and only when their content changed, so
    a rerun leaves unchanged pages alone (same bytes, same modification time) and an index
    build does not redo them.

    Politeness: a ``User-Agent`` naming the project (:func:`user_agent`), at least ``delay``
    seconds between requests to the same host, retries with exponential backoff (``delay *
    2**attempt``, or the server's ``Retry-After`` up to a minute) on 5xx, 408, 429, time-outs and
    dropped connections, never on other 4xx. Limits (docs/security.md): public addresses only,
    unless ``limits.allow_private`` lets the listed sites be private; redirects checked alike;
    size and time-outs as in ``limits``. Conditional requests (``If-None-Match``,
    ``If-Modified-Since``) use the validators stored in ``corpus_dir/.fetch-state.json``, which
    is saved after every URL: an interrupted run resumes cheaply, and a ``304 Not Modified`` is
    ``unchanged``.

    Decoding: valid UTF-8 is UTF-8; otherwise the HTTP ``charset``, then the page's ``<meta>``
    charset, then the corpus reader's detection (Cyrillic code pages, then charset-normalizer).

    Args:
        sources_tsv: the list (see :func:`read_sources`).
        corpus_dir: the corpus folder (created if missing).
        delay: seconds between two requests to one host; also the backoff base.
        timeout: if given, seconds to wait for a connection, the headers or any data (replacing
            those three of ``limits``).
        retries: further attempts after a retryable failure.
        limits: where pages may come from, their size and time-outs; by default ``Settings``'
            ``fetch_*`` defaults (:meth:`DownloadLimits.from_settings` reads them).
        progress: called as ``progress("pages", done, total)``.

    Returns:
        One :class:`FetchResult` per listed URL, in list order, and the skipped rows. A URL that
        fails (HTTP error, time-out, no article text...) is reported, never raised.

    Raises:
        SourceListError: the list cannot be read, or the corpus folder cannot be written.
        ValueError: a negative ``delay`` or ``retries``, or a ``timeout`` that is not positive.
    """
    if delay < 0 or retries < 0 or (timeout is not None and not timeout > 0):
        raise ValueError(f"need delay >= 0, timeout > 0, retries >= 0; got {delay}, {timeout}, {retries}")
    limits = limits or DownloadLimits()
    limits = limits.with_timeout(timeout) if timeout is not None else limits
    rows, problems = read_sources(sources_tsv)
    for problem in problems:
        logger.warning("sources list %s: %s", sources_tsv, problem)
    corpus = Path(corpus_dir)
    try:
        (corpus / FETCHED_FOLDER).mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise SourceListError(f"cannot create {corpus / FETCHED_FOLDER}: {error.strerror or error}") from error
    progress = progress or (lambda stage, done, total: None)
    listed = _listed_origins(rows)
    client = Downloader(user_agent(), delay=delay, retries=retries, limits=limits, listed_origins=listed)
    state = _State(corpus / STATE_FILE)
    results = []
    progress("pages", 0, len(rows))
    for done, row in enumerate(rows, 1):
        results.append(_fetch_logged(row, corpus, state, client))
        state.save()
        progress("pages", done, len(rows))
    return FetchReport(tuple(results), problems)


def _listed_origins(rows: tuple[SourceRow, ...]) -> frozenset[str]:
    """The sites of the list: what ``allow_private`` trusts (the operator's word covers the sites
    they listed, not those their pages redirect to). A URL without one fails on its own later."""
    found = set()
    for row in rows:
        try:
            found.add(origin(row.url))
        except (DownloadError, UnicodeError, ValueError):
            logger.debug("no origin for %s", row.url)
    return frozenset(found)


def _fetch_logged(row: SourceRow, corpus: Path, state: _State, client: Downloader) -> FetchResult:
    """One row's result, logged; an unexpected error is a failed result, so the other pages go on."""
    try:
        result = _fetch_row(row, corpus, state, client)
    except Exception as error:  # one page's surprise must not stop the others
        logger.debug("unexpected error fetching %s", row.url, exc_info=True)
        result = FetchResult(row.url, "failed", "", f"unexpected error: {one_line(error)}")
    if result.status == "failed":
        logger.warning("failed: %s: %s", row.url, result.reason)
    else:
        logger.info("%s: %s -> %s (%s)", result.status, row.url, result.path, result.reason)
    return result


def user_agent() -> str:
    """``kz-official-assistant/<version> (+<project URL>)``: who is asking, and where to read why."""
    from importlib import metadata

    try:
        version = metadata.version(DISTRIBUTION)
        info = metadata.metadata(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return f"{DISTRIBUTION}/unknown (+{PROJECT_URL})"
    homepage = info.get("Home-page") or ""
    for entry in info.get_all("Project-URL") or []:
        label, _, address = entry.partition(",")
        if label.strip().lower() in ("homepage", "home", "source", "repository") and address.strip():
            homepage = homepage or address.strip()
    return f"{DISTRIBUTION}/{version} (+{homepage or PROJECT_URL})"


def page_slug(url: str) -> str:
    """A stable, readable file name stem for a URL: host, the most telling path part, a short hash.

    ``https://www.zakon.kz/obshestvo/6490439-v-aktyubinskom-regione.html`` ->
    ``zakon.kz-6490439-v-aktyubinskom-regione-<10 hex>``. The hash is of the URL without its
    fragment, so two URLs never share a file and the name does not change between runs.
    """
    address = urllib.parse.urldefrag(url.strip())[0]
    parts = urllib.parse.urlsplit(address)
    host = (parts.hostname or "page").removeprefix("www.")
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        pass
    host = re.sub(r"[^a-z0-9.-]+", "-", host.lower()).strip(".-") or "page"
    words = ""
    for segment in urllib.parse.unquote(parts.path).split("/"):
        segment = re.sub(r"\.(?:s?html?|php\d?|aspx?|jsp)$", "", segment, flags=re.IGNORECASE)
        segment = re.sub(r"[^a-z0-9]+", "-", segment.lower()).strip("-")
        if len(segment) >= len(words):  # the longest part, the last one on a tie
            words = segment
    if len(words) > 48:
        words = words[:48]
        words = words[: words.rindex("-")] if "-" in words[24:] else words
    digest = hashlib.sha256(address.encode("utf-8")).hexdigest()[:10]
    return "-".join(part for part in (host, words.strip("-"), digest) if part)


def _fetch_row(row: SourceRow, corpus: Path, state: _State, client: Downloader) -> FetchResult:
    relative = f"{FETCHED_FOLDER}/{page_slug(row.url)}.txt"
    text_path = corpus / relative
    sidecar_path = text_path.with_name(text_path.name + SIDECAR_SUFFIX)
    previous = state.pages.get(row.url, {})
    on_disk = _read_or_none(text_path)
    headers = {}
    # Validators are only worth sending while the file they vouch for is still there, unedited.
    if on_disk is not None and previous.get("content_hash") == _sha256(on_disk):
        if previous.get("etag"):
            headers["If-None-Match"] = previous["etag"]
        if previous.get("last_modified"):
            headers["If-Modified-Since"] = previous["last_modified"]
    try:
        response = client.get(row.url, headers)
    except DownloadError as failure:
        kept = f" (kept the earlier copy {relative})" if on_disk is not None else ""
        return FetchResult(row.url, "failed", "", failure.reason + kept)

    if response.status == 304:
        if not headers or on_disk is None:
            return FetchResult(row.url, "failed", "", "HTTP 304 Not Modified to an unconditional request")
        page = dict(previous.get("page", {}))
        text_bytes = on_disk
    else:
        try:
            text, page = _extract_page(response)
        except DocumentError as error:
            kept = f" (kept the earlier copy {relative})" if on_disk is not None else ""
            return FetchResult(row.url, "failed", "", f"{error}{kept}")
        text_bytes = (text + "\n").encode("utf-8")
    changed = []
    if _write_if_changed(text_path, text_bytes):
        changed.append("text")
    if _write_sidecar(sidecar_path, row, page, text_changed=bool(changed)):
        changed.append("metadata")
    state.pages[row.url] = {
        "path": relative,
        "final_url": response.url,
        "etag": response.etag or (previous.get("etag", "") if response.status == 304 else ""),
        "last_modified": response.last_modified
        or (previous.get("last_modified", "") if response.status == 304 else ""),
        "content_hash": _sha256(text_bytes),
        "page": page,
        "fetched_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    redirected = f" (redirected to {response.url})" if response.url != ascii_url(row.url) else ""
    if not changed:
        how = "not modified (HTTP 304)" if response.status == 304 else "same text and metadata"
        return FetchResult(row.url, "unchanged", relative, how + redirected)
    what = "new" if on_disk is None else " and ".join(changed) + " changed"
    return FetchResult(row.url, "written", relative, what + redirected)


# --------------------------------------------------------------------------------------------
# Pages to text and metadata
# --------------------------------------------------------------------------------------------

_HTML_TYPES = ("text/html", "application/xhtml+xml", "application/xml", "text/xml", "")
_META_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_XML_DECLARATION = re.compile(r"\A\s*<\?xml[^>]*\?>")
_HTML_LANG = re.compile(r"<html\b[^>]{0,500}?\blang\s*=\s*[\"']?\s*([A-Za-z]{2,3})\b", re.IGNORECASE)


def _decode_page(data: bytes, http_charset: str = "") -> str:
    """A downloaded page's text.

    Order: a BOM; valid UTF-8 (real Windows-1251 text with Cyrillic letters is never valid UTF-8,
    while servers and templates that claim a legacy charset for UTF-8 pages are common); the HTTP
    ``charset``; the ``<meta charset>`` / ``http-equiv`` declaration; the corpus reader's
    detection (Cyrillic code pages by letter frequency, then charset-normalizer).

    Raises:
        DocumentError: the bytes are not text in any encoding.
    """
    from assistant.readers.text import BOMS, decode_text, reject_binary

    if not any(data.startswith(bom) for bom, _ in BOMS) and b"\x00" not in data:
        try:
            return reject_binary(data.decode("utf-8"))
        except UnicodeDecodeError:
            pass
        declared = _META_CHARSET.search(data[:8192])
        for origin, name in (("HTTP", http_charset), ("meta", declared[1].decode("ascii") if declared else "")):
            try:
                encoding = codecs.lookup(name).name if name else ""
            except LookupError:
                logger.debug("ignoring unknown %s charset %r", origin, name)
                continue
            if encoding and not encoding.startswith(("utf-16", "utf-32", "utf-8")):
                try:
                    return reject_binary(data.decode(encoding))
                except UnicodeDecodeError:
                    logger.info("page declares %s charset %s but is not; detecting the encoding", origin, name)
    return decode_text(data)


def _extract_page(response: Download) -> tuple[str, dict[str, str]]:
    """(main text, page metadata: title, date, lang, author, outlet) of a downloaded page."""
    if response.content_type not in _HTML_TYPES and response.content_type != "text/plain":
        raise DocumentError(f"not an HTML page ({response.content_type})")
    if not response.body.strip():
        raise DocumentError("empty page")
    page_text = _decode_page(response.body, response.charset)
    page: dict[str, str] = {}
    if response.content_type == "text/plain":
        from assistant.readers.text import clean_text

        text = clean_text(page_text).strip()
    else:
        from assistant.readers.html import extract_html

        html = _XML_DECLARATION.sub("", page_text, count=1)
        # Re-encoded as UTF-8, the page reads exactly as the corpus reader reads an .html file.
        extracted = extract_html(html.encode("utf-8"))
        text = extracted.text
        page.update((key, extracted.guessed[key]) for key in ("title", "date") if extracted.guessed.get(key))
        page.update(_page_metadata(html, response.url))
    text = _plain_for_text_reader(text)
    if not text.strip():
        raise DocumentError("no article text found on the page")
    # The text's own script is a better witness than <html lang>, which templates often hard-code.
    lang = detect_language(text) or page.get("lang", "")
    if lang:
        page["lang"] = lang
    else:
        page.pop("lang", None)
    for key, value in page.items():
        if len(value) > MAX_PAGE_FIELD_CHARS:
            logger.warning(
                "%s: the page's %s has %d characters; keeping %d", response.url, key, len(value), MAX_PAGE_FIELD_CHARS
            )
            page[key] = shorten(value, MAX_PAGE_FIELD_CHARS)
    return text, page


def _page_metadata(html: str, url: str) -> dict[str, str]:
    """Author, outlet (site name) and declared language of a page; nothing if trafilatura chokes."""
    found: dict[str, str] = {}
    if match := _HTML_LANG.search(html[:20000]):
        lang = match[1].lower()
        found["lang"] = "kk" if lang == "kz" else lang  # "kz" is a country code that Kazakh sites misuse
    import trafilatura

    try:
        metadata = trafilatura.extract_metadata(
            html, default_url=url, date_config={"extensive_search": False, "original_date": True}
        )
    except Exception as error:  # metadata is a bonus: never fail a page over it
        logger.debug("trafilatura metadata extraction failed for %s: %s", url, error)
        return found
    for key, attribute in (("author", "author"), ("outlet", "sitename")):
        value = " ".join(str(getattr(metadata, attribute, None) or "").split())
        if value:
            found[key] = value
    return found


_FRONT_MATTER_FENCE = re.compile(r"\A[ \t]*(?:---|\.\.\.)[ \t]*(?:\n|\Z)")
_DATE_MARKER = re.compile(r"\A[ \t]*date(?=[ \t]+\d{4}-\d{2}-\d{2})")


def _plain_for_text_reader(text: str) -> str:
    """``text`` stripped of what the ``.txt`` reader would take for metadata.

    Leading ``---`` lines would open YAML front matter, and a first line ``date 2025-09-10 ...``
    is a date marker; an article that starts like that loses the rule, and "date" gets a capital.
    """
    text = text.strip()
    while match := _FRONT_MATTER_FENCE.match(text):
        text = text[match.end() :].lstrip()
    if match := _DATE_MARKER.match(text):
        text = "Date" + text[match.end() :]
    return text


def _sidecar_bytes(row: SourceRow, page: Mapping[str, str], added_at: str) -> bytes:
    """The sidecar for a fetched page: the list's metadata first, the page's where the list is silent;
    then its provenance: fetched from the listed URL, its current text at ``added_at``."""
    import yaml

    metadata = {
        "title": row.title or page.get("title", ""),
        "date": row.date or page.get("date", "") or row.date_hint,
        "region": row.region,
        "doc_type": row.doc_type,
        "lang": row.lang or page.get("lang", ""),
        "source": row.url,
        "author": page.get("author", ""),
        "outlet": page.get("outlet", ""),
        "origin": "fetched",
        "fetched_from": row.url,
        "added_at": added_at,
    }
    body = yaml.safe_dump(
        {key: value for key, value in metadata.items() if value},
        allow_unicode=True, sort_keys=False, width=10000, default_flow_style=False,
    )  # fmt: skip
    header = "# Written by `assistant fetch`: edit the sources list, not this file (a fetch rewrites it).\n"
    return (header + body).encode("utf-8")


# --------------------------------------------------------------------------------------------
# Files and state
# --------------------------------------------------------------------------------------------


class _State:
    """``.fetch-state.json``: per URL, the validators, content hash and page metadata of the last fetch."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.pages: dict[str, dict[str, Any]] = {}
        try:
            loaded = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return
        except (OSError, ValueError) as error:
            logger.warning("ignoring unreadable fetch state %s (every page is fetched afresh): %s", path, error)
            return
        if isinstance(loaded, dict) and loaded.get("format") == STATE_FORMAT and isinstance(loaded.get("pages"), dict):
            self.pages = {url: entry for url, entry in loaded["pages"].items() if isinstance(entry, dict)}
        else:
            logger.warning("ignoring fetch state %s of an unknown format", path)

    def save(self) -> None:
        data = json.dumps({"format": STATE_FORMAT, "pages": self.pages}, ensure_ascii=False, indent=1, sort_keys=True)
        try:
            files.write_atomically(self.path, (data + "\n").encode("utf-8"))
        except OSError as error:  # pages are still compared by content on the next run
            logger.warning("cannot save fetch state %s: %s", self.path, error.strerror or error)


def _write_sidecar(path: Path, row: SourceRow, page: Mapping[str, str], *, text_changed: bool) -> bool:
    """Write a fetched page's sidecar if it changed; whether its metadata changed.

    Its ``added_at`` is when the text on disk was fetched: kept from the sidecar there while
    the text stays the same (so a rerun changes nothing), now when the text is new or changed
    (which alone does not count as changed metadata).
    """
    kept = "" if text_changed else _added_at(path)
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    metadata_changed = _read_or_none(path) != _sidecar_bytes(row, page, _added_at(path) or now)
    _write_if_changed(path, _sidecar_bytes(row, page, kept or now))
    return metadata_changed


def _added_at(sidecar: Path) -> str:
    """The ``added_at`` of an earlier fetch's sidecar, or ``""``."""
    import yaml

    try:
        loaded = yaml.safe_load(sidecar.read_text(encoding="utf-8"))
    except (OSError, ValueError, yaml.YAMLError):
        return ""
    value = loaded.get("added_at") if isinstance(loaded, dict) else None
    return value if isinstance(value, str) else ""


def _write_if_changed(path: Path, data: bytes) -> bool:
    """Write ``data`` to ``path`` atomically unless the file holds exactly that; whether it wrote."""
    if _read_or_none(path) == data:
        return False
    files.write_atomically(path, data)
    return True


def _read_or_none(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
