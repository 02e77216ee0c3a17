"""Dropout over sequences: locked (variational) masks shared over time, and naive per-step masks.

A recurrent network sees a sequence ``(batch, time, features)``. **Naive dropout** draws a new
Bernoulli mask for every time step (what ``keras.layers.Dropout`` does on a 3-D input). **Locked
dropout** (Gal & Ghahramani 2016, "A theoretically grounded application of dropout in recurrent
neural networks") draws one mask per sequence and feature, ``(batch, 1, features)``, and applies it
at every time step: the same units are dropped for the whole sequence, which is the approximate
variational inference the paper derives. Both scale the kept units by ``1 / (1 - rate)`` (inverted
dropout), so the expected value of every entry is unchanged, and both are the identity at inference.

>>> import numpy as np
>>> x = np.ones((2, 5, 3), dtype="float32")
>>> y = np.asarray(LockedDropout(0.5, seed=0)(x, training=True))
>>> bool((y == y[:, :1, :]).all())          # the same mask at every time step
True
>>> bool((np.asarray(LockedDropout(0.5)(x)) == x).all())   # identity at inference
True
"""

from __future__ import annotations

import keras
from keras import ops

from llmbook.validation import non_negative_int, unit_rate

__all__ = ["LockedDropout", "NaiveDropout"]


class _SequenceDropout(keras.layers.Layer):
    """The shared part: a rate in ``[0, 1)``, a seed generator, inverted scaling, identity at inference."""

    locked = True

    def __init__(self, rate: float, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.rate = unit_rate("rate", rate)
        self.seed = None if seed is None else non_negative_int("seed", seed)
        self.seed_generator = keras.random.SeedGenerator(self.seed)
        self.supports_masking = True

    def call(self, inputs, training=None):
        if not training or self.rate == 0.0:
            return inputs
        if len(inputs.shape) != 3:
            raise ValueError(f"{type(self).__name__} expects (batch, time, features), got shape {tuple(inputs.shape)}")
        shape = ops.shape(inputs)
        mask_shape = (shape[0], 1, shape[2]) if self.locked else shape
        keep = keras.random.uniform(mask_shape, seed=self.seed_generator) >= self.rate
        scale = ops.cast(keep, inputs.dtype) / ops.cast(1.0 - self.rate, inputs.dtype)
        return inputs * scale

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


@keras.saving.register_keras_serializable(package="llmbook")
class LockedDropout(_SequenceDropout):
    """Variational dropout: one mask per sequence and feature, the same at every time step.

    Args:
        rate: the fraction of features dropped, in ``[0, 1)``.
        seed: a seed for the masks (None: a random one).
        **kwargs: passed to ``keras.layers.Layer``.

    Call args:
        inputs: ``(batch, time, features)``.
        training: True to drop; otherwise the inputs come back unchanged.

    Raises:
        ValueError: if ``rate`` is not in ``[0, 1)``, or (when training) the input is not 3-D.
    """

    locked = True


@keras.saving.register_keras_serializable(package="llmbook")
class NaiveDropout(_SequenceDropout):
    """Naive dropout on a sequence: a new mask at every time step (for comparison with :class:`LockedDropout`).

    Equal in distribution to ``keras.layers.Dropout`` on a ``(batch, time, features)`` input.

    Args:
        rate: the fraction of entries dropped, in ``[0, 1)``.
        seed: a seed for the masks (None: a random one).
        **kwargs: passed to ``keras.layers.Layer``.

    Raises:
        ValueError: if ``rate`` is not in ``[0, 1)``, or (when training) the input is not 3-D.
    """

    locked = False
