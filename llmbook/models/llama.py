"""A Llama-style decoder (Touvron et al., 2023), architecture-compatible with SmolLM2.

Compared with GPT-2, each block uses RMSNorm instead of LayerNorm, rotary position embeddings in
attention instead of a learned position table, a SwiGLU MLP instead of GELU, grouped-query attention
(fewer key/value heads than query heads) and no biases. SmolLM2-135M: 30 layers, width 576, 9 query
heads and 3 key/value heads of size 64, SwiGLU width 1536, RoPE base 100,000, RMSNorm epsilon 1e-5,
vocabulary 49,152, output head tied to the embedding.

>>> import numpy as np
>>> model = LlamaDecoder(vocab_size=40, num_layers=2, hidden_dim=16, num_heads=4, num_kv_heads=2,
...                      intermediate_dim=32)
>>> tuple(model(np.zeros((1, 3), "int32")).shape)
(1, 3, 40)
"""

from __future__ import annotations

import keras

from llmbook.layers import RMSNorm, TransformerBlock
from llmbook.models.gpt import CausalTransformer, _positive


@keras.saving.register_keras_serializable(package="llmbook")
class LlamaDecoder(CausalTransformer):
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

    Call args:
        token_ids: integer ``(batch, length)``.
        attention_mask: optional boolean ``(batch, length)``.

    Returns:
        Logits ``(batch, length, vocab_size)``.

    Raises:
        ValueError: for non-positive sizes or head counts that do not divide.
    """

    def __init__(self, vocab_size: int, num_layers: int, hidden_dim: int, num_heads: int, num_kv_heads: int,
                 intermediate_dim: int, head_dim: int | None = None, rope_theta: float = 10000.0,
                 norm_epsilon: float = 1e-5, tie_embeddings: bool = True, max_length: int = 2048, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size, self.num_layers = _positive("vocab_size", vocab_size), _positive("num_layers", num_layers)
        self.hidden_dim, self.num_heads = _positive("hidden_dim", hidden_dim), _positive("num_heads", num_heads)
        self.num_kv_heads = _positive("num_kv_heads", num_kv_heads)
        self.intermediate_dim = _positive("intermediate_dim", intermediate_dim)
        if num_heads % num_kv_heads:
            raise ValueError(f"num_kv_heads={num_kv_heads} must divide num_heads={num_heads}")
        if head_dim is None and hidden_dim % num_heads:
            raise ValueError(f"hidden_dim={hidden_dim} is not divisible by num_heads={num_heads}; pass head_dim")
        self.head_dim = hidden_dim // num_heads if head_dim is None else _positive("head_dim", head_dim)
        self.rope_theta, self.norm_epsilon = float(rope_theta), float(norm_epsilon)
        self.tie_embeddings, self.max_length = bool(tie_embeddings), _positive("max_length", max_length)
        self._make_embeddings(self.vocab_size, self.hidden_dim, self.tie_embeddings,
                              keras.initializers.RandomNormal(stddev=0.02))
        self.position_embedding = None
        self.blocks = [
            TransformerBlock(num_heads=self.num_heads, intermediate_dim=self.intermediate_dim, head_dim=self.head_dim,
                             num_kv_heads=self.num_kv_heads, norm_first=True, norm="rms", mlp="swiglu", causal=True,
                             rope_theta=self.rope_theta, use_bias=False, norm_epsilon=self.norm_epsilon,
                             name=f"block_{i}")
            for i in range(self.num_layers)
        ]
        self.final_norm = RMSNorm(epsilon=self.norm_epsilon, name="final_norm")

    def get_config(self):
        config = super().get_config()
        config.update(vocab_size=self.vocab_size, num_layers=self.num_layers, hidden_dim=self.hidden_dim,
                      num_heads=self.num_heads, num_kv_heads=self.num_kv_heads,
                      intermediate_dim=self.intermediate_dim, head_dim=self.head_dim, rope_theta=self.rope_theta,
                      norm_epsilon=self.norm_epsilon, tie_embeddings=self.tie_embeddings, max_length=self.max_length)
        return config
