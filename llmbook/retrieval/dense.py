"""A dense index: passages as unit-length sentence embeddings, searched by cosine similarity.

The encoder is anything with ``encode(texts) -> (n, d) array`` (a
:class:`llmbook.models.bert.SentenceEncoder` with all-MiniLM-L6-v2, in the book). The passages are
embedded once, when the index is built; a query costs one embedding and one matrix-vector product. An
optional ``.npz`` cache, keyed by a hash of the passages, saves re-embedding an unchanged book.

>>> import numpy as np
>>> class Toy:
...     def encode(self, texts):
...         return np.array([[t.count("a"), t.count("b")] for t in texts], dtype=np.float32) + 0.1
>>> index = DenseIndex(Toy(), ["aaa", "bbb", "ab"])
>>> [int(i) for i in index.rank("b", k=2)]
[1, 2]
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from llmbook.validation import positive_int

__all__ = ["DenseIndex", "passages_key"]


def passages_key(texts, model_name: str = "") -> str:
    """A hex digest of the passages (and a model name): the cache key of their embeddings."""
    digest = hashlib.sha256(model_name.encode("utf-8"))
    for text in texts:
        digest.update(b"\x00" + text.encode("utf-8"))
    return digest.hexdigest()[:16]


def _unit(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


class DenseIndex:
    """Passages embedded by ``encoder``, ranked by cosine similarity to a query.

    Args:
        encoder: an object with ``encode(list_of_str) -> array (n, d)``.
        texts: the passages.
        cache: optional ``.npz`` path; embeddings stored there under the same key are reused, and new
            ones are written to it.
        model_name: part of the cache key (change it when the encoder changes).

    Raises:
        ValueError: for no passages, or an encoder that returns the wrong number of vectors.
        TypeError: for an encoder without ``encode``.
    """

    def __init__(self, encoder, texts, *, cache: str | Path | None = None, model_name: str = ""):
        if not hasattr(encoder, "encode"):
            raise TypeError(f"encoder must have an encode(texts) method, got {type(encoder).__name__}")
        texts = list(texts)
        if not texts:
            raise ValueError("texts is empty: give at least one passage")
        self.encoder, self.texts = encoder, texts
        self.key = passages_key(texts, model_name)
        vectors = None
        if cache is not None and Path(cache).is_file():
            with np.load(cache) as stored:
                if str(stored["key"]) == self.key:
                    vectors = stored["vectors"]
        if vectors is None:
            vectors = np.asarray(encoder.encode(texts))
            if cache is not None:
                Path(cache).parent.mkdir(parents=True, exist_ok=True)
                np.savez(cache, key=self.key, vectors=vectors)
        if vectors.ndim != 2 or len(vectors) != len(texts):
            raise ValueError(f"the encoder returned shape {vectors.shape} for {len(texts)} passages; "
                             "expected (passages, dimensions)")
        self.vectors = _unit(vectors)

    def __len__(self) -> int:
        return len(self.texts)

    def scores(self, query) -> np.ndarray:
        """Cosine similarities of every passage to ``query`` (a string, or an embedding vector)."""
        if isinstance(query, str):
            query = np.asarray(self.encoder.encode([query]))[0]
        query = _unit(np.asarray(query).reshape(-1))
        if query.shape[0] != self.vectors.shape[1]:
            raise ValueError(f"query vector has {query.shape[0]} dimensions, the index {self.vectors.shape[1]}")
        return self.vectors @ query

    def rank(self, query, k: int | None = None) -> np.ndarray:
        """Passage indices by decreasing similarity (ties: the earlier passage first); top ``k`` if given."""
        order = np.argsort(-self.scores(query), kind="stable")
        return order if k is None else order[:positive_int("k", k)]
