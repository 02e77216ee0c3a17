"""BERT's task models on top of :class:`~llmbook.models.bert.BertEncoder`: the masked-LM head, the
pre-trainer (MLM + next-sentence prediction) and the sequence classifier.

>>> import numpy as np
>>> from llmbook.models.bert import BertEncoder
>>> encoder = BertEncoder(vocab_size=50, hidden_dim=16, num_layers=1, num_heads=2, max_length=16)
>>> classifier = BertClassifier(encoder, num_classes=3)
>>> tuple(classifier({"token_ids": np.array([[2, 7, 8, 3]])}).shape)
(1, 3)
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from llmbook.layers import LayerNorm
from llmbook.models.bert.encoder import BertEncoder
from llmbook.models.bert.pooling import POOLINGS, pool


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
        self.classifier = keras.layers.Dense(self.num_classes, name="classifier",
                                             kernel_initializer=keras.initializers.TruncatedNormal(stddev=0.02))
        self.classifier.build((None, self.encoder.hidden_dim))
        # The tanh pooler gets no gradient unless it is used: freeze it then (no "missing gradient" warnings).
        self.encoder.pooler.trainable = pooling == "pooler"

    def call(self, inputs, training=None):
        _, _, mask = self.encoder.unpack_inputs(inputs)
        sequence = self.encoder(inputs, training=training)
        if self.pooling == "pooler":
            pooled = self.encoder.pooled_output(sequence)
        else:
            pooled = pool(sequence, mask, self.pooling)
        return self.classifier(self.dropout_layer(pooled, training=training))

    def get_config(self):
        return {**super().get_config(), "encoder": keras.saving.serialize_keras_object(self.encoder),
                "num_classes": self.num_classes, "pooling": self.pooling, "dropout": self.dropout}

