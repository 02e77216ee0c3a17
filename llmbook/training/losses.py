"""Log-sum-exp and cross-entropy in NumPy, computed stably (``softmax`` and ``log_softmax`` come from
:mod:`llmbook.numerics`, the one copy the package has).

``softmax(z)_i = exp(z_i) / sum_j exp(z_j)`` overflows in float32 once some ``z_i > 88.7`` (float64:
``> 709.8``), because ``exp`` does. Subtracting ``m = max_j z_j`` first changes nothing mathematically
(the factor ``exp(-m)`` cancels) but makes every exponent ``<= 0``:
``log sum_j exp(z_j) = m + log sum_j exp(z_j - m)``.

>>> import numpy as np
>>> from llmbook.training.losses import softmax, logsumexp
>>> softmax(np.array([1000.0, 1000.0]))
array([0.5, 0.5])
>>> round(float(logsumexp(np.array([1000.0, 1000.0]))) - 1000.0, 6)  # log 2
0.693147
"""

from __future__ import annotations

import numpy as np

from llmbook.numerics import check_logits, log_softmax, softmax


def logsumexp(logits, axis: int = -1, keepdims: bool = False) -> np.ndarray:
    """``log(sum(exp(logits), axis))``, stable for any finite logits (the max is subtracted first).

    Raises:
        ValueError: for a scalar, an empty class axis, NaN or +infinity in ``logits``.
    """
    z = check_logits(logits)
    top = np.max(z, axis=axis, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)  # a row of all -inf: sum is 0, log is -inf, no NaN
    with np.errstate(divide="ignore"):
        out = top + np.log(np.sum(np.exp(z - top), axis=axis, keepdims=True))
    return out if keepdims else np.squeeze(out, axis=axis)


def _labels(labels, logits: np.ndarray) -> np.ndarray:
    y = np.asarray(labels)
    if not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"labels must be integer class indices, got dtype {y.dtype}")
    if y.shape != logits.shape[:-1]:
        raise ValueError(f"labels have shape {y.shape}; for logits of shape {logits.shape} they need {logits.shape[:-1]}")
    n_classes = logits.shape[-1]
    if y.size and (y.min() < 0 or y.max() >= n_classes):
        raise ValueError(f"labels must lie in [0, {n_classes - 1}], got values from {y.min()} to {y.max()}")
    return y


def cross_entropy(logits, labels) -> float:
    """Mean of ``-log softmax(logits)[label]`` over all positions: the language-model training loss.

    Args:
        logits: shape ``(..., n_classes)``, unnormalized scores.
        labels: integer class indices of shape ``logits.shape[:-1]``.

    Raises:
        ValueError: for non-integer labels, a label outside ``[0, n_classes)``, or shapes that do not match.
    """
    z = check_logits(logits)
    y = _labels(labels, z)
    picked = np.take_along_axis(log_softmax(z), y[..., None], axis=-1)[..., 0]
    return float(-np.mean(picked))


def cross_entropy_gradient(logits, labels) -> np.ndarray:
    """The gradient of :func:`cross_entropy` with respect to the logits: ``(softmax(z) - onehot(y)) / n``.

    ``n`` is the number of positions averaged over (``labels.size``).
    """
    z = check_logits(logits)
    y = _labels(labels, z)
    grad = softmax(z)
    np.put_along_axis(grad, y[..., None], np.take_along_axis(grad, y[..., None], axis=-1) - 1.0, axis=-1)
    return grad / max(y.size, 1)


__all__ = ["cross_entropy", "cross_entropy_gradient", "log_softmax", "logsumexp", "softmax"]
