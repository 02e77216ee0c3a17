"""One place to seed every random number generator the book uses, and to quiet TensorFlow."""

from __future__ import annotations

import logging
import os
import random
import sys

import numpy as np

from llmbook.training.quiet import silenced_stderr
from llmbook.validation import non_negative_int


def quiet_tensorflow(level: int = 1) -> None:
    """Import TensorFlow without its start-up notices, and silence its C++ and Python logging.

    TensorFlow 2.21 writes oneDNN and CPU-feature notices through absl at import time straight to
    file descriptor 2, whatever ``TF_CPP_MIN_LOG_LEVEL`` says; in an executed chapter they would be
    stored as output. So this function imports TensorFlow inside :func:`silenced_stderr` (once; later
    imports of TensorFlow or Keras print nothing), sets the C++ log level for what comes after, and
    sets TensorFlow's Python logger to ERROR.

    Args:
        level: 0 shows everything, 1 hides INFO, 2 hides WARNING, 3 hides ERROR too.

    Raises:
        ValueError: if ``level`` is not 0, 1, 2 or 3.
    """
    if level not in (0, 1, 2, 3):
        raise ValueError(f"level must be 0, 1, 2 or 3 (TF_CPP_MIN_LOG_LEVEL), got {level!r}")
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = str(level)
    logging.getLogger("absl").setLevel(logging.ERROR)
    with silenced_stderr():
        import tensorflow
    tensorflow.get_logger().setLevel(logging.ERROR)


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
