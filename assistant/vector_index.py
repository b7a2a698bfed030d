"""Vector index: the FAISS index over the chunk vectors, chosen by corpus size, built, read and searched.

Small corpora get exact search (``IndexFlatIP``: every query scans every vector). Above
``Settings.exact_search_max_chunks`` a scan costs more than the rest of a query, and the index
becomes approximate: ``IndexIVFFlat`` by default (k-means lists, ``nprobe`` of them scanned
per query) or ``IndexHNSWFlat`` (a proximity graph, ``efSearch`` candidates per query). Both
keep the full float32 vectors, so the scores they return are exact cosines; only which rows
are looked at is approximate. The parameters are measured in ``bench/scale_bench.py`` to keep
recall@10 at 0.98 or more of exact search (docs/performance.md).

Inner product equals cosine on the unit vectors the embedder returns, so every index uses
``METRIC_INNER_PRODUCT``. The kind and its parameters go into the manifest; reading checks the
file against them. Files are memory-mapped where FAISS can (flat codes, inverted lists, the
HNSW graph), so a process serving a million chunks does not copy 1.5 GB into its heap.
"""

from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass

import numpy as np

from assistant.errors import IndexCorrupt

logger = logging.getLogger(__name__)

FLAT = "flat"
IVF = "ivf"
HNSW = "hnsw"
KINDS = (FLAT, IVF, HNSW)
APPROXIMATE_KINDS = (IVF, HNSW)
_FAISS_CLASS = {FLAT: "IndexFlatIP", IVF: "IndexIVFFlat", HNSW: "IndexHNSWFlat"}

# Chosen with bench/scale_bench.py on e5 vectors (docs/performance.md, "Scale").
# Exact search while one scan costs no more than embedding the question (~35 ms here at 10^5
# chunks, the same as a query embedding; 10^6 chunks take ~270 ms): docs/performance.md.
DEFAULT_EXACT_SEARCH_MAX_CHUNKS = 100_000
IVF_LISTS_PER_SQRT = 4  # nlist ~ 4 * sqrt(n), rounded to a power of two
# nprobe = max(128, nlist / 32). Measured on e5 vectors with real questions (bench/scale_bench.py):
# recall@10 0.995 at 10^4 chunks (256 lists), 0.989 at 10^5 (1,024), 0.992 at 10^6 (4,096);
# nlist / 32 alone gives 0.93 at 10^5.
IVF_PROBE_SHARE = 1 / 32
IVF_MIN_PROBES = 128
IVF_TRAINING_POINTS_PER_LIST = 64  # k-means sample: 64 vectors per list (FAISS's default is 256)
HNSW_NEIGHBOURS = 32
HNSW_EF_CONSTRUCTION = 64
HNSW_EF_SEARCH = 128
# A filter leaving at most this many rows is answered exactly on those rows: cheaper than an
# approximate index, whose probed lists (or graph walk) hold few allowed rows, and never misses.
# At 10^6 chunks (IVF, 1,000-chunk documents): 10^5 rows kept, exact 18 ms p50 against 46 through
# the index; 2*10^5 kept, 64 against 40-50. The same size as the unfiltered exact limit.
EXACT_FILTERED_MAX_ROWS = 100_000
# Allowed rows in runs at least this long on average (a document's chunks are consecutive rows)
# are scored run by run where they lie; shorter runs are gathered first. Measured at 10^6 rows:
# 50,000 rows in runs of 20 take 14 ms run by run against 44 gathered, in runs of 4, 46 against 54.
MIN_MEAN_RUN = 8
MAX_HNSW_EF_SEARCH = 4096


