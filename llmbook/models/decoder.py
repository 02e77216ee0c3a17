"""The decoder backbone: one class for every decoder-only language model here.

A decoder-only model reads token ids and predicts, at every position, a distribution over the next
token: token embedding (plus a learned or sinusoidal position table, or none when the blocks rotate
queries and keys by RoPE), a stack of *causal* :class:`~llmbook.layers.TransformerBlock`, a final norm
(pre-LN stacks) and an output head, separate or tied to the embedding. :class:`~llmbook.models.GPT`
(GPT-2) and :class:`~llmbook.models.LlamaDecoder` (Llama, SmolLM2) are two settings of its options, and
:func:`~llmbook.models.architectures.build_transformer` builds a decoder-only ``TransformerSpec`` with it.

It has the KV-cache interface that :mod:`llmbook.generation` drives:

- ``model(token_ids)`` -> logits ``(batch, length, vocab_size)``;
- ``model.init_cache(batch_size, max_length)`` -> per-layer ``(key_cache, value_cache)`` of zeros;
- ``model.call_with_cache(token_ids, cache, cache_index)`` -> ``(logits, new_cache)``.

>>> import numpy as np
>>> model = TransformerDecoder(vocab_size=50, num_layers=2, num_heads=2, hidden_dim=8, max_length=16,
...                            positions="rope", norm="rms", mlp="swiglu", use_bias=False)
>>> tuple(model(np.zeros((1, 5), "int32")).shape)
(1, 5, 50)
"""

from __future__ import annotations

import keras
from keras import ops

from llmbook.layers import PositionEmbedding, SinusoidalPositionEmbedding
from llmbook.layers._base import SingleInputBuild
from llmbook.layers.transformer import NORM_EPSILON, ROPE_THETA
from llmbook.models.backbone import make_blocks, make_norm, output_head, set_stack_options
from llmbook.validation import positive_int


