"""Sentence embeddings: a tokenizer, a :class:`~llmbook.models.bert.BertEncoder` and pooling, batched by length."""

from __future__ import annotations

import numpy as np
from keras import ops

from llmbook.backend import compile_function
from llmbook.models.bert.encoder import BertEncoder
from llmbook.models.bert.pooling import pool
from llmbook.validation import positive_int


class SentenceEncoder:
    """Texts -> sentence embeddings with a tokenizer and a :class:`BertEncoder` (mean pooling, like
    sentence-transformers' all-MiniLM-L6-v2).

    The tokenizer truncates and pads (calling a :class:`llmbook.text.WordPieceTokenizer`). Texts are then
    sorted by length and batched, so each batch is cut to its own longest text; the forward pass is
    compiled once per padded shape (lengths are rounded up to a multiple of ``length_multiple`` to bound
    the number of shapes).

    Args:
        tokenizer: a :class:`llmbook.text.WordPieceTokenizer`.
        encoder: a :class:`BertEncoder`.
        max_length: texts are truncated to this many tokens (all-MiniLM-L6-v2: 256).
        pooling: ``"mean"`` or ``"cls"``.
        normalize: scale every embedding to unit length.
        length_multiple: pad lengths up to a multiple of this (1 = exact; padding never changes the result).

    Raises:
        ValueError: for an unknown pooling, or a ``max_length`` beyond the encoder's positions.
    """

    def __init__(self, tokenizer, encoder: BertEncoder, *, max_length: int = 256, pooling: str = "mean",
                 normalize: bool = True, length_multiple: int = 8):
        if pooling not in ("cls", "mean"):
            raise ValueError(f"unknown pooling {pooling!r}; choose 'cls' or 'mean'")
        if max_length > encoder.max_length:
            raise ValueError(f"max_length={max_length} exceeds the encoder's {encoder.max_length} positions")
        self.tokenizer, self.encoder = tokenizer, encoder
        self.max_length, self.pooling, self.normalize = int(max_length), pooling, bool(normalize)
        self.length_multiple = max(1, int(length_multiple))
        self._forward = None

    def _compiled_forward(self):
        if self._forward is None:
            encoder, mode = self.encoder, self.pooling

            def forward(token_ids, segment_ids, padding_mask):
                sequence = encoder({"token_ids": token_ids, "segment_ids": segment_ids,
                                    "padding_mask": padding_mask}, training=False)
                return pool(sequence, padding_mask, mode)

            # A plain graph (no XLA): sentence batches vary in length, and XLA would compile each one.
            self._forward = compile_function(forward, xla=False, reduce_retracing=True)
        return self._forward

    def encode(self, texts, batch_size: int = 32) -> np.ndarray:
        """``texts`` (a string or a list) -> float32 ``(n, hidden_dim)`` embeddings, in the input order.

        Raises:
            ValueError: for an empty list or a batch_size below 1.
        """
        if isinstance(texts, str):
            texts = [texts]
        texts = list(texts)
        if not texts:
            raise ValueError("texts is empty; pass at least one string")
        batch_size = positive_int("batch_size", batch_size)
        encoding = self.tokenizer(texts, max_length=self.max_length)   # truncated, padded to the longest text
        lengths = encoding.padding_mask.sum(axis=1)
        width = encoding.token_ids.shape[1]
        order = np.argsort(-lengths, kind="stable")
        forward = self._compiled_forward()
        output = np.zeros((len(texts), self.encoder.hidden_dim), dtype=np.float32)
        for start in range(0, len(texts), batch_size):
            chosen = order[start:start + batch_size]
            # Padding is on the right, so cutting columns past a batch's longest text removes only padding.
            length = min(-(-int(lengths[chosen].max()) // self.length_multiple) * self.length_multiple, width)
            pooled = forward(encoding.token_ids[chosen, :length], encoding.segment_ids[chosen, :length],
                             encoding.padding_mask[chosen, :length])
            output[chosen] = ops.convert_to_numpy(pooled)
        if self.normalize:
            output /= np.maximum(np.linalg.norm(output, axis=1, keepdims=True), 1e-12)
        return output
