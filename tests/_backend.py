"""What the backend tests share: NumPy views of tensors on every Keras backend."""

import numpy as np


def to_numpy(value) -> np.ndarray:
    """A tensor of the current Keras backend (or an array, a list) as a NumPy array.

    ``np.asarray`` is not enough on PyTorch: a tensor that requires grad refuses ``.numpy()``;
    ``keras.ops.convert_to_numpy`` detaches it.
    """
    from keras import ops

    return np.asarray(ops.convert_to_numpy(value))
