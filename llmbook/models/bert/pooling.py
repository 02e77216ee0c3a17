"""Pooling token vectors into one vector per sequence: the first ([CLS]) token's, or the mean over real tokens.

>>> import numpy as np
>>> from keras import ops
>>> sequence = np.arange(12, dtype="float32").reshape(1, 3, 4)
>>> ops.convert_to_numpy(pool(sequence, np.array([[True, True, False]]), "mean")).tolist()
[[2.0, 3.0, 4.0, 5.0]]
"""

from __future__ import annotations

import keras
from keras import ops

#: How :class:`~llmbook.models.bert.BertClassifier` pools: ``"pooler"`` is BERT's tanh layer on [CLS].
POOLINGS = ("cls", "mean", "pooler")


def pool(sequence, padding_mask, mode: str = "mean"):
    """Pool token vectors into one vector per sequence.

    Args:
        sequence: ``(batch, length, dim)`` token vectors.
        padding_mask: bool ``(batch, length)``, True on real tokens.
        mode: ``"cls"`` (the first token's vector) or ``"mean"`` (the average over real tokens only).

    Returns:
        ``(batch, dim)``.

    Raises:
        ValueError: for another mode.
    """
    sequence = ops.convert_to_tensor(sequence)
    if mode == "cls":
        return sequence[:, 0]
    if mode != "mean":
        raise ValueError(f"unknown pooling {mode!r}; choose 'cls' or 'mean'")
    weights = ops.cast(padding_mask, sequence.dtype)[:, :, None]
    total = ops.sum(sequence * weights, axis=1)
    return total / ops.maximum(ops.sum(weights, axis=1), ops.cast(1e-9, sequence.dtype))


@keras.saving.register_keras_serializable(package="llmbook")
class BertPooling(keras.layers.Layer):
    """Layer form of :func:`pool`: ``mode`` is ``"cls"`` or ``"mean"``.

    Call args:
        sequence: ``(batch, length, dim)``; padding_mask: bool ``(batch, length)``.

    Returns:
        ``(batch, dim)``.

    Raises:
        ValueError: for another mode.
    """

    def __init__(self, mode: str = "mean", **kwargs):
        super().__init__(**kwargs)
        if mode not in ("cls", "mean"):
            raise ValueError(f"unknown pooling {mode!r}; choose 'cls' or 'mean'")
        self.mode = mode

    def call(self, sequence, padding_mask):
        return pool(sequence, padding_mask, self.mode)

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}
