"""The Transformer block: attention and an MLP, each wrapped in a residual connection and a norm.

Post-LN (the original Transformer, BERT) normalizes after each residual sum::

    x = norm1(x + attention(x));  x = norm2(x + mlp(x))

Pre-LN (GPT-2, Llama) normalizes each branch's input and keeps the residual path clean::

    x = x + attention(norm1(x));  x = x + mlp(norm2(x))

Pre-LN trains stably without learning-rate warm-up tricks (Xiong et al., 2020); a pre-LN stack needs
one final norm after the last block, which the models add.
"""

from __future__ import annotations

import keras

from llmbook.layers._base import SingleInputBuild
from llmbook.layers.attention import MultiHeadAttention
from llmbook.layers.mlp import GELUMLP, SwiGLUMLP
from llmbook.layers.normalization import LayerNorm, RMSNorm

#: The normalization layers a block can use: LayerNorm or RMSNorm.
NORMS = ("layer", "rms")
#: The feed-forward networks a block can use: GELU (exact or tanh-approximated) or SwiGLU.
MLPS = ("gelu", "gelu_approximate", "swiglu")
#: How a model tells attention where each token is: a learned table, fixed sinusoids (both added to the
#: embeddings), rotary embeddings inside attention, or nothing.
POSITIONS = ("learned", "sinusoidal", "rope", "none")
#: Defaults shared by the blocks, the model backbones and ``TransformerSpec``.
NORM_EPSILON = 1e-5
ROPE_THETA = 10000.0


