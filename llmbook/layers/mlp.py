"""The position-wise feed-forward part of a Transformer block.

- :class:`GELUMLP`: ``down(gelu(up(x)))`` with a 4x wider hidden layer (GPT-2, BERT).
- :class:`SwiGLUMLP`: ``down(silu(gate(x)) * up(x))`` (Shazeer, 2020), the gated unit of Llama.
"""

from __future__ import annotations

import keras
from keras import ops

from llmbook.layers._base import SingleInputBuild
from llmbook.validation import positive_int, unit_rate


@keras.saving.register_keras_serializable(package="llmbook")
class GELUMLP(SingleInputBuild, keras.layers.Layer):
    """Two ``Dense`` layers, ``up`` then ``down``, with GELU between.

    Args:
        intermediate_dim: width of the hidden layer.
        use_bias: biases in both layers.
        approximate: GELU's tanh approximation (GPT-2) instead of the exact erf form (BERT).
        dropout: dropout rate on the output while training.

    Call args:
        inputs: ``(..., dim)``.

    Returns:
        A tensor shaped like ``inputs``.
    """

    def __init__(self, intermediate_dim: int, use_bias: bool = True, approximate: bool = False,
                 dropout: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.intermediate_dim, self.use_bias = positive_int("intermediate_dim", intermediate_dim), bool(use_bias)
        self.approximate, self.dropout = bool(approximate), unit_rate("dropout", dropout)
        self.dropout_layer = keras.layers.Dropout(self.dropout)

    def build(self, input_shape):
        dim = input_shape[-1]
        self.up = keras.layers.Dense(self.intermediate_dim, use_bias=self.use_bias, name="up")
        self.down = keras.layers.Dense(dim, use_bias=self.use_bias, name="down")
        self.up.build((None, dim))
        self.down.build((None, self.intermediate_dim))
        self.built = True

    def call(self, inputs, training=None):
        hidden = ops.gelu(self.up(inputs), approximate=self.approximate)
        return self.dropout_layer(self.down(hidden), training=training)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "intermediate_dim": self.intermediate_dim, "use_bias": self.use_bias,
                "approximate": self.approximate, "dropout": self.dropout}


@keras.saving.register_keras_serializable(package="llmbook")
class SwiGLUMLP(SingleInputBuild, keras.layers.Layer):
    """``down(silu(gate(x)) * up(x))``, three ``Dense`` layers named ``gate``, ``up``, ``down``.

    Args:
        intermediate_dim: width of the gated hidden layer (SmolLM2-135M: 1536).
        use_bias: biases in the three layers (False in Llama).
        dropout: dropout rate on the output while training.

    Call args:
        inputs: ``(..., dim)``.

    Returns:
        A tensor shaped like ``inputs``.
    """

    def __init__(self, intermediate_dim: int, use_bias: bool = False, dropout: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.intermediate_dim, self.use_bias, self.dropout = positive_int("intermediate_dim", intermediate_dim), bool(use_bias), unit_rate("dropout", dropout)
        self.dropout_layer = keras.layers.Dropout(self.dropout)

    def build(self, input_shape):
        dim = input_shape[-1]
        self.gate = keras.layers.Dense(self.intermediate_dim, use_bias=self.use_bias, name="gate")
        self.up = keras.layers.Dense(self.intermediate_dim, use_bias=self.use_bias, name="up")
        self.down = keras.layers.Dense(dim, use_bias=self.use_bias, name="down")
        self.gate.build((None, dim))
        self.up.build((None, dim))
        self.down.build((None, self.intermediate_dim))
        self.built = True

    def call(self, inputs, training=None):
        hidden = ops.silu(self.gate(inputs)) * self.up(inputs)
        return self.dropout_layer(self.down(hidden), training=training)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "intermediate_dim": self.intermediate_dim, "use_bias": self.use_bias,
                "dropout": self.dropout}
