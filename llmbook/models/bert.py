"""BERT (Devlin et al., 2019): an encoder-only Transformer, its pre-training heads, pooling and fine-tuning.

BERT is a stack of *post-LN* Transformer encoder blocks (``norm(x + sublayer(x))``) with bidirectional
self-attention: every token sees every other non-padding token. There is no decoder and no causal mask.
The input embedding is the sum of a token, a learned absolute position and a segment (sentence A/B)
embedding, followed by LayerNorm and dropout.

- :class:`BertEncoder`: token ids -> one contextual vector per token (plus a ``pooler``, tanh(W h_CLS + b)).
- :class:`MaskedLMHead`: dense + GELU + LayerNorm, then logits against the *tied* token-embedding table.
- :class:`BertPretrainer`: encoder + MLM head + next-sentence-prediction head (on the pooler output).
- :class:`BertPooling` / :func:`pool`: CLS or mean pooling of the token vectors.
- :class:`BertClassifier`: encoder + pooling + dropout + a dense classification layer, for fine-tuning.

Inputs are dicts of ``token_ids`` (int ``(batch, length)``), optionally ``segment_ids`` (default all 0)
and ``padding_mask`` (bool, True on real tokens; default ``token_ids != pad_id``), as produced by
:class:`llmbook.text.WordPieceTokenizer`.

>>> import numpy as np
>>> encoder = BertEncoder(vocab_size=100, hidden_dim=16, num_layers=2, num_heads=2, intermediate_dim=32,
...                       max_length=32)
>>> tuple(encoder({"token_ids": np.array([[2, 7, 8, 3, 0]])}).shape)
(1, 5, 16)
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from llmbook.layers import LayerNorm, PositionEmbedding, TransformerBlock
from llmbook.backend import compile_function
from llmbook.validation import positive_int

POOLINGS = ("cls", "mean", "pooler")


def _initializer(stddev: float):
    return keras.initializers.TruncatedNormal(stddev=stddev)


@keras.saving.register_keras_serializable(package="llmbook")
class BertEmbeddings(keras.layers.Layer):
    """Token + position + segment embeddings, then LayerNorm and dropout.

    Sub-layers (for weight loading): ``token_embedding``, ``position_embedding``, ``segment_embedding``
    (tables ``(rows, hidden_dim)``) and ``norm``.

    Args:
        vocab_size: number of token ids.
        hidden_dim: embedding width.
        max_length: number of positions.
        num_segments: number of segment ids (BERT: 2).
        epsilon: LayerNorm epsilon (BERT: 1e-12).
        dropout: dropout rate after the norm, while training.
        initializer_range: standard deviation of the (truncated normal) initial tables.

    Call args:
        token_ids: int ``(batch, length)``.
        segment_ids: int ``(batch, length)``.

    Returns:
        ``(batch, length, hidden_dim)``.
    """

    def __init__(self, vocab_size: int, hidden_dim: int, max_length: int = 512, num_segments: int = 2,
                 epsilon: float = 1e-12, dropout: float = 0.1, initializer_range: float = 0.02, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size, self.hidden_dim, self.max_length = int(vocab_size), int(hidden_dim), int(max_length)
        self.num_segments, self.epsilon, self.dropout = int(num_segments), float(epsilon), float(dropout)
        self.initializer_range = float(initializer_range)
        init = _initializer(self.initializer_range)
        self.token_embedding = keras.layers.Embedding(self.vocab_size, self.hidden_dim, embeddings_initializer=init,
                                                      name="token_embedding")
        self.position_embedding = PositionEmbedding(self.max_length, initializer=init, name="position_embedding")
        self.segment_embedding = keras.layers.Embedding(self.num_segments, self.hidden_dim,
                                                        embeddings_initializer=init, name="segment_embedding")
        self.norm = LayerNorm(epsilon=self.epsilon, name="norm")
        self.dropout_layer = keras.layers.Dropout(self.dropout)

    def build(self, input_shape=None):
        self.token_embedding.build((None, None))
        self.segment_embedding.build((None, None))
        self.position_embedding.build((None, None, self.hidden_dim))
        self.norm.build((None, None, self.hidden_dim))
        self.built = True

    def call(self, token_ids, segment_ids, training=None):
        tokens = self.token_embedding(token_ids)
        x = tokens + self.position_embedding(tokens) + self.segment_embedding(segment_ids)
        return self.dropout_layer(self.norm(x), training=training)

    def get_config(self):
        return {**super().get_config(), "vocab_size": self.vocab_size, "hidden_dim": self.hidden_dim,
                "max_length": self.max_length, "num_segments": self.num_segments, "epsilon": self.epsilon,
                "dropout": self.dropout, "initializer_range": self.initializer_range}


def _unpack(inputs, pad_id: int):
    """(token_ids, segment_ids, padding_mask) from a dict (or a bare token-id tensor)."""
    if isinstance(inputs, dict):
        if "token_ids" not in inputs:
            raise ValueError(f"inputs must contain 'token_ids' (and optionally 'segment_ids', 'padding_mask'); "
                             f"got keys {sorted(inputs)}")
        token_ids = inputs["token_ids"]
        segment_ids = inputs.get("segment_ids")
        mask = inputs.get("padding_mask")
    else:
        token_ids, segment_ids, mask = inputs, None, None
    token_ids = ops.convert_to_tensor(token_ids)
    if len(token_ids.shape) != 2:
        raise ValueError(f"token_ids must be (batch, length), got shape {tuple(token_ids.shape)}")
    segment_ids = ops.zeros_like(token_ids) if segment_ids is None else segment_ids
    mask = ops.not_equal(token_ids, pad_id) if mask is None else ops.cast(mask, "bool")
    return token_ids, segment_ids, mask


@keras.saving.register_keras_serializable(package="llmbook")
class BertEncoder(keras.Model):
    """The BERT encoder: embeddings, then ``num_layers`` post-LN bidirectional Transformer blocks.

    Sub-layers (for weight loading): ``embeddings`` (:class:`BertEmbeddings`), ``blocks`` (a list of
    :class:`llmbook.layers.TransformerBlock` with ``norm_first=False``, exact GELU) and ``pooler``
    (``Dense(hidden_dim, tanh)`` applied to the [CLS] vector).

    Args:
        vocab_size: number of token ids (MiniLM / BERT-base uncased: 30,522).
        hidden_dim: width of every token vector.
        num_layers: number of blocks.
        num_heads: attention heads per block.
        intermediate_dim: MLP width (usually ``4 * hidden_dim``).
        max_length: number of learned positions.
        num_segments: number of segment (token type) ids.
        dropout: dropout on embeddings, attention weights and residual branches while training.
        epsilon: LayerNorm epsilon.
        pad_id: id whose positions are masked when no ``padding_mask`` is given.
        initializer_range: standard deviation of the initial embedding tables.

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
                 **kwargs):
        super().__init__(**kwargs)
        intermediate_dim = 4 * int(hidden_dim) if intermediate_dim is None else int(intermediate_dim)
        for name, value in (("vocab_size", vocab_size), ("hidden_dim", hidden_dim), ("num_layers", num_layers),
                            ("num_heads", num_heads), ("intermediate_dim", intermediate_dim),
                            ("max_length", max_length)):
            positive_int(name, value)
        if int(hidden_dim) % int(num_heads):
            raise ValueError(f"hidden_dim={hidden_dim} is not divisible by num_heads={num_heads}")
        self.vocab_size, self.hidden_dim, self.num_layers = int(vocab_size), int(hidden_dim), int(num_layers)
        self.num_heads, self.intermediate_dim, self.max_length = int(num_heads), intermediate_dim, int(max_length)
        self.num_segments, self.dropout, self.epsilon = int(num_segments), float(dropout), float(epsilon)
        self.pad_id, self.initializer_range = int(pad_id), float(initializer_range)
        self.embeddings = BertEmbeddings(self.vocab_size, self.hidden_dim, self.max_length, self.num_segments,
                                         self.epsilon, self.dropout, self.initializer_range, name="embeddings")
        self.blocks = [
            TransformerBlock(self.num_heads, self.intermediate_dim, norm_first=False, norm="layer", mlp="gelu",
                             causal=False, use_bias=True, norm_epsilon=self.epsilon, dropout=self.dropout,
                             name=f"block_{i}")
            for i in range(self.num_layers)
        ]
        self.pooler = keras.layers.Dense(self.hidden_dim, activation="tanh", name="pooler")
        # Build every weight now, so a checkpoint can be loaded before the first call.
        self.embeddings.build()
        for block in self.blocks:
            block.build((None, None, self.hidden_dim))
        self.pooler.build((None, self.hidden_dim))
        self.built = True

    def call(self, inputs, training=None):
        token_ids, segment_ids, mask = _unpack(inputs, self.pad_id)
        x = self.embeddings(token_ids, segment_ids, training=training)
        for block in self.blocks:
            x = block(x, attention_mask=mask, training=training)
        return x

    def pooled_output(self, sequence):
        """The pooler: ``tanh(W h_[CLS] + b)``, ``(batch, hidden_dim)``; the input of BERT's NSP head."""
        return self.pooler(sequence[:, 0])

    def attention_maps(self, inputs):
        """The attention weights of every block, as a list of ``(batch, heads, length, length)`` arrays.

        Runs the blocks one at a time (inference mode) and asks each block's attention for its weights.
        """
        token_ids, segment_ids, mask = _unpack(inputs, self.pad_id)
        x = self.embeddings(token_ids, segment_ids, training=False)
        maps = []
        for block in self.blocks:
            _, weights = block.attention(x, attention_mask=mask, return_weights=True, training=False)
            maps.append(ops.convert_to_numpy(weights))
            x = block(x, attention_mask=mask, training=False)
        return maps

    def get_config(self):
        return {**super().get_config(), "vocab_size": self.vocab_size, "hidden_dim": self.hidden_dim,
                "num_layers": self.num_layers, "num_heads": self.num_heads,
                "intermediate_dim": self.intermediate_dim, "max_length": self.max_length,
                "num_segments": self.num_segments, "dropout": self.dropout, "epsilon": self.epsilon,
                "pad_id": self.pad_id, "initializer_range": self.initializer_range}


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


