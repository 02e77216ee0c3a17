"""The least language model: an n-gram model with a choice of smoothing.

An n-gram model predicts a word from the ``n - 1`` words before it, with probabilities estimated
from counts. Every sentence is padded with ``n - 1`` start symbols ``<s>`` and one end symbol
``</s>``; words seen fewer than ``min_count`` times in training become ``<UNK>``.

Smoothing methods:

- ``"mle"``: relative frequency. An n-gram never seen in training gets probability 0, so held-out
  perplexity is infinite as soon as one such n-gram appears: the sparsity problem in one number.
- ``"lidstone"``: add ``gamma`` to every count (``gamma=1`` is Laplace's add-one).
- ``"kneser-ney"``: interpolated Kneser-Ney (Kneser and Ney, 1995; Chen and Goodman, 1999) with one
  absolute discount ``d``. The highest order uses discounted counts; lower orders use *continuation*
  counts, the number of distinct words seen before an n-gram, so that a word frequent in only one
  context ("Francisco" after "San") gets little weight as a novel continuation.

  ``variant="nltk"`` reproduces ``nltk.lm.KneserNeyInterpolated`` exactly. Its lower-order weight
  uses the number of distinct *raw* followers of a context, while the rest of the lower-order
  distribution uses continuation counts; the two disagree for contexts made of ``<s>`` (the ``<s> <s>``
  at the very start of a padded sentence has no left neighbour), so after such a context the
  probabilities sum to slightly more than 1. The default ``variant="continuation"`` counts the lower
  order's followers from continuation counts too (Chen and Goodman, 1999), and every distribution
  sums to 1.

Add-one smoothing on two sentences: "the" is followed twice in training, once by "cat"; the
vocabulary has 7 entries (the, cat, dog, sat, ``<s>``, ``</s>``, ``<UNK>``), so
P(cat | the) = (1 + 1) / (2 + 7):

>>> model = NGramLanguageModel(order=2, smoothing="lidstone", gamma=1.0, min_count=1)
>>> model = model.fit([["the", "cat", "sat"], ["the", "dog", "sat"]])
>>> round(model.score("cat", ("the",)), 4)
0.2222
>>> len(model.vocabulary)
7
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Iterable, Sequence

import numpy as np

from llmbook.validation import positive_int

BOS, EOS, UNK = "<s>", "</s>", "<UNK>"
SMOOTHINGS = ("mle", "lidstone", "kneser-ney")


class NGramLanguageModel:
    """An n-gram language model over word tokens.

    Args:
        order: n, the number of words in an n-gram (1 = unigram). At least 1; at least 2 for Kneser-Ney.
        smoothing: ``"mle"``, ``"lidstone"`` or ``"kneser-ney"``.
        discount: Kneser-Ney's absolute discount, in [0, 1].
        gamma: Lidstone's pseudo-count, > 0 (1 is add-one, i.e. Laplace).
        min_count: words seen fewer times than this in training are mapped to ``<UNK>``.
        variant: Kneser-Ney only: ``"continuation"`` (normalized; the default) or ``"nltk"`` (identical
            to ``nltk.lm.KneserNeyInterpolated``); see the module docstring.

    Raises:
        ValueError: for an order below 1 (below 2 for Kneser-Ney), an unknown smoothing or variant, or a
            discount, gamma or min_count out of range.
    """

    def __init__(self, order: int, smoothing: str = "kneser-ney", *, discount: float = 0.75,
                 gamma: float = 1.0, min_count: int = 2, variant: str = "continuation"):
        positive_int("order", order)
        if smoothing not in SMOOTHINGS:
            raise ValueError(f"unknown smoothing {smoothing!r}; choose one of {', '.join(SMOOTHINGS)}")
        if smoothing == "kneser-ney" and order < 2:
            raise ValueError("Kneser-Ney needs order >= 2 (its lowest level counts bigram continuations); "
                             "for a unigram model use smoothing='lidstone' or 'mle'")
        if not 0.0 <= discount <= 1.0:
            raise ValueError(f"discount must be in [0, 1] for probabilities to sum to 1, got {discount}")
        if not gamma > 0:
            raise ValueError(f"gamma must be > 0, got {gamma}")
        positive_int("min_count", min_count)
        if variant not in ("continuation", "nltk"):
            raise ValueError(f"variant must be 'continuation' or 'nltk', got {variant!r}")
        self.variant = variant
        self.order = int(order)
        self.smoothing = smoothing
        self.discount = float(discount)
        self.gamma = float(gamma)
        self.min_count = int(min_count)
        self.vocabulary: list[str] = []
        self._vocabulary_set: frozenset[str] = frozenset()

    # ----------------------------------------------------------------------------------- training
    def pad(self, sentence: Sequence[str]) -> list[str]:
        """``n - 1`` start symbols, the sentence, one end symbol."""
        return [BOS] * (self.order - 1) + list(sentence) + [EOS]

    def fit(self, sentences: Iterable[Sequence[str]]) -> "NGramLanguageModel":
        """Count every k-gram (k = 1..n) of the padded training sentences.

        Args:
            sentences: an iterable of token lists (e.g. from ``llmbook.text.simple_word_tokenize``).

        Returns:
            self, fitted.

        Raises:
            TypeError: if ``sentences`` is a string, or its sentences are strings rather than token
                lists (iterating them would silently train a character model).
            ValueError: if there are no tokens, or fewer tokens than the order.
        """
        if isinstance(sentences, (str, bytes)):
            raise TypeError("sentences must be an iterable of token lists, got a string; tokenize it first, "
                            "e.g. [line.split() for line in text.splitlines()]")
        sentences = list(sentences)
        strings = [i for i, s in enumerate(sentences) if isinstance(s, (str, bytes))]
        if strings:
            raise TypeError(f"sentence {strings[0]} is a string, not a list of tokens: tokenize each sentence "
                            "first (llmbook.text.simple_word_tokenize, or sentence.split()); for a character "
                            "model pass list(sentence)")
        sentences = [list(s) for s in sentences if len(s) > 0]
        n_tokens = sum(len(s) for s in sentences)
        if n_tokens == 0:
            raise ValueError("the training text is empty: give at least one non-empty sentence of tokens")
        if n_tokens < self.order:
            raise ValueError(f"order {self.order} is larger than the training text ({n_tokens} tokens); "
                             "use a smaller order or more text")
        padded = [self.pad(s) for s in sentences]
        frequency = Counter(token for sentence in padded for token in sentence)
        self.vocabulary = sorted(w for w, c in frequency.items() if c >= self.min_count and w != UNK) + [UNK]
        self._vocabulary_set = frozenset(self.vocabulary)
        n = self.order
        self._counts = [Counter() for _ in range(n + 1)]  # _counts[k][k-gram]
        for sentence in padded:
            sentence = tuple(self._lookup(sentence))
            for k in range(1, n + 1):
                counts = self._counts[k]
                for i in range(len(sentence) - k + 1):
                    counts[sentence[i:i + k]] += 1
        # _context[m][context] = (total count of (m+1)-grams starting with it, number of distinct next words)
        self._context = [dict() for _ in range(n)]
        for k in range(1, n + 1):
            table = self._context[k - 1]
            for gram, count in self._counts[k].items():
                total, distinct = table.get(gram[:-1], (0, 0))
                table[gram[:-1]] = (total + count, distinct + 1)
        if self.smoothing == "kneser-ney":
            # _continuation[k][g]: distinct words seen before the k-gram g, N1+(. g), for k < n.
            # _continuation_total[m][c]: distinct (m+2)-grams (x, c, y), N1+(. c .).
            # _continuation_distinct[m][c]: distinct y with N1+(. c y) > 0, for 1 <= m < n - 1.
            self._continuation = [Counter() for _ in range(n)]
            self._continuation_total = [Counter() for _ in range(n - 1)]
            self._continuation_distinct = [Counter() for _ in range(n - 1)]
            for k in range(2, n + 1):
                for gram in self._counts[k]:
                    self._continuation[k - 1][gram[1:]] += 1
                    self._continuation_total[k - 2][gram[1:-1]] += 1
            for k in range(2, n):
                for gram in self._continuation[k]:
                    self._continuation_distinct[k - 1][gram[:-1]] += 1
        return self

    def counts(self, k: int | None = None) -> dict[tuple[str, ...], int]:
        """The training counts of every k-gram (default k = n), after ``<UNK>`` mapping. A copy.

        Raises:
            RuntimeError: if the model is not fitted.
            ValueError: if k is not in 1..n.
        """
        self._check_fitted()
        k = self.order if k is None else k
        if not 1 <= k <= self.order:
            raise ValueError(f"k must be between 1 and the order {self.order}, got {k}")
        return dict(self._counts[k])

    # ------------------------------------------------------------------------------------ scoring
    def _check_fitted(self) -> None:
        if not self.vocabulary:
            raise RuntimeError("the model is not fitted yet: call fit(sentences) first")

    def _lookup(self, tokens: Iterable[str]) -> list[str]:
        return [t if t in self._vocabulary_set else UNK for t in tokens]

    def score(self, word: str, context: Sequence[str] = ()) -> float:
        """P(word | context). Unknown words are scored as ``<UNK>``; only the last n - 1 context words count.

        Raises:
            RuntimeError: if the model is not fitted.
        """
        self._check_fitted()
        (word,) = self._lookup([word])
        context = tuple(self._lookup(context))[-(self.order - 1):] if self.order > 1 else ()
        if self.smoothing == "kneser-ney":
            return self._kneser_ney(word, context)
        total, _ = self._context[len(context)].get(context, (0, 0))
        count = self._counts[len(context) + 1].get(context + (word,), 0)
        if self.smoothing == "mle":
            return count / total if total else 0.0
        return (count + self.gamma) / (total + len(self.vocabulary) * self.gamma)

    def _kneser_ney(self, word: str, context: tuple[str, ...]) -> float:
        if not context:
            return self._continuation[1].get((word,), 0) / self._continuation_total[0][()]
        m = len(context)
        total, distinct = self._context[m].get(context, (0, 0))
        if total == 0:  # a context never seen in training: back off entirely
            return self._kneser_ney(word, context[1:])
        if m + 1 == self.order:
            count, normalizer = self._counts[m + 1].get(context + (word,), 0), total
        else:
            count, normalizer = self._continuation[m + 1].get(context + (word,), 0), self._continuation_total[m][context]
            if self.variant == "continuation":
                distinct = self._continuation_distinct[m][context]
                if normalizer == 0:
                    return self._kneser_ney(word, context[1:])
        alpha = max(count - self.discount, 0.0) / normalizer
        gamma = self.discount * distinct / normalizer
        return alpha + gamma * self._kneser_ney(word, context[1:])

    def logscore(self, word: str, context: Sequence[str] = ()) -> float:
        """log2 P(word | context); ``-inf`` where the probability is 0."""
        probability = self.score(word, context)
        return math.log2(probability) if probability > 0 else -math.inf

    def ngrams(self, sentence: Sequence[str]) -> list[tuple[str, ...]]:
        """The n-grams the model predicts for one sentence: one per word and one for ``</s>``."""
        padded = self.pad(sentence)
        n = self.order
        return [tuple(padded[i:i + n]) for i in range(len(padded) - n + 1)]

    def token_logscores(self, sentences: Iterable[Sequence[str]]) -> np.ndarray:
        """log2 P of every predicted token (each word, then ``</s>``, sentence by sentence), in float64.

        These are the terms :meth:`cross_entropy` averages; ``-inf`` where a probability is 0. Empty
        sentences predict nothing and are skipped.

        Raises:
            ValueError: if there is nothing to score.
        """
        self._check_fitted()
        logs = [self.logscore(g[-1], g[:-1]) for s in sentences if len(s) > 0 for g in self.ngrams(s)]
        if not logs:
            raise ValueError("the evaluation text is empty: give at least one non-empty sentence of tokens")
        return np.array(logs, dtype=np.float64)

    def cross_entropy(self, sentences: Iterable[Sequence[str]]) -> float:
        """Mean negative log2 probability per predicted token (words and ``</s>``), in bits.

        Raises:
            ValueError: if there is nothing to score.
        """
        logs = self.token_logscores(sentences)
        if np.isinf(logs).any():
            return math.inf
        return -math.fsum(logs) / len(logs)

    def perplexity(self, sentences: Iterable[Sequence[str]]) -> float:
        """2 ** cross_entropy: the effective number of equally likely choices per token."""
        return 2.0 ** self.cross_entropy(sentences)

    def unseen_fraction(self, sentences: Iterable[Sequence[str]]) -> float:
        """The fraction of the n-grams of ``sentences`` never seen in training (after ``<UNK>`` mapping)."""
        self._check_fitted()
        grams = [tuple(self._lookup(g)) for s in sentences if len(s) > 0 for g in self.ngrams(s)]
        if not grams:
            raise ValueError("the evaluation text is empty: give at least one non-empty sentence of tokens")
        return sum(g not in self._counts[self.order] for g in grams) / len(grams)

    # --------------------------------------------------------------------------------- generation
    def distribution(self, context: Sequence[str] = ()) -> np.ndarray:
        """P(w | context) for every w of ``self.vocabulary``, as a float64 array that sums to about 1."""
        self._check_fitted()
        return np.array([self.score(w, context) for w in self.vocabulary])

    def generate(self, max_words: int = 20, *, seed: int = 0, context: Sequence[str] = ()) -> list[str]:
        """Sample words one at a time until ``</s>`` or ``max_words``.

        ``<s>`` and ``<UNK>`` are never sampled (their probability is set to 0 and the rest renormalized).

        Raises:
            ValueError: if ``max_words`` < 1.
        """
        max_words = positive_int("max_words", max_words)
        self._check_fitted()
        rng = np.random.default_rng(seed)
        history = [BOS] * (self.order - 1) + list(context)
        banned = [i for i, w in enumerate(self.vocabulary) if w in (BOS, UNK)]
        words: list[str] = []
        while len(words) < max_words:
            p = self.distribution(history[-(self.order - 1):] if self.order > 1 else ())
            p[banned] = 0.0
            word = self.vocabulary[rng.choice(len(p), p=p / p.sum())]
            if word == EOS:
                break
            words.append(word)
            history.append(word)
        return words

    def __repr__(self) -> str:
        state = f"{len(self.vocabulary)} words" if self.vocabulary else "not fitted"
        variant = f", variant={self.variant!r}" if self.smoothing == "kneser-ney" else ""
        return f"NGramLanguageModel(order={self.order}, smoothing={self.smoothing!r}{variant}, {state})"
