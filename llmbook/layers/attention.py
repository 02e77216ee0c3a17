"""Scaled dot-product attention, its masks, and multi-head attention with grouped-query attention.

Attention turns each query vector into a weighted average of value vectors, with weights
``softmax(q . k / sqrt(d))`` over the keys (Vaswani et al., 2017). Masks are boolean tensors,
``True`` where a query may attend to a key. Everything is written with ``keras.ops`` and plain
broadcasting (no backend-specific kernels), so it runs under TensorFlow, JAX and PyTorch.

>>> import numpy as np
>>> q = k = v = np.eye(3, dtype="float32")[None]          # (batch=1, length=3, dim=3)
>>> out = scaled_dot_product_attention(q, k, v, causal=True)
>>> tuple(out.shape)
(1, 3, 3)
"""

from __future__ import annotations

import keras
import numpy as np  # noqa: F401  (used by the docstring examples)
from keras import ops

from llmbook.layers._base import SingleInputBuild
from llmbook.layers.positional import apply_rotary_embedding
from llmbook.validation import positive_int, unit_rate


def causal_mask(query_length, key_length=None, offset=0):
    """A boolean ``(query_length, key_length)`` mask, True where key position <= query position.

    Args:
        query_length: number of queries.
        key_length: number of keys (default ``query_length``).
        offset: absolute position of the first query (the number of tokens already in a KV cache);
            query ``i`` sits at position ``offset + i`` and may see keys ``0 .. offset + i``.

    Returns:
        A boolean tensor of shape ``(query_length, key_length)``.
    """
    key_length = query_length if key_length is None else key_length
    query_positions = ops.arange(query_length, dtype="int32")[:, None] + ops.cast(offset, "int32")
    key_positions = ops.arange(key_length, dtype="int32")[None, :]
    return ops.less_equal(key_positions, query_positions)


def padding_mask(token_ids, pad_id: int = 0):
    """A boolean ``(batch, length)`` mask, True for real tokens and False for ``pad_id``.

    Args:
        token_ids: integer tensor ``(batch, length)``.
        pad_id: the id used for padding.

    Returns:
        A boolean tensor of the same shape as ``token_ids``.
    """
    return ops.not_equal(token_ids, pad_id)


def _mask_value(dtype) -> float:
    # A large finite negative number: -inf would turn a fully masked row into NaN.
    return -1e9 if keras.backend.standardize_dtype(dtype) in ("float32", "float64") else -3e4


def scaled_dot_product_attention(query, key, value, mask=None, causal: bool = False,
                                 return_weights: bool = False, scale: float | None = None):
    """``softmax(query @ key^T * scale + mask) @ value`` over any leading (batch, head, ...) axes.

    Args:
        query: ``(..., query_length, depth)``.
        key: ``(..., key_length, depth)``; leading axes broadcast against ``query``'s.
        value: ``(..., key_length, value_depth)``.
        mask: optional boolean tensor broadcastable to ``(..., query_length, key_length)``;
            True = may attend. A row with no True gets uniform weights (never NaN).
        causal: also apply :func:`causal_mask` (query i sees keys 0..i, aligned at the start).
        return_weights: also return the attention weights.
        scale: multiplier of the scores; default ``1 / sqrt(depth)``.

    Returns:
        ``(..., query_length, value_depth)``, and the weights ``(..., query_length, key_length)``
        when ``return_weights`` is True.

    Raises:
        ValueError: if query and key depths differ or key and value lengths differ.
    """
    query, key, value = ops.convert_to_tensor(query), ops.convert_to_tensor(key), ops.convert_to_tensor(value)
    if query.shape[-1] is not None and key.shape[-1] is not None and query.shape[-1] != key.shape[-1]:
        raise ValueError(f"query depth {query.shape[-1]} != key depth {key.shape[-1]}: "
                         "queries and keys must be projected to the same size")
    if key.shape[-2] is not None and value.shape[-2] is not None and key.shape[-2] != value.shape[-2]:
        raise ValueError(f"key length {key.shape[-2]} != value length {value.shape[-2]}: "
                         "every key needs exactly one value")
    depth = query.shape[-1]
    scale = (1.0 / float(depth) ** 0.5) if scale is None else scale
    rank = len(key.shape)
    key_t = ops.transpose(key, tuple(range(rank - 2)) + (rank - 1, rank - 2))
    scores = ops.matmul(query, key_t) * ops.cast(scale, query.dtype)
    if causal:
        causal_part = causal_mask(ops.shape(query)[-2], ops.shape(key)[-2])
        mask = causal_part if mask is None else ops.logical_and(ops.cast(mask, "bool"), causal_part)
    if mask is not None:
        scores = ops.where(ops.cast(mask, "bool"), scores, ops.cast(_mask_value(scores.dtype), scores.dtype))
    weights = ops.softmax(scores, axis=-1)
    output = ops.matmul(weights, value)
    return (output, weights) if return_weights else output