@keras.saving.register_keras_serializable(package="llmbook")
class MaskedLMHead(keras.layers.Layer):
    """BERT's MLM head: ``LayerNorm(gelu(W h + b)) @ E^T + bias``, with ``E`` the token-embedding table.

    The output projection is *tied*: it is the embedding table passed at call time, not a weight of
    this layer; only the per-token output bias is new.

    Args:
        vocab_size: number of token ids (the rows of ``E``).
        epsilon: LayerNorm epsilon.

    Call args:
        inputs: ``(..., hidden_dim)`` token vectors (all positions, or only the gathered masked ones).
        embeddings: the ``(vocab_size, hidden_dim)`` token-embedding table.

    Returns:
        ``(..., vocab_size)`` logits.
    """

    def __init__(self, vocab_size: int, epsilon: float = 1e-12, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size, self.epsilon = int(vocab_size), float(epsilon)
        self.norm = LayerNorm(epsilon=self.epsilon, name="norm")

    def build(self, input_shape):
        dim = input_shape[-1]
        self.transform = keras.layers.Dense(dim, name="transform")
        self.transform.build((None, dim))
        self.norm.build((None, dim))
        self.bias = self.add_weight(shape=(self.vocab_size,), initializer="zeros", name="bias")
        self.built = True

    def call(self, inputs, embeddings):
        hidden = self.norm(ops.gelu(self.transform(inputs), approximate=False))
        return ops.matmul(hidden, ops.transpose(embeddings)) + self.bias

    def get_config(self):
        return {**super().get_config(), "vocab_size": self.vocab_size, "epsilon": self.epsilon}


def _encoder_from(encoder):
    if isinstance(encoder, dict):
        encoder = keras.saving.deserialize_keras_object(encoder)
    if not isinstance(encoder, BertEncoder):
        raise TypeError(f"encoder must be a BertEncoder, got {type(encoder).__name__}")
    return encoder


def _check_mask_positions(inputs) -> None:
    """Refuse out-of-range mask positions when they are concrete (eager calls); inside a compiled
    training step they are symbolic and were made by ``gather_predictions`` within range."""
    try:
        positions = np.asarray(ops.convert_to_numpy(inputs["mask_positions"]))
        token_ids = inputs.get("token_ids")
        length = np.asarray(ops.shape(token_ids))[1] if token_ids is not None else None
        length = int(length)
    except Exception:  # symbolic tensors (inside tf.function / jit): nothing concrete to check
        return
    if positions.size and (positions.min() < 0 or positions.max() >= length):
        raise ValueError(f"mask_positions must lie in 0..{length - 1} (the sequence length is {length}); got "
                         f"values from {positions.min()} to {positions.max()}")


@keras.saving.register_keras_serializable(package="llmbook")
class BertPretrainer(keras.Model):
    """A :class:`BertEncoder` with the two pre-training heads of BERT.

    Args:
        encoder: the :class:`BertEncoder` to pre-train.

    Call args:
        inputs: the encoder's input dict, plus ``mask_positions`` (int ``(batch, predictions)``): the
            positions whose tokens the MLM head predicts (gathering them is much cheaper than
            predicting every position).

    Returns:
        ``{"mlm": (batch, predictions, vocab_size) logits, "nsp": (batch, 2) logits}``; NSP class 1
        means "the second segment really follows the first".

    Raises:
        ValueError: if ``mask_positions`` is missing, or (when called eagerly, on concrete values) holds a
            position outside ``0 .. length - 1``: the flattened gather would silently read a token of
            the next sequence in the batch.
    """

    def __init__(self, encoder, **kwargs):
        super().__init__(**kwargs)
        self.encoder = _encoder_from(encoder)
        self.mlm_head = MaskedLMHead(self.encoder.vocab_size, self.encoder.epsilon, name="mlm_head")
        self.nsp_head = keras.layers.Dense(2, name="nsp_head")
        self.mlm_head.build((None, self.encoder.hidden_dim))
        self.nsp_head.build((None, self.encoder.hidden_dim))

    def call(self, inputs, training=None):
        if not isinstance(inputs, dict) or "mask_positions" not in inputs:
            raise ValueError("BertPretrainer needs inputs['mask_positions'] (batch, predictions): the positions "
                             "the MLM head predicts; see llmbook.training.pretraining.gather_predictions")
        _check_mask_positions(inputs)
        sequence = self.encoder(inputs, training=training)
        positions = ops.cast(inputs["mask_positions"], "int32")
        # Gather rows of the flattened (batch * length, hidden) matrix; ops.take_along_axis would do the same
        # but makes TensorFlow's oneDNN log an int64 message on CPUs without AVX-512.
        batch, length = ops.shape(sequence)[0], ops.shape(sequence)[1]
        flat_index = positions + ops.arange(batch, dtype="int32")[:, None] * length
        gathered = ops.take(ops.reshape(sequence, (-1, self.encoder.hidden_dim)), ops.reshape(flat_index, (-1,)), axis=0)
        gathered = ops.reshape(gathered, (batch, -1, self.encoder.hidden_dim))
        table = self.encoder.embeddings.token_embedding.embeddings
        return {"mlm": self.mlm_head(gathered, table),
                "nsp": self.nsp_head(self.encoder.pooled_output(sequence))}

    def get_config(self):
        return {**super().get_config(), "encoder": keras.saving.serialize_keras_object(self.encoder)}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["encoder"] = keras.saving.deserialize_keras_object(config["encoder"])
        return cls(**config)


@keras.saving.register_keras_serializable(package="llmbook")
class BertClassifier(keras.Model):
    """Sequence classification on top of a :class:`BertEncoder`: pool, dropout, dense logits.

    Fine-tuning trains everything; ``encoder.trainable = False`` gives a probe of the frozen features.

    Args:
        encoder: a :class:`BertEncoder` (pretrained or fresh).
        num_classes: number of classes (>= 2).
        pooling: ``"mean"``, ``"cls"`` (the raw [CLS] vector) or ``"pooler"`` (BERT's tanh pooler on [CLS]).
        dropout: dropout before the dense layer, while training.

    Call args:
        inputs: the encoder's input dict.

    Returns:
        ``(batch, num_classes)`` logits.

    Raises:
        ValueError: for fewer than 2 classes or an unknown pooling.
    """

    def __init__(self, encoder, num_classes: int = 2, pooling: str = "mean", dropout: float = 0.1, **kwargs):
        super().__init__(**kwargs)
        if int(num_classes) < 2:
            raise ValueError(f"num_classes must be >= 2, got {num_classes}")
        if pooling not in POOLINGS:
            raise ValueError(f"unknown pooling {pooling!r}; choose one of {', '.join(POOLINGS)}")
        self.encoder = _encoder_from(encoder)
        self.num_classes, self.pooling, self.dropout = int(num_classes), pooling, float(dropout)
        self.dropout_layer = keras.layers.Dropout(self.dropout)
        self.classifier = keras.layers.Dense(self.num_classes, kernel_initializer=_initializer(0.02),
                                             name="classifier")
        self.classifier.build((None, self.encoder.hidden_dim))
        # The tanh pooler gets no gradient unless it is used: freeze it then (no "missing gradient" warnings).
        self.encoder.pooler.trainable = pooling == "pooler"

    def call(self, inputs, training=None):
        _, _, mask = _unpack(inputs, self.encoder.pad_id)
        sequence = self.encoder(inputs, training=training)
        if self.pooling == "pooler":
            pooled = self.encoder.pooled_output(sequence)
        else:
            pooled = pool(sequence, mask, self.pooling)
        return self.classifier(self.dropout_layer(pooled, training=training))

    def get_config(self):
        return {**super().get_config(), "encoder": keras.saving.serialize_keras_object(self.encoder),
                "num_classes": self.num_classes, "pooling": self.pooling, "dropout": self.dropout}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["encoder"] = keras.saving.deserialize_keras_object(config["encoder"])
        return cls(**config)


class SentenceEncoder:
    """Texts -> sentence embeddings with a tokenizer and a :class:`BertEncoder` (mean pooling, like
    sentence-transformers' all-MiniLM-L6-v2).

    Texts are sorted by length and batched, so each batch is padded only to its own longest text; the
    forward pass is compiled once per padded shape (lengths are rounded up to a multiple of
    ``length_multiple`` to bound the number of shapes).

    Args:
        tokenizer: a :class:`llmbook.text.WordPieceTokenizer`.
        encoder: a :class:`BertEncoder`.
        max_length: texts are truncated to this many tokens (all-MiniLM-L6-v2: 256).
        pooling: ``"mean"`` or ``"cls"``.
        normalize: scale every embedding to unit length.
        length_multiple: pad lengths up to a multiple of this (1 = exact; padding never changes the result).
    """

    def __init__(self, tokenizer, encoder: BertEncoder, *, max_length: int = 256, pooling: str = "mean",
                 normalize: bool = True, length_multiple: int = 8):
        if pooling not in ("cls", "mean"):
            raise ValueError(f"unknown pooling {pooling!r}; choose 'cls' or 'mean'")
        if max_length > encoder.max_length:
            raise ValueError(f"max_length={max_length} exceeds the encoder's {encoder.max_length} positions")
        self.tokenizer, self.encoder = tokenizer, encoder
        self.max_length, self.pooling, self.normalize = int(max_length), pooling, bool(normalize)
        self.length_multiple = max(1, int(length_multiple))
        self._forward = None

    def _compiled_forward(self):
        if self._forward is None:
            encoder, mode = self.encoder, self.pooling

            def forward(token_ids, segment_ids, padding_mask):
                sequence = encoder({"token_ids": token_ids, "segment_ids": segment_ids,
                                    "padding_mask": padding_mask}, training=False)
                return pool(sequence, padding_mask, mode)

            # A plain graph (no XLA): sentence batches vary in length, and XLA would compile each one.
            self._forward = compile_function(forward, xla=False, reduce_retracing=True)
        return self._forward

    def encode(self, texts, batch_size: int = 32) -> np.ndarray:
        """``texts`` (a string or a list) -> float32 ``(n, hidden_dim)`` embeddings, in the input order.

        Raises:
            ValueError: for an empty list or a batch_size below 1.
        """
        if isinstance(texts, str):
            texts = [texts]
        texts = list(texts)
        if not texts:
            raise ValueError("texts is empty; pass at least one string")
        batch_size = positive_int("batch_size", batch_size)
        ids = [self.tokenizer.encode(t)[0] for t in texts]
        ids = [row if len(row) <= self.max_length else row[:self.max_length - 1] + [row[-1]] for row in ids]
        order = np.argsort([-len(row) for row in ids], kind="stable")
        forward = self._compiled_forward()
        output = np.zeros((len(texts), self.encoder.hidden_dim), dtype=np.float32)
        for start in range(0, len(texts), batch_size):
            chosen = order[start:start + batch_size]
            longest = max(len(ids[i]) for i in chosen)
            length = min(-(-longest // self.length_multiple) * self.length_multiple, self.encoder.max_length)
            token_ids = np.full((len(chosen), length), self.tokenizer.pad_id, dtype=np.int32)
            padding_mask = np.zeros((len(chosen), length), dtype=bool)
            for r, i in enumerate(chosen):
                token_ids[r, :len(ids[i])] = ids[i]
                padding_mask[r, :len(ids[i])] = True
            pooled = ops.convert_to_numpy(forward(token_ids, np.zeros_like(token_ids), padding_mask))
            output[chosen] = pooled
        if self.normalize:
            output /= np.maximum(np.linalg.norm(output, axis=1, keepdims=True), 1e-12)
        return output
