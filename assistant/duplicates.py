"""Duplicates: MinHash signatures of documents, and groups of one text republished by several outlets.

A document's text is normalised (Unicode NFKC, case folded, ``ё`` read as ``е``, only
letters and digits kept, so punctuation, quotes and line breaks do not matter) and cut
into overlapping shingles of :data:`SHINGLE_WORDS` words. ``datasketch``'s MinHash turns
the shingle set into :data:`NUM_PERM` 64-bit values (a fixed seed, so a signature stored
by one build is valid in the next); two signatures agree in a share of positions that
estimates the Jaccard similarity of the two shingle sets.

:func:`duplicate_groups` finds candidate pairs with ``datasketch``'s MinHash LSH (banding:
sub-quadratic, so tens of thousands of documents are fine), keeps the pairs whose estimated
Jaccard similarity is at least the threshold, and joins them into groups.

Choices, measured with ``SHINGLE_WORDS`` 3 to 5 on XQuAD-ru articles cut into "news items"
of 100 to 550 words (a near copy: another outlet's header and footer, and one or two
sentences replaced) and on the sample report:

* **5-word shingles.** Near copies keep about the same similarity with 3-, 4- or 5-word
  shingles (median 0.76 at ~230 words, one sentence replaced), but texts on one topic in
  different words share fewer long shingles: the most similar pair of paragraphs of one
  article scores 0.023 with 3 words and 0.007 with 5; a differently worded report of the
  sample's meeting (same names, one shared quote) scores 0.049 and 0.031. Long shingles
  also step over the stock phrases of official news ("в рамках реализации Послания").
* **Threshold 0.5** (estimated Jaccard similarity). Exact copies score 1.0; near copies
  of ~230-word items 0.62 (5th percentile; 0.44 with two sentences replaced), of ~360-word
  items 0.75; different wordings stay under 0.05. With 128 permutations the estimate
  varies by about 0.04, so pairs truly at 0.50 are grouped half of the time, at 0.55 89 %,
  from 0.60 98 % and more, at 0.40 1 %. A lower threshold would start joining reports
  that quote the same long passage of the Address (two items each half made of one quote
  score 0.33); a very short note (~100 words) with a replaced sentence and an added
  masthead often falls below 0.5 and stays ungrouped.
"""

from __future__ import annotations

import functools
import json
import re
import struct
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from hashlib import blake2b
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

SHINGLE_WORDS = 5
NUM_PERM = 128
SEED = 20250908  # the Address's date; any fixed number: signatures of different seeds never compare
SCHEME = "affine64"  # datasketch 2's collision-free 64-bit permutations (uint64 values)
THRESHOLD = 0.5
# LSH bands x rows per band. Every candidate is checked against the signatures, so the bands only
# need to miss few true pairs: 42 bands of 3 values propose a pair at Jaccard 0.5 with probability
# 0.996 (datasketch's balanced default, 25 x 5: 0.55) and one at 0.05 with 0.005.
LSH_BANDS, LSH_ROWS = 42, 3
NORMALISER = "nfkc-casefold-yo-words-1"  # bump whenever normalised_words() output changes
BATCH = 4096  # shingles hashed per step: bounds memory (BATCH x NUM_PERM x 8 bytes) on long laws

# Hosts of government sites: their copy of a text is preferred over a news site's.
OFFICIAL_HOSTS = ("gov.kz", "akorda.kz", "primeminister.kz", "adilet.zan.kz", "parlam.kz", "egov.kz")

_WORD = re.compile(r"[^\W_]+")
_EMPTY = np.uint64(np.iinfo(np.uint64).max)  # every value of a signature of a text without words


def signature_parameters() -> dict:
    """What a stored signature depends on: signatures made with other parameters must be recomputed."""
    return {
        "library": "datasketch MinHash",
        "scheme": SCHEME,
        "hash": "blake2b-64",
        "num_perm": NUM_PERM,
        "seed": SEED,
        "shingle_words": SHINGLE_WORDS,
        "normaliser": NORMALISER,
    }


