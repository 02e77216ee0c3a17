"""The encoder backbone: one class for every encoder-only model here (BERT, MiniLM, ...).

An encoder reads token ids (and optionally segment ids and a padding mask) and returns one contextual
vector per token: embeddings (token, plus learned or sinusoidal positions, plus segment ids, then an
optional norm and dropout), a stack of *bidirectional* :class:`~llmbook.layers.TransformerBlock` (every
token sees every non-padding token), a final norm for pre-LN stacks, and optionally a ``[CLS]`` pooler
and an output head. :class:`~llmbook.models.bert.BertEncoder` is BERT's setting of its options, and
:func:`~llmbook.models.architectures.build_transformer` builds an encoder-only ``TransformerSpec`` with it.

Inputs are dicts of ``token_ids`` (int ``(batch, length)``), optionally ``segment_ids`` (default all 0)
and ``padding_mask`` (bool, True on real tokens; default ``token_ids != pad_id``, or all True when
``pad_id`` is None), as produced by :class:`llmbook.text.WordPieceTokenizer`; or a bare token-id tensor.

>>> import numpy as np
>>> encoder = TransformerEncoder(vocab_size=100, hidden_dim=16, num_layers=2, num_heads=2, max_length=32,
...                              lm_head=False)
>>> tuple(encoder(np.array([[2, 7, 8, 3, 0]])).shape)
(1, 5, 16)
"""

from __future__ import annotations

import keras
from keras import ops

from llmbook.layers import PositionEmbedding, SinusoidalPositionEmbedding
from llmbook.layers.transformer import NORM_EPSILON, ROPE_THETA
from llmbook.models.backbone import make_blocks, make_norm, output_head, set_stack_options
from llmbook.validation import non_negative_int


