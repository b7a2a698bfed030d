"""Keywords: Russian, Kazakh and English terms of a text, and the BM25 index over chunks.

The analyzer turns text into index terms:

* Unicode words; ``ё`` is folded to ``е``, case is folded, codes keep their shape
  (``413-IV`` gives ``413-iv`` plus ``413`` and ``iv``; ``12.09.2025`` stays whole).
* Stop words are dropped (Snowball's Russian and English lists as shipped by ``bm25s``,
  question words, and a Kazakh list of conjunctions, postpositions, pronouns and particles).
* Russian and English words are stemmed by Snowball (``PyStemmer``). Kazakh has no Snowball
  stemmer and no maintained pip-installable analyser (``kazstem`` needs an HFST toolchain
  built from source), so Kazakh words get a suffix stripper (:func:`kazakh_stem`) that peels
  plural, possessive, case and common derivational endings while a stem of at least three
  letters remains.

A Cyrillic word is Kazakh when it has a Kazakh-only letter (ә ғ қ ң ө ұ ү һ і) or the text is
Kazakh; otherwise Russian. A query's language is not trusted (questions are short and
mixed), so a query word without Kazakh-only letters contributes both its Russian and its
Kazakh stem: the one that does not occur in the corpus simply matches nothing.

:class:`KeywordIndex` stores the terms of every chunk (so a rebuild analyses only new
chunks) and a ``bm25s`` score matrix, in plain ``.npy`` and JSON files, no pickle.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ANALYZER_VERSION = "ru-kk-en-2"  # bump whenever analyze() output changes: stored terms are reused
BM25_PARAMETERS = {"method": "lucene", "k1": 1.2, "b": 0.75}

_WORD = re.compile(r"[^\W_]+(?:[-‐‑–/.][^\W_]+)*")
_KAZAKH_LETTERS = frozenset("әғқңөұүһі")
_SPLIT = re.compile(r"[-‐‑–/.]")

_RUSSIAN_EXTRA = """
    какой какая какое какие каком какому каких каким какую каков какова каковы который которая
    которое которые которого которой котором которому которых которым которую сколько чей чья
    чьё чье чьи почему зачем откуда также является являются являлся являлась был была было были
    это эта эти этим этими свой своя своё свое свои своих своим своей своего сама само сами весь
    вся всё всем всеми кого кем чему ком один одна одно одни