@dataclass(frozen=True)
class DuplicateGroup:
    """Documents holding the same text (exactly or nearly).

    ``members`` lists every document of the group, ``canonical`` first, the rest in the
    order of :func:`canonical_key`.
    """

    canonical: str
    members: tuple[str, ...]


@dataclass(frozen=True, eq=False)  # arrays have no truth value to compare by
class DuplicateTable:
    """What an index stores about duplicates: each document's signature, and the groups.

    Row ``i`` of ``signatures`` belongs to ``doc_ids[i]``. Documents without a duplicate
    belong to no group.
    """

    doc_ids: tuple[str, ...]
    signatures: np.ndarray
    groups: tuple[DuplicateGroup, ...]
    parameters: dict
    threshold: float
    _group_of: dict[str, DuplicateGroup] = field(init=False, repr=False, compare=False)

    SIGNATURES = "signatures.npy"
    GROUPS = "groups.json"

    def __post_init__(self) -> None:
        group_of: dict[str, DuplicateGroup] = {}
        for group in self.groups:
            for member in group.members:
                group_of[member] = group
        object.__setattr__(self, "_group_of", group_of)

    def group_of(self, doc_id: str) -> DuplicateGroup | None:
        """The group ``doc_id`` belongs to, or ``None`` when it has no duplicate."""
        return self._group_of.get(doc_id)

    def signature_of(self) -> dict[str, np.ndarray]:
        """doc_id -> stored signature (views into ``signatures``)."""
        return {doc_id: self.signatures[row] for row, doc_id in enumerate(self.doc_ids)}

    def facts(self) -> dict:
        """What the manifest records."""
        return {
            "parameters": self.parameters,
            "threshold": self.threshold,
            "documents": len(self.doc_ids),
            "groups": len(self.groups),
            "duplicates": sum(len(group.members) - 1 for group in self.groups),
        }

    def save(self, folder: Path) -> list[Path]:
        """Write the table into ``folder`` (a fresh staging folder); returns the files written."""
        folder.mkdir(parents=True, exist_ok=True)
        np.save(folder / self.SIGNATURES, np.ascontiguousarray(self.signatures, dtype=np.uint64), allow_pickle=False)
        data = {
            "parameters": self.parameters,
            "threshold": self.threshold,
            "doc_ids": list(self.doc_ids),  # the row order of signatures.npy
            "groups": [{"canonical": group.canonical, "members": list(group.members)} for group in self.groups],
        }
        (folder / self.GROUPS).write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
        return [folder / self.GROUPS, folder / self.SIGNATURES]

    @classmethod
    def load(cls, folder: Path) -> DuplicateTable:
        """Open a saved table and check that its parts agree.

        Raises:
            ValueError, KeyError, TypeError: a part is malformed or inconsistent (the caller names the build).
            OSError: a file is missing or cannot be read.
        """
        data = json.loads((folder / cls.GROUPS).read_text(encoding="utf-8"))
        doc_ids = tuple(data["doc_ids"])
        if len(set(doc_ids)) != len(doc_ids) or not all(isinstance(doc_id, str) for doc_id in doc_ids):
            raise ValueError("the document list repeats or holds a non-text id")
        signatures = np.load(folder / cls.SIGNATURES, allow_pickle=False)
        parameters = data["parameters"]
        if signatures.dtype != np.uint64 or signatures.ndim != 2 or signatures.shape[0] != len(doc_ids):
            raise ValueError(
                f"signatures of shape {signatures.shape} and type {signatures.dtype} "
                f"for {len(doc_ids)} documents (expected uint64 rows)"
            )
        if signatures.shape[1] != parameters.get("num_perm"):
            raise ValueError(
                f"signatures have {signatures.shape[1]} values, the parameters say {parameters.get('num_perm')}"
            )
        known = set(doc_ids)
        seen: set[str] = set()
        groups = []
        for entry in data["groups"]:
            members = tuple(entry["members"])
            if len(members) < 2 or members[0] != entry["canonical"]:
                raise ValueError(
                    f"group {entry['canonical']!r} must list its canonical document first and have 2+ members"
                )
            if not set(members) <= known:
                raise ValueError(f"group {entry['canonical']!r} names documents that are not indexed")
            if seen & set(members) or len(set(members)) != len(members):
                raise ValueError(f"group {entry['canonical']!r} shares a document with another group")
            seen |= set(members)
            groups.append(DuplicateGroup(entry["canonical"], members))
        threshold = float(data["threshold"])
        return cls(doc_ids, signatures, tuple(groups), parameters, threshold)


