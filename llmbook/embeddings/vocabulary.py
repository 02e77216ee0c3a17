"""A word2vec vocabulary: counting, encoding, subsampling of frequent words, the negative-sampling table.

Everything here is numpy and runs before any model sees the corpus. The formulas are the ones of the
word2vec C tool and of gensim, so that a comparison with gensim compares the same algorithm:

- *subsampling* keeps an occurrence of a word of corpus frequency ``f = count / total`` with probability
  ``min(1, (sqrt(f / t) + 1) * t / f)`` for a threshold ``t`` (``sample``, 1e-3 by default);
- *negative samples* are drawn from the unigram distribution raised to the power 0.75.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

from llmbook.validation import positive_int


@dataclass(frozen=True)
class Vocabulary:
    """Words sorted by decreasing count (ties: first occurrence first), with their counts.

    Attributes:
        words: the words, most frequent first.
        counts: int64 array, ``counts[i]`` is how often ``words[i]`` occurs in the corpus.
        total_words: every token of the corpus, including words dropped for being rare.
    """

    words: tuple[str, ...]
    counts: np.ndarray
    total_words: int

    def __post_init__(self):
        if len(self.words) != len(self.counts):
            raise ValueError(f"{len(self.words)} words but {len(self.counts)} counts")
        object.__setattr__(self, "_index", {w: i for i, w in enumerate(self.words)})

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: str) -> bool:
        return word in self._index

    def index(self, word: str) -> int:
        """The row of ``word``. Raises ``KeyError`` naming the word if it is not in the vocabulary."""
        try:
            return self._index[word]
        except KeyError:
            raise KeyError(f"{word!r} is not in the vocabulary ({len(self)} words, min count "
                           f"{int(self.counts.min()) if len(self) else 0})") from None

    def encode(self, sentences: Iterable[Sequence[str]]) -> tuple[np.ndarray, np.ndarray]:
        """Map a corpus to ids, dropping out-of-vocabulary tokens.

        Returns:
            ``(ids, sentence_ids)``: two int32 arrays of the same length; ``sentence_ids[k]`` is the
            sentence that token ``k`` came from, so windows never cross a sentence boundary.
        """
        index = self._index
        ids, owners = [], []
        for number, sentence in enumerate(sentences):
            encoded = [index[w] for w in sentence if w in index]
            ids.extend(encoded)
            owners.extend([number] * len(encoded))
        return np.asarray(ids, dtype=np.int32), np.asarray(owners, dtype=np.int32)


def build_vocabulary(sentences: Iterable[Sequence[str]], min_count: int = 5,
                     max_size: int | None = None) -> Vocabulary:
    """Count the words of tokenized sentences and keep those seen at least ``min_count`` times.

    Args:
        sentences: an iterable of token lists (an iterator is consumed once).
        min_count: the smallest count a word needs to be kept (>= 1).
        max_size: keep at most this many of the most frequent words (None: no limit).

    Returns:
        A :class:`Vocabulary`.

    Raises:
        TypeError: if a sentence is a plain string (pass lists of tokens, e.g. ``text.split()``).
        ValueError: if ``min_count`` < 1, the corpus is empty, or no word reaches ``min_count``.
    """
    positive_int("min_count", min_count)
    counter: Counter = Counter()
    for sentence in sentences:
        if isinstance(sentence, str):
            raise TypeError("each sentence must be a list of tokens, not a string; split it first "
                            "(e.g. simple_word_tokenize(text))")
        counter.update(sentence)
    total = sum(counter.values())
    if total == 0:
        raise ValueError("the corpus is empty: no tokens to count")
    kept = [(w, c) for w, c in counter.items() if c >= min_count]  # Counter keeps first-occurrence order
    if not kept:
        raise ValueError(f"the corpus is too small: no word occurs {min_count} times "
                         f"({total} tokens, {len(counter)} distinct); lower min_count or add text")
    kept.sort(key=lambda item: -item[1])  # stable: ties keep first occurrence
    if max_size is not None:
        kept = kept[:max_size]
    return Vocabulary(tuple(w for w, _ in kept), np.asarray([c for _, c in kept], dtype=np.int64), total)


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
        raise ValueError("counts must be a non-empty array of positive numbers")
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
