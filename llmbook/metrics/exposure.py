"""Exposure of a canary: how much a language model has memorized one inserted secret (Carlini et al., 2019).

A *canary* is a string of a fixed format with a random secret, for example ``"my pin is 4 8 1 9"`` with
the digits drawn from a randomness space :math:`R` (here :math:`10^4` choices). After training on text
that contains the canary, every candidate :math:`r \\in R` is scored by its log-perplexity under the model,
:math:`-\\log_2 P(\\text{format}(r))` (lower = more likely). The canary's **rank** is the number of
candidates at least as likely as it,

.. math::

    \\operatorname{rank}(\\hat r) = |\\{r \\in R : \\operatorname{score}(r) \\le \\operatorname{score}(\\hat r)\\}|,

so rank 1 means the model prefers the canary to every other candidate, and its **exposure** is

.. math::

    \\operatorname{exposure}(\\hat r) = \\log_2 |R| - \\log_2 \\operatorname{rank}(\\hat r),

from 0 (every candidate at least as likely) to :math:`\\log_2 |R|` (the canary is the model's first
guess). A canary the model never saw has a uniformly random rank, so its expected exposure is about
:math:`1/\\ln 2 \\approx 1.44` bits (:func:`chance_exposure` gives the exact value for a space of size
:math:`|R|`).

When :math:`R` is too large to enumerate, the paper estimates the exposure from a random sample of
candidates: :math:`-\\log_2 \\Pr_{r \\in R}[\\operatorname{score}(r) \\le \\operatorname{score}(\\hat r)]`
with the probability replaced by the share of the sample (:func:`sampled_exposure`).

>>> exposure([5.0, 1.0, 3.0, 7.0], canary_index=1)  # the canary is the most likely of 4: log2 4
2.0
>>> exposure([2.0, 2.0, 2.0, 2.0], canary_index=0)  # all tie: rank 4 of 4
0.0
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["canary_rank", "chance_exposure", "exposure", "sampled_exposure"]


def _scores(scores, name: str) -> np.ndarray:
    array = np.asarray(scores, dtype=np.float64)
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D sequence of log-perplexities, got shape {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} holds NaN or infinity: score every candidate with a finite log-perplexity "
                         "(log-probabilities from log_softmax, not log of a probability that underflowed to 0)")
    return array


def _index(canary_index, size: int) -> int:
    if isinstance(canary_index, bool) or not isinstance(canary_index, (int, np.integer)):
        raise TypeError(f"canary_index must be an integer position in scores, got {canary_index!r}")
    if not 0 <= canary_index < size:
        raise ValueError(f"canary_index {canary_index} is outside scores (0 to {size - 1})")
    return int(canary_index)


def canary_rank(scores, canary_index: int) -> int:
    """The rank of the canary: how many candidates score at most its score (1 = the most likely).

    Args:
        scores: the log-perplexity (lower = more likely) of every candidate in the randomness space,
            the canary included.
        canary_index: the canary's position in ``scores``.

    Returns:
        An integer from 1 to ``len(scores)``; ties count against the canary, as in the paper.

    Raises:
        ValueError: if ``scores`` is empty, not 1-D or not finite, or ``canary_index`` is out of range.
        TypeError: if ``canary_index`` is not an integer.
    """
    scores = _scores(scores, "scores")
    index = _index(canary_index, scores.size)
    return int(np.count_nonzero(scores <= scores[index]))


def exposure(scores, canary_index: int) -> float:
    """Exposure ``log2 |R| - log2 rank`` of the canary, in bits, from the scores of the whole space.

    Args:
        scores: the log-perplexity of every candidate of the randomness space :math:`R` (all of it:
            ``len(scores)`` is :math:`|R|`), the canary included. Any base of logarithm works, since only
            the order matters.
        canary_index: the canary's position in ``scores``.

    Returns:
        A float from 0 to ``log2(len(scores))``.

    Raises:
        ValueError, TypeError: as :func:`canary_rank`.

    >>> round(exposure([4.0, 1.0, 2.0, 3.0, 9.0, 8.0, 7.0, 6.0], canary_index=3), 6)  # rank 3 of 8
    1.415037
    """
    scores = _scores(scores, "scores")
    rank = canary_rank(scores, canary_index)
    return math.log2(scores.size) - math.log2(rank)


def sampled_exposure(canary_score: float, sample_scores) -> float:
    """The paper's estimate of the exposure from a uniform random sample of candidates.

    ``-log2(k / n)`` where ``k`` of the ``n`` sampled candidates score at most ``canary_score``. With the
    whole space as the sample (the canary included) it equals :func:`exposure`.

    Args:
        canary_score: the canary's log-perplexity.
        sample_scores: the log-perplexities of candidates drawn uniformly from the randomness space.

    Returns:
        The estimated exposure in bits.

    Raises:
        ValueError: if the sample is empty or not finite, or if no sampled candidate scores at most the
            canary (the estimate would be infinite: the exposure exceeds ``log2 n``; sample more
            candidates, include the canary in the sample, or enumerate the space).
    """
    sample = _scores(sample_scores, "sample_scores")
    canary = float(canary_score)
    if not math.isfinite(canary):
        raise ValueError(f"canary_score must be finite, got {canary_score!r}")
    at_most = int(np.count_nonzero(sample <= canary))
    if at_most == 0:
        raise ValueError(f"no sampled candidate scores at most the canary, so the exposure is above "
                         f"log2 {sample.size} = {math.log2(sample.size):.2f} bits and cannot be estimated from "
                         "this sample: sample more candidates, include the canary, or enumerate the space")
    return math.log2(sample.size) - math.log2(at_most)


def chance_exposure(space_size: int) -> float:
    """The expected exposure of a canary the model never saw: its rank uniform on ``1..|R|``.

    ``log2 |R| - mean_k log2 k`` over ``k = 1..|R|``, which tends to ``1 / ln 2`` (about 1.44 bits) as the
    space grows. This is the baseline a measured exposure is compared with.

    Raises:
        ValueError: if ``space_size`` is not a positive integer.

    >>> chance_exposure(1), round(chance_exposure(2), 6)
    (0.0, 0.5)
    """
    if isinstance(space_size, bool) or not isinstance(space_size, (int, np.integer)) or space_size < 1:
        raise ValueError(f"space_size must be a positive integer (|R|, the number of candidates), got {space_size!r}")
    size = int(space_size)
    # sum_k log2 k = log2 (|R|!) = lgamma(|R| + 1) / ln 2
    return math.log2(size) - math.lgamma(size + 1) / math.log(2) / size