@dataclass(frozen=True)
class IndexSpec:
    """The kind of FAISS index and its parameters, as recorded in the manifest.

    Attributes:
        kind: ``flat`` (exact), ``ivf`` or ``hnsw`` (approximate).
        nlist: IVF lists (k-means centroids).
        nprobe: IVF lists scanned per query.
        hnsw_m: HNSW neighbours per node.
        ef_construction: HNSW candidate list while inserting.
        ef_search: HNSW candidate list while searching.
    """

    kind: str = FLAT
    nlist: int = 0
    nprobe: int = 0
    hnsw_m: int = 0
    ef_construction: int = 0
    ef_search: int = 0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown vector index kind {self.kind!r}: use one of {', '.join(KINDS)}")
        if self.kind == IVF and not (1 <= self.nprobe <= self.nlist):
            raise ValueError(f"an IVF index needs 1 <= nprobe <= nlist, got nprobe={self.nprobe}, nlist={self.nlist}")
        if self.kind == HNSW and (self.hnsw_m < 2 or self.ef_search < 1 or self.ef_construction < 1):
            raise ValueError(f"an HNSW index needs M >= 2 and positive ef values, got {self}")

    @property
    def faiss_class(self) -> str:
        return _FAISS_CLASS[self.kind]

    @property
    def approximate(self) -> bool:
        return self.kind != FLAT

    def to_manifest(self) -> dict:
        """The manifest's ``vector_index`` entry: the FAISS class, the metric and the parameters that matter."""
        values = {key: value for key, value in asdict(self).items() if value}
        return {"type": self.faiss_class, "metric": "inner_product", **values}

    @classmethod
    def from_manifest(cls, entry: dict) -> IndexSpec:
        """The spec a manifest describes; an empty entry is a build made before this existed (flat).

        Raises:
            IndexCorrupt: an unknown kind, a type that contradicts the kind, or bad parameters.
        """
        if not entry:
            return cls()
        try:
            spec = cls(**{key: entry[key] for key in cls.__dataclass_fields__ if key in entry})
        except (TypeError, ValueError) as error:
            raise IndexCorrupt(f"the manifest's vector_index entry {entry} is invalid ({error}): run `assistant build`") from None
        if entry.get("type", spec.faiss_class) != spec.faiss_class or entry.get("metric", "inner_product") != "inner_product":
            raise IndexCorrupt(
                f"the manifest's vector_index entry {entry} contradicts itself "
                f"(kind {spec.kind} is a {spec.faiss_class} with metric inner_product): run `assistant build`"
            )
        return spec


EXACT = IndexSpec()


def choose(count: int, *, exact_max: int = DEFAULT_EXACT_SEARCH_MAX_CHUNKS, approximate: str = IVF) -> IndexSpec:
    """The index for ``count`` vectors: exact up to ``exact_max``, approximate above.

    Args:
        count: vectors to index.
        exact_max: largest count searched exactly (``Settings.exact_search_max_chunks``).
        approximate: ``ivf`` or ``hnsw``, the kind used above ``exact_max``.

    Example:
        >>> choose(10_000).kind, choose(1_000_000).kind
        ('flat', 'ivf')
    """
    if approximate not in APPROXIMATE_KINDS:
        raise ValueError(f"the approximate index must be one of {', '.join(APPROXIMATE_KINDS)}, got {approximate!r}")
    if count <= exact_max:
        return EXACT
    if approximate == HNSW:
        return IndexSpec(HNSW, hnsw_m=HNSW_NEIGHBOURS, ef_construction=HNSW_EF_CONSTRUCTION, ef_search=HNSW_EF_SEARCH)
    nlist = ivf_lists(count)
    return IndexSpec(IVF, nlist=nlist, nprobe=min(nlist, max(IVF_MIN_PROBES, round(nlist * IVF_PROBE_SHARE))))


def planned(count: int, settings) -> IndexSpec:
    """The index a build of ``count`` chunks makes under ``settings`` (a :class:`~assistant.config.Settings`)."""
    return choose(count, exact_max=settings.exact_search_max_chunks, approximate=settings.approximate_index)