@keras.saving.register_keras_serializable(package="llmbook")
class MultiHeadAttention(SingleInputBuild, keras.layers.Layer):
    """Multi-head attention with optional grouped-query attention, RoPE, causal masking and a KV cache.

    Query, key, value and output projections are separate ``Dense`` layers named ``query``, ``key``,
    ``value`` and ``output`` with kernels ``(in, out)``: a checkpoint maps onto them one to one.
    With ``num_kv_heads < num_heads`` (grouped-query attention, Ainslie et al., 2023) each key/value
    head is shared by ``num_heads // num_kv_heads`` query heads; ``num_kv_heads == 1`` is multi-query.

    Args:
        num_heads: number of query heads.
        head_dim: size of each head; default ``input_dim // num_heads``.
        num_kv_heads: number of key/value heads (default ``num_heads``); must divide ``num_heads``.
        use_bias: biases in the four projections (GPT-2/BERT: True; Llama: False).
        output_dim: output size; default the input size.
        causal: mask future positions.
        rope_theta: if set, apply rotary position embeddings with this base to queries and keys.
        dropout: dropout rate on the attention weights during training.
        context_dim: size of the ``context`` vectors of cross-attention; default the input size.

    Call args:
        inputs: ``(batch, query_length, dim)``.
        context: ``(batch, key_length, context_dim)`` to attend to (cross-attention); default ``inputs``.
        attention_mask: boolean ``(batch, key_length)`` (padding) or ``(batch, query_length, key_length)``;
            True = may attend. With a cache, ``key_length`` is the cache length.
        cache: ``(key_cache, value_cache)``, each ``(batch, num_kv_heads, max_length, head_dim)``: heads
            first, the layout attention's products read, so that a decoding step does not transpose the
            whole cache; the new keys/values are written at slot ``cache_index`` and the queries attend to
            slots ``< cache_index + query_length`` (and causally, if ``causal``).
        cache_index: integer (or scalar tensor), the number of tokens already in the cache.
        return_weights: also return the attention weights ``(batch, num_heads, query_length, key_length)``.

    Returns:
        ``output`` ``(batch, query_length, output_dim)``; ``(output, new_cache)`` when ``cache`` is given;
        the weights are appended when ``return_weights`` is True.

    Raises:
        ValueError: for head counts that do not divide, or a dimension not divisible by ``num_heads``.

    >>> layer = MultiHeadAttention(num_heads=4, num_kv_heads=2, causal=True)
    >>> tuple(layer(np.zeros((2, 5, 16), "float32")).shape)
    (2, 5, 16)
    """

    def __init__(self, num_heads: int, head_dim: int | None = None, num_kv_heads: int | None = None,
                 use_bias: bool = True, output_dim: int | None = None, causal: bool = False,
                 rope_theta: float | None = None, dropout: float = 0.0, context_dim: int | None = None,
                 **kwargs):
        super().__init__(**kwargs)
        num_kv_heads = num_heads if num_kv_heads is None else num_kv_heads
        num_heads, num_kv_heads = positive_int("num_heads", num_heads), positive_int("num_kv_heads", num_kv_heads)
        if num_heads % num_kv_heads:
            raise ValueError(f"num_kv_heads={num_kv_heads} must divide num_heads={num_heads} "
                             "(each key/value head serves an equal group of query heads)")
        dropout = unit_rate("dropout", dropout)
        self.num_heads, self.num_kv_heads = int(num_heads), int(num_kv_heads)
        self.head_dim = None if head_dim is None else int(head_dim)
        self.use_bias, self.output_dim, self.causal = bool(use_bias), output_dim, bool(causal)
        self.rope_theta = None if rope_theta is None else float(rope_theta)
        self.dropout = float(dropout)
        self.context_dim = None if context_dim is None else int(context_dim)
        self.weights_dropout = keras.layers.Dropout(self.dropout)
        self.supports_masking = False

    def build(self, input_shape):
        dim = input_shape[-1]
        context_dim = dim if self.context_dim is None else self.context_dim
        if self.head_dim is None:
            if dim % self.num_heads:
                raise ValueError(f"input dimension {dim} is not divisible by num_heads={self.num_heads}; "
                                 "pass head_dim explicitly")
            self.head_dim = dim // self.num_heads
        out_dim = dim if self.output_dim is None else self.output_dim
        dense = lambda units, name: keras.layers.Dense(units, use_bias=self.use_bias, name=name)  # noqa: E731
        self.query = dense(self.num_heads * self.head_dim, "query")
        self.key = dense(self.num_kv_heads * self.head_dim, "key")
        self.value = dense(self.num_kv_heads * self.head_dim, "value")
        self.output_projection = dense(out_dim, "output")
        self.query.build((None, None, dim))
        self.key.build((None, None, context_dim))
        self.value.build((None, None, context_dim))
        self.output_projection.build((None, None, self.num_heads * self.head_dim))
        self.built = True

    def _split(self, x, heads):
        shape = ops.shape(x)
        return ops.reshape(x, (shape[0], shape[1], heads, self.head_dim))

    def call(self, inputs, context=None, attention_mask=None, cache=None, cache_index=None,
             return_weights: bool = False, training=None):
        source = inputs if context is None else context
        batch, query_length = ops.shape(inputs)[0], ops.shape(inputs)[1]
        query = self._split(self.query(inputs), self.num_heads)          # (b, q, h, d)
        key = self._split(self.key(source), self.num_kv_heads)            # (b, k, g, d)
        value = self._split(self.value(source), self.num_kv_heads)
        start = 0 if cache_index is None else ops.cast(cache_index, "int32")
        if self.rope_theta is not None:
            positions = ops.arange(query_length, dtype="int32") + start
            query = apply_rotary_embedding(query, positions, self.rope_theta)
            key = apply_rotary_embedding(key, positions, self.rope_theta)
        key, value = ops.transpose(key, (0, 2, 1, 3)), ops.transpose(value, (0, 2, 1, 3))   # (b, g, k, d)
        if cache is not None:
            key_cache, value_cache = cache
            zero = ops.zeros((), "int32")
            key = ops.slice_update(key_cache, (zero, zero, start, zero), ops.cast(key, key_cache.dtype))
            value = ops.slice_update(value_cache, (zero, zero, start, zero), ops.cast(value, value_cache.dtype))
            new_cache = (key, value)
        key_length = ops.shape(key)[2]
        query = ops.transpose(query, (0, 2, 1, 3))                        # (b, h, q, d)
        mask = None
        if cache is not None:
            key_positions = ops.arange(key_length, dtype="int32")[None, :]
            if self.causal:
                mask = causal_mask(query_length, key_length, offset=start)
            else:
                mask = ops.broadcast_to(ops.less(key_positions, start + query_length), (query_length, key_length))
        elif self.causal:
            mask = causal_mask(query_length, key_length)
        if attention_mask is not None:
            attention_mask = ops.cast(attention_mask, "bool")
            if len(attention_mask.shape) == 2:
                attention_mask = attention_mask[:, None, :]               # (b, 1, k)
            attention_mask = attention_mask[:, None, None]                # (b, 1, 1, q|1, k)
            mask = attention_mask if mask is None else ops.logical_and(attention_mask, mask)
        if self.num_heads == self.num_kv_heads:
            output, weights = self._one_head_per_key(query, key, value, mask, training)
        else:
            output, weights = self._grouped(query, key, value, mask, training)
        output = ops.reshape(ops.transpose(ops.reshape(output, (batch, self.num_heads, query_length, self.head_dim)),
                                           (0, 2, 1, 3)), (batch, query_length, self.num_heads * self.head_dim))
        output = self.output_projection(output)
        results = (output,)
        if cache is not None:
            results += (new_cache,)
        if return_weights:
            results += (ops.reshape(weights, (batch, self.num_heads, query_length, key_length)),)
        return results[0] if len(results) == 1 else results

    def _one_head_per_key(self, query, key, value, mask, training):
        """Multi-head attention, each head with its own keys: batched matrix products over ``(b, h, 1)``.

        Args: query ``(b, h, q, d)``; key, value ``(b, h, k, d)``; mask ``(q, k)`` or ``(b | 1, 1, 1, q | 1, k)``.
        Returns: the output ``(b, h, 1, q, d)`` and the weights ``(b, h, 1, q, k)``.
        """
        query, key, value = query[:, :, None], key[:, :, None], value[:, :, None]
        output, weights = scaled_dot_product_attention(query, key, value, mask=mask, return_weights=True)
        if self.dropout and training:
            # Dropout on the weights needs a second product; only paid while training.
            weights = self.weights_dropout(weights, training=training)
            output = ops.matmul(weights, value)
        return output, weights

    def _grouped(self, query, key, value, mask, training):
        """Grouped-query attention with the group's query rows stacked: one matrix product per key/value head.

        The ``group`` query heads that share a key/value head become ``group * q`` rows of one query matrix,
        so each key/value head is read once, as it lies, and never repeated ``group`` times (a decoding
        step's attention is then a ``(group, d) x (d, k)`` product per row and head, not ``group``
        products of one row that each need their own copy of the keys).

        Args: query ``(b, h, q, d)``; key, value ``(b, g, k, d)``; mask ``(q, k)`` or ``(b | 1, 1, 1, q | 1, k)``.
        Returns: the output ``(b, g, group * q, d)`` and the weights ``(b, g, group, q, k)``.
        """
        batch, query_length, key_length = ops.shape(query)[0], ops.shape(query)[2], ops.shape(key)[2]
        group = self.num_heads // self.num_kv_heads
        rows = (batch, self.num_kv_heads, group * query_length)
        query = ops.reshape(query, rows + (self.head_dim,)) * ops.cast(1.0 / float(self.head_dim) ** 0.5, query.dtype)
        scores = ops.einsum("bgmd,bgkd->bgmk", query, key)
        scores = ops.reshape(scores, (batch, self.num_kv_heads, group, query_length, key_length))
        if mask is not None:
            fill = ops.cast(_mask_value(scores.dtype), scores.dtype)
            scores = ops.where(mask[None, None, None] if len(mask.shape) == 2 else mask, scores, fill)
        weights = ops.softmax(scores, axis=-1)
        if self.dropout and training:
            weights = self.weights_dropout(weights, training=training)
        output = ops.einsum("bgmk,bgkd->bgmd", ops.reshape(weights, rows + (key_length,)), value)
        return output, weights

    def compute_output_shape(self, input_shape, *args, **kwargs):
        out_dim = input_shape[-1] if self.output_dim is None else self.output_dim
        return tuple(input_shape[:-1]) + (out_dim,)

    def get_config(self):
        config = super().get_config()
        config.update(num_heads=self.num_heads, head_dim=self.head_dim, num_kv_heads=self.num_kv_heads,
                      use_bias=self.use_bias, output_dim=self.output_dim, causal=self.causal,
                      rope_theta=self.rope_theta, dropout=self.dropout, context_dim=self.context_dim)
        return config
