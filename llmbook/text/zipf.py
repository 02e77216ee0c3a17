"""Zipf's law: a word's frequency falls roughly as a power of its frequency rank, f(r) ~ C / r**s.

>>> ranks, frequencies = rank_frequency({"the": 8, "king": 4, "is": 2, "dead": 1})
>>> ranks.tolist(), frequencies.tolist()
([1, 2, 3, 4], [8, 4, 2, 1])
"""

from __future__ import annotations

from typing import Mapping

import numpy as np


def rank_frequency(counts: Mapping[str, int]) -> tuple[np.ndarray, np.ndarray]:
    """Ranks ``1..V`` and the counts sorted from most to least frequent.

    Raises:
        ValueError: if ``counts`` is empty or holds a count below 1.
    """
    frequencies = np.sort(np.fromiter(counts.values(), dtype=np.int64, count=len(counts)))[::-1]
    if frequencies.size == 0:
        raise ValueError("counts is empty: count the tokens of a non-empty corpus first")
    if frequencies[-1] < 1:
        raise ValueError(f"counts must be >= 1, found {frequencies[-1]}")
    return np.arange(1, frequencies.size + 1), frequencies


def zipf_exponent(counts: Mapping[str, int], min_rank: int = 1, max_rank: int | None = None) -> tuple[float, float]:
    """Fit ``log f = log C - s log r`` by least squares over ranks ``min_rank..max_rank``; return ``(s, C)``.

    The tail of rare words (many words share count 1 or 2) bends the curve, so a fit usually stops at a
    rank where counts are still well above 1.

    Raises:
        ValueError: if the rank range holds fewer than 2 ranks, or as :func:`rank_frequency`.
    """
    ranks, frequencies = rank_frequency(counts)
    max_rank = ranks[-1] if max_rank is None else min(max_rank, ranks[-1])
    if min_rank < 1 or max_rank - min_rank + 1 < 2:
        raise ValueError(f"need at least 2 ranks to fit, got ranks {min_rank}..{max_rank} of {ranks[-1]}")
    selected = slice(min_rank - 1, max_rank)
    slope, intercept = np.polyfit(np.log(ranks[selected]), np.log(frequencies[selected]), 1)
    return float(-slope), float(np.exp(intercept))


__all__ = ["rank_frequency", "zipf_exponent"]
