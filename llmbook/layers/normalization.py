"""LayerNorm (Ba et al., 2016) and RMSNorm (Zhang and Sennrich, 2019), computed in float32.

LayerNorm subtracts the mean and divides by the standard deviation of each vector, then scales and
shifts; RMSNorm only divides by the root mean square and scales (no centring, no bias), which is
cheaper and is what Llama-style models use.
"""

from __future__ import annotations

import keras
from keras import ops

from llmbook.layers._base import SingleInputBuild


@keras.saving.register_keras_serializable(package="llmbook")
class LayerNorm(SingleInputBuild, keras.layers.Layer):
    """``(x - mean) / sqrt(var + epsilon) * gamma + beta`` over the last axis.

    Args:
        epsilon: added to the variance (BERT: 1e-12; GPT-2: 1e-5).
        use_bias: learn ``beta`` (True in GPT-2/BERT).

    Call args:
        inputs: ``(..., dim)``.

    Returns:
        A tensor shaped like ``inputs``.
    """

    def __init__(self, epsilon: float = 1e-5, use_bias: bool = True, **kwargs):
        super().__init__(**kwargs)
        if not epsilon > 0:
            raise ValueError(f"epsilon must be > 0, got {epsilon}")
        self.epsilon, self.use_bias = float(epsilon), bool(use_bias)

    def build(self, input_shape):
        self.gamma = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="gamma")
        self.beta = (self.add_weight(shape=(input_shape[-1],), initializer="zeros", name="beta")
                     if self.use_bias else None)
        self.built = True

    def call(self, inputs):
        x = ops.cast(inputs, "float32")
        mean = ops.mean(x, axis=-1, keepdims=True)
        variance = ops.mean(ops.square(x - mean), axis=-1, keepdims=True)
        x = (x - mean) * ops.rsqrt(variance + self.epsilon) * ops.cast(self.gamma, "float32")
        if self.beta is not None:
            x = x + ops.cast(self.beta, "float32")
        return ops.cast(x, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon, "use_bias": self.use_bias}


@keras.saving.register_keras_serializable(package="llmbook")
class RMSNorm(SingleInputBuild, keras.layers.Layer):
    """``x / sqrt(mean(x^2) + epsilon) * gamma`` over the last axis.

    Args:
        epsilon: added to the mean square (Llama/SmolLM2: 1e-5).

    Call args:
        inputs: ``(..., dim)``.

    Returns:
        A tensor shaped like ``inputs``.
    """

    def __init__(self, epsilon: float = 1e-6, **kwargs):
        super().__init__(**kwargs)
        if not epsilon > 0:
            raise ValueError(f"epsilon must be > 0, got {epsilon}")
        self.epsilon = float(epsilon)

    def build(self, input_shape):
        self.gamma = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="gamma")
        self.built = True

    def call(self, inputs):
        x = ops.cast(inputs, "float32")
        x = x * ops.rsqrt(ops.mean(ops.square(x), axis=-1, keepdims=True) + self.epsilon)
        return ops.cast(x * ops.cast(self.gamma, "float32"), self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}
