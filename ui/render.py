"""Render: answers, sources and passages as inert HTML for the chat (document text never becomes markup)."""

from __future__ import annotations

import html
from collections.abc import Iterable, Iterator, Sequence
from pathlib import PureWindowsPath
from urllib.parse import urlsplit

from assistant.answer import Answer
from assistant.generation import FLAGS, SUPPORTED, UNCITED, CheckedSentence
from assistant.model import SUPPORTED_SUFFIXES, Passage, Provenance
from assistant.overview import RegionFinding, RegionOverview
from assistant.regions import canonical_region
from ui.texts import doc_language_label, doc_type_label, provenance_text, region_label, stated_text, text

# Characters that start Markdown (links, images, emphasis, code, tables), LaTeX or HTML. The chat
# renders messages without Markdown, but turning these into character references keeps document
# text inert even if Markdown rendering is switched on again.
_ACTIVE = {ord(character): f"&#{ord(character)};" for character in "\\`*_[]()!|~$#{}"}
_ESCAPES = {**_ACTIVE, ord("&"): "&amp;", ord("<"): "&lt;", ord(">"): "&gt;", ord('"'): "&quot;", ord("'"): "&#x27;"}
CONTEXT_CHARS = 160  # of the passage shown on each side of a region card's quote


def inert(value: object) -> str:
    """HTML that shows ``value`` exactly as text: escaped for HTML and Markdown, newlines as ``<br>``.

    Control characters other than newlines and tabs are dropped.

    Example:
        >>> inert("[x](javascript:alert(1)) <b>")
        '&#91;x&#93;&#40;javascript:alert&#40;1&#41;&#41; &lt;b&gt;'
    """
    raw = "".join(ch for ch in str(value) if ch.isprintable() or ch in "\n\t")
    return raw.translate(_ESCAPES).replace("\n", "<br>")


def safe_url(value: str) -> str | None:
    """``value`` when it is an absolute http(s) URL without spaces, quotes or control characters, else ``None``."""
    candidate = (value or "").strip()
    if not candidate or any(ch.isspace() or not ch.isprintable() or ch in "\"'<>`\\" for ch in candidate):
        return None
    try:
        parts = urlsplit(candidate)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return candidate


def source_html(source: str) -> str:
    """A link for an http(s) source; for a file path, its file name as text; any other citation as text."""
    url = safe_url(source)
    if url is not None:
        return (
            f'<a href="{html.escape(url, quote=True)}" target="_blank" rel="noopener noreferrer nofollow">'
            f"{inert(url)}</a>"
        )
    shown = source.strip()
    if shown.lower().endswith(SUPPORTED_SUFFIXES):
        shown = PureWindowsPath(shown).name  # splits on both "/" and "\"
    return f'<span class="kz-file">{inert(shown)}</span>'


def highlighted(passage_text: str, spans: Iterable[tuple[int, int]]) -> str:
    """The passage as inert HTML with the character ranges ``spans`` wrapped in ``<mark>``."""
    length = len(passage_text)
    merged: list[list[int]] = []
    for start, end in sorted((max(0, int(s)), min(length, int(e))) for s, e in spans):
        if start >= end:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    parts, position = [], 0
    for start, end in merged:
        parts.append(inert(passage_text[position:start]))
        parts.append(f"<mark>{inert(passage_text[start:end])}</mark>")
        position = end
    parts.append(inert(passage_text[position:]))
    return "".join(parts)