@keras.saving.register_keras_serializable(package="llmbook")
class TransformerBlock(SingleInputBuild, keras.layers.Layer):
    """One Transformer block, encoder or decoder, pre-LN or post-LN, GPT-2, BERT or Llama flavoured.

    Sub-layers (for weight loading): ``attention`` (:class:`MultiHeadAttention`), ``attention_norm``,
    optionally ``cross_attention`` and ``cross_attention_norm``, ``mlp`` and ``mlp_norm``.

    Args:
        num_heads: attention heads.
        intermediate_dim: MLP hidden width.
        head_dim: size per head; default ``dim // num_heads``.
        num_kv_heads: key/value heads for grouped-query attention (default ``num_heads``).
        norm_first: True for pre-LN, False for post-LN.
        norm: ``"layer"`` (LayerNorm) or ``"rms"`` (RMSNorm).
        mlp: ``"gelu"`` (exact), ``"gelu_approximate"`` (tanh, GPT-2) or ``"swiglu"``.
        causal: mask future positions in self-attention (decoders).
        rope_theta: apply RoPE with this base in self-attention (None: no RoPE).
        use_bias: biases in attention and MLP projections.
        norm_epsilon: epsilon of the norms.
        dropout: residual dropout (and attention-weight dropout) while training.
        cross_attention: add a cross-attention sub-layer (decoder of an encoder-decoder model).
        context_dim: size of the cross-attention context (default: the block's width).

    Call args:
        inputs: ``(batch, length, dim)``.
        attention_mask: boolean self-attention mask, ``(batch, key_length)`` or ``(batch, length, key_length)``.
        context: encoder output ``(batch, context_length, context_dim)``; required iff ``cross_attention``.
        context_mask: boolean ``(batch, context_length)`` padding mask of ``context``.
        cache: ``(key_cache, value_cache)`` of the self-attention, see :class:`MultiHeadAttention`.
        cache_index: number of tokens already in the cache.

    Returns:
        ``(batch, length, dim)``; ``(output, new_cache)`` when ``cache`` is given.

    Raises:
        ValueError: for an unknown ``norm``/``mlp``, or ``context`` given (or missing) inconsistently
            with ``cross_attention``.

    >>> import numpy as np
    >>> block = TransformerBlock(num_heads=2, intermediate_dim=32, causal=True)
    >>> tuple(block(np.zeros((1, 3, 8), "float32")).shape)
    (1, 3, 8)
    """

    def __init__(self, num_heads: int, intermediate_dim: int, head_dim: int | None = None,
                 num_kv_heads: int | None = None, norm_first: bool = True, norm: str = "layer",
                 mlp: str = "gelu", causal: bool = False, rope_theta: float | None = None,
                 use_bias: bool = True, norm_epsilon: float = NORM_EPSILON, dropout: float = 0.0,
                 cross_attention: bool = False, context_dim: int | None = None, **kwargs):
        super().__init__(**kwargs)
        if norm not in NORMS:
            raise ValueError(f"unknown norm {norm!r}; choose one of {', '.join(NORMS)}")
        if mlp not in MLPS:
            raise ValueError(f"unknown mlp {mlp!r}; choose one of {', '.join(MLPS)}")
        self.num_heads, self.intermediate_dim = int(num_heads), int(intermediate_dim)
        self.head_dim, self.num_kv_heads = head_dim, num_kv_heads
        self.norm_first, self.norm, self.mlp_kind = bool(norm_first), norm, mlp
        self.causal, self.rope_theta, self.use_bias = bool(causal), rope_theta, bool(use_bias)
        self.norm_epsilon, self.dropout = float(norm_epsilon), float(dropout)
        self.cross_attention_enabled, self.context_dim = bool(cross_attention), context_dim
        self.attention = MultiHeadAttention(num_heads, head_dim=head_dim, num_kv_heads=num_kv_heads,
                                            use_bias=use_bias, causal=causal, rope_theta=rope_theta,
                                            dropout=dropout, name="attention")
        self.attention_norm = self._make_norm("attention_norm")
        if self.cross_attention_enabled:
            self.cross_attention = MultiHeadAttention(num_heads, head_dim=head_dim, use_bias=use_bias,
                                                      dropout=dropout, context_dim=context_dim,
                                                      name="cross_attention")
            self.cross_attention_norm = self._make_norm("cross_attention_norm")
        if mlp == "swiglu":
            self.mlp = SwiGLUMLP(intermediate_dim, use_bias=use_bias, name="mlp")
        else:
            self.mlp = GELUMLP(intermediate_dim, use_bias=use_bias, approximate=mlp == "gelu_approximate",
                               name="mlp")
        self.mlp_norm = self._make_norm("mlp_norm")
        self.residual_dropout = keras.layers.Dropout(self.dropout)

    def _make_norm(self, name):
        if self.norm == "rms":
            return RMSNorm(epsilon=self.norm_epsilon, name=name)
        return LayerNorm(epsilon=self.norm_epsilon, name=name)

    def build(self, input_shape):
        shape = (None, None, input_shape[-1])
        sublayers = [self.attention, self.attention_norm, self.mlp, self.mlp_norm]
        if self.cross_attention_enabled:
            sublayers += [self.cross_attention, self.cross_attention_norm]
        for layer in sublayers:
            layer.build(shape)
        self.built = True

    def _residual(self, x, norm, branch, training):
        if self.norm_first:
            return x + self.residual_dropout(branch(norm(x)), training=training)
        return norm(x + self.residual_dropout(branch(x), training=training))

    def call(self, inputs, attention_mask=None, context=None, context_mask=None, cache=None,
             cache_index=None, training=None):
        if (context is not None) != self.cross_attention_enabled:
            raise ValueError("context must be given exactly when the block was built with cross_attention=True "
                             f"(cross_attention={self.cross_attention_enabled}, context given: {context is not None})")
        new_cache = None

        def self_attention(x):
            nonlocal new_cache
            if cache is None:
                return self.attention(x, attention_mask=attention_mask, training=training)
            output, new_cache = self.attention(x, attention_mask=attention_mask, cache=cache,
                                               cache_index=cache_index, training=training)
            return output

        x = self._residual(inputs, self.attention_norm, self_attention, training)
        if self.cross_attention_enabled:
            x = self._residual(x, self.cross_attention_norm,
                               lambda h: self.cross_attention(h, context=context, attention_mask=context_mask,
                                                              training=training), training)
        x = self._residual(x, self.mlp_norm, lambda h: self.mlp(h, training=training), training)
        return x if cache is None else (x, new_cache)

    def compute_output_shape(self, input_shape, *args, **kwargs):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(num_heads=self.num_heads, intermediate_dim=self.intermediate_dim, head_dim=self.head_dim,
                      num_kv_heads=self.num_kv_heads, norm_first=self.norm_first, norm=self.norm,
                      mlp=self.mlp_kind, causal=self.causal, rope_theta=self.rope_theta,
                      use_bias=self.use_bias, norm_epsilon=self.norm_epsilon, dropout=self.dropout,
                      cross_attention=self.cross_attention_enabled, context_dim=self.context_dim)
        return config
