"""Gradient checking: a numerical gradient by central differences, and the relative error used to
compare it with a hand-derived (or autodiff) gradient.

>>> import numpy as np
>>> gradient = numerical_gradient(lambda v: float(np.sum(v ** 3)), np.array([1.0, -2.0]))
>>> relative_error(gradient, [3.0, 12.0]) < 1e-9
True
"""

from __future__ import annotations

from typing import Callable

import numpy as np


def numerical_gradient(function: Callable[[np.ndarray], float], point, step: float = 1e-6) -> np.ndarray:
    """Central differences ``(f(x + h e_i) - f(x - h e_i)) / 2h`` for every coordinate ``i`` of ``point``.

    The error is of order ``h^2`` (truncation) plus ``eps_machine / h`` (rounding), so ``h`` near 1e-5
    to 1e-6 is best in float64. ``point`` is not modified.

    Raises:
        ValueError: if ``step`` is not positive or ``point`` is not finite.
    """
    if not step > 0:
        raise ValueError(f"step must be positive, got {step!r}")
    point = np.asarray(point, dtype=float)
    if not np.all(np.isfinite(point)):
        raise ValueError("point contains NaN or infinity; check the parameters before checking gradients")
    grad = np.zeros_like(point)
    shifted = point.copy()
    for index in np.ndindex(point.shape):
        original = shifted[index]
        shifted[index] = original + step
        upper = function(shifted)
        shifted[index] = original - step
        lower = function(shifted)
        shifted[index] = original
        grad[index] = (upper - lower) / (2.0 * step)
    return grad


def relative_error(a, b) -> float:
    """``||a - b|| / max(||a||, ||b||)`` (Euclidean norms over all elements): the usual gradient-check measure.

    In float64, about 1e-7 or less means the gradients agree; 1e-2 or more means one of them is wrong.
    A norm-based ratio is not thrown off by elements that are nearly 0 in both arrays, unlike an
    elementwise one. Two all-zero arrays give 0.

    Raises:
        ValueError: if the shapes differ.
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} and {b.shape}")
    scale = max(np.linalg.norm(a), np.linalg.norm(b))
    return float(np.linalg.norm(a - b) / scale) if scale > 0 else 0.0
