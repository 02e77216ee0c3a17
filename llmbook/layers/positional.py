"""Position information for attention, which by itself is blind to order.

- :class:`SinusoidalPositionEmbedding`: fixed sines and cosines of geometric frequencies (Vaswani et al., 2017).
- :class:`PositionEmbedding`: one learned vector per position (GPT-2, BERT).
- :func:`apply_rotary_embedding` / :class:`RotaryEmbedding`: RoPE (Su et al., 2021) rotates each pair of
  query/key features by an angle proportional to the position, so ``q_m . k_n`` depends on ``m - n`` only.

RoPE here uses the "rotate-half" pairing of GPT-NeoX and Hugging Face Llama: feature ``i`` is paired with
feature ``i + d/2``. (Meta's original code and llama.cpp pair neighbours ``2i, 2i+1``; the two are the same
rotation after a fixed permutation of the query/key projection rows, which :mod:`llmbook.weights.gguf` undoes.)
"""

from __future__ import annotations

import keras
from keras import ops

from llmbook.layers._base import SingleInputBuild
from llmbook.validation import positive_int


def rotary_angles(positions, head_dim: int, theta: float = 10000.0):
    """``(cos, sin)`` of RoPE's angles ``position * theta^(-2i/head_dim)``, each ``positions.shape + (head_dim,)``.

    Raises:
        ValueError: if ``head_dim`` is odd (features are rotated in pairs).
    """
    if head_dim % 2:
        raise ValueError(f"RoPE rotates feature pairs, so head_dim must be even, got {head_dim}")
    exponents = ops.arange(0, head_dim // 2, dtype="float32") * (2.0 / head_dim)
    inverse_frequencies = ops.power(ops.cast(theta, "float32"), -exponents)
    angles = ops.cast(positions, "float32")[..., None] * inverse_frequencies
    angles = ops.concatenate([angles, angles], axis=-1)
    return ops.cos(angles), ops.sin(angles)


def apply_rotary_embedding(x, positions, theta: float = 10000.0):
    """Rotate the features of ``x`` by RoPE.

    Args:
        x: ``(batch, length, heads, head_dim)`` queries or keys.
        positions: integer ``(length,)`` or ``(batch, length)`` absolute positions.
        theta: the base of the geometric frequencies (10,000 in RoFormer/Llama 2; SmolLM2 uses 100,000).

    Returns:
        A tensor shaped like ``x``; each vector keeps its norm.

    Raises:
        ValueError: if the head size is odd.
    """
    x = ops.convert_to_tensor(x)  # a NumPy array times a PyTorch tensor would fail
    head_dim = x.shape[-1]
    cos, sin = rotary_angles(positions, head_dim, theta)
    cos, sin = ops.cast(cos[..., None, :], x.dtype), ops.cast(sin[..., None, :], x.dtype)  # add a heads axis
    first, second = x[..., : head_dim // 2], x[..., head_dim // 2:]
    rotated_half = ops.concatenate([-second, first], axis=-1)
    return x * cos + rotated_half * sin


@keras.saving.register_keras_serializable(package="llmbook")
class RotaryEmbedding(keras.layers.Layer):
    """RoPE as a (weightless) layer: ``layer(x, positions)`` = :func:`apply_rotary_embedding`.

    Args:
        theta: base of the frequencies.

    Call args:
        x: ``(batch, length, heads, head_dim)``.
        start_index: position of the first element when ``positions`` is not given.
        positions: optional integer ``(length,)`` or ``(batch, length)``.

    Returns:
        A tensor shaped like ``x``.
    """

    def __init__(self, theta: float = 10000.0, **kwargs):
        super().__init__(**kwargs)
        if not theta > 1.0:
            raise ValueError(f"theta must be > 1, got {theta}")
        self.theta = float(theta)

    def call(self, x, start_index=0, positions=None):
        if positions is None:
            positions = ops.arange(ops.shape(x)[1], dtype="int32") + ops.cast(start_index, "int32")
        return apply_rotary_embedding(x, positions, self.theta)

    def get_config(self):
        return {**super().get_config(), "theta": self.theta}


@keras.saving.register_keras_serializable(package="llmbook")
class SinusoidalPositionEmbedding(keras.layers.Layer):
    """Fixed encodings ``PE[p, 2i] = sin(p / base^(2i/d))``, ``PE[p, 2i+1] = cos(p / base^(2i/d))``.

    Args:
        base: the wavelength base (10,000 in the Transformer paper).

    Call args:
        inputs: ``(batch, length, dim)`` embeddings (only the shape is used).
        start_index: position of the first element (for decoding with a cache).

    Returns:
        ``(batch, length, dim)`` encodings, to be added to ``inputs``.

    Raises:
        ValueError: if ``dim`` is odd.

    >>> import numpy as np
    >>> tuple(SinusoidalPositionEmbedding()(np.zeros((1, 4, 6), "float32")).shape)
    (1, 4, 6)
    """

    def __init__(self, base: float = 10000.0, **kwargs):
        super().__init__(**kwargs)
        self.base = float(base)

    def call(self, inputs, start_index=0):
        dim = inputs.shape[-1]
        if dim % 2:
            raise ValueError(f"sinusoidal encodings interleave sin and cos, so dim must be even, got {dim}")
        shape = ops.shape(inputs)
        positions = ops.cast(ops.arange(shape[1]) + start_index, "float32")
        frequencies = ops.power(ops.cast(self.base, "float32"),
                                -ops.arange(0, dim // 2, dtype="float32") * (2.0 / dim))
        angles = positions[:, None] * frequencies[None, :]                      # (length, dim/2)
        encodings = ops.reshape(ops.stack([ops.sin(angles), ops.cos(angles)], axis=-1), (shape[1], dim))
        return ops.broadcast_to(ops.cast(encodings, self.compute_dtype)[None], shape)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "base": self.base}


@keras.saving.register_keras_serializable(package="llmbook")
class PositionEmbedding(SingleInputBuild, keras.layers.Layer):
    """Learned absolute positions: a ``(max_length, dim)`` table, row ``p`` for position ``p``.

    Args:
        max_length: the number of positions the table holds.
        initializer: initializer of the table (GPT-2 uses a normal with stddev 0.02 -> ``"truncated_normal"``-like).

    Call args:
        inputs: ``(batch, length, dim)`` embeddings (only the shape is used).
        start_index: position of the first element.

    Returns:
        ``(batch, length, dim)`` position embeddings.

    Raises:
        ValueError: at call time (eagerly) if ``start_index + length > max_length``.
    """

    def __init__(self, max_length: int, initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        self.max_length = positive_int("max_length", max_length)
        self.initializer = keras.initializers.get(initializer)

    def build(self, input_shape):
        self.embeddings = self.add_weight(shape=(self.max_length, input_shape[-1]),
                                          initializer=self.initializer, name="embeddings")
        self.built = True

    def call(self, inputs, start_index=0):
        shape = ops.shape(inputs)
        if isinstance(shape[1], int) and isinstance(start_index, int) and start_index + shape[1] > self.max_length:
            raise ValueError(f"positions {start_index}..{start_index + shape[1] - 1} exceed max_length="
                             f"{self.max_length}; use a shorter sequence or a larger max_length")
        # Rows are gathered, not sliced: XLA compiles a slice's start into the program, so a slice at a
        # tensor start (decoding with a cache) would mean one compilation per position.
        positions = ops.arange(shape[1], dtype="int32") + ops.cast(start_index, "int32")
        table = ops.take(self.embeddings, positions, axis=0)
        return ops.broadcast_to(ops.cast(table, self.compute_dtype)[None], shape)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "max_length": self.max_length,
                "initializer": keras.initializers.serialize(self.initializer)}
