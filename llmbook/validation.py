"""The checks every public function applies to its arguments, with one meaning each.

A size, a count or a number of steps is a **positive integer**: a Python or NumPy integer, at least
1. A float, even ``4.0``, is refused (a size computed as ``hidden_dim / heads`` is usually a bug), and
so is ``True``. Every message names the argument, what it must be and what it got.

>>> positive_int("num_heads", 4)
4
>>> positive_int("num_heads", 4.0)
Traceback (most recent call last):
...
ValueError: num_heads must be a positive integer (an int, at least 1), got 4.0
>>> unit_rate("dropout", 0.1)
0.1
"""

from __future__ import annotations

import math
import numbers

__all__ = ["positive_int", "non_negative_int", "unit_rate", "positive_number"]


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def positive_int(name: str, value, minimum: int = 1) -> int:
    """``value`` as an ``int`` if it is an integer >= ``minimum`` (1 by default).

    Raises:
        ValueError: naming ``name`` otherwise.
    """
    if not _is_int(value) or value < minimum:
        what = "a positive integer (an int, at least 1)" if minimum == 1 else f"an integer >= {minimum}"
        raise ValueError(f"{name} must be {what}, got {value!r}")
    return int(value)


def non_negative_int(name: str, value) -> int:
    """``value`` as an ``int`` if it is an integer >= 0 (a seed, an index).

    Raises:
        ValueError: naming ``name`` otherwise.
    """
    if not _is_int(value) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    return int(value)


def unit_rate(name: str, value) -> float:
    """``value`` as a ``float`` if it is a rate in ``[0, 1)`` (dropout, momentum).

    Raises:
        ValueError: naming ``name`` otherwise.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value < 1:
        raise ValueError(f"{name} must be a rate in [0, 1), got {value!r}")
    return float(value)


def positive_number(name: str, value) -> float:
    """``value`` as a ``float`` if it is a finite number > 0 (a learning rate, a temperature, a scale).

    Raises:
        ValueError: naming ``name`` otherwise.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    return float(value)