@keras.saving.register_keras_serializable(package="llmbook")
class EncoderEmbeddings(keras.layers.Layer):
    """Token (+ position) (+ segment) embeddings, then an optional norm, then dropout.

    Sub-layers (for weight loading): ``token_embedding``, ``position_embedding`` (learned or sinusoidal
    positions, else None), ``segment_embedding`` (with ``num_segments > 0``, else None) and ``norm`` (or None).

    Args:
        vocab_size: number of token ids.
        hidden_dim: embedding width.
        max_length: rows of the learned position table.
        num_segments: rows of the segment table (BERT: 2; 0: no segments).
        positions: ``"learned"``, ``"sinusoidal"``, or ``"rope"``/``"none"`` (nothing added here).
        norm: ``"layer"``, ``"rms"`` or None (no norm).
        epsilon: the norm's epsilon.
        dropout: dropout rate after the norm, while training.
        initializer_range: standard deviation of the (truncated normal) initial tables.

    Call args:
        token_ids: int ``(batch, length)``.
        segment_ids: int ``(batch, length)`` (ignored without a segment table).

    Returns:
        ``(batch, length, hidden_dim)``.
    """

    def __init__(self, vocab_size: int, hidden_dim: int, max_length: int = 512, num_segments: int = 2,
                 positions: str = "learned", norm: str | None = "layer", epsilon: float = 1e-12,
                 dropout: float = 0.1, initializer_range: float = 0.02, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size, self.hidden_dim, self.max_length = int(vocab_size), int(hidden_dim), int(max_length)
        self.num_segments, self.positions, self.norm_kind = int(num_segments), positions, norm
        self.epsilon, self.dropout = float(epsilon), float(dropout)
        self.initializer_range = float(initializer_range)
        init = keras.initializers.TruncatedNormal(stddev=self.initializer_range)
        self.token_embedding = keras.layers.Embedding(self.vocab_size, self.hidden_dim, embeddings_initializer=init,
                                                      name="token_embedding")
        self.position_embedding = None
        if positions == "learned":
            self.position_embedding = PositionEmbedding(self.max_length, initializer=init, name="position_embedding")
        elif positions == "sinusoidal":
            self.position_embedding = SinusoidalPositionEmbedding(name="position_embedding")
        self.segment_embedding = None
        if self.num_segments:
            self.segment_embedding = keras.layers.Embedding(self.num_segments, self.hidden_dim,
                                                            embeddings_initializer=init, name="segment_embedding")
        self.norm = None if norm is None else make_norm(norm, self.epsilon, "norm")
        self.dropout_layer = keras.layers.Dropout(self.dropout)

    def build(self, input_shape=None):
        self.token_embedding.build((None, None) if input_shape is None else input_shape)
        if self.segment_embedding is not None:
            self.segment_embedding.build((None, None))
        for layer in (self.position_embedding, self.norm):
            if layer is not None:
                layer.build((None, None, self.hidden_dim))
        self.built = True

    def call(self, token_ids, segment_ids, training=None):
        x = self.token_embedding(token_ids)
        if self.position_embedding is not None:
            x = x + self.position_embedding(x)
        if self.segment_embedding is not None:
            x = x + self.segment_embedding(segment_ids)
        if self.norm is not None:
            x = self.norm(x)
        return self.dropout_layer(x, training=training)

    def compute_output_shape(self, input_shape, *args, **kwargs):
        return tuple(input_shape) + (self.hidden_dim,)

    def get_config(self):
        return {**super().get_config(), "vocab_size": self.vocab_size, "hidden_dim": self.hidden_dim,
                "max_length": self.max_length, "num_segments": self.num_segments, "positions": self.positions,
                "norm": self.norm_kind, "epsilon": self.epsilon, "dropout": self.dropout,
                "initializer_range": self.initializer_range}


@keras.saving.register_keras_serializable(package="llmbook")
class TransformerEncoder(keras.Model):
    """An encoder-only Transformer: embeddings, bidirectional blocks, and optional pooler and output head.

    The defaults are those of :class:`~llmbook.models.architectures.TransformerSpec` (learned positions,
    pre-LN LayerNorm blocks with a final norm, exact-GELU MLPs, biases, no segments, no pooler, an output
    head with a bias). Every weight is built in the constructor, so a checkpoint can be loaded before the
    first call.

    Sub-layers (for weight loading): ``embeddings`` (:class:`EncoderEmbeddings`), ``blocks``
    (``block_{i}``), ``final_norm`` (pre-LN, else None), ``pooler`` (``Dense(hidden_dim, tanh)`` on the
    first token, or None) and ``lm_head`` (a separate output head, else None).

    Args:
        vocab_size: number of token ids.
        hidden_dim, num_layers, num_heads: the Transformer's shape.
        intermediate_dim: MLP width (default ``4 * hidden_dim``).
        max_length: number of learned positions.
        num_kv_heads: key/value heads (default ``num_heads``).
        head_dim: size per head (default ``hidden_dim // num_heads``).
        positions: ``"learned"``, ``"sinusoidal"``, ``"rope"`` or ``"none"``.
        norm: ``"layer"`` or ``"rms"``, for the blocks and the embedding norm.
        mlp: ``"gelu"``, ``"gelu_approximate"`` or ``"swiglu"``.
        use_bias: biases in the attention and MLP projections.
        lm_head_bias: a bias in a separate output head (default: ``use_bias``).
        norm_first: pre-LN blocks and a final norm (True) or post-LN blocks (False, BERT).
        embedding_norm: a norm after the embeddings (BERT).
        num_segments: rows of the segment (token type) table; 0 for none.
        pooler: a ``tanh`` dense layer on the first token (:meth:`pooled_output`).
        lm_head: a ``hidden_dim -> vocab_size`` output head; False returns the token vectors.
        tie_embeddings: the output head is the transposed token embedding.
        rope_theta: RoPE base (with ``positions="rope"``).
        norm_epsilon: epsilon of every norm.
        dropout: dropout on embeddings, attention weights and residual branches while training.
        pad_id: id whose positions are masked when no ``padding_mask`` is given; None: no implicit mask.
        initializer_range: standard deviation of the initial embedding tables and output head.

    Call args:
        inputs: dict with ``token_ids`` and optional ``segment_ids``, ``padding_mask`` (see the module doc),
            or a token-id tensor.

    Returns:
        ``(batch, length, vocab_size)`` logits, or with ``lm_head=False`` ``(batch, length, hidden_dim)``
        contextual token vectors (padding positions hold values that no real token attended to; pool
        with the mask).

    Raises:
        ValueError: for non-positive sizes, heads that do not divide the width, an unknown option, a tied
            head without a head, or inputs without ``token_ids``.
    """

    def __init__(self, vocab_size: int, *, hidden_dim: int = 128, num_layers: int = 4, num_heads: int = 4,
                 intermediate_dim: int | None = None, max_length: int = 512, num_kv_heads: int | None = None,
                 head_dim: int | None = None, positions: str = "learned", norm: str = "layer", mlp: str = "gelu",
                 use_bias: bool = True, lm_head_bias: bool | None = None, norm_first: bool = True,
                 embedding_norm: bool = False, num_segments: int = 0, pooler: bool = False, lm_head: bool = True,
                 tie_embeddings: bool = False, rope_theta: float = ROPE_THETA, norm_epsilon: float = NORM_EPSILON,
                 dropout: float = 0.0, pad_id: int | None = None, initializer_range: float = 0.02, **kwargs):
        super().__init__(**kwargs)
        set_stack_options(
            self, vocab_size=vocab_size, hidden_dim=hidden_dim, num_layers=num_layers, num_heads=num_heads,
            intermediate_dim=intermediate_dim, max_length=max_length, num_kv_heads=num_kv_heads, head_dim=head_dim,
            positions=positions, norm=norm, mlp=mlp, use_bias=use_bias, lm_head_bias=lm_head_bias,
            norm_first=norm_first, lm_head=lm_head, tie_embeddings=tie_embeddings, rope_theta=rope_theta,
            norm_epsilon=norm_epsilon, dropout=dropout, initializer_range=initializer_range)
        self.embedding_norm = bool(embedding_norm)
        self.num_segments = non_negative_int("num_segments", num_segments)
        self.pooler_enabled = bool(pooler)
        self.pad_id = None if pad_id is None else int(pad_id)
        # The order in which layers (and so their seeded initializers) are made is part of the model.
        self.embeddings = EncoderEmbeddings(self.vocab_size, self.hidden_dim, self.max_length, self.num_segments,
                                            positions=positions, norm=norm if embedding_norm else None,
                                            epsilon=self.norm_epsilon, dropout=self.dropout,
                                            initializer_range=self.initializer_range, name="embeddings")
        self.blocks = make_blocks(
            self.num_layers, causal=False, num_heads=self.num_heads, intermediate_dim=self.intermediate_dim,
            head_dim=self.head_dim, num_kv_heads=self.num_kv_heads, norm_first=self.norm_first, norm=norm, mlp=mlp,
            positions=positions, rope_theta=self.rope_theta, use_bias=self.use_bias,
            norm_epsilon=self.norm_epsilon, dropout=self.dropout)
        self.final_norm = make_norm(norm, self.norm_epsilon, "final_norm") if self.norm_first else None
        self.pooler = keras.layers.Dense(self.hidden_dim, activation="tanh", name="pooler") if pooler else None
        self.lm_head = None
        if self.lm_head_enabled and not self.tie_embeddings:
            self.lm_head = keras.layers.Dense(
                self.vocab_size, use_bias=self.lm_head_bias, name="lm_head",
                kernel_initializer=keras.initializers.TruncatedNormal(stddev=self.initializer_range))
        self.embeddings.build((None, None))
        for layer in (*self.blocks, self.final_norm, self.lm_head):
            if layer is not None:
                layer.build((None, None, self.hidden_dim))
        if self.pooler is not None:
            self.pooler.build((None, self.hidden_dim))
        self.built = True

    def unpack_inputs(self, inputs):
        """``(token_ids, segment_ids, padding_mask)`` from the encoder's inputs (a dict or a token-id tensor).

        Raises:
            ValueError: for a dict without ``token_ids`` or token ids that are not ``(batch, length)``.
        """
        if isinstance(inputs, dict):
            if "token_ids" not in inputs:
                raise ValueError(f"inputs must contain 'token_ids' (and optionally 'segment_ids', 'padding_mask'); "
                                 f"got keys {sorted(inputs)}")
            token_ids, segment_ids, mask = inputs["token_ids"], inputs.get("segment_ids"), inputs.get("padding_mask")
        else:
            token_ids, segment_ids, mask = inputs, None, None
        token_ids = ops.convert_to_tensor(token_ids)
        if len(token_ids.shape) != 2:
            raise ValueError(f"token_ids must be (batch, length), got shape {tuple(token_ids.shape)}")
        segment_ids = ops.zeros_like(token_ids) if segment_ids is None else segment_ids
        if mask is not None:
            mask = ops.cast(mask, "bool")
        elif self.pad_id is not None:
            mask = ops.not_equal(token_ids, self.pad_id)
        return token_ids, segment_ids, mask

    def _head(self, x):
        return output_head(x, final_norm=self.final_norm, lm_head=self.lm_head,
                           tied_embedding=self.embeddings.token_embedding if self.tie_embeddings else None)

    def call(self, inputs, training=None):
        token_ids, segment_ids, mask = self.unpack_inputs(inputs)
        x = self.embeddings(token_ids, segment_ids, training=training)
        for block in self.blocks:
            x = block(x, attention_mask=mask, training=training)
        return self._head(x)

    def pooled_output(self, sequence):
        """The pooler: ``tanh(W h_[CLS] + b)``, ``(batch, hidden_dim)``; the input of BERT's NSP head.

        Raises:
            ValueError: if the encoder was made with ``pooler=False``.
        """
        if self.pooler is None:
            raise ValueError("this encoder has no pooler; make it with pooler=True")
        return self.pooler(sequence[:, 0])

    def attention_maps(self, inputs):
        """The attention weights of every block, as a list of ``(batch, heads, length, length)`` arrays.

        Runs the blocks one at a time (inference mode) and asks each block's attention for its weights.
        """
        token_ids, segment_ids, mask = self.unpack_inputs(inputs)
        x = self.embeddings(token_ids, segment_ids, training=False)
        maps = []
        for block in self.blocks:
            attention_input = block.attention_norm(x) if block.norm_first else x
            _, weights = block.attention(attention_input, attention_mask=mask, return_weights=True, training=False)
            maps.append(ops.convert_to_numpy(weights))
            x = block(x, attention_mask=mask, training=False)
        return maps

    def compute_output_shape(self, input_shape, *args, **kwargs):
        shape = input_shape["token_ids"] if isinstance(input_shape, dict) else input_shape
        return tuple(shape) + ((self.vocab_size,) if self.lm_head_enabled else (self.hidden_dim,))

    def get_config(self):
        return {**super().get_config(), "vocab_size": self.vocab_size, "hidden_dim": self.hidden_dim,
                "num_layers": self.num_layers, "num_heads": self.num_heads,
                "intermediate_dim": self.intermediate_dim, "max_length": self.max_length,
                "num_kv_heads": self.num_kv_heads, "head_dim": self.head_dim, "positions": self.positions,
                "norm": self.norm, "mlp": self.mlp, "use_bias": self.use_bias, "lm_head_bias": self.lm_head_bias,
                "norm_first": self.norm_first, "embedding_norm": self.embedding_norm,
                "num_segments": self.num_segments, "pooler": self.pooler_enabled, "lm_head": self.lm_head_enabled,
                "tie_embeddings": self.tie_embeddings, "rope_theta": self.rope_theta,
                "norm_epsilon": self.norm_epsilon, "dropout": self.dropout, "pad_id": self.pad_id,
                "initializer_range": self.initializer_range}
