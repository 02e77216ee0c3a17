"""word2vec's two sampling steps, computed in numpy before any model sees the corpus.

The formulas are the ones of the word2vec C tool and of gensim, so that a comparison with gensim
compares the same algorithm:

- *subsampling* keeps an occurrence of a word of corpus frequency ``f = count / total`` with probability
  ``min(1, (sqrt(f / t) + 1) * t / f)`` for a threshold ``t`` (``sample``, 1e-3 by default);
- *negative samples* are drawn from the unigram distribution raised to the power 0.75.

The counts are a vocabulary's (``llmbook.text.Vocabulary.counts``), in id order.

>>> import numpy as np
>>> keep_probabilities(np.array([900, 90, 10]), sample=0.01).round(3).tolist()
[0.117, 0.444, 1.0]
>>> unigram_distribution(np.array([16, 1]), power=0.75).round(3).tolist()
[0.889, 0.111]
"""

from __future__ import annotations

import numpy as np


def keep_probabilities(counts: np.ndarray, sample: float = 1e-3) -> np.ndarray:
    """The probability of keeping one occurrence of each word under frequent-word subsampling.

    ``p_keep = min(1, (sqrt(f / sample) + 1) * sample / f)`` with ``f = count / sum(counts)``: the formula
    of the word2vec C tool and gensim (Mikolov et al. 2013 printed the simpler ``1 - sqrt(sample / f)``
    as a discard probability). ``sample = 0`` disables subsampling (all ones).

    Raises:
        ValueError: if ``sample`` is negative or a count is not positive.
    """
    counts = np.asarray(counts, dtype=np.float64)
    if sample < 0:
        raise ValueError(f"sample must be >= 0 (0 disables subsampling), got {sample}")
    if counts.size == 0 or np.any(counts <= 0):
        raise ValueError("counts must be a non-empty array of positive numbers (a vocabulary with special tokens "
                         "has count 0 for them: build it with specials=() for word2vec)")
    if sample == 0:
        return np.ones_like(counts)
    threshold = sample * counts.sum()
    return np.minimum(1.0, (np.sqrt(counts / threshold) + 1.0) * threshold / counts)


def subsample(ids: np.ndarray, keep: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A boolean mask over ``ids``: True where the occurrence is kept (each one independently)."""
    return rng.random(len(ids)) < keep[ids]


def unigram_distribution(counts: np.ndarray, power: float = 0.75) -> np.ndarray:
    """``counts ** power``, normalized: the noise distribution of negative sampling.

    Raises:
        ValueError: if ``counts`` is empty, has a negative or non-finite entry, or sums to 0 (a noise
            distribution needs at least one word seen at least once).
    """
    counts = np.asarray(counts, dtype=np.float64)
    if counts.ndim != 1 or counts.size == 0:
        raise ValueError(f"counts must be a non-empty 1-D array of word counts, got shape {counts.shape}")
    if not np.all(np.isfinite(counts)) or (counts < 0).any():
        raise ValueError("counts must be finite and non-negative (they are word frequencies)")
    weights = counts ** power
    if weights.sum() == 0:
        raise ValueError("every count is 0: no word to draw noise from; count the corpus first")
    return weights / weights.sum()


def negative_table(counts: np.ndarray, power: float = 0.75, size: int = 1_000_000) -> np.ndarray:
    """A table in which word ``i`` fills a share ``unigram_distribution(counts)[i]`` of the slots.

    Drawing a uniform slot of the table draws a word from the noise distribution (the word2vec C tool's
    method); with ``size`` = 1e6 a word's probability is exact to within 1e-6.

    Raises:
        ValueError: if ``size`` is smaller than the vocabulary.
    """
    probabilities = unigram_distribution(counts, power)
    if size < len(probabilities):
        raise ValueError(f"size ({size}) must be at least the vocabulary size ({len(probabilities)})")
    bounds = np.round(np.cumsum(probabilities) * size).astype(np.int64)
    bounds[-1] = size
    return np.repeat(np.arange(len(probabilities), dtype=np.int32), np.diff(bounds, prepend=0))
