"""BERT's encoder: the encoder backbone with BERT's settings.

>>> import numpy as np
>>> encoder = BertEncoder(vocab_size=100, hidden_dim=16, num_layers=2, num_heads=2, intermediate_dim=32,
...                       max_length=32)
>>> tuple(encoder({"token_ids": np.array([[2, 7, 8, 3, 0]])}).shape)
(1, 5, 16)
"""

from __future__ import annotations

import keras

from llmbook.models.encoder import TransformerEncoder

#: The options BERT fixes; any of them can still be overridden by keyword.
BERT_OPTIONS = dict(positions="learned", norm="layer", mlp="gelu", use_bias=True, norm_first=False,
                    embedding_norm=True, pooler=True, lm_head=False)


@keras.saving.register_keras_serializable(package="llmbook")
class BertEncoder(TransformerEncoder):
    """The BERT encoder: embeddings, then ``num_layers`` post-LN bidirectional Transformer blocks.

    Sub-layers (for weight loading): ``embeddings`` (:class:`~llmbook.models.encoder.EncoderEmbeddings`
    with ``token_embedding``, ``position_embedding``, ``segment_embedding``, ``norm``), ``blocks`` (a list of
    :class:`llmbook.layers.TransformerBlock` with ``norm_first=False``, exact GELU) and ``pooler``
    (``Dense(hidden_dim, tanh)`` applied to the [CLS] vector).

    Args:
        vocab_size: number of token ids (MiniLM / BERT-base uncased: 30,522).
        hidden_dim: width of every token vector.
        num_layers: number of blocks.
        num_heads: attention heads per block.
        intermediate_dim: MLP width (default ``4 * hidden_dim``).
        max_length: number of learned positions.
        num_segments: number of segment (token type) ids.
        dropout: dropout on embeddings, attention weights and residual branches while training.
        epsilon: LayerNorm epsilon.
        pad_id: id whose positions are masked when no ``padding_mask`` is given.
        initializer_range: standard deviation of the initial embedding tables.
        **options: any other :class:`~llmbook.models.encoder.TransformerEncoder` argument (overrides
            :data:`BERT_OPTIONS`), and Keras' ``name``.

    Call args:
        inputs: dict with ``token_ids`` and optional ``segment_ids``, ``padding_mask`` (see the module doc).

    Returns:
        ``(batch, length, hidden_dim)`` contextual token vectors (padding positions hold values that no
        real token attended to; pool with the mask).

    Raises:
        ValueError: for a hidden_dim not divisible by num_heads, a non-positive size, or inputs without
            ``token_ids``.
    """

    def __init__(self, vocab_size: int, hidden_dim: int = 384, num_layers: int = 6, num_heads: int = 12,
                 intermediate_dim: int | None = None, max_length: int = 512, num_segments: int = 2,
                 dropout: float = 0.1, epsilon: float = 1e-12, pad_id: int = 0, initializer_range: float = 0.02,
                 **options):
        super().__init__(vocab_size, hidden_dim=hidden_dim, num_layers=num_layers, num_heads=num_heads,
                         intermediate_dim=intermediate_dim, max_length=max_length,
                         num_segments=num_segments, dropout=dropout, norm_epsilon=epsilon, pad_id=pad_id,
                         initializer_range=initializer_range, **{**BERT_OPTIONS, **options})

    @property
    def epsilon(self) -> float:
        """The LayerNorm epsilon (``norm_epsilon`` of the backbone)."""
        return self.norm_epsilon

    def get_config(self):
        config = super().get_config()
        config["epsilon"] = config.pop("norm_epsilon")
        return config