""".split()
_KAZAKH_STOPWORDS = frozenset(
    """
    және мен бен пен да де та те ма ме ба бе па пе ол олар оның олардың оны оларды оған оларға онда
    одан бұл бұның бұны бұған мұнда осы осының осыны осыған осында сол соның соны соған сонда мына
    анау сен сіз біз мен менің сенің сіздің біздің үшін туралы бойынша арқылы дейін кейін бірақ
    немесе не әлде яғни сияқты ретінде тиіс керек болып болады болған болды бар жоқ еді екен емес әр
    барлық бүкіл қандай қай қайсы кім кімнің кімге қашан қанша неше нелер неге неліктен қайда қалай
    деп деген дегеніміз дейді ғана тек өте ең әрі енді тағы сондай осындай мұндай осылай сонымен
    сондықтан себебі өйткені егер ал ия иә ғой қой шейін шақты бірге басқа өз өзі өзінің
    """.split()
)


@functools.cache
def _bm25s():
    """The ``bm25s`` module, with its logger left to the application's logging configuration.

    Importing bm25s sets its logger's level to DEBUG, so once the application configures a handler
    (``logging.basicConfig``, as the CLI does) every debug line of bm25s prints ("Building index
    from IDs") whatever level the application chose. Unset, the level is inherited like any
    library's. Only DEBUG, the value bm25s sets, is undone: a level the application set stays.
    """
    import bm25s

    bm25s_logger = logging.getLogger("bm25s")
    if bm25s_logger.level == logging.DEBUG:
        bm25s_logger.setLevel(logging.NOTSET)
    return bm25s


def _stopwords() -> frozenset[str]:
    stopwords = _bm25s().stopwords
    words = (
        set(stopwords.STOPWORDS_RUSSIAN) | set(_RUSSIAN_EXTRA) | set(stopwords.STOPWORDS_EN_PLUS) | _KAZAKH_STOPWORDS
    )
    return frozenset(word.replace("ё", "е") for word in words)


STOPWORDS = _stopwords()


# Kazakh endings in their vowel-harmony and assimilation variants, longest first when used.
_KAZAKH_SUFFIXES = sorted(
    {
        # plural
        "лар", "лер", "дар", "дер", "тар", "тер",
        # possessive
        "ымыз", "іміз", "мыз", "міз", "ыңыз", "іңіз", "ңыз", "ңіз", "ың", "ің", "ым", "ім",
        # case: genitive, dative, accusative, locative, ablative, instrumental
        "ның", "нің", "дың", "дің", "тың", "тің",
        "ға", "ге", "қа", "ке", "на", "не",
        "ны", "ні", "ды", "ді", "ты", "ті",
        "нда", "нде", "да", "де", "та", "те",
        "нан", "нен", "дан", "ден", "тан", "тен",
        "мен", "бен", "пен",
        # locative adjectives and common derivation
        "ндағы", "ндегі", "дағы", "дегі", "тағы", "тегі",
        "лық", "лік", "дық", "дік", "тық", "тік",
        "шы", "ші", "сыз", "сіз", "лы", "лі",
        # verbal nouns and participles
        "ған", "ген", "қан", "кен", "атын", "етін", "йтын", "йтін", "уы", "уі",
    },
    key=len,
    reverse=True,
)
_KAZAKH_SHORT = ("ы", "і", "н", "м", "ң")  # possessive and accusative; stems often end in а/е
_MIN_STEM = 3
_MAX_ROUNDS = 4


@functools.lru_cache(maxsize=200_000)
def kazakh_stem(word: str) -> str:
    """A light stem of a Kazakh word: inflectional and common derivational endings peeled off.

    Endings come off right to left, longest first, for at most four rounds, and only while
    at least three letters remain (four for one-letter endings), so short roots survive:
    ``облыстарындағы`` → ``облыс``, ``жасушаларының`` → ``жасуша``, ``ел`` → ``ел``.
    """
    stem = word
    for _ in range(_MAX_ROUNDS):
        for suffix in _KAZAKH_SUFFIXES:
            if stem.endswith(suffix) and len(stem) - len(suffix) >= _MIN_STEM:
                stem = stem[: -len(suffix)]
                break
        else:
            if stem.endswith(_KAZAKH_SHORT) and len(stem) - 1 >= _MIN_STEM + 1:
                stem = stem[:-1]
                continue
            break
    return stem


@functools.lru_cache(maxsize=4)
def _snowball(language: str):
    import Stemmer

    return Stemmer.Stemmer(language)


def _is_cyrillic(word: str) -> bool:
    return any("\u0400" <= ch <= "\u04ff" for ch in word)


def _stems(word: str, lang: str, *, query: bool) -> tuple[str, ...]:
    if word.isdigit() or any(ch.isdigit() for ch in word):
        return (word,)
    if not _is_cyrillic(word):
        if word.isascii():
            return (_snowball("english").stemWord(word),)
        return (word,)
    if _KAZAKH_LETTERS.intersection(word):
        return (kazakh_stem(word),)
    russian = _snowball("russian").stemWord(word)
    if query:
        kazakh = kazakh_stem(word)
        return (russian,) if kazakh == russian else (russian, kazakh)
    return (kazakh_stem(word),) if lang == "kk" else (russian,)


def analyze(text: str, lang: str = "", *, query: bool = False) -> list[str]:
    """Index terms of ``text`` (see the module docstring).

    Args:
        text: any text.
        lang: the text's language code (``ru``, ``kk``, ``en``...); decides how Cyrillic words
            without Kazakh-only letters are stemmed.
        query: analyse as a query: such words give both their Russian and Kazakh stems.
    """
    return [term for word in analyze_words(text, lang, query=query) for term in word]


def analyze_words(text: str, lang: str = "", *, query: bool = False) -> list[tuple[str, ...]]:
    """Like :func:`analyze`, grouped by word: each word's alternative terms together."""
    normalised = unicodedata.normalize("NFKC", text).casefold().replace("ё", "е")
    words: list[tuple[str, ...]] = []
    for match in _WORD.finditer(normalised):
        token = match.group()
        parts = [part for part in _SPLIT.split(token) if part]
        if len(parts) > 1 and any(ch.isdigit() for ch in token):
            words.append((token,))  # a code or number as written: 413-iv, 12.09.2025, 1.2
        for part in parts:
            if part in STOPWORDS or (len(part) == 1 and not part.isdigit()):
                continue
            words.append(_stems(part, lang, query=query))
    return words


@dataclass(frozen=True)
class KeywordHits:
    """BM25 scores of every chunk for a query, and how much of the query the corpus knows."""

    scores: np.ndarray
    coverage: float


class KeywordIndex:
    """BM25 over the chunks of a build, row i = chunk i.

    Build with :meth:`from_terms`, persist with :meth:`save`, reopen with :meth:`load`.
    """

    TERMS = "terms.npy"
    OFFSETS = "term_offsets.npy"
    FREQUENCIES = "document_frequency.npy"  # per term, so opening reads no term list
    VOCABULARY = "vocabulary.json"
    PARAMETERS = "keywords.json"

    def __init__(
        self, vocabulary: list[str], terms: np.ndarray, offsets: np.ndarray, retriever,
        document_frequency: np.ndarray | None = None,
    ) -> None:  # fmt: skip
        self.vocabulary = vocabulary
        self._terms = terms
        self._offsets = offsets
        self._retriever = retriever
        self._ids = {term: number for number, term in enumerate(vocabulary)}
        # Saved by builds since the index opens lazily; computed (reading every term) for older ones,
        # which the next build rewrites (see KeywordPart.up_to_date).
        self.frequencies_stored = document_frequency is not None
        if document_frequency is None:
            document_frequency = np.bincount(_unique_per_row(terms, offsets), minlength=len(vocabulary))
        self._document_frequency = np.asarray(document_frequency, dtype=np.int64)
        rows = max(len(offsets) - 1, 1)
        self._idf = np.log(1 + (rows - self._document_frequency + 0.5) / (self._document_frequency + 0.5))

    @property
    def rows(self) -> int:
        return len(self._offsets) - 1

    @classmethod
    def from_terms(cls, rows: Sequence[Sequence[str]]) -> KeywordIndex:
        """Index chunks given as lists of terms (from :func:`analyze`)."""
        vocabulary = sorted({term for row in rows for term in row})
        ids = {term: number for number, term in enumerate(vocabulary)}
        offsets = np.zeros(len(rows) + 1, dtype=np.int64)
        offsets[1:] = np.cumsum([len(row) for row in rows])
        terms = np.fromiter((ids[t] for row in rows for t in row), dtype=np.int32, count=int(offsets[-1]))
        frequencies = np.bincount(_unique_per_row(terms, offsets), minlength=len(vocabulary))
        return cls(vocabulary, terms, offsets, _bm25(vocabulary, terms, offsets), frequencies)

    def terms_of(self, row: int) -> list[str]:
        """The stored terms of chunk ``row`` (reused by incremental builds).

        Raises:
            ValueError: a stored term lies outside the vocabulary (a damaged ``terms.npy``; the
                terms are memory-mapped and checked as they are read).
        """
        numbers = self._terms[self._offsets[row] : self._offsets[row + 1]]
        if len(numbers) and (int(numbers.min()) < 0 or int(numbers.max()) >= len(self.vocabulary)):
            raise ValueError(f"keyword terms of chunk {row} refer past the end of the vocabulary")
        return [self.vocabulary[i] for i in numbers]

    def score(self, query: str | Iterable[Sequence[str]]) -> KeywordHits:
        """BM25 score of every chunk for a query (text, or words from :func:`analyze_words`).

        ``coverage`` is the idf-weighted share of the query's words that occur in the corpus
        (a word counts when any of its alternative terms does; a word the corpus lacks weighs
        as much as the rarest possible term).
        """
        words = analyze_words(query, query=True) if isinstance(query, str) else query
        known: list[int] = []
        weight = total = 0.0
        unknown_idf = float(np.log(1 + (self.rows + 0.5) / 0.5))
        for alternatives in dict.fromkeys(tuple(word) for word in words):
            numbers = [self._ids[term] for term in alternatives if term in self._ids]
            if not numbers:
                total += unknown_idf
                continue
            known.extend(numbers)
            best = max(float(self._idf[number]) for number in numbers)
            weight += best
            total += best
        known = list(dict.fromkeys(known))
        if not known or self.rows == 0:
            return KeywordHits(np.zeros(self.rows, dtype=np.float32), 0.0)
        scores = self._retriever.get_scores_from_ids(known)
        return KeywordHits(np.asarray(scores, dtype=np.float32), weight / total if total else 0.0)

    def term_rows(self) -> tuple[np.ndarray, np.ndarray]:
        """Every chunk's term ids in order: chunk ``row`` has ``terms[offsets[row]:offsets[row + 1]]``."""
        return self._terms, self._offsets

    def document_frequency(self) -> np.ndarray:
        """How many chunks hold each term of :attr:`vocabulary` (saved by the build: no term is read)."""
        return self._document_frequency

    def idf(self) -> np.ndarray:
        """Each term's idf as :meth:`score` weighs it for ``coverage`` (Lucene's, on :meth:`document_frequency`)."""
        return self._idf

    def postings(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The BM25 matrix as (term id, chunk row, weight) triples, weights float32 exactly as scored:
        a chunk's score for a query is the sum of its weights over the query's known term ids."""
        if self._retriever is None:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32)
        matrix = self._retriever.scores  # compressed by term: indptr over term ids, indices are rows
        counts = np.diff(matrix["indptr"])
        term_ids = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
        return term_ids, np.asarray(matrix["indices"], dtype=np.int64), np.asarray(matrix["data"], dtype=np.float32)

    def parameters(self) -> dict:
        """What the manifest records about this index."""
        return {"bm25": dict(BM25_PARAMETERS), "rows": self.rows, "vocabulary": len(self.vocabulary)}

    def save(self, folder: Path) -> list[Path]:
        """Write the index into ``folder`` (a fresh staging folder); returns the files written."""
        folder.mkdir(parents=True, exist_ok=True)
        np.save(folder / self.TERMS, self._terms, allow_pickle=False)
        np.save(folder / self.OFFSETS, self._offsets, allow_pickle=False)
        np.save(folder / self.FREQUENCIES, self._document_frequency, allow_pickle=False)
        (folder / self.VOCABULARY).write_text(json.dumps(self.vocabulary, ensure_ascii=False), encoding="utf-8")
        if self.rows:
            self._retriever.save(str(folder / "bm25"), show_progress=False)
        parameters = {"analyzer": ANALYZER_VERSION, **self.parameters()}
        (folder / self.PARAMETERS).write_text(json.dumps(parameters), encoding="utf-8")
        return sorted(path for path in folder.rglob("*") if path.is_file())

    @classmethod
    def load(cls, folder: Path) -> KeywordIndex:
        """Open a saved index.

        Raises:
            ValueError: a file is missing or the parts disagree (the caller names the build).
        """
        bm25s = _bm25s()

        parameters = json.loads((folder / cls.PARAMETERS).read_text(encoding="utf-8"))
        if not isinstance(parameters, dict) or parameters.get("analyzer") != ANALYZER_VERSION:
            analyzer = parameters.get("analyzer") if isinstance(parameters, dict) else None
            raise ValueError(f"keyword analyzer {analyzer!r} is not {ANALYZER_VERSION!r}")
        vocabulary = json.loads((folder / cls.VOCABULARY).read_text(encoding="utf-8"))
        # Memory-mapped: only a rebuild reads terms (and checks each chunk's in terms_of).
        terms = _load_array(folder / cls.TERMS, mmap=True)
        offsets = _load_array(folder / cls.OFFSETS)
        frequencies = _load_array(folder / cls.FREQUENCIES) if (folder / cls.FREQUENCIES).is_file() else None
        if not isinstance(vocabulary, list) or terms.ndim != 1 or offsets.ndim != 1:
            raise ValueError("keyword files do not hold a vocabulary list and term arrays")
        if len(offsets) - 1 != parameters.get("rows") or (len(offsets) and offsets[-1] != len(terms)):
            raise ValueError("keyword files disagree on the number of chunks")
        if frequencies is None and len(terms) and (int(terms.max()) >= len(vocabulary) or int(terms.min()) < 0):
            raise ValueError("keyword terms refer past the end of the vocabulary")
        if frequencies is not None and (frequencies.shape != (len(vocabulary),) or np.any(frequencies < 0)):
            raise ValueError(f"{cls.FREQUENCIES} does not hold one count per vocabulary term")
        if len(offsets) and (offsets[0] != 0 or np.any(np.diff(offsets) < 0)):
            raise ValueError("keyword term offsets are not in order")
        if not parameters["rows"]:
            return cls(vocabulary, terms, offsets, None, frequencies)
        try:
            # Memory-mapped: a query reads only the columns of its terms.
            retriever = bm25s.BM25.load(str(folder / "bm25"), allow_pickle=False, mmap=True)
        except (OSError, ValueError, KeyError):
            raise
        except Exception as error:  # numpy reads a damaged .npy header as Python syntax: SyntaxError, TokenError...
            raise ValueError(f"the BM25 matrix cannot be read ({type(error).__name__}: {error})") from error
        if retriever.scores["num_docs"] != parameters["rows"]:
            raise ValueError("the BM25 matrix and the keyword terms disagree on the number of chunks")
        return cls(vocabulary, terms, offsets, retriever, frequencies)


def _load_array(path: Path, *, mmap: bool = False) -> np.ndarray:
    """``np.load`` of an integer array, any failure a ``ValueError`` or ``OSError`` naming the file."""
    try:
        array = np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
    except FileNotFoundError:
        raise
    except Exception as error:  # numpy parses the header with ast: a damaged one raises SyntaxError, TokenError...
        raise ValueError(f"{path.name} cannot be read ({type(error).__name__}: {error})") from error
    if not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"{path.name} holds {array.dtype}, not integers")
    return array


def _bm25(vocabulary: list[str], terms: np.ndarray, offsets: np.ndarray):
    bm25s = _bm25s()

    rows = [terms[offsets[i] : offsets[i + 1]].tolist() for i in range(len(offsets) - 1)]
    if not rows:
        return None
    retriever = bm25s.BM25(**BM25_PARAMETERS)
    vocab = {term: number for number, term in enumerate(vocabulary)}
    # Chunks without a single term (emoji, punctuation) have average length 0; bm25s then divides
    # by it while scoring no entry at all, and numpy warns.
    with np.errstate(divide="ignore", invalid="ignore"):
        retriever.index((rows, vocab), show_progress=False, create_empty_token=False)
    return retriever


def _unique_per_row(terms: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    if len(terms) == 0:
        return terms
    row_of = np.repeat(np.arange(len(offsets) - 1), np.diff(offsets))
    pairs = np.unique(row_of.astype(np.int64) * (int(terms.max()) + 1) + terms)
    return (pairs % (int(terms.max()) + 1)).astype(np.int64)