def ivf_lists(count: int) -> int:
    """About ``4 * sqrt(count)`` lists, as a power of two so small corpus changes keep the same lists.

    Never more than ``count / 39`` (FAISS wants 39 training points per centroid).
    """
    target = IVF_LISTS_PER_SQRT * math.sqrt(max(count, 1))
    nlist = 2 ** round(math.log2(max(target, 1)))
    return int(max(1, min(nlist, count // 39)))


def build(vectors: np.ndarray, spec: IndexSpec, *, centroids: np.ndarray | None = None):
    """A FAISS index of ``spec``'s kind holding ``vectors`` (float32 unit rows) with ids 0..n-1.

    Args:
        vectors: the chunk vectors, row i = id i.
        spec: what to build (see :func:`choose`).
        centroids: IVF only: the previous build's trained centroids (``nlist`` rows) to reuse;
            k-means is skipped, so an incremental build only assigns vectors to lists.
    """
    import faiss

    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    dimension = vectors.shape[1]
    if spec.kind == FLAT:
        index = faiss.IndexFlatIP(dimension)
    elif spec.kind == HNSW:
        index = faiss.IndexHNSWFlat(dimension, spec.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = spec.ef_construction
        index.hnsw.efSearch = spec.ef_search
    else:
        quantizer = faiss.IndexFlatIP(dimension)
        index = faiss.IndexIVFFlat(quantizer, dimension, spec.nlist, faiss.METRIC_INNER_PRODUCT)
        index.nprobe = spec.nprobe
        if centroids is not None:
            if centroids.shape != (spec.nlist, dimension):
                raise ValueError(f"centroids of shape {centroids.shape} do not fit {spec.nlist} lists of dimension {dimension}")
            quantizer.add(np.ascontiguousarray(centroids, dtype=np.float32))
            index.is_trained = True
        else:
            # Spherical k-means (unit centroids) on a sample; FAISS draws the sample with a fixed seed.
            index.cp.max_points_per_centroid = IVF_TRAINING_POINTS_PER_LIST
            index.cp.spherical = True
            index.train(vectors)
    if len(vectors):
        index.add(vectors)
    return index


def reusable_centroids(previous, spec: IndexSpec) -> np.ndarray | None:
    """The trained centroids of ``previous`` (a loaded FAISS index) when ``spec`` can reuse them.

    They can when both are IVF with the same number of lists and the same dimension. The list
    count only changes when the corpus grows or shrinks about fourfold (:func:`ivf_lists`), and
    k-means is rerun then.
    """
    import faiss

    if previous is None or spec.kind != IVF:
        return None
    previous = faiss.downcast_index(previous)
    if not isinstance(previous, faiss.IndexIVFFlat) or previous.nlist != spec.nlist:
        return None
    quantizer = faiss.downcast_index(previous.quantizer)
    return quantizer.reconstruct_n(0, previous.nlist)


def read(path, spec: IndexSpec, *, dimension: int):
    """Read a FAISS file, memory-mapped, and check it is the index ``spec`` describes.

    Raises:
        IndexCorrupt: the file cannot be read, or its class, metric, dimension or parameters
            differ from the manifest's (the message says which).
    """
    import faiss

    # Flat codes and the HNSW graph map with MMAP_IFC; inverted lists with MMAP (both flags at
    # once are refused by FAISS for IVF files).
    flags = faiss.IO_FLAG_MMAP if spec.kind == IVF else faiss.IO_FLAG_MMAP_IFC
    try:
        # read_index returns the concrete class (IndexIVFFlat, ...) and owns it: no downcast needed.
        index = faiss.read_index(str(path), flags)
    except RuntimeError as error:
        raise IndexCorrupt(f"{path} cannot be read ({error}): run `assistant build`") from None
    found = type(index).__name__
    if found != spec.faiss_class:
        raise IndexCorrupt(
            f"{path} is an {found}, but the manifest records an {spec.faiss_class} ({spec.to_manifest()}): "
            "the index files do not belong together; run `assistant build` to rebuild"
        )
    if index.metric_type != faiss.METRIC_INNER_PRODUCT:
        raise IndexCorrupt(f"{path} does not use inner-product similarity: run `assistant build`")
    if index.d != dimension:
        raise IndexCorrupt(f"{path} has dimension {index.d}, manifest says {dimension}")
    if spec.kind == IVF and index.nlist != spec.nlist:
        raise IndexCorrupt(f"{path} has {index.nlist} lists, the manifest says {spec.nlist}: run `assistant build`")
    if spec.kind == HNSW:
        # Level 0 keeps 2*M neighbours per node.
        neighbours = int(index.hnsw.nb_neighbors(0)) // 2
        if neighbours != spec.hnsw_m:
            raise IndexCorrupt(f"{path} has HNSW M={neighbours}, the manifest says {spec.hnsw_m}: run `assistant build`")
    if spec.kind == IVF:
        index.nprobe = spec.nprobe
    elif spec.kind == HNSW:
        index.hnsw.efSearch = spec.ef_search
    return index


def search(
    index,
    spec: IndexSpec,
    query: np.ndarray,
    k: int,
    *,
    allowed: np.ndarray | None = None,
    vectors: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Scores and rows of the ``k`` chunks nearest to ``query`` (one unit vector), best first.

    Args:
        index: the FAISS index (:func:`read` or :func:`build`).
        spec: its spec (search parameters come from here).
        query: the query vector, shape ``(d,)`` or ``(1, d)``.
        k: how many rows; at most the number of rows searchable.
        allowed: sorted row ids a filter keeps (``None``: all).
        vectors: the stored vectors (memory-mapped ``vectors.npy``). With an approximate index
            and a filter that keeps few rows, those rows are scored exactly from here.

    Returns:
        ``(scores, rows)``, rows ``-1`` past what was found.
    """
    import faiss

    query = np.ascontiguousarray(query, dtype=np.float32).reshape(1, -1)
    total = index.ntotal
    if spec.approximate and allowed is not None and vectors is not None and len(allowed) <= EXACT_FILTERED_MAX_ROWS:
        return _exact_on_rows(vectors, allowed, query[0], k)
    selector = faiss.IDSelectorBatch(allowed) if allowed is not None else None
    # A filter keeping a share s of the rows leaves about s of each probed list (or graph
    # neighbourhood) usable: look 1/s times wider to see as many allowed rows.
    widen = 1.0 if allowed is None else total / max(len(allowed), 1)
    if spec.kind == IVF:
        params = faiss.SearchParametersIVF(sel=selector, nprobe=min(spec.nlist, math.ceil(spec.nprobe * widen)))
    elif spec.kind == HNSW:
        # efSearch below k would return fewer than k rows.
        params = faiss.SearchParametersHNSW(sel=selector, efSearch=max(k, min(MAX_HNSW_EF_SEARCH, math.ceil(spec.ef_search * widen))))
    else:
        params = faiss.SearchParameters(sel=selector) if selector is not None else None
    scores, rows = index.search(query, k, params=params)
    return scores[0], rows[0]


def _exact_on_rows(vectors: np.ndarray, allowed: np.ndarray, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    scores = _scores_of_rows(vectors, allowed, query)
    k = min(k, len(allowed))
    top = np.argpartition(-scores, k - 1)[:k] if k < len(allowed) else np.arange(len(allowed))
    top = top[np.lexsort((allowed[top], -scores[top]))]
    return scores[top], allowed[top].astype(np.int64)


def _scores_of_rows(vectors: np.ndarray, rows: np.ndarray, query: np.ndarray) -> np.ndarray:
    """``vectors[rows] @ query`` for sorted ``rows``, without copying the rows where it can.

    A filter keeps whole documents, and a document's chunks are consecutive rows: a run is
    scored where it lies in the mapped file. Gathering the rows first copies them all, and that
    copy was most of a one-region query at 10^6 chunks (50,000 rows: ~28 ms of ~36; docs/scaling.md,
    "Opening a file index"). Short runs (scattered rows) are still gathered, which is cheaper
    than one product per row.
    """
    plain = np.asarray(vectors)  # a memmap's slices are memmaps too, each costing an object
    breaks = np.flatnonzero(np.diff(rows) != 1) + 1
    if len(rows) < MIN_MEAN_RUN * (len(breaks) + 1):
        return np.asarray(plain[rows], dtype=np.float32) @ query
    scores = np.empty(len(rows), dtype=np.float32)
    starts = [0, *breaks.tolist()]
    for start, end in zip(starts, [*starts[1:], len(rows)]):
        first = int(rows[start])
        scores[start:end] = plain[first : first + end - start] @ query
    return scores
