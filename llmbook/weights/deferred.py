"""Build a model without running its random initializers, then create each variable from a checkpoint's value.

A loader overwrites every variable anyway, and for a 135M-parameter model the random initializers are
seconds of work: :func:`build_deferred` builds the model inside ``keras.StatelessScope(initialize_variables=
False)``, where Keras creates every variable with its name and shape but defers its initializer, and
:func:`initialize_deferred` then gives each variable its value (or zeros) and runs the deferred creation.
Where a Keras version initializes the variables anyway, the model is simply built and the values are
assigned, so the result is the same, only slower.

>>> import keras, numpy as np
>>> layer = keras.layers.Dense(2)
>>> deferred = build_deferred(layer, (None, 3))
>>> initialize_deferred(layer, deferred, [(layer.kernel, np.ones((3, 2), "float32")),
...                                       (layer.bias, np.zeros(2, "float32"))])
>>> keras.ops.convert_to_numpy(layer(np.ones((1, 3), "float32"))).tolist()
[[3.0, 3.0]]
"""

from __future__ import annotations

import keras
import numpy as np


def build_deferred(model, input_shape=(None, None)) -> bool:
    """Build ``model`` inside ``keras.StatelessScope(initialize_variables=False)``: Keras then creates every
    variable with its name and shape but defers its initializer (the mechanism Keras uses for stateless
    execution), so the random initializers of 135M parameters, seconds of work that the checkpoint would
    overwrite, never run. :func:`initialize_deferred` gives each variable its value.

    Returns True if every variable is deferred; False if this Keras initialized them anyway (then the model
    is simply built, and values are assigned).
    """
    with keras.StatelessScope(initialize_variables=False):
        model.build(input_shape)
    return all(getattr(v, "_value", False) is None and callable(getattr(v, "_initializer", None))
               for v in model.weights)


def initialize_deferred(model, deferred: bool, values=None) -> None:
    """Give the variables of a model built by :func:`build_deferred` their values.

    ``values`` is a list of ``(variable, array)`` covering the model's variables; with ``values=None`` every
    variable becomes zeros (used on the error path, so no half-built variables stay registered with Keras).
    """
    if not deferred:
        for variable, value in values or ():
            variable.assign(value)
        return
    from keras.src.backend.common.variables import initialize_all_variables

    zeros = lambda shape, dtype: np.zeros(shape, dtype)  # noqa: E731
    for variable in model.weights:        # anything values does not cover must not get a random value
        variable._initializer = zeros
    for variable, value in values or ():
        variable._initializer = lambda shape, dtype, value=value: value
    initialize_all_variables()             # what keras.StatelessScope does on exit: each variable's initializer
