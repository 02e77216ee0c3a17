"""GPT: a decoder-only Transformer language model (Radford et al., 2018; 2019).

A GPT reads token ids and predicts, at every position, a distribution over the next token. It is a
stack of *causal* (pre-LN) Transformer blocks: position ``t`` only sees positions ``0..t``, so one
forward pass over a sequence gives the next-token loss at every position at once. It is pre-trained
by next-token prediction on raw text; there is no masking of input tokens (that is BERT's objective).

:class:`CausalTransformer` holds what every decoder-only model here shares: token embedding, a stack of
:class:`~llmbook.layers.TransformerBlock`, a final norm, an output head tied to the embedding (or not),
and the KV-cache interface that :mod:`llmbook.generation` drives:

- ``model(token_ids)`` -> logits ``(batch, length, vocab_size)``;
- ``model.init_cache(batch_size, max_length)`` -> per-layer ``(key_cache, value_cache)`` of zeros;
- ``model.call_with_cache(token_ids, cache, cache_index)`` -> ``(logits, new_cache)``.

>>> import numpy as np
>>> model = GPT(vocab_size=50, max_length=16, num_layers=2, num_heads=2, hidden_dim=8, intermediate_dim=32)
>>> tuple(model(np.zeros((1, 5), "int32")).shape)
(1, 5, 50)
"""

from __future__ import annotations

import keras
from keras import ops

from llmbook.layers import LayerNorm, PositionEmbedding, SinusoidalPositionEmbedding, TransformerBlock
from llmbook.layers._base import SingleInputBuild
from llmbook.validation import positive_int

POSITIONS = ("learned", "sinusoidal", "rope")


_positive = positive_int  # kept for the model modules built on CausalTransformer


class CausalTransformer(SingleInputBuild, keras.Model):
    """Shared body of decoder-only language models; subclasses choose the blocks and norms.

    Subclasses set ``self.blocks`` (a list of causal :class:`TransformerBlock`), ``self.final_norm``,
    ``self.position_embedding`` (or None, for RoPE models) and call :meth:`_make_embeddings`.
    """

    def _make_embeddings(self, vocab_size, hidden_dim, tie_embeddings, initializer):
        self.token_embedding = keras.layers.Embedding(vocab_size, hidden_dim, embeddings_initializer=initializer,
                                                      name="token_embedding")
        self.lm_head = None if tie_embeddings else keras.layers.Dense(vocab_size, use_bias=False,
                                                                      kernel_initializer=initializer, name="lm_head")

    def build(self, input_shape):
        hidden = (None, None, self.hidden_dim)
        self.token_embedding.build(input_shape)
        if self.position_embedding is not None:
            self.position_embedding.build(hidden)
        for block in self.blocks:
            block.build(hidden)
        self.final_norm.build(hidden)
        if self.lm_head is not None:
            self.lm_head.build(hidden)
        self.built = True

    # --------------------------------------------------------------------------------- forward
    def _check_ids(self, token_ids):
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
        return x

    def _head(self, x, logits_at=None):
        if logits_at is not None:
            # Only one position's logits: skips the (length x vocab) output product for all the others.
            x = ops.take(x, ops.reshape(ops.cast(logits_at, "int32"), (1,)), axis=1)
        x = self.final_norm(x)
        if self.lm_head is not None:
            return self.lm_head(x)
        return ops.matmul(x, ops.transpose(ops.cast(self.token_embedding.embeddings, x.dtype)))

    def call(self, token_ids, attention_mask=None, training=None, logits_at=None):
        """Logits ``(batch, length, vocab_size)`` for integer ``token_ids`` ``(batch, length)``.

        ``attention_mask`` (optional, boolean ``(batch, length)``) hides padding keys. ``logits_at``
        (optional integer position) returns only that position's logits, ``(batch, 1, vocab_size)``.
        """
        token_ids = self._check_ids(token_ids)
        x = self._embed(token_ids, 0)
        for block in self.blocks:
            x = block(x, attention_mask=attention_mask, training=training)
        return self._head(x, logits_at)

    def init_cache(self, batch_size: int, max_length: int | None = None, dtype="float32"):
        """A zero KV cache: one ``(key, value)`` pair of ``(batch_size, max_length, kv_heads, head_dim)`` per block.

        ``max_length`` defaults to the model's ``max_length``.

        Raises:
            ValueError: if ``max_length`` exceeds what the position embedding supports.
        """
        max_length = self.max_length if max_length is None else max_length
        _positive("batch_size", batch_size)
        _positive("max_length", max_length)
        limit = getattr(self.position_embedding, "max_length", None)
        if limit is not None and max_length > limit:
            raise ValueError(f"max_length={max_length} exceeds the model's {limit} learned positions")
        if not self.built:
            self.build((None, None))
        attention = self.blocks[0].attention
        shape = (batch_size, max_length, attention.num_kv_heads, attention.head_dim)
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
        capacity, length = cache[0][0].shape[1], token_ids.shape[1]
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
        return tuple(input_shape) + (self.vocab_size,)