@keras.saving.register_keras_serializable(package="llmbook")
class TransformerDecoder(SingleInputBuild, keras.Model):
    """A decoder-only Transformer language model with a KV cache; every option of the family is an argument.

    The defaults are those of :class:`~llmbook.models.architectures.TransformerSpec` (learned positions,
    pre-LN LayerNorm blocks, exact-GELU MLPs, biases, a separate output head with a bias).

    Sub-layers (for weight loading): ``token_embedding``, ``position_embedding`` (learned or sinusoidal
    positions, else None), ``embedding_norm`` (or None), ``blocks`` (``block_{i}``), ``final_norm`` (pre-LN,
    else None) and ``lm_head`` (a separate head, else None).

    Args:
        vocab_size: number of token ids.
        hidden_dim, num_layers, num_heads: the Transformer's shape.
        intermediate_dim: MLP width (default ``4 * hidden_dim``).
        max_length: rows of the learned position table; the default cache size.
        num_kv_heads: key/value heads (grouped-query attention; default ``num_heads``).
        head_dim: size per head (default ``hidden_dim // num_heads``).
        positions: ``"learned"``, ``"sinusoidal"``, ``"rope"`` or ``"none"``.
        norm: ``"layer"`` (LayerNorm) or ``"rms"`` (RMSNorm).
        mlp: ``"gelu"``, ``"gelu_approximate"`` or ``"swiglu"``.
        use_bias: biases in the attention and MLP projections.
        lm_head_bias: a bias in a separate output head (default: ``use_bias``).
        norm_first: pre-LN blocks and a final norm (True) or post-LN blocks (False).
        embedding_norm: a norm right after the embeddings.
        lm_head: False returns the last hidden states ``(batch, length, hidden_dim)`` instead of logits.
        tie_embeddings: the output head is the transposed token embedding.
        rope_theta: RoPE base (with ``positions="rope"``).
        norm_epsilon: epsilon of every norm.
        dropout: residual and attention-weight dropout while training.
        initializer_range: standard deviation of the (normal) initial token embedding, position table and
            output head (GPT-2: 0.02).

    Call args:
        token_ids: integer ``(batch, length)``.
        attention_mask: optional boolean ``(batch, length)``; False for padding.
        logits_at: optional integer position: only that position's logits, ``(batch, 1, vocab_size)``.

    Returns:
        Logits ``(batch, length, vocab_size)`` for the next token at each position.

    Raises:
        ValueError: for non-positive sizes, heads that do not divide the width, an unknown option, a tied
            head without a head, or token ids of the wrong shape or dtype.
    """

    def __init__(self, vocab_size: int, *, hidden_dim: int = 128, num_layers: int = 4, num_heads: int = 4,
                 intermediate_dim: int | None = None, max_length: int = 512, num_kv_heads: int | None = None,
                 head_dim: int | None = None, positions: str = "learned", norm: str = "layer", mlp: str = "gelu",
                 use_bias: bool = True, lm_head_bias: bool | None = None, norm_first: bool = True,
                 embedding_norm: bool = False, lm_head: bool = True, tie_embeddings: bool = False,
                 rope_theta: float = ROPE_THETA, norm_epsilon: float = NORM_EPSILON, dropout: float = 0.0,
                 initializer_range: float = 0.02, **kwargs):
        super().__init__(**kwargs)
        set_stack_options(
            self, vocab_size=vocab_size, hidden_dim=hidden_dim, num_layers=num_layers, num_heads=num_heads,
            intermediate_dim=intermediate_dim, max_length=max_length, num_kv_heads=num_kv_heads, head_dim=head_dim,
            positions=positions, norm=norm, mlp=mlp, use_bias=use_bias, lm_head_bias=lm_head_bias,
            norm_first=norm_first, lm_head=lm_head, tie_embeddings=tie_embeddings, rope_theta=rope_theta,
            norm_epsilon=norm_epsilon, dropout=dropout, initializer_range=initializer_range)
        self.embedding_norm_enabled = bool(embedding_norm)
        # The order in which layers (and so their seeded initializers) are made is part of the model: a
        # seed gives the same weights as long as it does not change.
        initializer = keras.initializers.RandomNormal(stddev=self.initializer_range)
        self.token_embedding = keras.layers.Embedding(self.vocab_size, self.hidden_dim,
                                                      embeddings_initializer=initializer, name="token_embedding")
        self.lm_head = None
        if self.lm_head_enabled and not self.tie_embeddings:
            self.lm_head = keras.layers.Dense(self.vocab_size, use_bias=self.lm_head_bias,
                                              kernel_initializer=initializer, name="lm_head")
        self.position_embedding = None
        if positions == "learned":
            self.position_embedding = PositionEmbedding(self.max_length, initializer=initializer,
                                                        name="position_embedding")
        elif positions == "sinusoidal":
            self.position_embedding = SinusoidalPositionEmbedding(name="position_embedding")
        self.embedding_norm = make_norm(norm, self.norm_epsilon, "embedding_norm") if embedding_norm else None
        self.blocks = make_blocks(
            self.num_layers, causal=True, num_heads=self.num_heads, intermediate_dim=self.intermediate_dim,
            head_dim=self.head_dim, num_kv_heads=self.num_kv_heads, norm_first=self.norm_first, norm=norm, mlp=mlp,
            positions=positions, rope_theta=self.rope_theta, use_bias=self.use_bias,
            norm_epsilon=self.norm_epsilon, dropout=self.dropout)
        self.final_norm = make_norm(norm, self.norm_epsilon, "final_norm") if self.norm_first else None

    def build(self, input_shape):
        hidden = (None, None, self.hidden_dim)
        self.token_embedding.build(input_shape)
        for layer in (self.position_embedding, self.embedding_norm, *self.blocks, self.final_norm, self.lm_head):
            if layer is not None:
                layer.build(hidden)
        self.built = True

    # --------------------------------------------------------------------------------- forward
    @staticmethod
    def _check_ids(token_ids):
        token_ids = ops.convert_to_tensor(token_ids)
        if len(token_ids.shape) != 2:
            raise ValueError(f"token_ids must have shape (batch, length), got {tuple(token_ids.shape)}; "
                             "for one sequence pass ids[None, :]")
        if not keras.backend.standardize_dtype(token_ids.dtype).startswith(("int", "uint")):
            raise ValueError(f"token_ids must be integers, got dtype {token_ids.dtype}")
        return token_ids

    def _embed(self, token_ids, start_index):
        x = self.token_embedding(token_ids)
        if self.position_embedding is not None:
            x = x + self.position_embedding(x, start_index=start_index)
        if self.embedding_norm is not None:
            x = self.embedding_norm(x)
        return x

    def _head(self, x, logits_at=None):
        return output_head(x, final_norm=self.final_norm, lm_head=self.lm_head, logits_at=logits_at,
                           tied_embedding=self.token_embedding if self.tie_embeddings else None)

    def call(self, token_ids, attention_mask=None, training=None, logits_at=None):
        token_ids = self._check_ids(token_ids)
        x = self._embed(token_ids, 0)
        for block in self.blocks:
            x = block(x, attention_mask=attention_mask, training=training)
        return self._head(x, logits_at)

    def init_cache(self, batch_size: int, max_length: int | None = None, dtype="float32"):
        """A zero KV cache: one ``(key, value)`` pair of ``(batch_size, kv_heads, max_length, head_dim)`` per block
        (heads first: see :class:`~llmbook.layers.MultiHeadAttention`).

        ``max_length`` defaults to the model's ``max_length``.

        Raises:
            ValueError: if ``max_length`` exceeds what the position embedding supports.
        """
        max_length = self.max_length if max_length is None else max_length
        positive_int("batch_size", batch_size)
        positive_int("max_length", max_length)
        limit = getattr(self.position_embedding, "max_length", None)
        if limit is not None and max_length > limit:
            raise ValueError(f"max_length={max_length} exceeds the model's {limit} learned positions")
        if not self.built:
            self.build((None, None))
        shape = (batch_size, self.num_kv_heads, max_length, self.head_dim)
        return [(ops.zeros(shape, dtype), ops.zeros(shape, dtype)) for _ in self.blocks]

    def call_with_cache(self, token_ids, cache, cache_index, logits_at=None, attention_mask=None):
        """Run ``token_ids`` ``(batch, length)`` at positions ``cache_index..``, reading and extending the cache.

        ``logits_at`` (optional integer, relative to ``token_ids``) returns only that position's logits.
        ``attention_mask`` (optional boolean ``(batch, cache_length)``, over the cache's key positions) hides
        the keys marked False from every query, in every block, on top of the causal mask: with a batch of
        left-padded prompts, False on each row's padding slots makes each row see only its own tokens.

        Returns:
            ``(logits, new_cache)``: logits ``(batch, length, vocab_size)`` (``(batch, 1, vocab_size)``
            with ``logits_at``) and the updated cache.

        Raises:
            ValueError: when the tokens would not fit in the cache (checked when ``cache_index`` is a
                Python int; a write past the end would otherwise be clamped silently), or for an
                ``attention_mask`` that is not ``(batch, cache_length)``.
        """
        token_ids = self._check_ids(token_ids)
        capacity, length = cache[0][0].shape[2], token_ids.shape[1]
        if isinstance(cache_index, int) and None not in (capacity, length) and cache_index + length > capacity:
            raise ValueError(f"{length} tokens at cache_index={cache_index} do not fit in a cache of "
                             f"{capacity} positions; make the cache with init_cache(batch, max_length >= "
                             f"{cache_index + length})")
        if attention_mask is not None:
            attention_mask = ops.convert_to_tensor(attention_mask)
            expected = (token_ids.shape[0], capacity)
            if len(attention_mask.shape) != 2 or any(
                    None not in (have, want) and have != want for have, want in zip(attention_mask.shape, expected)):
                raise ValueError(f"attention_mask must have shape (batch, cache_length) = {expected}, got "
                                 f"{tuple(attention_mask.shape)}: one entry per cache slot, True where a key may be read")
        x = self._embed(token_ids, cache_index)
        new_cache = []
        for block, layer_cache in zip(self.blocks, cache):
            x, layer_cache = block(x, attention_mask=attention_mask, cache=layer_cache, cache_index=cache_index)
            new_cache.append(layer_cache)
        return self._head(x, logits_at), new_cache

    def compute_output_shape(self, input_shape, *args, **kwargs):
        return tuple(input_shape) + ((self.vocab_size,) if self.lm_head_enabled else (self.hidden_dim,))

    def get_config(self):
        config = super().get_config()
        config.update(vocab_size=self.vocab_size, num_layers=self.num_layers, num_heads=self.num_heads,
                      hidden_dim=self.hidden_dim, intermediate_dim=self.intermediate_dim, max_length=self.max_length,
                      num_kv_heads=self.num_kv_heads, head_dim=self.head_dim, positions=self.positions,
                      norm=self.norm, mlp=self.mlp, use_bias=self.use_bias, lm_head_bias=self.lm_head_bias,
                      norm_first=self.norm_first, embedding_norm=self.embedding_norm_enabled,
                      lm_head=self.lm_head_enabled, tie_embeddings=self.tie_embeddings, rope_theta=self.rope_theta,
                      norm_epsilon=self.norm_epsilon, dropout=self.dropout, initializer_range=self.initializer_range)
        return config
