"""Confidence intervals for an accuracy: Wilson's score interval for a binomial proportion (Wilson, 1927).

An accuracy measured on :math:`n` items, :math:`k` of them right, estimates a proportion :math:`p`. The
textbook interval :math:`\\hat p \\pm z\\sqrt{\\hat p(1-\\hat p)/n}` collapses to a single point when
:math:`\\hat p` is 0 or 1, exactly the cases (a method that never or always succeeds) that a comparison of
prompting methods meets. Wilson's interval inverts the score test instead, and stays inside [0, 1]:

.. math::

    \\frac{\\hat p + \\frac{z^2}{2n} \\pm z\\sqrt{\\frac{\\hat p(1-\\hat p)}{n} + \\frac{z^2}{4n^2}}}{1 + \\frac{z^2}{n}}

>>> low, high = wilson_interval(0, 100)
>>> round(low, 4), round(high, 4)
(0.0, 0.037)
>>> [round(x, 4) for x in wilson_interval(95, 100)]
[0.8882, 0.9785]

The tests check it against ``scipy.stats.binomtest(k, n).proportion_ci(method="wilson")``.
"""

from __future__ import annotations

import math
from statistics import NormalDist

__all__ = ["wilson_interval"]


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """The Wilson score interval ``(low, high)`` for ``successes`` right out of ``n`` items."""
    for name, value in (("successes", successes), ("n", n)):
        if isinstance(value, bool) or not isinstance(value, (int,)) and not hasattr(value, "__index__"):
            raise TypeError(f"{name} must be an integer count, got {value!r}")
    successes, n = int(successes), int(n)
    if n <= 0:
        raise ValueError(f"n must be positive (the number of items scored), got {n}")
    if not 0 <= successes <= n:
        raise ValueError(f"successes must be between 0 and n={n}, got {successes}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be strictly between 0 and 1 (e.g. 0.95), got {confidence}")
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    # At 0 or n successes the bound is exactly 0 or 1; the formula's round-off can land a hair inside it,
    # which would put the interval's end below the estimate itself (a negative error bar).
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return low, high