@keras.saving.register_keras_serializable(package="llmbook")
class GPT(CausalTransformer):
    """A GPT-2-style decoder: token + position embeddings, pre-LN blocks with GELU MLPs, final LayerNorm.

    Args:
        vocab_size: number of token ids.
        max_length: the longest sequence (size of the learned position table).
        num_layers, num_heads, hidden_dim, intermediate_dim: the Transformer's shape.
        dropout: dropout rate while training.
        positions: ``"learned"`` (GPT-2), ``"sinusoidal"`` or ``"rope"``.
        tie_embeddings: the output head is the transposed token embedding (GPT-2: True).
        norm_epsilon: LayerNorm epsilon.

    Call args:
        token_ids: integer ``(batch, length)``.
        attention_mask: optional boolean ``(batch, length)``; False for padding.

    Returns:
        Logits ``(batch, length, vocab_size)`` for the next token at each position.

    Raises:
        ValueError: for non-positive sizes, a ``hidden_dim`` not divisible by ``num_heads``, an unknown
            ``positions``, or token ids of the wrong shape or dtype.
    """

    def __init__(self, vocab_size: int, max_length: int, num_layers: int = 4, num_heads: int = 4,
                 hidden_dim: int = 128, intermediate_dim: int | None = None, dropout: float = 0.0,
                 positions: str = "learned", tie_embeddings: bool = True, norm_epsilon: float = 1e-5, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size, self.max_length = _positive("vocab_size", vocab_size), _positive("max_length", max_length)
        self.num_layers, self.num_heads = _positive("num_layers", num_layers), _positive("num_heads", num_heads)
        self.hidden_dim = _positive("hidden_dim", hidden_dim)
        self.intermediate_dim = _positive("intermediate_dim", 4 * hidden_dim if intermediate_dim is None
                                          else intermediate_dim)
        if hidden_dim % num_heads:
            raise ValueError(f"hidden_dim={hidden_dim} must be divisible by num_heads={num_heads}")
        if positions not in POSITIONS:
            raise ValueError(f"unknown positions {positions!r}; choose one of {', '.join(POSITIONS)}")
        self.dropout, self.positions, self.tie_embeddings = float(dropout), positions, bool(tie_embeddings)
        self.norm_epsilon = float(norm_epsilon)
        initializer = keras.initializers.RandomNormal(stddev=0.02)
        self._make_embeddings(self.vocab_size, self.hidden_dim, self.tie_embeddings, initializer)
        self.position_embedding = {
            "learned": lambda: PositionEmbedding(self.max_length, initializer=initializer, name="position_embedding"),
            "sinusoidal": lambda: SinusoidalPositionEmbedding(name="position_embedding"),
            "rope": lambda: None,
        }[positions]()
        self.blocks = [
            TransformerBlock(num_heads=self.num_heads, intermediate_dim=self.intermediate_dim, norm_first=True,
                             norm="layer", mlp="gelu_approximate", causal=True,
                             rope_theta=10000.0 if positions == "rope" else None, use_bias=True,
                             norm_epsilon=self.norm_epsilon, dropout=self.dropout, name=f"block_{i}")
            for i in range(self.num_layers)
        ]
        self.final_norm = LayerNorm(epsilon=self.norm_epsilon, name="final_norm")

    def get_config(self):
        config = super().get_config()
        config.update(vocab_size=self.vocab_size, max_length=self.max_length, num_layers=self.num_layers,
                      num_heads=self.num_heads, hidden_dim=self.hidden_dim, intermediate_dim=self.intermediate_dim,
                      dropout=self.dropout, positions=self.positions, tie_embeddings=self.tie_embeddings,
                      norm_epsilon=self.norm_epsilon)
        return config
