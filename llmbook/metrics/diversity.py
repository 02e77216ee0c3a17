"""Diversity of generated text: distinct-n and the repetition rate.

Both count n-grams of one sample's tokens (words, characters or token ids: any hashable items).

* **distinct-n** (Li et al. 2016): the number of *different* n-grams divided by the number of n-grams.
  1 means no n-gram occurs twice; a sample that loops on one phrase tends to 0.
* **repetition rate** (rep-n, Welleck et al. 2020): the share of n-gram positions whose n-gram already
  occurred earlier in the same sample, ``1 - distinct-n`` of that sample. It is the fraction of the
  text that copies itself.

>>> distinct_n("a b a b".split(), 1), distinct_n("a b a b".split(), 2)
(0.5, 0.6666666666666666)
>>> repetition_rate("to be or not to be".split(), 2)
0.2
"""

from __future__ import annotations

from typing import Hashable, Sequence

from llmbook.validation import positive_int


def ngrams(tokens: Sequence[Hashable], n: int) -> list[tuple]:
    """The ``len(tokens) - n + 1`` n-grams of ``tokens``, as tuples, in order.

    Raises:
        TypeError: if ``tokens`` is a string (pass ``list(text)`` for characters, ``text.split()`` for
            words).
        ValueError: if ``n`` is not a positive integer.
    """
    if isinstance(tokens, (str, bytes)):
        raise TypeError("tokens must be a sequence of tokens, not a string: pass list(text) for "
                        "characters or text.split() for words")
    n = positive_int("n", n)
    tokens = list(tokens)
    return [tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1)]


def distinct_n(tokens: Sequence[Hashable], n: int) -> float:
    """Distinct-n of one sample: different n-grams / all n-grams.

    Returns:
        A float in (0, 1].

    Raises:
        TypeError: as :func:`ngrams`.
        ValueError: if ``n`` is not positive, or the sample has fewer than ``n`` tokens (no n-gram to
            count: generate more tokens or use a smaller ``n``).
    """
    grams = ngrams(tokens, n)
    if not grams:
        raise ValueError(f"a sample of {len(list(tokens))} tokens has no {n}-grams; "
                         f"generate at least {n} tokens or use a smaller n")
    return len(set(grams)) / len(grams)


def repetition_rate(tokens: Sequence[Hashable], n: int = 4) -> float:
    """The share of ``tokens``' n-grams that repeat an n-gram seen earlier in the same sample.

    Returns:
        ``(all - different) / all`` n-grams, ``1 - distinct_n(tokens, n)`` up to round-off: 0 for a sample without a repeated n-gram.

    Raises:
        TypeError, ValueError: as :func:`distinct_n`.
    """
    grams = ngrams(tokens, n)
    if not grams:
        raise ValueError(f"a sample of {len(list(tokens))} tokens has no {n}-grams; "
                         f"generate at least {n} tokens or use a smaller n")
    return (len(grams) - len(set(grams))) / len(grams)
