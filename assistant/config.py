"""Settings: every tunable of the assistant in one frozen dataclass, read once."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from assistant.database import is_database_url
from assistant.errors import AssistantError
from assistant.model import ANSWER_MODES, READ_ACCESS, REGION_CHARS, SEARCH_MODES, SECTION_CHARS, TITLE_CHARS
from assistant.query import MAX_K, MAX_QUERY_CHARS

ENV_PREFIX = "ASSISTANT_"

# A DNS name in its ASCII form (``xn--`` for other scripts): letters, digits, hyphens and dots.
_HOST_NAME = re.compile(r"(?i)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*\.?")


@dataclass(frozen=True)
class Settings:
    """Defaults in code; ``Settings.from_env()`` applies ``ASSISTANT_*`` overrides.

    Attributes:
        corpus_dir: folder of documents to index.
        index_dir: folder holding the built index (``CURRENT`` pointer plus ``builds/``).
        store: a ``postgresql://user@host/db`` URL: the index lives in that database instead of
            ``index_dir`` (no index files are written or read; docs/database.md). Empty: files.
            Kept out of ``repr`` (it may hold a password).
        store_read: a second ``postgresql://`` URL, of a streaming replica of ``store``: searches
            read there (falling back to ``store`` while it cannot be reached); builds always write
            to ``store``, the primary (docs/database.md, "Replicas"). Empty: searches read ``store``.
        store_connections: the most connections a serving process holds to the database it
            searches, opened as concurrent searches need them (docs/database.md, "Connections").
        store_hnsw_m, store_hnsw_ef_construction: pgvector's HNSW ``m`` and ``ef_construction``
            of a vector graph a database build creates (an existing graph keeps its own); larger
            keeps more recall at 10^6 rows for a longer build (docs/database.md, "Vector search").
        store_hnsw_ef_search: candidates an HNSW scan of the database visits, per serving process.
        model: ``multilingual-e5-small`` (the bundled offline model) or a path to a
            sentence-transformers model directory.
        device: torch device for embedding (``cpu``, ``cuda``...); ``None`` lets
            sentence-transformers choose (a GPU when one is present).
        cache_dir: where the converted bundled model is cached; ``None`` means the
            per-user default (``~/.cache/kz-assistant``).
        chunk_tokens: target chunk size in the embedding model's tokens.
        chunk_overlap: overlap between consecutive chunks of one section, in tokens.
        header_tokens: budget of the "title / section" line embedded in front of each chunk
            (0: embed the chunk text alone).
        batch_size: passages per forward pass when embedding.
        precision: ``auto`` (bfloat16 on CPUs with native bf16, else float32), ``float32`` or ``bfloat16``.
        max_file_mb: corpus files larger than this are reported and skipped, and so are ``.docx`` and
            ``.pdf`` files that unpack to more than twice this (decompression bombs).
        lock_timeout: seconds a build waits for another build's lock (0: fail at once).
        exact_search_max_chunks: indexes of up to this many chunks are searched exactly (FAISS
            ``IndexFlatIP``); larger ones get an approximate index that keeps recall@10 at 0.98
            or more of exact search (measured: docs/performance.md).
        approximate_index: the approximate index above that size: ``ivf`` (``IndexIVFFlat``)
            or ``hnsw`` (``IndexHNSWFlat``).
        search_mode: ``hybrid`` (meaning and keywords fused), ``dense`` or ``keyword``.
        sentence_vectors: also embed each chunk's sentences at build time. Hybrid search then
            reorders its top results by their best sentence, and answers quote without
            embedding anything; builds take about twice as long.
        answer_passages: passages retrieved for an answer (the rest are shown as related).
        answer_quote_passages: the best passages whose sentences may be quoted.
        answer_threshold_shift: added to the fitted "not found" threshold (a probability, see
            :mod:`assistant.answerability`; positive: refuse more often) and to the region view's
            relevance thresholds; refit with ``bench/answerability_fit.py`` for another model.
        answer_max_quotes: sentences quoted in one answer at most.
        answer_mode: ``extractive`` (default: verbatim quotes, no language model) or ``generative``
            (a language model writes the answer from the retrieved passages; its citations are
            checked, see :mod:`assistant.generation`). ``generative`` needs ``llm_base_url``.
        llm_base_url: root of an OpenAI-compatible API serving the language model, e.g.
            ``http://127.0.0.1:8080/v1``; empty: no language model.
        llm_model: the model name sent to that server (empty: the server's default).
        llm_api_key: sent as a Bearer token; read from ``ASSISTANT_LLM_API_KEY``, never logged or shown.
        llm_timeout: seconds a generated answer may take in all, the follow-up rewrite included,
            before the extractive one is shown (the connection is shut then, even mid-answer).
        llm_rewrite_timeout: seconds the model may take to turn a follow-up into a standalone question.
        llm_max_tokens: the longest generated answer, in the model's tokens (asked of the server).
        llm_max_chars: the longest reply read from the model, in characters, whatever the server
            does with ``llm_max_tokens``: a longer one is cut off and the quotes are shown
            (fallback ``too_long``).
        llm_passages: the best retrieved passages given to the model (each costs prompt time).
        malloc_trim_seconds: ``assistant serve`` hands glibc's free heap pages back this often
            (0: never; see :mod:`assistant.tools.allocator`).
        read_access: ``open`` (anyone who reaches the web chat may ask and search) or ``login``
            (only users of the users file, or of the proxy, may). Changing the corpus always
            needs an editor once a user exists (docs/security.md, "Roles and logins").
        users_file: the users file of ``assistant users`` (names, roles, salted argon2 hashes);
            ``None``: ``users.json`` beside the index folder (see :attr:`users_path`).
        proxy_user_header: a request header naming the user a reverse proxy signed in, e.g.
            ``X-Forwarded-User``; empty (the default): no proxy mode. Set it only behind a proxy
            that removes this header from what clients send, or anyone can claim any name.
        proxy_groups_header: a header listing that user's groups (or role), separated by commas
            or spaces, e.g. ``X-Forwarded-Groups``.
        proxy_editor_groups: the groups, comma-separated, whose members are editors; the other
            users the proxy names are readers.
        fetch_max_mb: ``assistant fetch`` refuses a page larger than this, both as sent and once
            gzip/deflate-decoded (a small compressed body can unpack to gigabytes).
        fetch_max_redirects: redirects followed for one listed URL, each one checked again.
        fetch_allow_private: the sites named in a sources list may be at private addresses
            (loopback, LAN, link-local); a redirect may then also reach those sites, never another
            private address. Off: only public addresses are fetched.
        fetch_dns_timeout: seconds for resolving a host name.
        fetch_connect_timeout: seconds for a TCP connection, and again for its TLS handshake.
        fetch_header_timeout: seconds from sending a request until its status line and headers are in.
        fetch_read_timeout: seconds any read of a page body may wait for more data.
        fetch_total_timeout: seconds one listed URL may take in all: redirects, retries and pauses.
        allowed_hosts: host names the web server answers to besides IP addresses and ``localhost``
            (``ASSISTANT_ALLOWED_HOSTS``, comma-separated, e.g. ``assistant.example.kz``): the
            public name behind a reverse proxy, or the machine's name on a network. Requests for
            any other name are refused, which is what stops DNS rebinding (see ``ui/hosts.py``).
        max_k: the most passages one search may return (``retrieve``, ``Searcher.search``, the web
            API's ``/search``); a larger ``k`` is refused with :class:`~assistant.errors.InvalidQuery`.
        max_question_chars: the longest question or search query, in characters (blanks around it
            not counted); a longer one is refused with :class:`~assistant.errors.InvalidQuery`.
        max_history_turns: the earlier questions of a conversation a follow-up may lean on (searched
            with it, or given to the language model to rewrite it); older ones are dropped.
        max_history_chars: those earlier questions hold at most this many characters in all: older
            ones are dropped, the oldest one kept is cut (see :func:`assistant.query.recent_history`).
        max_title_chars: the longest title a document keeps, in characters; a longer one (front
            matter, sidecar, HTML, Word or PDF metadata) is cut at a word when the file is read, and
            the build report names the file. Changing it re-reads every document at the next build.
        max_region_chars: the same for a declared region that is not one of the canonical regions.
        max_section_chars: the same for each section title (headings of the text).
        parse_seconds: the longest a build may spend reading one ``.pdf``, ``.docx`` or ``.html``
            file; its reader runs in a worker process that is stopped then. Such a file is reported,
            and remembered in the index folder (``over_budget.json``), so that later builds refuse
            it without reading it until it changes or this is raised. 0: no limit, every file read
            in the build's own process.
        upload_max_mb: each file uploaded through the web app at most this large.
        upload_max_files: files one upload may send at most.
        corpus_max_mb: uploads are refused once the corpus folder would hold more than this.
        audit_log: the append-only log of uploads and removals (JSON lines); ``None``:
            ``.audit.jsonl`` in the corpus folder (see :attr:`audit_log_path`).
    """

    corpus_dir: Path = Path("corpus")
    index_dir: Path = Path("index")
    store: str = field(default="", repr=False)
    store_read: str = field(default="", repr=False)
    store_connections: int = 4
    store_hnsw_m: int = 16
    store_hnsw_ef_construction: int = 128
    store_hnsw_ef_search: int = 640
    model: str = "multilingual-e5-small"
    device: str | None = None
    cache_dir: Path | None = None
    chunk_tokens: int = 440
    chunk_overlap: int = 56
    header_tokens: int = 64
    batch_size: int = 16
    precision: str = "auto"
    max_file_mb: float = 50.0
    lock_timeout: float = 0.0
    exact_search_max_chunks: int = 100_000
    approximate_index: str = "ivf"
    search_mode: str = "hybrid"
    sentence_vectors: bool = True
    answer_passages: int = 5
    answer_quote_passages: int = 3
    answer_threshold_shift: float = 0.0
    answer_max_quotes: int = 3
    answer_mode: str = "extractive"
    llm_base_url: str = ""
    llm_model: str = ""
    llm_api_key: str = field(default="", repr=False)
    llm_timeout: float = 120.0
    llm_rewrite_timeout: float = 15.0
    llm_max_tokens: int = 200
    llm_max_chars: int = 4000
    llm_passages: int = 3
    malloc_trim_seconds: float = 60.0
    read_access: str = "open"
    users_file: Path | None = None
    proxy_user_header: str = ""
    proxy_groups_header: str = ""
    proxy_editor_groups: str = ""
    fetch_max_mb: float = 20.0
    fetch_max_redirects: int = 5
    fetch_allow_private: bool = False
    fetch_dns_timeout: float = 10.0
    fetch_connect_timeout: float = 10.0
    fetch_header_timeout: float = 20.0
    fetch_read_timeout: float = 20.0
    fetch_total_timeout: float = 120.0
    allowed_hosts: tuple[str, ...] = ()
    max_k: int = MAX_K
    max_question_chars: int = MAX_QUERY_CHARS
    max_history_turns: int = 3
    max_history_chars: int = 2000
    max_title_chars: int = TITLE_CHARS
    max_region_chars: int = REGION_CHARS
    max_section_chars: int = SECTION_CHARS
    parse_seconds: float = 30.0
    upload_max_mb: float = 20.0
    upload_max_files: int = 20
    corpus_max_mb: float = 1024.0
    audit_log: Path | None = None

    def __post_init__(self) -> None:
        if self.chunk_tokens < 32:
            raise AssistantError(f"chunk_tokens must be at least 32, got {self.chunk_tokens}")
        if not 0 <= self.chunk_overlap < self.chunk_tokens:
            raise AssistantError(
                f"chunk_overlap must be in [0, chunk_tokens), got {self.chunk_overlap}"
            )
        if self.header_tokens < 0:
            raise AssistantError(f"header_tokens must be 0 or more, got {self.header_tokens}")
        if self.batch_size < 1:
            raise AssistantError(f"batch_size must be positive, got {self.batch_size}")
        if self.search_mode not in SEARCH_MODES:
            raise AssistantError(f"search_mode must be one of {', '.join(SEARCH_MODES)}, got {self.search_mode!r}")
        if self.exact_search_max_chunks < 0:
            raise AssistantError(f"exact_search_max_chunks must be 0 or more, got {self.exact_search_max_chunks}")
        if self.approximate_index not in ("ivf", "hnsw"):
            raise AssistantError(f"approximate_index must be ivf or hnsw, got {self.approximate_index!r}")
        if self.answer_mode not in ANSWER_MODES:
            raise AssistantError(f"answer_mode must be one of {', '.join(ANSWER_MODES)}, got {self.answer_mode!r}")
        if self.answer_mode == "generative" and not self.llm_base_url:
            raise AssistantError(
                "answer_mode generative needs a language model: set ASSISTANT_LLM_BASE_URL "
                "(an OpenAI-compatible API, e.g. http://127.0.0.1:8080/v1)"
            )
        if self.llm_timeout <= 0 or self.llm_rewrite_timeout <= 0:
            raise AssistantError("llm_timeout and llm_rewrite_timeout must be positive")
        if self.llm_max_tokens < 16 or self.llm_passages < 1 or self.llm_max_chars < 100:
            raise AssistantError("llm_max_tokens must be at least 16, llm_max_chars 100 and llm_passages 1")
        if self.max_file_mb <= 0:
            raise AssistantError(f"max_file_mb must be positive, got {self.max_file_mb}")
        if not 0 <= self.malloc_trim_seconds < float("inf"):  # also refuses nan
            raise AssistantError(
                f"malloc_trim_seconds must be a number of seconds, 0 or more (0: never trim), got {self.malloc_trim_seconds}"
            )
        if self.store and not is_database_url(self.store):
            raise AssistantError(
                "store must be a postgresql:// URL (for example postgresql://user@host/db), or empty for "
                "the index folder"
            )
        if self.store_connections < 1:
            raise AssistantError(f"store_connections must be 1 or more, got {self.store_connections}")
        self._check_hnsw()
        if self.store_read and not (self.store and is_database_url(self.store_read)):
            raise AssistantError(
                "store_read must be a postgresql:// URL of a replica of the database in store "
                "(ASSISTANT_STORE, the primary builds write to), and store must be set too"
            )
        self._check_web()
        self._check_fetch_limits()
        self._check_limits()

    def _check_web(self) -> None:
        """Who may read and edit, the host names served, and the upload limits (docs/security.md)."""
        if self.read_access not in READ_ACCESS:
            raise AssistantError(f"read_access must be one of {', '.join(READ_ACCESS)}, got {self.read_access!r}")
        if self.proxy_groups_header and not self.proxy_user_header:
            raise AssistantError("proxy_groups_header needs proxy_user_header (ASSISTANT_PROXY_USER_HEADER)")
        if not (0 < self.upload_max_mb < float("inf") and 0 < self.corpus_max_mb < float("inf")):  # also nan
            raise AssistantError(
                "upload_max_mb and corpus_max_mb must be positive numbers, "
                f"got {self.upload_max_mb}, {self.corpus_max_mb}"
            )
        if self.upload_max_files < 1:
            raise AssistantError(f"upload_max_files must be at least 1, got {self.upload_max_files}")
        for host in self.allowed_hosts:
            if not _HOST_NAME.fullmatch(host):
                raise AssistantError(
                    f"allowed_hosts: {host!r} is not a host name; list names only, comma-separated, "
                    "without scheme, port or path (e.g. ASSISTANT_ALLOWED_HOSTS=assistant.example.kz)"
                )

    def _check_fetch_limits(self) -> None:
        if not 0 < self.fetch_max_mb < float("inf"):
            raise AssistantError(f"fetch_max_mb must be a positive number of megabytes, got {self.fetch_max_mb}")
        if self.fetch_max_redirects < 0:
            raise AssistantError(f"fetch_max_redirects must be 0 or more, got {self.fetch_max_redirects}")
        for name in ("dns", "connect", "header", "read", "total"):
            seconds = getattr(self, f"fetch_{name}_timeout")
            if not 0 < seconds < float("inf"):  # also refuses nan
                raise AssistantError(f"fetch_{name}_timeout must be a positive number of seconds, got {seconds}")

    def _check_hnsw(self) -> None:
        """pgvector's own bounds: m 2-100, ef_construction 4-1000 and at least twice m, ef_search 1-1000."""
        if not 2 <= self.store_hnsw_m <= 100:
            raise AssistantError(f"store_hnsw_m must be from 2 to 100, got {self.store_hnsw_m}")
        if not max(4, 2 * self.store_hnsw_m) <= self.store_hnsw_ef_construction <= 1000:
            raise AssistantError(
                f"store_hnsw_ef_construction must be from twice store_hnsw_m ({2 * self.store_hnsw_m}) "
                f"to 1000, got {self.store_hnsw_ef_construction}"
            )
        if not 1 <= self.store_hnsw_ef_search <= 1000:
            raise AssistantError(f"store_hnsw_ef_search must be from 1 to 1000, got {self.store_hnsw_ef_search}")

    def _check_limits(self) -> None:
        """The limits on what a client can send (docs/security.md): each positive, and room for the answer's own searches."""
        if self.max_k < 1 or self.max_question_chars < 1:
            raise AssistantError(
                f"max_k and max_question_chars must be positive, got {self.max_k} and {self.max_question_chars}"
            )
        if max(self.answer_passages, self.answer_quote_passages) > self.max_k:
            raise AssistantError(
                f"answer_passages ({self.answer_passages}) and answer_quote_passages ({self.answer_quote_passages}) "
                f"must not exceed max_k ({self.max_k})"
            )
        cuts = {"max_title_chars": self.max_title_chars, "max_region_chars": self.max_region_chars,
                "max_section_chars": self.max_section_chars}  # fmt: skip
        for name, value in cuts.items():
            if value < 20:
                raise AssistantError(f"{name} must be at least 20 (characters), got {value}")
        if not 0 <= self.parse_seconds < float("inf"):  # also refuses nan
            raise AssistantError(f"parse_seconds must be a number of seconds, 0 or more (0: no limit), got {self.parse_seconds}")
        if self.max_history_turns < 0 or self.max_history_chars < 0:
            raise AssistantError(
                "max_history_turns and max_history_chars must be 0 or more (0: follow-ups stand alone), "
                f"got {self.max_history_turns} and {self.max_history_chars}"
            )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Build settings from defaults, then ``ASSISTANT_<FIELD>`` variables, then ``overrides``.

        ``overrides`` whose value is ``None`` are ignored, so CLI flags left unset fall through.

        Raises:
            AssistantError: a variable that does not parse as its field's type.
        """
        environ = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for spec in fields(cls):
            raw = environ.get(ENV_PREFIX + spec.name.upper())
            if raw is None or raw == "":
                continue
            values[spec.name] = _parse(spec.name, raw, cls.__dataclass_fields__[spec.name].default)
        values.update({key: value for key, value in overrides.items() if value is not None})
        for key in ("corpus_dir", "index_dir", "cache_dir", "users_file", "audit_log"):
            if isinstance(values.get(key), str):
                values[key] = Path(values[key])  # type: ignore[arg-type]
        return cls(**values)  # type: ignore[arg-type]

    @property
    def users_path(self) -> Path:
        """The users file: :attr:`users_file`, or ``users.json`` beside the index folder."""
        return self.users_file if self.users_file is not None else self.index_dir.absolute().parent / "users.json"

    @property
    def audit_log_path(self) -> Path:
        """Where uploads and removals are logged: ``audit_log``, else ``.audit.jsonl`` in the corpus folder
        (a dot name: builds skip it; it stays with the corpus it describes when the index is rebuilt)."""
        return self.audit_log if self.audit_log is not None else self.corpus_dir / ".audit.jsonl"

    @property
    def llm_configured(self) -> bool:
        """Whether a language model server is configured (generative answers are possible)."""
        return bool(self.llm_base_url.strip())

    def with_(self, **changes: object) -> Settings:
        """A copy with some fields changed."""
        return replace(self, **changes)  # type: ignore[arg-type]


def _parse(name: str, raw: str, default: object) -> object:
    if isinstance(default, tuple):
        return tuple(item.strip() for item in raw.split(",") if item.strip())
    try:
        if isinstance(default, bool):
            return raw.strip().lower() in {"1", "true", "yes", "on"}
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, float):
            return float(raw)
        if isinstance(default, Path) or name.endswith(("_dir", "_file")) or name == "audit_log":
            return Path(raw).expanduser()
    except ValueError as error:
        raise AssistantError(f"{ENV_PREFIX}{name.upper()}={raw!r} is not a valid value: {error}") from None
    return raw
