"""Weight-only quantization: int8 (or bfloat16) weights, float32 arithmetic.

Decoding one token at batch 1 reads every weight once and does two floating-point operations with each,
so its speed is set by how many bytes the weights take, not by arithmetic. Storing a weight matrix as
int8, one float32 scale per output row, reads a quarter of the bytes of float32; the product converts
the int8 values to float32 inside the compiled kernel, so no float32 copy of the matrix is ever written.

The layout matters. The matrices are stored ``(out, in)``, each output a dot product with one contiguous
row; XLA then fuses the int8-to-float32 conversion into the product. Stored ``(in, out)`` (Keras' Dense
layout) it was measured to write a float32 copy of the matrix first, and to be slower than float32.

- :func:`quantize_int8` / :func:`dequantize_int8`: symmetric absmax quantization per row.
- :class:`QuantizedDense`: a bias-optional ``Dense`` with int8 or bfloat16 weights.
- :class:`QuantizedEmbedding`: an embedding table with int8 or bfloat16 rows, which also serves as a tied
  output head (:meth:`QuantizedEmbedding.attend`).
- :class:`TiedHead`: the output head of a model whose head is tied to a :class:`QuantizedEmbedding`.

:func:`llmbook.models.quantize.quantize_model` converts a whole decoder.

>>> import numpy as np
>>> values, scale = quantize_int8(np.array([[0.5, -1.0], [2.0, 0.0]], "float32"))
>>> values.tolist(), scale.tolist()
([[64, -127], [127, 0]], [0.007874015718698502, 0.015748031437397003])
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

#: The storage formats the quantized layers accept, with their bytes per weight.
WEIGHT_FORMATS = {"int8": 1, "bfloat16": 2}


def check_format(mode) -> str:
    """``mode`` if it is a key of :data:`WEIGHT_FORMATS`, else a ValueError naming the formats."""
    if mode not in WEIGHT_FORMATS:
        raise ValueError(f"unknown weight format {mode!r}: use one of {sorted(WEIGHT_FORMATS)} "
                         "(float32 is the model as loaded: do not quantize it)")
    return mode


def quantize_int8(weights) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric int8 quantization of each row: ``values * scale[:, None]`` approximates ``weights``.

    Each row's scale is its largest absolute value over 127, so the values lie in -127..127 and the
    rounding error of any entry is at most ``scale / 2``. A row of zeros gets scale 0 (and values 0).

    Args:
        weights: a 2-D float array ``(rows, columns)``, e.g. a weight matrix stored ``(out, in)``.

    Returns:
        ``(values, scale)``: int8 ``(rows, columns)`` and float32 ``(rows,)``.

    Raises:
        ValueError: if ``weights`` is not 2-D, is empty, or holds NaN or infinity.
    """
    weights = np.asarray(weights, dtype=np.float32)
    if weights.ndim != 2 or weights.size == 0:
        raise ValueError(f"weights must be a non-empty 2-D array (rows, columns), got shape {weights.shape}; "
                         "quantize each matrix separately")
    if not np.isfinite(weights).all():
        raise ValueError("weights hold NaN or infinity: an int8 scale cannot represent them; check the checkpoint")
    scale = np.abs(weights).max(axis=1) / np.float32(127.0)
    safe = np.where(scale > 0, scale, np.float32(1.0))
    values = np.clip(np.rint(weights / safe[:, None]), -127, 127).astype(np.int8)
    return values, scale.astype(np.float32)


def dequantize_int8(values, scale) -> np.ndarray:
    """The float32 matrix ``values * scale[:, None]`` that :func:`quantize_int8` approximated.

    Raises:
        ValueError: if ``values`` is not a 2-D int8 array or ``scale`` does not have one entry per row.
    """
    values, scale = np.asarray(values), np.asarray(scale, dtype=np.float32)
    if values.dtype != np.int8 or values.ndim != 2:
        raise ValueError(f"values must be a 2-D int8 array, got {values.dtype} of shape {values.shape}")
    if scale.shape != (values.shape[0],):
        raise ValueError(f"scale must have one entry per row, shape ({values.shape[0]},), got {scale.shape}")
    return values.astype(np.float32) * scale[:, None]


class _StoredRows(keras.layers.Layer):
    """Shared storage: a matrix of rows ``(rows, columns)`` in int8 (with a per-row scale) or bfloat16."""

    def _store(self, rows: np.ndarray, mode: str):
        self.mode = check_format(mode)
        self.rows_shape = tuple(int(n) for n in rows.shape)
        if mode == "int8":
            values, scale = quantize_int8(rows)
            self.values = self.add_weight(name="values", shape=values.shape, dtype="int8", trainable=False,
                                          initializer="zeros")
            self.values.assign(values)
            self.scale = self.add_weight(name="scale", shape=scale.shape, dtype="float32", trainable=False,
                                         initializer="zeros")
            self.scale.assign(scale)
        else:
            self.values = self.add_weight(name="values", shape=rows.shape, dtype="bfloat16", trainable=False,
                                          initializer="zeros")
            self.values.assign(rows.astype(np.float32))
            self.scale = None

    def _product(self, x):
        """``x @ rows^T``: ``(..., columns)`` -> ``(..., rows)``, the conversion fused into the product."""
        # A zero that depends on x: without it XLA hoists the loop-invariant conversion out of a decoding
        # loop (ops.while_loop) and writes a float32 copy of every matrix before the loop, which then
        # reads float32 (measured: int8 no faster than float32). Adding it costs one add per weight.
        anchor = ops.cast(ops.reshape(x, (-1,))[0] * 0.0, self.values.dtype)
        rows = ops.cast(self.values + anchor, x.dtype)
        y = ops.matmul(x, ops.transpose(rows))
        return y if self.scale is None else y * ops.cast(self.scale, x.dtype)