def normalised_words(text: str) -> list[str]:
    """The words duplicate detection compares: case-, ``ё``/``е``-, punctuation- and spacing-insensitive.

    Example:
        >>> normalised_words("«Ёлка» — в  Астане!")
        ['елка', 'в', 'астане']
    """
    return _WORD.findall(unicodedata.normalize("NFKC", text).casefold().replace("ё", "е"))


def shingles(text: str) -> set[str]:
    """The set of overlapping :data:`SHINGLE_WORDS`-word sequences of the normalised text.

    A text shorter than a shingle is one shingle; a text without words has none.
    """
    words = normalised_words(text)
    if len(words) <= SHINGLE_WORDS:
        return {" ".join(words)} if words else set()
    return {" ".join(words[i : i + SHINGLE_WORDS]) for i in range(len(words) - SHINGLE_WORDS + 1)}


def signature(text: str) -> np.ndarray:
    """The MinHash signature of a text: :data:`NUM_PERM` uint64 values, the same on every run.

    Equal normalised texts have equal signatures. A text without words gets a signature
    of maximal values, which :func:`duplicate_groups` never groups.

    Example:
        >>> bool((signature("Аким области провёл совещание.") == signature("аким  области провел совещание")).all())
        True
    """
    from datasketch import MinHash

    minhash = MinHash(num_perm=NUM_PERM, seed=SEED, scheme=SCHEME, hashfunc=_hash64, permutations=_permutations())
    items = sorted(shingles(text))
    for start in range(0, len(items), BATCH):
        minhash.update_batch([item.encode("utf-8") for item in items[start : start + BATCH]])
    return np.asarray(minhash.digest(), dtype=np.uint64)


def canonical_key(doc_id: str, date: str = "", source: str = "", origin: str = "") -> tuple:
    """Sort key choosing which copy of a text stands for the group (the smallest key).

    0. a copy that was not uploaded (shipped or fetched, see :data:`assistant.model.ORIGINS`)
       before an uploaded one, whatever their dates: an upload's date and source are what its
       uploader says, and a back-dated copy must not pass for the original;
    1. the earliest date (an undated copy comes after every dated one): the first
       publication is most likely the original;
    2. a government site (``*.gov.kz``, ``akorda.kz``, ``adilet.zan.kz``, ... see
       :data:`OFFICIAL_HOSTS`) before a news site;
    3. the shorter ``doc_id`` (an upload saved as ``name (2).txt`` is the copy);
    4. ``doc_id`` itself, so the choice is always the same.
    """
    return (origin == "uploaded", date == "", date, not _is_official(source), len(doc_id), doc_id)


