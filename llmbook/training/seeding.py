"""One place to seed every random number generator the book uses."""

from __future__ import annotations

import os
import random
import sys

import numpy as np

from llmbook.training.quiet import silenced_stderr
from llmbook.validation import non_negative_int


def set_seed(seed: int = 0, *, keras: bool | None = None) -> np.random.Generator:
    """Seed Python's ``random``, NumPy's global state and, if asked or already imported, Keras/TensorFlow.

    Args:
        seed: a non-negative integer.
        keras: True seeds Keras (importing it, which imports TensorFlow: about 8 s); False never does;
            None (the default) seeds Keras only if it has already been imported.

    Returns:
        A fresh ``numpy.random.Generator`` seeded with ``seed``, for code that prefers explicit generators.

    Raises:
        ValueError: if ``seed`` is not a non-negative integer.
    """
    seed = non_negative_int("seed", seed)
    os.environ["PYTHONHASHSEED"] = str(seed)  # inherited by subprocesses; this process's hashing is fixed at start
    random.seed(seed)
    np.random.seed(seed)
    if keras or (keras is None and "keras" in sys.modules):
        with silenced_stderr():  # a first import of TensorFlow prints notices to fd 2 (see quiet_tensorflow)
            import keras as keras_module

        keras_module.utils.set_random_seed(seed)
    return np.random.default_rng(seed)