class QuantizedDense(_StoredRows):
    """``x @ kernel + bias`` with the kernel stored ``(units, in)`` in int8 (per-row scale) or bfloat16.

    Build it from a float Dense with :meth:`from_dense`; the product is computed in the input's
    (float) dtype. It is an inference layer: its weights are not trainable.

    Args:
        kernel: float array ``(in, units)`` (Keras' Dense layout).
        bias: optional float array ``(units,)``.
        mode: ``"int8"`` or ``"bfloat16"``.

    Call args:
        inputs: ``(..., in)``.

    Returns:
        ``(..., units)``.

    Raises:
        ValueError: for an unknown mode or a kernel that is not 2-D (or bias of the wrong size).

    >>> layer = QuantizedDense(np.eye(3, dtype="float32"), mode="int8")
    >>> np.asarray(layer(np.array([[1.0, 2.0, 3.0]], "float32"))).tolist()
    [[1.0, 2.0, 3.0]]
    """

    def __init__(self, kernel, bias=None, mode: str = "int8", **kwargs):
        super().__init__(**kwargs)
        kernel = np.asarray(kernel, dtype=np.float32)
        if kernel.ndim != 2:
            raise ValueError(f"kernel must be 2-D (in, units), got shape {kernel.shape}")
        self.units = int(kernel.shape[1])
        self._store(np.ascontiguousarray(kernel.T), mode)
        self.bias = None
        if bias is not None:
            bias = np.asarray(bias, dtype=np.float32)
            if bias.shape != (self.units,):
                raise ValueError(f"bias must have shape ({self.units},), got {bias.shape}")
            self.bias = self.add_weight(name="bias", shape=bias.shape, trainable=False, initializer="zeros")
            self.bias.assign(bias)
        self.built = True

    @classmethod
    def from_dense(cls, dense: keras.layers.Dense, mode: str = "int8") -> "QuantizedDense":
        """A QuantizedDense with ``dense``'s kernel and bias (``dense`` must be built, without activation).

        Raises:
            ValueError: if ``dense`` is not built or has an activation.
        """
        if not dense.built:
            raise ValueError(f"Dense layer {dense.name!r} is not built: call the model once before quantizing")
        if dense.activation not in (None, keras.activations.linear):
            raise ValueError(f"Dense layer {dense.name!r} has an activation; only linear Dense layers are quantized")
        bias = None if dense.bias is None else ops.convert_to_numpy(dense.bias)
        return cls(ops.convert_to_numpy(dense.kernel), bias, mode=mode, name=dense.name)

    def call(self, inputs):
        y = self._product(inputs)
        return y if self.bias is None else y + ops.cast(self.bias, y.dtype)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        raise NotImplementedError("QuantizedDense is built from weights (QuantizedDense.from_dense); "
                                  "save the float model and quantize after loading")


class QuantizedEmbedding(_StoredRows):
    """An embedding table ``(vocab, dim)`` with int8 rows (per-row scale) or bfloat16 rows.

    Args:
        table: float array ``(vocab, dim)``.
        mode: ``"int8"`` or ``"bfloat16"``.

    Call args:
        token_ids: integer ``(...)``.

    Returns:
        float32 ``(..., dim)``: the rows, dequantized.

    Raises:
        ValueError: for an unknown mode or a table that is not 2-D.
    """

    def __init__(self, table, mode: str = "int8", **kwargs):
        super().__init__(**kwargs)
        table = np.asarray(table, dtype=np.float32)
        if table.ndim != 2:
            raise ValueError(f"table must be 2-D (vocab, dim), got shape {table.shape}")
        self.input_dim, self.output_dim = (int(n) for n in table.shape)
        self._store(table, mode)
        self.built = True

    def call(self, token_ids):
        token_ids = ops.cast(token_ids, "int32")
        rows = ops.cast(ops.take(self.values, token_ids, axis=0), "float32")
        return rows if self.scale is None else rows * ops.take(self.scale, token_ids, axis=0)[..., None]

    def attend(self, x):
        """The tied output head: ``x @ table^T``, ``(..., dim)`` -> ``(..., vocab)`` logits."""
        return self._product(x)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.output_dim,)

    def get_config(self):
        raise NotImplementedError("QuantizedEmbedding is built from weights; save the float model and "
                                  "quantize after loading")


class TiedHead(keras.layers.Layer):
    """An output head that reads a :class:`QuantizedEmbedding`'s table (no weights of its own)."""

    def __init__(self, embedding: QuantizedEmbedding, **kwargs):
        super().__init__(**kwargs)
        object.__setattr__(self, "_embedding", embedding)      # not tracked: the model owns the table
        self.built = True

    def call(self, x):
        return self._embedding.attend(x)