def duplicate_groups(
    signatures: Mapping[str, np.ndarray],
    *,
    threshold: float = THRESHOLD,
    dates: Mapping[str, str] | None = None,
    sources: Mapping[str, str] | None = None,
    origins: Mapping[str, str] | None = None,
) -> tuple[DuplicateGroup, ...]:
    """Groups of documents whose texts are the same or nearly the same.

    Two documents are linked when their signatures estimate a Jaccard similarity of at
    least ``threshold``; linked documents form a group (so a chain of close copies is one
    group). Identical signatures (the same normalised text) always link. Candidate pairs
    come from MinHash LSH (:data:`LSH_BANDS` bands of :data:`LSH_ROWS` values), so the work
    grows with the number of documents and of similar pairs, not with all pairs.

    Args:
        signatures: doc_id -> :func:`signature` of its text.
        threshold: the least estimated Jaccard similarity of 5-word shingles that links two documents.
        dates: doc_id -> ``YYYY-MM-DD`` (or ``""``), for choosing the canonical member.
        sources: doc_id -> URL or citation, for choosing the canonical member.
        origins: doc_id -> how it entered the corpus (``uploaded`` copies come last).

    Returns:
        Groups of two or more documents, sorted by canonical doc_id; documents without a
        duplicate are in none.

    Raises:
        ValueError: the threshold is outside (0, 1] or a signature has the wrong shape or type.
    """
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold must be in (0, 1], got {threshold!r}")
    doc_ids = sorted(signatures)
    if not doc_ids:
        return ()
    matrix = np.stack([_checked(doc_id, signatures[doc_id]) for doc_id in doc_ids])
    rows = [row for row in range(len(doc_ids)) if not (matrix[row] == _EMPTY).all()]
    parent = list(range(len(doc_ids)))

    def root(row: int) -> int:
        while parent[row] != row:
            parent[row] = parent[parent[row]]
            row = parent[row]
        return row

    def join(first: int, second: int) -> None:
        a, b = root(first), root(second)
        if a != b:
            parent[max(a, b)] = min(a, b)

    # Exact copies join at once (and only one of them goes through LSH: many copies of one
    # text would otherwise cost a comparison per pair).
    distinct: dict[bytes, int] = {}
    for row in rows:
        join(distinct.setdefault(matrix[row].tobytes(), row), row)
    for first, second in _similar_pairs(matrix, list(distinct.values()), threshold):
        join(first, second)
    members: dict[int, list[str]] = {}
    for row in rows:
        members.setdefault(root(row), []).append(doc_ids[row])
    dates = dates or {}
    sources = sources or {}
    origins = origins or {}

    def key(doc_id: str) -> tuple:
        return canonical_key(doc_id, dates.get(doc_id, ""), sources.get(doc_id, ""), origins.get(doc_id, ""))

    groups = []
    for names in members.values():
        if len(names) > 1:
            ordered = tuple(sorted(names, key=key))
            groups.append(DuplicateGroup(ordered[0], ordered))
    return tuple(sorted(groups, key=lambda group: group.canonical))


def estimated_similarity(first: np.ndarray, second: np.ndarray) -> float:
    """The Jaccard similarity two signatures estimate (the share of equal values)."""
    return float(np.mean(np.asarray(first) == np.asarray(second)))


def _similar_pairs(matrix: np.ndarray, rows: Iterable[int], threshold: float) -> Iterable[tuple[int, int]]:
    """Row pairs whose signatures agree in at least ``threshold`` of their values.

    LSH proposes the candidates; each one is then checked against the signatures themselves.
    """
    from datasketch import LeanMinHash, MinHashLSH

    lsh = MinHashLSH(threshold=threshold, num_perm=NUM_PERM, params=(LSH_BANDS, LSH_ROWS))
    sketches = {}
    for row in rows:
        sketches[row] = LeanMinHash(seed=SEED, hashvalues=matrix[row], scheme=SCHEME)
        for other in lsh.query(sketches[row]):
            if estimated_similarity(matrix[row], matrix[other]) >= threshold:
                yield other, row
        lsh.insert(row, sketches[row], check_duplication=False)


def _checked(doc_id: str, values: np.ndarray) -> np.ndarray:
    values = np.asarray(values)
    if values.shape != (NUM_PERM,) or values.dtype != np.uint64:
        raise ValueError(
            f"signature of {doc_id!r} has shape {values.shape} and type {values.dtype}, not ({NUM_PERM},) uint64"
        )
    return values


def _is_official(source: str) -> bool:
    host = (urlsplit(source).hostname or "").lower() if "://" in source else ""
    host = host.removeprefix("www.")
    return any(host == official or host.endswith("." + official) for official in OFFICIAL_HOSTS)


def _hash64(data: bytes) -> int:
    # blake2b is in the standard library and fixed by its spec: stored signatures stay valid
    # across Python and datasketch versions (datasketch's own default hash could change).
    return struct.unpack("<Q", blake2b(data, digest_size=8).digest())[0]


@functools.lru_cache(maxsize=1)
def _permutations() -> np.ndarray:
    """The seeded permutation parameters, drawn once per process instead of once per document."""
    from datasketch import MinHash

    permutations = MinHash(num_perm=NUM_PERM, seed=SEED, scheme=SCHEME, hashfunc=_hash64).permutations
    permutations.setflags(write=False)
    return permutations
