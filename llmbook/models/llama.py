"""A Llama-style decoder (Touvron et al., 2023), architecture-compatible with SmolLM2.

Compared with GPT-2, each block uses RMSNorm instead of LayerNorm, rotary position embeddings in
attention instead of a learned position table, a SwiGLU MLP instead of GELU, grouped-query attention
(fewer key/value heads than query heads) and no biases. SmolLM2-135M: 30 layers, width 576, 9 query
heads and 3 key/value heads of size 64, SwiGLU width 1536, RoPE base 100,000, RMSNorm epsilon 1e-5,
vocabulary 49,152, output head tied to the embedding.

:class:`LlamaDecoder` is the :class:`~llmbook.models.decoder.TransformerDecoder` with these settings.

>>> import numpy as np
>>> model = LlamaDecoder(vocab_size=40, num_layers=2, hidden_dim=16, num_heads=4, num_kv_heads=2,
...                      intermediate_dim=32)
>>> tuple(model(np.zeros((1, 3), "int32")).shape)
(1, 3, 40)
"""

from __future__ import annotations

import keras

from llmbook.layers.transformer import NORM_EPSILON, ROPE_THETA
from llmbook.models.decoder import TransformerDecoder

#: The options a Llama-style decoder fixes; any of them can still be overridden by keyword.
LLAMA_OPTIONS = dict(positions="rope", norm="rms", mlp="swiglu", use_bias=False)


@keras.saving.register_keras_serializable(package="llmbook")
class LlamaDecoder(TransformerDecoder):
    """Pre-RMSNorm blocks with RoPE, SwiGLU and grouped-query attention, no biases.

    Args:
        vocab_size: number of token ids.
        num_layers, hidden_dim, num_heads, intermediate_dim: the Transformer's shape.
        num_kv_heads: key/value heads (must divide ``num_heads``).
        head_dim: size per head (default ``hidden_dim // num_heads``).
        rope_theta: RoPE base.
        norm_epsilon: RMSNorm epsilon.
        tie_embeddings: output head = transposed token embedding.
        max_length: the context length the model is meant for (used as the default cache size).
        **options: any other :class:`~llmbook.models.decoder.TransformerDecoder` argument (overrides
            :data:`LLAMA_OPTIONS`), and Keras' ``name``.

    Call args:
        token_ids: integer ``(batch, length)``.
        attention_mask: optional boolean ``(batch, length)``.

    Returns:
        Logits ``(batch, length, vocab_size)``.

    Raises:
        ValueError: for non-positive sizes or head counts that do not divide.
    """

    def __init__(self, vocab_size: int, num_layers: int, hidden_dim: int, num_heads: int, num_kv_heads: int,
                 intermediate_dim: int, head_dim: int | None = None, rope_theta: float = ROPE_THETA,
                 norm_epsilon: float = NORM_EPSILON, tie_embeddings: bool = True, max_length: int = 2048,
                 **options):
        super().__init__(vocab_size, hidden_dim=hidden_dim, num_layers=num_layers, num_heads=num_heads,
                         intermediate_dim=intermediate_dim, max_length=max_length,
                         num_kv_heads=num_kv_heads, head_dim=head_dim, rope_theta=rope_theta,
                         norm_epsilon=norm_epsilon, tie_embeddings=tie_embeddings, **{**LLAMA_OPTIONS, **options})