def passage_html(
    passage: Passage, lang: str, *, number: int | None = None, spans: Sequence[tuple[int, int]] = ()
) -> str:
    """One source or related passage: ``[number]``, title, facts, source, and the text with quoted spans marked."""
    facts = [
        (text(lang, "date"), passage.date),
        (text(lang, "region"), region_label(lang, canonical_region(passage.region) or passage.region) if passage.region else ""),
        (text(lang, "doc_type"), doc_type_label(lang, passage.doc_type) if passage.doc_type else ""),
        (text(lang, "lang"), doc_language_label(lang, passage.lang) if passage.lang else ""),
        (text(lang, "section"), passage.section),
    ]
    facts_html = " · ".join(f"{inert(name)}: {inert(value)}" for name, value in facts if value)
    score = f" · {inert(text(lang, 'similarity'))} {passage.similarity:.2f}"
    head = f'<span class="kz-cite">[{int(number)}]</span> ' if number is not None else ""
    return (
        '<div class="kz-source">'
        f'<div>{head}<strong class="kz-title">{inert(passage.title)}</strong></div>'
        f'<div class="kz-facts">{facts_html}{score}</div>'
        f'<div class="kz-link">{inert(text(lang, "source"))}: {source_html(passage.source)}</div>'
        f"{provenance_html(passage, lang)}"
        f"{_also_published(passage, lang)}"
        f'<blockquote class="kz-passage">{highlighted(passage.text, spans)}</blockquote>'
        "</div>"
    )


def provenance_html(passage: Passage, lang: str) -> str:
    """How the passage's document entered the corpus, and what an uploaded one claims as its source
    (as text, never as a link: it is the uploader's word)."""
    phrase = provenance_text(lang, passage.provenance, source=passage.source)
    if not phrase:
        return ""
    claim = stated_text(lang, passage.provenance)
    stated = f'<div class="kz-provenance kz-stated">{inert(claim)}</div>' if claim else ""
    return f'<div class="kz-provenance">{inert(text(lang, "provenance"))}: {inert(phrase)}</div>{stated}'


def _also_published(passage: Passage, lang: str) -> str:
    """The other outlets that published the same text (collapsed duplicates), if any; an uploaded
    copy with who uploaded it and what it claims."""
    if not passage.also_published:
        return ""
    copies, provenances = [], passage.also_published_provenance
    for number, source in enumerate(passage.also_published):
        provenance = provenances[number] if number < len(provenances) else Provenance()
        note = provenance_text(lang, provenance, stated=True) if provenance.uploaded else ""
        copies.append(source_html(source) + (f' <span class="kz-stated">({inert(note)})</span>' if note else ""))
    return f'<div class="kz-link">{inert(text(lang, "also_published"))}: {", ".join(copies)}</div>'


def answer_body(reply: Answer, *, quotes: int | None = None) -> str:
    """The quoted sentences of a found answer, each followed by its marker ``[n]``."""
    chosen = reply.quotes if quotes is None else reply.quotes[:quotes]
    return " ".join(f'{inert(quote.text)} <span class="kz-cite">[{quote.source}]</span>' for quote in chosen)


def sources_html(reply: Answer, lang: str) -> str:
    """The collapsible block of numbered sources under a found answer."""
    items = "".join(
        passage_html(source.passage, lang, number=source.number, spans=source.quoted) for source in reply.sources
    )
    summary = f"{inert(text(lang, 'sources'))} ({len(reply.sources)})"
    return f'<details class="kz-sources"><summary>{summary}</summary>{items}</details>'


def related_html(passages: Sequence[Passage], lang: str) -> str:
    """The "possibly related" passages under a not-found reply, without citation markers."""
    if not passages:
        return ""
    items = "".join(passage_html(passage, lang) for passage in passages)
    summary = f"{inert(text(lang, 'related'))} ({len(passages)})"
    return f'<details class="kz-related" open><summary>{summary}</summary>{items}</details>'


def render_answer(reply: Answer, lang: str) -> str:
    """The complete chat message for ``reply``: quotes with markers and sources, or the not-found text.

    A generative answer shows each checked sentence, flagged ones marked; an extractive answer
    that stands in for a generative one opens with the reason.
    """
    note = fallback_note(reply, lang)
    if not reply.found:
        body = f'<div class="kz-answer kz-not-found">{inert(reply.text)}</div>{related_html(reply.related, lang)}'
        return note + body
    if reply.mode == "generative":
        return f'<div class="kz-answer kz-generated">{generated_body(reply, lang)}</div>{sources_html(reply, lang)}'
    return f'{note}<div class="kz-answer">{answer_body(reply)}</div>{sources_html(reply, lang)}'


