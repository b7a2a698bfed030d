"""ONNX embeddings: the same sentence-transformers checkpoint exported to ONNX and run by ONNX Runtime.

An alternative execution path for the embedding model, measured against PyTorch in
``bench/onnx_bench.py`` (docs/performance.md). The graph is the model's transformer plus e5's
mean pooling and normalisation, so a session returns the unit vectors
:class:`~assistant.embeddings.SentenceTransformerEmbedder` returns. ``int8`` additionally
quantizes the graph's matrix multiplications dynamically (weights int8 per output channel,
activations quantized per batch).

sentence-transformers' own ``backend="onnx"`` needs ``optimum-onnx``, which pins
``transformers<4.58``; this module needs only ``onnxruntime`` and ``onnx`` (for the export and
the graph optimizer), imported when used.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from assistant.embeddings import BUNDLED_MODEL, prompt_pair, quiet_weight_loading, resolve_model
from assistant.errors import ModelUnavailable

logger = logging.getLogger(__name__)

VARIANTS = ("float32", "int8")
EXPORT_VERSION = 1  # bump when the exported graph changes, so caches are rebuilt


def export_onnx(checkpoint: Path, target: Path, *, variant: str = "float32") -> Path:
    """Export ``checkpoint`` (a sentence-transformers BERT folder) to an optimized ONNX file.

    The export traces the transformer with eager attention (so ONNX Runtime's optimizer can
    fuse it) plus mean pooling and L2 normalisation; ``int8`` quantizes the fused graph's
    matrix multiplications. The file is written under a temporary name and renamed.

    Returns:
        ``target``.
    """
    import torch
    from onnxruntime.transformers import optimizer
    from transformers import AutoModel

    if variant not in VARIANTS:
        raise ModelUnavailable(f"ONNX variant must be one of {', '.join(VARIANTS)}, got {variant!r}")
    target.parent.mkdir(parents=True, exist_ok=True)
    config = json.loads((checkpoint / "config.json").read_text(encoding="utf-8"))
    with quiet_weight_loading():
        model = AutoModel.from_pretrained(str(checkpoint), attn_implementation="eager", local_files_only=True).eval()

    class Pooled(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask):
            hidden = self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            # e5 averages over every token of the input, prompt included (Pooling include_prompt).
            mean = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, dim=-1)

    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".onnx-") as scratch:
        raw = Path(scratch) / "raw.onnx"
        example = torch.ones((2, 8), dtype=torch.long)
        with torch.no_grad():
            torch.onnx.export(
                Pooled(), (example, example), str(raw), input_names=["input_ids", "attention_mask"],
                output_names=["embedding"], opset_version=17, dynamo=False,
                dynamic_axes={"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"}, "embedding": {0: "batch"}},
            )  # fmt: skip
        fused = optimizer.optimize_model(
            str(raw),
            model_type="bert",
            num_heads=int(config["num_attention_heads"]),
            hidden_size=int(config["hidden_size"]),
        )
        logger.info("ONNX fusions: %s", fused.get_fused_operator_statistics())
        optimized = Path(scratch) / "optimized.onnx"
        fused.save_model_to_file(str(optimized))
        result = optimized
        if variant == "int8":
            from onnx import TensorProto
            from onnxruntime.quantization import QuantType, quantize_dynamic

            result = Path(scratch) / "int8.onnx"
            # The word-embedding table (a Gather) stays float32: quantizing it costs accuracy
            # on rare pieces and saves no compute. Fused operators hide types from shape
            # inference: everything unknown is float32.
            quantize_dynamic(
                str(optimized), str(result), weight_type=QuantType.QInt8, per_channel=True,
                op_types_to_quantize=["MatMul", "Attention"],
                extra_options={"DefaultTensorType": TensorProto.FLOAT},
            )  # fmt: skip
        os.replace(result, target)
    return target


class OnnxEmbedder:
    """The embedding model run by ONNX Runtime: same tokenizer, prompts, pooling and vectors.

    Args:
        model: ``multilingual-e5-small`` or a sentence-transformers model folder.
        cache_dir: where the bundled model is converted; the ONNX files go in its ``onnx/`` folder.
        batch_size: passages per forward pass.
        variant: ``float32`` (same vectors as PyTorch float32, to 1e-6) or ``int8``.
        threads: ONNX Runtime intra-op threads (default: every core).
    """

    def __init__(
        self,
        model: str = BUNDLED_MODEL,
        *,
        cache_dir: Path | None = None,
        batch_size: int = 16,
        variant: str = "float32",
        threads: int | None = None,
    ) -> None:
        try:
            import onnxruntime
        except ImportError:
            raise ModelUnavailable(
                "the ONNX backend needs onnxruntime and onnx: pip install onnxruntime onnx"
            ) from None
        from transformers import AutoTokenizer

        path, identity = resolve_model(model, cache_dir)
        # int8 vectors are not float32's: an index built by one must not be queried by the other.
        self.identity = identity if variant == "float32" else f"{identity}+onnx-{variant}"
        self.precision = f"onnx-{variant}"
        onnx_file = path.parent / "onnx" / f"{path.name}-v{EXPORT_VERSION}-{variant}.onnx"
        if not onnx_file.is_file():
            logger.info("exporting %s to %s", path, onnx_file)
            export_onnx(path, onnx_file, variant=variant)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads or os.cpu_count() or 1
        self._session = onnxruntime.InferenceSession(str(onnx_file), options, providers=["CPUExecutionProvider"])
        self._tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
        settings = json.loads((path / "sentence_bert_config.json").read_text(encoding="utf-8"))
        prompts = json.loads((path / "config_sentence_transformers.json").read_text(encoding="utf-8")).get(
            "prompts", {}
        )
        self.max_tokens = int(settings.get("max_seq_length") or 512)
        self.dimension = int(json.loads((path / "config.json").read_text(encoding="utf-8"))["hidden_size"])
        self.batch_size = batch_size
        self._query_prompt, self._passage_prompt = prompt_pair(prompts)
        self._overhead = len(self._tokenizer(self._passage_prompt)["input_ids"])

    def count_tokens(self, text: str) -> int:
        return len(self._tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"])

    def passage_overhead(self) -> int:
        return self._overhead

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed([self._query_prompt + text for text in texts])

    def embed_passages(self, texts: Sequence[str], *, progress: Callable[[int], None] | None = None) -> np.ndarray:
        return self._embed([self._passage_prompt + text for text in texts], progress)

    def _embed(self, texts: list[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        # Longest first, in batches of similar length, as sentence-transformers does: little padding.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]), reverse=True)
        for begin in range(0, len(order), self.batch_size):
            rows = order[begin : begin + self.batch_size]
            encoded = self._tokenizer(
                [texts[i] for i in rows], padding=True, truncation=True, max_length=self.max_tokens, return_tensors="np"
            )
            feeds = {name: encoded[name].astype(np.int64) for name in ("input_ids", "attention_mask")}
            out[rows] = self._session.run(None, feeds)[0]
            if progress is not None:
                progress(len(rows))
        return out
