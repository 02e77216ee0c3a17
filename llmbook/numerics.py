"""Softmax and log-softmax in NumPy, stable for any finite logits; the one copy that training and generation share.

``softmax(z)_i = exp(z_i) / sum_j exp(z_j)`` overflows in float32 once some ``z_i > 88.7`` (float64:
``> 709.8``), because ``exp`` does. Subtracting ``m = max_j z_j`` first changes nothing mathematically
(the factor ``exp(-m)`` cancels) but makes every exponent ``<= 0``. The result keeps the dtype of floating
logits (integers become float64).

>>> import numpy as np
>>> softmax(np.array([1000.0, 1000.0]))
array([0.5, 0.5])
>>> log_softmax(np.array([0.0, 0.0], dtype=np.float32)).dtype
dtype('float32')
"""

from __future__ import annotations

import numpy as np


def check_logits(logits) -> np.ndarray:
    """``logits`` as a floating numpy array (integers become float64), refused if it cannot be normalized.

    Raises:
        ValueError: for a scalar, an empty last (class) axis, NaN or +infinity.
    """
    z = np.asarray(logits)
    if not np.issubdtype(z.dtype, np.floating):
        z = z.astype(float)
    if z.ndim == 0:
        raise ValueError("logits must have at least one axis (the classes); got a scalar")
    if z.shape[-1] == 0:
        raise ValueError("logits have no classes (the last axis is empty)")
    if np.any(np.isnan(z)) or np.any(np.isposinf(z)):
        raise ValueError("logits contain NaN or +infinity; check the model's outputs")
    return z


def log_softmax(logits, axis: int = -1) -> np.ndarray:
    """Log-probabilities ``(z - m) - log sum exp(z - m)`` with ``m = max z``; finite where probabilities underflow.

    Subtracting the max before the sum (not ``z - logsumexp(z)``) also keeps the precision: in float32,
    ``logsumexp`` of logits near 1000 is only resolved to about 6e-5. A row of only ``-inf`` gives NaN
    (it has no distribution), not an error.

    Args:
        logits: unnormalized scores, classes along ``axis``.
        axis: the class axis.

    Returns:
        An array of the logits' shape and (floating) dtype.

    Raises:
        ValueError: see :func:`check_logits`.
    """
    z = check_logits(logits)
    top = np.max(z, axis=axis, keepdims=True)
    shifted = z - np.where(np.isfinite(top), top, 0.0)
    with np.errstate(divide="ignore"):
        return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def softmax(logits, axis: int = -1) -> np.ndarray:
    """``exp(log_softmax(logits))``: probabilities along ``axis`` that sum to 1, without overflow.

    Args:
        logits: unnormalized scores, classes along ``axis``.
        axis: the class axis.

    Returns:
        An array of the logits' shape and (floating) dtype.

    Raises:
        ValueError: see :func:`check_logits`.
    """
    return np.exp(log_softmax(logits, axis=axis))


__all__ = ["check_logits", "log_softmax", "softmax"]
