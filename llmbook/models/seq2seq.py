"""The encoder-decoder Transformer (Vaswani et al., 2017) for translation, with padding masks and a decoder KV cache.

An encoder reads the source with bidirectional self-attention; a decoder reads the target so far with
*causal* self-attention, and every decoder block also cross-attends to the encoder's output. Both
stacks are :class:`~llmbook.layers.TransformerBlock` made by :func:`~llmbook.models.backbone.make_blocks`,
the blocks of the decoder-only and encoder-only backbones, with the same options (learned, sinusoidal,
rotary or no positions, LayerNorm or RMSNorm, GELU or SwiGLU, pre-LN or post-LN, grouped-query
self-attention).

Padding: with ``pad_id`` set, source positions holding ``pad_id`` are hidden from the encoder's
self-attention and from every cross-attention, and target positions holding it are hidden from the
decoder's self-attention; so right-padding never changes the outputs at real positions.

The decoding interface, the one :class:`~llmbook.models.decoder.TransformerDecoder` has, plus the source:

- ``model([source_ids, target_ids])`` -> logits ``(batch, target_length, target_vocab_size)`` (teacher
  forcing: train with ``model.fit((source, target_in), target_out)``);
- ``model.encode(source_ids)`` -> ``(context, context_mask)``, computed once per source;
- ``model.init_cache(batch_size, max_length)`` -> per decoder block ``(key_cache, value_cache)`` of zeros,
  static shapes;
- ``model.call_with_cache(target_ids, cache, cache_index, context, context_mask)`` -> ``(logits, new_cache)``;
- ``model.cross_attention_weights(source_ids, target_ids)`` -> per decoder block ``(batch, heads,
  target_length, source_length)`` weights, for attention maps.

Cross-attention keys and values are recomputed from ``context`` at every step (the block's
cross-attention projects the context each call); what that costs is measured by
``benchmarks/seq2seq_cross_attention.py``.

>>> import numpy as np
>>> model = Seq2SeqTransformer(20, hidden_dim=8, num_layers=1, num_heads=2, max_length=8)
>>> tuple(model([np.ones((2, 5), "int32"), np.ones((2, 3), "int32")]).shape)
(2, 3, 20)
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from llmbook.layers import PositionEmbedding, SinusoidalPositionEmbedding
from llmbook.layers.transformer import NORM_EPSILON, ROPE_THETA
from llmbook.models.backbone import make_blocks, make_norm, output_head, set_stack_options
from llmbook.validation import positive_int


def _concrete(values):
    """``values`` as a NumPy array when they are concrete (NumPy, eager tensors), else None (while tracing)."""
    if isinstance(values, (np.ndarray, list, tuple)):
        return np.asarray(values)
    if keras.backend.is_keras_tensor(values):
        return None
    try:
        return np.asarray(ops.convert_to_numpy(values))
    except Exception:  # a symbolic tensor inside a compiled function: nothing to check yet
        return None


@keras.saving.register_keras_serializable(package="llmbook")
class Seq2SeqTransformer(keras.Model):
    """An encoder-decoder Transformer with source/target padding masks and a static-shape decoder KV cache.

    Sub-layers (for weight loading): ``token_embedding`` (shared source/target table) or
    ``source_embedding`` and ``target_embedding``; ``encoder_positions`` and ``decoder_positions`` (learned
    or sinusoidal, else None); ``encoder_embedding_norm``/``decoder_embedding_norm`` (or None);
    ``encoder_blocks`` (``encoder_block_{i}``), ``decoder_blocks`` (``decoder_block_{i}``, with
    cross-attention); ``encoder_final_norm``/``decoder_final_norm`` (pre-LN, else None); ``lm_head`` (a
    separate head, else None). With a shared table, learned positions and pre-LN, the parameter count is
    that of :class:`~llmbook.models.architectures.TransformerSpec` ``("encoder-decoder", ...)``.

    Args:
        vocab_size: source token ids (and target ids, unless ``target_vocab_size`` is given).
        target_vocab_size: target token ids (default ``vocab_size``); different sizes need
            ``shared_embeddings=False``.
        shared_embeddings: one embedding table for source and target (the original Transformer, T5)
            or one per side.
        hidden_dim, num_layers, num_heads: the shape; ``num_layers`` encoder blocks.
        decoder_layers: decoder blocks (default ``num_layers``).
        intermediate_dim: MLP width (default ``4 * hidden_dim``).
        max_length: rows of each learned position table; the longest source and target, and the
            default cache size.
        num_kv_heads: key/value heads of self-attention (cross-attention keeps ``num_heads``).
        head_dim: size per head (default ``hidden_dim // num_heads``).
        positions: ``"learned"``, ``"sinusoidal"``, ``"rope"`` or ``"none"``.
        norm: ``"layer"`` or ``"rms"``.
        mlp: ``"gelu"``, ``"gelu_approximate"`` or ``"swiglu"``.
        use_bias: biases in the attention and MLP projections.
        lm_head_bias: a bias in the output head (default: ``use_bias``).
        norm_first: pre-LN blocks and a final norm per stack (True) or post-LN blocks (False).
        embedding_norm: a norm right after each stack's embeddings.
        lm_head: False returns the decoder's last hidden states instead of logits.
        tie_embeddings: the output head is the transposed target embedding.
        rope_theta, norm_epsilon: as in :class:`~llmbook.models.decoder.TransformerDecoder`.
        dropout: residual and attention-weight dropout while training.
        initializer_range: standard deviation of the embedding tables, position tables and head.
        pad_id: the padding id of source and target (masked as described above); None: no mask.

    Attributes:
        source_vocab_size, target_vocab_size: the two vocabularies' sizes.
        vocab_size: the size of the logits' last axis, ``target_vocab_size`` (as generation code expects).

    Call args:
        inputs: ``[source_ids, target_ids]``, integer ``(batch, source_length)`` and ``(batch, target_length)``.

    Returns:
        Logits ``(batch, target_length, target_vocab_size)``: at each target position, the next target token.

    Raises:
        ValueError: for bad sizes or options (see :func:`~llmbook.models.backbone.set_stack_options`),
            vocabularies of different sizes with a shared table, inputs that are not two integer
            ``(batch, length)`` arrays with the same batch, or ids outside the vocabulary (checked on
            concrete inputs: NumPy arrays and eager tensors, not inside a compiled ``fit`` step).
    """

    def __init__(self, vocab_size: int, target_vocab_size: int | None = None, *, shared_embeddings: bool = True,
                 hidden_dim: int = 128, num_layers: int = 2, decoder_layers: int | None = None, num_heads: int = 4,
                 intermediate_dim: int | None = None, max_length: int = 512, num_kv_heads: int | None = None,
                 head_dim: int | None = None, positions: str = "learned", norm: str = "layer", mlp: str = "gelu",
                 use_bias: bool = True, lm_head_bias: bool | None = None, norm_first: bool = True,
                 embedding_norm: bool = False, lm_head: bool = True, tie_embeddings: bool = False,
                 rope_theta: float = ROPE_THETA, norm_epsilon: float = NORM_EPSILON, dropout: float = 0.0,
                 initializer_range: float = 0.02, pad_id: int | None = 0, **kwargs):
        super().__init__(**kwargs)
        set_stack_options(
            self, vocab_size=vocab_size, hidden_dim=hidden_dim, num_layers=num_layers, num_heads=num_heads,
            intermediate_dim=intermediate_dim, max_length=max_length, num_kv_heads=num_kv_heads, head_dim=head_dim,
            positions=positions, norm=norm, mlp=mlp, use_bias=use_bias, lm_head_bias=lm_head_bias,
            norm_first=norm_first, lm_head=lm_head, tie_embeddings=tie_embeddings, rope_theta=rope_theta,
            norm_epsilon=norm_epsilon, dropout=dropout, initializer_range=initializer_range)
        self.source_vocab_size = self.vocab_size
        self.target_vocab_size = (self.vocab_size if target_vocab_size is None
                                  else positive_int("target_vocab_size", target_vocab_size))
        # ``vocab_size`` is what the logits range over, as in the decoder-only models (generation code reads it)
        self.vocab_size = self.target_vocab_size
        self.shared_embeddings = bool(shared_embeddings)
        if self.shared_embeddings and self.target_vocab_size != self.source_vocab_size:
            raise ValueError(f"a shared embedding table needs one vocabulary, got vocab_size={self.source_vocab_size} "
                             f"and target_vocab_size={self.target_vocab_size}; pass shared_embeddings=False")
        self.decoder_layers = self.num_layers if decoder_layers is None else positive_int("decoder_layers",
                                                                                          decoder_layers)
        self.embedding_norm_enabled = bool(embedding_norm)
        if pad_id is not None:
            pad_id = int(pad_id)
            if not 0 <= pad_id < min(self.source_vocab_size, self.target_vocab_size):
                raise ValueError(f"pad_id={pad_id} is not a token id of both vocabularies; pass an id in "
                                 f"[0, {min(self.source_vocab_size, self.target_vocab_size)}) or None")
        self.pad_id = pad_id
        # The order in which layers are made fixes which weights a seed gives: keep it.
        initializer = keras.initializers.RandomNormal(stddev=self.initializer_range)

        def embedding(rows, name):
            return keras.layers.Embedding(rows, self.hidden_dim, embeddings_initializer=initializer, name=name)

        if self.shared_embeddings:
            self.token_embedding = embedding(self.source_vocab_size, "token_embedding")
            self.source_embedding = self.target_embedding = self.token_embedding
        else:
            self.token_embedding = None
            self.source_embedding = embedding(self.source_vocab_size, "source_embedding")
            self.target_embedding = embedding(self.target_vocab_size, "target_embedding")
        self.lm_head = None
        if self.lm_head_enabled and not self.tie_embeddings:
            self.lm_head = keras.layers.Dense(self.target_vocab_size, use_bias=self.lm_head_bias,
                                              kernel_initializer=initializer, name="lm_head")

        def position_table(name):
            if positions == "learned":
                return PositionEmbedding(self.max_length, initializer=initializer, name=name)
            if positions == "sinusoidal":
                return SinusoidalPositionEmbedding(name=name)
            return None

        self.encoder_positions = position_table("encoder_positions")
        self.decoder_positions = position_table("decoder_positions")
        self.encoder_embedding_norm = make_norm(norm, self.norm_epsilon, "encoder_embedding_norm") \
            if embedding_norm else None
        self.decoder_embedding_norm = make_norm(norm, self.norm_epsilon, "decoder_embedding_norm") \
            if embedding_norm else None
        block_options = dict(num_heads=self.num_heads, intermediate_dim=self.intermediate_dim, head_dim=self.head_dim,
                             num_kv_heads=self.num_kv_heads, norm_first=self.norm_first, norm=norm, mlp=mlp,
                             positions=positions, rope_theta=self.rope_theta, use_bias=self.use_bias,
                             norm_epsilon=self.norm_epsilon, dropout=self.dropout)
        self.encoder_blocks = make_blocks(self.num_layers, causal=False, prefix="encoder_", **block_options)
        self.decoder_blocks = make_blocks(self.decoder_layers, causal=True, cross_attention=True, prefix="decoder_",
                                          **block_options)
        self.encoder_final_norm = make_norm(norm, self.norm_epsilon, "encoder_final_norm") if self.norm_first else None
        self.decoder_final_norm = make_norm(norm, self.norm_epsilon, "decoder_final_norm") if self.norm_first else None

    # ------------------------------------------------------------------------------------ building
    def build(self, input_shape=None):
        hidden = (None, None, self.hidden_dim)
        for table in {id(t): t for t in (self.source_embedding, self.target_embedding)}.values():
            table.build((None, None))
        for layer in (self.encoder_positions, self.decoder_positions, self.encoder_embedding_norm,
                      self.decoder_embedding_norm, *self.encoder_blocks, *self.decoder_blocks,
                      self.encoder_final_norm, self.decoder_final_norm, self.lm_head):
            if layer is not None:
                layer.build(hidden)
        self.built = True

    def get_build_config(self):
        return {"input_shape": None}

    def build_from_config(self, config):
        self.build()

    # ------------------------------------------------------------------------------------ checks
    def _check_ids(self, ids, name: str, vocab_size: int):
        values = _concrete(ids)
        if values is not None:
            if values.size and not np.issubdtype(values.dtype, np.integer):
                raise ValueError(f"{name} must be integer token ids, got dtype {values.dtype}")
            if values.ndim == 2 and values.size and (values.min() < 0 or values.max() >= vocab_size):
                raise ValueError(f"{name} holds ids outside [0, {vocab_size}) (min {values.min()}, max "
                                 f"{values.max()}); encode with the model's vocabulary")
            if isinstance(ids, (np.ndarray, list, tuple)):
                ids = values.astype("int32")
        ids = ops.convert_to_tensor(ids)
        if len(ids.shape) != 2:
            raise ValueError(f"{name} must have shape (batch, length), got {tuple(ids.shape)}; "
                             "for one sequence pass ids[None, :]")
        if not keras.backend.standardize_dtype(ids.dtype).startswith(("int", "uint")):
            raise ValueError(f"{name} must be integer token ids, got dtype {ids.dtype}")
        limit = getattr(self.encoder_positions, "max_length", None)
        if limit is not None and isinstance(ids.shape[1], int) and ids.shape[1] > limit:
            raise ValueError(f"{name} has length {ids.shape[1]} but the model has {limit} learned positions; "
                             "shorten it or build the model with a larger max_length")
        return ids

    def _split_inputs(self, inputs):
        if not isinstance(inputs, (list, tuple)) or len(inputs) != 2:
            raise ValueError("inputs must be [source_ids, target_ids] (two integer (batch, length) arrays), got "
                             f"{type(inputs).__name__}" + (f" of {len(inputs)}" if isinstance(inputs, (list, tuple))
                                                           else ""))
        source = self._check_ids(inputs[0], "source_ids", self.source_vocab_size)
        target = self._check_ids(inputs[1], "target_ids", self.target_vocab_size)
        if None not in (source.shape[0], target.shape[0]) and source.shape[0] != target.shape[0]:
            raise ValueError(f"source_ids and target_ids must have the same batch size, got {source.shape[0]} "
                             f"and {target.shape[0]}")
        return source, target

    def _mask(self, ids):
        return None if self.pad_id is None else ops.not_equal(ids, self.pad_id)

    # ------------------------------------------------------------------------------------ forward
    def _embed(self, ids, table, positions, norm, start_index):
        x = table(ids)
        if positions is not None:
            x = x + positions(x, start_index=start_index)
        return x if norm is None else norm(x)

    def encode(self, source_ids, training=None):
        """The encoder's output for a source batch, and the mask to cross-attend with.

        Args:
            source_ids: integer ``(batch, source_length)``.
            training: dropout on (True) or off.

        Returns:
            ``(context, context_mask)``: ``(batch, source_length, hidden_dim)`` and boolean
            ``(batch, source_length)``, False on padding (all True when ``pad_id`` is None).

        Raises:
            ValueError: for ids of the wrong shape or dtype, or (concrete input) outside the vocabulary.
        """
        if not self.built:
            self.build()
        source_ids = self._check_ids(source_ids, "source_ids", self.source_vocab_size)
        return self._encode(source_ids, training)

    def _encode(self, source_ids, training):
        mask = self._mask(source_ids)
        x = self._embed(source_ids, self.source_embedding, self.encoder_positions, self.encoder_embedding_norm, 0)
        for block in self.encoder_blocks:
            x = block(x, attention_mask=mask, training=training)
        if self.encoder_final_norm is not None:
            x = self.encoder_final_norm(x)
        if mask is None:
            mask = ops.ones(ops.shape(source_ids), "bool")
        return x, mask

    def _head(self, x, logits_at=None):
        return output_head(x, final_norm=self.decoder_final_norm, lm_head=self.lm_head, logits_at=logits_at,
                           tied_embedding=self.target_embedding if self.tie_embeddings else None)

    def call(self, inputs, training=None):
        source_ids, target_ids = self._split_inputs(inputs)
        context, context_mask = self._encode(source_ids, training)
        x = self._embed(target_ids, self.target_embedding, self.decoder_positions, self.decoder_embedding_norm, 0)
        target_mask = self._mask(target_ids)
        for block in self.decoder_blocks:
            x = block(x, attention_mask=target_mask, context=context, context_mask=context_mask, training=training)
        return self._head(x)

    def cross_attention_weights(self, source_ids, target_ids):
        """Where each target position looks in the source: every decoder block's cross-attention weights.

        The decoder runs on ``target_ids`` with teacher forcing (dropout off), as in ``call``. In each
        block, the input of the cross-attention sub-layer (after the block's self-attention sub-layer,
        and the block's ``cross_attention_norm`` for pre-LN blocks) is sent through the block's own
        cross-attention once more, asking for its weights; the block then runs as usual.

        Args:
            source_ids: integer ``(batch, source_length)``.
            target_ids: integer ``(batch, target_length)``: the decoder's inputs (``bos_id`` and the
                target so far), so row ``t`` holds the weights used to predict target token ``t + 1``.

        Returns:
            A list with one NumPy float array per decoder block, ``(batch, num_heads, target_length,
            source_length)``: each row sums to 1 over the source, and source padding (``pad_id``)
            gets weight 0.

        Raises:
            ValueError: as ``call``, for ids of the wrong shape, dtype or range.
        """
        if not self.built:
            self.build()
        source_ids, target_ids = self._split_inputs([source_ids, target_ids])
        context, context_mask = self._encode(source_ids, False)
        x = self._embed(target_ids, self.target_embedding, self.decoder_positions, self.decoder_embedding_norm, 0)
        target_mask = self._mask(target_ids)
        maps = []
        for block in self.decoder_blocks:
            if block.norm_first:
                h = x + block.attention(block.attention_norm(x), attention_mask=target_mask)
                query = block.cross_attention_norm(h)
            else:
                h = block.attention_norm(x + block.attention(x, attention_mask=target_mask))
                query = h
            _, weights = block.cross_attention(query, context=context, attention_mask=context_mask,
                                               return_weights=True)
            maps.append(np.asarray(ops.convert_to_numpy(weights), dtype="float32"))
            x = block(x, attention_mask=target_mask, context=context, context_mask=context_mask)
        return maps

    # ------------------------------------------------------------------------------------ the cache
    def init_cache(self, batch_size: int, max_length: int | None = None, dtype="float32"):
        """A zero decoder KV cache: per decoder block, ``(key, value)`` of ``(batch_size, kv_heads, max_length,
        head_dim)`` (heads first, as :class:`~llmbook.layers.MultiHeadAttention` reads them).

        Args:
            batch_size: rows.
            max_length: target positions the cache holds (default the model's ``max_length``).
            dtype: the cache's dtype.

        Returns:
            A list of ``(key_cache, value_cache)``, one per decoder block.

        Raises:
            ValueError: for a non-positive size, or ``max_length`` beyond the learned position table.
        """
        max_length = self.max_length if max_length is None else max_length
        positive_int("batch_size", batch_size)
        positive_int("max_length", max_length)
        limit = getattr(self.decoder_positions, "max_length", None)
        if limit is not None and max_length > limit:
            raise ValueError(f"max_length={max_length} exceeds the model's {limit} learned positions")
        if not self.built:
            self.build()
        shape = (batch_size, self.num_kv_heads, max_length, self.head_dim)
        return [(ops.zeros(shape, dtype), ops.zeros(shape, dtype)) for _ in self.decoder_blocks]

    def call_with_cache(self, target_ids, cache, cache_index, context, context_mask=None, logits_at=None,
                        attention_mask=None):
        """Run ``target_ids`` ``(batch, length)`` at target positions ``cache_index..``, reading and extending
        the cache, cross-attending to ``context``.

        Args:
            target_ids: integer ``(batch, length)``, the next target tokens (one, while decoding).
            cache: from :meth:`init_cache` or a previous call.
            cache_index: tokens already in the cache (Python int or scalar tensor).
            context: the encoder output, from :meth:`encode`.
            context_mask: boolean ``(batch, source_length)`` from :meth:`encode` (None: attend to every position).
            logits_at: optional position (relative to ``target_ids``): only that position's logits.
            attention_mask: optional boolean ``(batch, cache_length)`` over the cache's slots, as in
                :meth:`~llmbook.models.decoder.TransformerDecoder.call_with_cache`.

        Returns:
            ``(logits, new_cache)``: ``(batch, length, target_vocab_size)`` (``(batch, 1, ...)`` with
            ``logits_at``) and the updated cache.

        Raises:
            ValueError: when the tokens do not fit in the cache (checked for a Python-int ``cache_index``),
                for a ``cache`` with the wrong number of blocks, or a ``context`` whose batch or width does not
                match.
        """
        target_ids = self._check_ids(target_ids, "target_ids", self.target_vocab_size)
        if len(cache) != len(self.decoder_blocks):
            raise ValueError(f"cache has {len(cache)} entries but the decoder has {len(self.decoder_blocks)} "
                             "blocks; make it with this model's init_cache")
        capacity, length = cache[0][0].shape[2], target_ids.shape[1]
        if isinstance(cache_index, (int, np.integer)) and None not in (capacity, length) \
                and cache_index + length > capacity:
            raise ValueError(f"{length} tokens at cache_index={cache_index} do not fit in a cache of {capacity} "
                             f"positions; make the cache with init_cache(batch, max_length >= {cache_index + length})")
        context = ops.convert_to_tensor(context)
        if len(context.shape) != 3 or context.shape[-1] != self.hidden_dim or (
                None not in (context.shape[0], target_ids.shape[0]) and context.shape[0] != target_ids.shape[0]):
            raise ValueError(f"context must be (batch={target_ids.shape[0]}, source_length, {self.hidden_dim}) "
                             f"from model.encode, got {tuple(context.shape)}")
        x = self._embed(target_ids, self.target_embedding, self.decoder_positions, self.decoder_embedding_norm,
                        cache_index)
        new_cache = []
        for block, layer_cache in zip(self.decoder_blocks, cache):
            x, layer_cache = block(x, attention_mask=attention_mask, context=context, context_mask=context_mask,
                                   cache=layer_cache, cache_index=cache_index)
            new_cache.append(layer_cache)
        return self._head(x, logits_at), new_cache

    def compute_output_shape(self, input_shape, *args, **kwargs):
        target_shape = tuple(input_shape[1])
        return target_shape + ((self.target_vocab_size,) if self.lm_head_enabled else (self.hidden_dim,))

    def get_config(self):
        config = super().get_config()
        config.update(vocab_size=self.source_vocab_size, target_vocab_size=self.target_vocab_size,
                      shared_embeddings=self.shared_embeddings, hidden_dim=self.hidden_dim,
                      num_layers=self.num_layers, decoder_layers=self.decoder_layers, num_heads=self.num_heads,
                      intermediate_dim=self.intermediate_dim, max_length=self.max_length,
                      num_kv_heads=self.num_kv_heads, head_dim=self.head_dim, positions=self.positions,
                      norm=self.norm, mlp=self.mlp, use_bias=self.use_bias, lm_head_bias=self.lm_head_bias,
                      norm_first=self.norm_first, embedding_norm=self.embedding_norm_enabled,
                      lm_head=self.lm_head_enabled, tie_embeddings=self.tie_embeddings, rope_theta=self.rope_theta,
                      norm_epsilon=self.norm_epsilon, dropout=self.dropout, initializer_range=self.initializer_range,
                      pad_id=self.pad_id)
        return config


def greedy_translate(model, source_ids, max_length: int, bos_id: int, eos_id: int, pad_id: int | None = None):
    """Greedy decoding of a batch of sources with the decoder KV cache.

    Duck-typed: ``model`` needs ``encode``, ``init_cache`` and ``call_with_cache`` as
    :class:`Seq2SeqTransformer` has them. The source is encoded once; then each step feeds every row's
    last token at the same cache slot and takes the arg-max. A row that has produced ``eos_id`` is
    finished: its later tokens are ``pad_id``.

    Args:
        model: the encoder-decoder.
        source_ids: integer ``(batch, source_length)`` (right-padded with the model's ``pad_id``).
        max_length: the most tokens generated per row (``eos_id`` included); the cache holds
            ``max_length`` target positions (``bos_id`` and all but the last generated token).
        bos_id: the token that starts every target.
        eos_id: the token that ends a translation.
        pad_id: what fills a row after its ``eos_id`` (default: ``model.pad_id``, else ``eos_id``).

    Returns:
        An int32 NumPy array ``(batch, n)``, ``n <= max_length``, without ``bos_id``: the tokens of each row
        up to and including its ``eos_id``, then ``pad_id``. Decoding stops early once every row has ended.

    Raises:
        ValueError: for a non-positive ``max_length``, or source ids the model refuses.
    """
    max_length = positive_int("max_length", max_length)
    if pad_id is None:
        pad_id = getattr(model, "pad_id", None)
        pad_id = eos_id if pad_id is None else pad_id
    context, context_mask = model.encode(source_ids)
    batch = int(context.shape[0])
    cache = model.init_cache(batch, max_length)
    token = np.full((batch, 1), bos_id, dtype="int32")
    finished = np.zeros(batch, dtype=bool)
    output = np.full((batch, max_length), pad_id, dtype="int32")
    for step in range(max_length):
        logits, cache = model.call_with_cache(token, cache, step, context, context_mask)
        choice = np.asarray(ops.convert_to_numpy(ops.argmax(logits[:, -1, :], axis=-1))).astype("int32")
        output[:, step] = np.where(finished, pad_id, choice)
        finished |= choice == eos_id
        if finished.all():
            return output[:, :step + 1]
        token = choice[:, None]
    return output