def answer_steps(reply: Answer, lang: str) -> Iterator[str]:
    """Successive versions of the message: one more quoted sentence each time, then the sources
    (so a one-sentence answer, too, is read before its sources arrive)."""
    if reply.found and reply.mode == "extractive":
        note = fallback_note(reply, lang)
        for count in range(1, len(reply.quotes) + 1):
            yield f'{note}<div class="kz-answer">{answer_body(reply, quotes=count)}</div>'
    yield render_answer(reply, lang)


def generated_body(reply: Answer, lang: str) -> str:
    """A generative answer: a line saying a model wrote it, then its sentences, each with its markers or a flag.

    The model's text is untrusted and is escaped like document text.
    """
    flagged = len(reply.flagged)
    badge = text(lang, "generated_badge") + (" " + text(lang, "generated_flagged", count=flagged) if flagged else "")
    sentences = " ".join(_generated_sentence(sentence, lang) for sentence in reply.sentences)
    return f'<div class="kz-notice kz-generated-note">{inert(badge)}</div>{sentences}'


def _generated_sentence(sentence: CheckedSentence, lang: str) -> str:
    markers = "".join(f'<span class="kz-cite">[{int(number)}]</span>' for number in sentence.sources)
    details = []
    if sentence.missing_terms:
        details.append(text(lang, "flag_terms", terms=", ".join(sentence.missing_terms)))
    if sentence.invalid_markers:
        removed = ", ".join(f"[{int(number)}]" for number in sentence.invalid_markers)
        details.append(text(lang, "flag_invalid_markers", markers=removed))
    if sentence.status == SUPPORTED:
        note = f'<span class="kz-flag">⚠ {inert("; ".join(details))}</span>' if details else ""
        return f"{inert(sentence.text)} {markers}{note}"
    kind = "uncited" if sentence.status == UNCITED else "unsupported"
    flag = FLAGS[kind].get(lang, FLAGS[kind]["en"])
    note = flag + (f" ({'; '.join(details)})" if details else "")
    return (
        f'<span class="kz-flagged kz-{kind}">{inert(sentence.text)}</span> {markers}'
        f'<span class="kz-flag">⚠ {inert(note)}</span>'
    )


def draft_html(generated: str, lang: str) -> str:
    """The model's text while it streams in, shown as unchecked text."""
    return (
        f'<div class="kz-notice">{inert(text(lang, "generating"))}</div>'
        f'<div class="kz-answer kz-draft">{inert(generated)}</div>'
    )


def fallback_note(reply: Answer, lang: str) -> str:
    """Why the extractive answer stands in for a generative one (empty when it does not)."""
    if not reply.fallback:
        return ""
    key = f"fallback_{reply.fallback}"
    try:
        message = text(lang, key)
    except KeyError:
        message = text(lang, "fallback_error")
    return f'<div class="kz-notice kz-fallback">{inert(message)}</div>'


def notice(message: str, *, kind: str = "info") -> str:
    """A short message from the interface itself (searching, an error), as inert HTML."""
    css = "kz-error" if kind == "error" else "kz-notice"
    return f'<div class="{css}">{inert(message)}</div>'


def passage_record(passage: Passage) -> dict:
    """A passage as a JSON-able dict for the ``/search`` endpoint (plain text, not HTML)."""
    return detached(passage.to_dict())


def overview_record(overview: RegionOverview) -> dict:
    """The by-region overview as a JSON-able dict for the ``/regions`` endpoint (plain text, not HTML)."""
    return detached(overview.to_dict())


