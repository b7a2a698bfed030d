"""XQuAD articles as corpus documents, the way every benchmark here indexes them."""

from __future__ import annotations

import json


def article_document(article: dict, **front_matter: str) -> str:
    """An article of a SQuAD-format file as a text document: front matter (its title, then
    ``front_matter`` in the order given) and its paragraphs separated by blank lines."""
    body = "\n\n".join(p["context"].strip().lstrip("\ufeff") for p in article["paragraphs"])
    title = json.dumps(article["title"].replace("_", " "), ensure_ascii=False)
    extra = "".join(f"{key}: {value}\n" for key, value in front_matter.items())
    return f"---\ntitle: {title}\n{extra}---\n{body}\n"
