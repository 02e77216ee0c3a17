"""Choosing the next token from a distribution: greedy, temperature, top-k and top-p (nucleus).

All functions work on one 1-D numpy vector of logits or probabilities and use an explicit
``numpy.random.Generator``, so a seed fixes every sample.

- greedy: the most probable token (``temperature=0``);
- temperature ``T``: sample from ``softmax(logits / T)``; ``T < 1`` sharpens, ``T > 1`` flattens;
- top-k (Fan et al., 2018): keep the ``k`` most probable tokens, renormalize;
- top-p (Holtzman et al., 2020): keep the smallest set of most probable tokens whose total probability
  reaches ``p``, renormalize.

>>> import numpy as np
>>> top_p_filter(np.array([0.5, 0.3, 0.15, 0.05]), 0.8).round(3).tolist()
[0.625, 0.375, 0.0, 0.0]
"""

from __future__ import annotations

import numpy as np

from llmbook.numerics import softmax as stable_softmax
from llmbook.validation import positive_int


def _probabilities(probs) -> np.ndarray:
    probs = np.asarray(probs, dtype=np.float64)
    if probs.ndim != 1 or probs.size == 0:
        raise ValueError(f"expected a non-empty 1-D probability vector, got shape {probs.shape}")
    if (probs < 0).any() or not np.isfinite(probs).all() or not np.isclose(probs.sum(), 1.0, atol=1e-4):
        raise ValueError("probabilities must be finite, non-negative and sum to 1; apply softmax to logits first")
    return probs


def softmax(logits, temperature: float = 1.0) -> np.ndarray:
    """``softmax(logits / temperature)`` in float64 (:func:`llmbook.numerics.softmax` of the scaled logits).

    Args:
        logits: a vector of logits.
        temperature: > 0; below 1 sharpens the distribution, above 1 flattens it.

    Returns:
        float64 probabilities that sum to 1.

    Raises:
        ValueError: if ``temperature <= 0`` (use greedy decoding for temperature 0), or for logits that
            :func:`llmbook.numerics.softmax` refuses (NaN, +infinity, none at all).
    """
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0 for sampling, got {temperature}; use greedy for temperature 0")
    return stable_softmax(np.asarray(logits, dtype=np.float64) / temperature)


def top_k_filter(probs, k: int) -> np.ndarray:
    """Keep the ``k`` most probable tokens (and any tied with the k-th), zero the rest, renormalize.

    Raises:
        ValueError: if ``k < 1`` or ``probs`` is not a probability vector.
    """
    probs = _probabilities(probs)
    k = positive_int("top_k", k)
    if k >= probs.size:
        return probs.copy()
    threshold = np.sort(probs)[-int(k)]
    kept = np.where(probs >= threshold, probs, 0.0)
    return kept / kept.sum()


def top_p_filter(probs, p: float) -> np.ndarray:
    """Keep the smallest set of most probable tokens whose probabilities sum to at least ``p``; renormalize.

    A token is kept when the probability mass strictly before it (in descending order) is below ``p``;
    so the most probable token is always kept and ``p = 1`` keeps every token of non-zero probability.

    Raises:
        ValueError: if ``p`` is not in ``(0, 1]`` or ``probs`` is not a probability vector.
    """
    probs = _probabilities(probs)
    if not 0.0 < p <= 1.0:
        raise ValueError(f"top_p must be in (0, 1], got {p}")
    order = np.argsort(-probs, kind="stable")
    sorted_probs = probs[order]
    mass_before = np.cumsum(sorted_probs) - sorted_probs
    keep_sorted = (mass_before < p - 1e-12) & (sorted_probs > 0)
    keep_sorted[0] = True
    kept = np.zeros_like(probs)
    kept[order[keep_sorted]] = sorted_probs[keep_sorted]
    return kept / kept.sum()


def next_token_distribution(logits, temperature: float = 1.0, top_k: int | None = None,
                            top_p: float | None = None) -> np.ndarray:
    """The distribution a sampler draws from: temperature, then top-k, then top-p (the order transformers uses).

    Raises:
        ValueError: for invalid ``temperature``, ``top_k`` or ``top_p``.
    """
    probs = softmax(logits, temperature)
    if top_k is not None:
        probs = top_k_filter(probs, top_k)
    if top_p is not None:
        probs = top_p_filter(probs, top_p)
    return probs


def sample_next_token(logits, rng: np.random.Generator | None = None, temperature: float = 0.0,
                      top_k: int | None = None, top_p: float | None = None) -> int:
    """One token id: the argmax when ``temperature == 0`` (greedy), else a draw from
    :func:`next_token_distribution`.

    Args:
        logits: 1-D vector of logits.
        rng: the random generator (required when sampling).
        temperature: 0 for greedy, > 0 for sampling.
        top_k, top_p: optional truncations (ignored by greedy decoding).

    Raises:
        ValueError: for a negative temperature, sampling without ``rng``, or logits that contain NaN
            (``argmax`` would silently return the first NaN's index, often token 0).
    """
    logits = np.asarray(logits)
    if logits.ndim != 1:
        raise ValueError(f"logits must be a 1-D vector, got shape {logits.shape}")
    if np.isnan(logits).any():
        raise ValueError(f"logits contain {int(np.isnan(logits).sum())} NaN values: the model's forward pass "
                         "failed (overflow, a bad weight, or NaN inputs); no token can be chosen")
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature}")
    if temperature == 0:
        return int(np.argmax(logits))
    if rng is None:
        raise ValueError("sampling needs a numpy Generator: pass rng=np.random.default_rng(seed)")
    probs = next_token_distribution(logits, temperature, top_k, top_p)
    return int(rng.choice(probs.size, p=probs))