def detached(value: object) -> object:
    """``value`` (dicts, lists, tuples, strings, numbers) rebuilt with its own copy of every non-ASCII string.

    Gradio encodes API results with orjson, which takes each string's UTF-8 form from CPython, and
    CPython keeps that form inside a non-ASCII string for as long as the string lives. A passage's
    text is the very string the loaded index holds, so sending it as it is would add its UTF-8 size
    (about 2.5 KB for a Russian or Kazakh chunk) to the server for every chunk ever served, until the
    index is replaced: memory that grows with what people ask, up to the corpus's size. A copy lives
    only as long as the response. Tuples become lists, as they would in JSON.
    """
    if isinstance(value, str):
        return value if value.isascii() else value.encode("utf-8", "surrogatepass").decode("utf-8", "surrogatepass")
    if isinstance(value, dict):
        return {key: detached(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [detached(item) for item in value]
    return value


def regions_html(overview: RegionOverview, lang: str) -> str:
    """The By region view: a summary line, one card per region with evidence (best first), the
    national and other documents, and a final line naming the regions where nothing was found."""
    total = len(overview.found) + len(overview.missing)
    threshold = f"{overview.threshold:.2f}"
    if overview.found:
        summary = text(lang, "regions_summary", found=len(overview.found), total=total, threshold=threshold)
    else:
        summary = text(lang, "regions_none", threshold=threshold)
    parts = [f'<div class="kz-regions-summary">{inert(summary)}</div>']
    parts += [region_card(finding, lang) for finding in overview.found]
    if overview.other:
        parts.append(f'<div class="kz-regions-other">{inert(text(lang, "regions_other"))}</div>')
        parts += [region_card(finding, lang) for finding in overview.other]
    if overview.missing:
        parts.append(missing_html(overview, lang))
    return f'<div class="kz-regions">{"".join(parts)}</div>'


def region_card(finding: RegionFinding, lang: str) -> str:
    """One region's evidence: its name, the quote marked in its context, and the citation."""
    passage = finding.passage
    name = region_label(lang, finding.region)
    facts = [
        passage.date,
        doc_type_label(lang, passage.doc_type) if passage.doc_type else "",
        passage.section,
    ]
    facts_html = " · ".join(inert(value) for value in facts if value)
    return (
        f'<div class="kz-region-card" data-region="{inert(finding.region)}">'
        f'<div class="kz-region-head"><strong class="kz-region-name">{inert(name)}</strong>'
        f'<span class="kz-facts"> · {inert(text(lang, "similarity"))} {finding.score:.2f}</span></div>'
        f'<blockquote class="kz-passage">{_quote_in_context(passage.text, finding.quote_start, finding.quote_end)}</blockquote>'
        f'<div class="kz-facts"><strong class="kz-title">{inert(passage.title)}</strong>'
        f"{' · ' + facts_html if facts_html else ''}</div>"
        f'<div class="kz-link">{inert(text(lang, "source"))}: {source_html(passage.source)}</div>'
        f"{provenance_html(passage, lang)}"
        "</div>"
    )


def missing_html(overview: RegionOverview, lang: str) -> str:
    """The final line: regions whose documents say nothing on the topic, then regions without documents."""
    empty = set(overview.no_documents)
    off_topic = [region_label(lang, region) for region in overview.missing if region not in empty]
    without = [region_label(lang, region) for region in overview.missing if region in empty]
    groups = []
    if off_topic:
        groups.append(text(lang, "regions_missing_topic", regions=", ".join(off_topic)))
    if without:
        groups.append(text(lang, "regions_missing_empty", regions=", ".join(without)))
    head = text(lang, "regions_missing", count=len(overview.missing))
    return f'<div class="kz-missing"><strong>{inert(head)}</strong> {inert("; ".join(groups))}.</div>'


def _quote_in_context(passage_text: str, start: int, end: int) -> str:
    """The quote marked, with up to :data:`CONTEXT_CHARS` of the passage on each side, cut at spaces."""
    left = max(0, start - CONTEXT_CHARS)
    if left > 0:
        space = passage_text.find(" ", left, start)
        left = space + 1 if space >= 0 else start
    right = min(len(passage_text), end + CONTEXT_CHARS)
    if right < len(passage_text):
        space = passage_text.rfind(" ", end, right)
        right = space if space >= 0 else end
    before = inert(passage_text[left:start].lstrip())
    after = inert(passage_text[end:right].rstrip())
    return (
        ("… " if left > 0 else "")
        + before
        + f"<mark>{inert(passage_text[start:end])}</mark>"
        + after
        + (" …" if right < len(passage_text) else "")
    )
