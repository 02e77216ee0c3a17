"""Intrinsic evaluation of word vectors: analogies, word-pair similarity, and a WEAT association test.

- Analogies: the Google set (Mikolov et al., 2013), accuracy per section and overall **with coverage**,
  counted the way gensim's ``KeyedVectors.evaluate_word_analogies`` counts: a question is *covered* when
  its four words are among the ``restrict_vocab`` most frequent words; accuracy is over covered questions.
- Similarity: Spearman's rho between cosines and human scores on WordSim-353 or SimLex-999, over the
  pairs whose two words are in the vocabulary (their share is the coverage).
- WEAT (Caliskan et al., 2017): do target words X associate more with attributes A than B, compared
  with targets Y? Effect size and a permutation p-value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from llmbook.embeddings.vectors import WordVectors


@dataclass(frozen=True)
class AnalogyResult:
    """Analogy accuracy.

    Attributes:
        sections: section -> (correct, covered, total) question counts.
        correct, covered, total: the same, over all sections.
        method: ``"3cosadd"`` or ``"3cosmul"``.
    """

    sections: dict[str, tuple[int, int, int]]
    correct: int
    covered: int
    total: int
    method: str

    @property
    def accuracy(self) -> float:
        """Correct / covered (0.0 when nothing is covered)."""
        return self.correct / self.covered if self.covered else 0.0

    @property
    def coverage(self) -> float:
        """Covered / total."""
        return self.covered / self.total if self.total else 0.0

    def rows(self) -> list[tuple[str, float, int, int]]:
        """One ``(section, accuracy, covered, total)`` row per section, then ``"overall"``."""
        table = [(name, c / n if n else float("nan"), n, t) for name, (c, n, t) in self.sections.items()]
        return table + [("overall", self.accuracy, self.covered, self.total)]


def _lookup(words: Sequence[str], lowercase: bool) -> dict[str, int]:
    """Word -> row; with ``lowercase``, lower-cased word -> row of its most frequent spelling (as gensim)."""
    if not lowercase:
        return {w: i for i, w in enumerate(words)}
    table: dict[str, int] = {}
    for i, w in enumerate(words):
        table.setdefault(w.lower(), i)
    return table


def evaluate_analogies(vectors: WordVectors, analogies, method: str = "3cosadd", restrict_vocab: int = 300_000,
                       lowercase: bool = True, batch_size: int = 512) -> AnalogyResult:
    """Accuracy on an analogy set (e.g. ``llmbook.data.load("google-analogies")``).

    Args:
        vectors: the word vectors, most frequent words first.
        analogies: an ``AnalogySet`` (sections of ``(a, b, c, expected)`` questions).
        method: ``"3cosadd"`` or ``"3cosmul"``.
        restrict_vocab: only the first (most frequent) this many words are candidates and count as covered.
        lowercase: compare words case-insensitively (gensim's default): a question word stands for its
            most frequent spelling, and no spelling of ``a``, ``b`` or ``c`` may be the answer.

    Returns:
        An :class:`AnalogyResult`.

    Raises:
        ValueError: for an empty analogy set or an unknown method.
    """
    if len(analogies) == 0:
        raise ValueError("the analogy set is empty")
    if method not in ("3cosadd", "3cosmul"):
        raise ValueError(f"method must be '3cosadd' or '3cosmul', got {method!r}")
    limit = min(restrict_vocab, len(vectors))
    restricted = WordVectors(vectors.words[:limit], vectors.vectors[:limit])
    lookup = _lookup(restricted.words, lowercase)
    # canonical[r]: the row that stands for row r's word (its most frequent spelling when case-insensitive)
    canonical = np.array([lookup[w.lower() if lowercase else w] for w in restricted.words])
    sections, correct_all, covered_all, total_all = {}, 0, 0, 0
    for name, questions in analogies.sections.items():
        rows = [[lookup.get(w.lower() if lowercase else w, -1) for w in q] for q in questions]
        rows = np.asarray([r for r in rows if min(r) >= 0], dtype=np.int64).reshape(-1, 4)
        correct = 0
        for first in range(0, len(rows), batch_size):
            chunk = rows[first:first + batch_size]
            scores = restricted._analogy_scores(chunk[:, :3], method)
            for k in range(3):
                scores[canonical[None, :] == chunk[:, k:k + 1]] = -np.inf
            correct += int(np.sum(canonical[np.argmax(scores, axis=1)] == chunk[:, 3]))
        sections[name] = (correct, len(rows), len(questions))
        correct_all, covered_all, total_all = correct_all + correct, covered_all + len(rows), total_all + len(questions)
    return AnalogyResult(sections, correct_all, covered_all, total_all, method)


@dataclass(frozen=True)
class SimilarityResult:
    """Spearman's rho on a word-pair set, with coverage.

    ``interval`` is a 95 % percentile bootstrap interval of rho over the covered pairs when
    :func:`evaluate_similarity` was asked for one (``bootstrap > 0``), else None.
    """

    name: str
    spearman: float
    covered: int
    total: int
    interval: tuple[float, float] | None = None

    @property
    def coverage(self) -> float:
        return self.covered / self.total if self.total else 0.0


def _ranks(values: np.ndarray) -> np.ndarray:
    """Ranks 1..n, ties sharing their mean rank."""
    order = np.argsort(values, kind="stable")
    ranks = np.empty(len(values))
    sorted_values = values[order]
    start = 0
    while start < len(values):
        stop = start
        while stop + 1 < len(values) and sorted_values[stop + 1] == sorted_values[start]:
            stop += 1
        ranks[order[start:stop + 1]] = (start + stop) / 2.0 + 1.0
        start = stop + 1
    return ranks


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman's rank correlation (Pearson correlation of the tie-averaged ranks).

    Raises:
        ValueError: for fewer than 2 pairs or different lengths.
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.shape != y.shape or len(x) < 2:
        raise ValueError(f"need two sequences of equal length >= 2, got {len(x)} and {len(y)}")
    return float(np.corrcoef(_ranks(x), _ranks(y))[0, 1])


def spearman_interval(x: Sequence[float], y: Sequence[float], resamples: int = 1000,
                      seed: int = 0) -> tuple[float, float]:
    """A 95 % percentile bootstrap interval of Spearman's rho over the pairs ``(x[i], y[i])``.

    The pairs are drawn with replacement ``resamples`` times (``numpy.random.default_rng(seed)``); the
    interval is the 2.5th and 97.5th percentiles of the resampled rho (a resample whose scores are all
    equal has no rho and is left out).

    Raises:
        ValueError: for fewer than 2 pairs, different lengths, or fewer than 1 resample.
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1 or len(x) < 2:
        raise ValueError(f"need two sequences of equal length >= 2, got shapes {x.shape} and {y.shape}")
    if isinstance(resamples, bool) or not isinstance(resamples, int) or resamples < 1:
        raise ValueError(f"resamples must be a positive number (e.g. 1000), got {resamples!r}")
    rng = np.random.default_rng(seed)
    resampled = []
    for _ in range(resamples):
        rows = rng.integers(0, len(x), len(x))
        rho = spearman(x[rows], y[rows])
        if np.isfinite(rho):
            resampled.append(rho)
    low, high = np.percentile(resampled, [2.5, 97.5])
    return float(low), float(high)


def evaluate_similarity(vectors: WordVectors, pairs, lowercase: bool = True, *, bootstrap: int = 0,
                        seed: int = 0) -> SimilarityResult:
    """Spearman's rho between cosine similarity and human scores (e.g. ``load("wordsim353")``).

    Pairs with an out-of-vocabulary word are skipped and reported through the coverage. With ``lowercase``
    (gensim's default) a word stands for its most frequent spelling in the vocabulary.

    With ``bootstrap`` resamples, the covered pairs are drawn with replacement that many times
    (``numpy.random.default_rng(seed)``) and the result carries the 2.5th and 97.5th percentiles of the
    resampled rho: how much rho depends on which pairs the benchmark happens to hold.

    Raises:
        ValueError: if fewer than 2 pairs are covered (the correlation is undefined), or ``bootstrap`` is
            negative.
    """
    if isinstance(bootstrap, bool) or not isinstance(bootstrap, int) or bootstrap < 0:
        raise ValueError(f"bootstrap must be a non-negative number of resamples (e.g. 1000), got {bootstrap!r}")
    lookup = _lookup(vectors.words, lowercase)
    model_scores, human_scores = [], []
    for pair in pairs.pairs:
        w1, w2 = (pair.word1.lower(), pair.word2.lower()) if lowercase else (pair.word1, pair.word2)
        if w1 in lookup and w2 in lookup:
            model_scores.append(float(vectors.unit[lookup[w1]] @ vectors.unit[lookup[w2]]))
            human_scores.append(pair.score)
    if len(model_scores) < 2:
        raise ValueError(f"only {len(model_scores)} pair(s) of {pairs.name} are in the vocabulary; "
                         f"train on a larger corpus or lower min_count")
    interval = spearman_interval(model_scores, human_scores, bootstrap, seed) if bootstrap else None
    return SimilarityResult(pairs.name, spearman(model_scores, human_scores), len(model_scores), len(pairs),
                            interval)


@dataclass(frozen=True)
class WeatResult:
    """A WEAT test: effect size (Cohen's d-like, in [-2, 2]) and one-sided permutation p-value."""

    effect_size: float
    p_value: float
    missing: tuple[str, ...]


def weat(vectors: WordVectors, targets_x: Sequence[str], targets_y: Sequence[str], attributes_a: Sequence[str],
         attributes_b: Sequence[str], permutations: int = 10_000, seed: int = 0) -> WeatResult:
    """The Word Embedding Association Test of Caliskan et al. (2017).

    ``s(w) = mean cos(w, A) - mean cos(w, B)``; the effect size is
    ``(mean_{x in X} s(x) - mean_{y in Y} s(y)) / std_{w in X u Y} s(w)`` (sample standard deviation), and the
    p-value is the share of random equal-size re-partitions of ``X u Y`` whose difference of sums is at least
    the observed one. Words missing from the vocabulary are dropped and listed in ``missing``.

    Raises:
        ValueError: if a word set has fewer than 2 words in the vocabulary.
    """
    missing = tuple(w for group in (targets_x, targets_y, attributes_a, attributes_b) for w in group if w not in vectors)
    sets = [[w for w in group if w in vectors] for group in (targets_x, targets_y, attributes_a, attributes_b)]
    for name, group in zip(("X", "Y", "A", "B"), sets):
        if len(group) < 2:
            raise ValueError(f"word set {name} has {len(group)} word(s) in the vocabulary; it needs at least 2")
    x, y, a, b = (vectors.unit[[vectors.index[w] for w in group]] for group in sets)
    targets = np.concatenate([x, y])
    association = (targets @ a.T).mean(axis=1) - (targets @ b.T).mean(axis=1)
    sx, sy = association[:len(x)], association[len(x):]
    effect = (sx.mean() - sy.mean()) / association.std(ddof=1)
    observed = sx.sum() - sy.sum()
    rng = np.random.default_rng(seed)
    total = association.sum()
    samples = np.array([association[rng.permutation(len(association))[:len(x)]].sum() for _ in range(permutations)])
    p_value = float((np.sum(2 * samples - total >= observed) + 1) / (permutations + 1))
    return WeatResult(float(effect), p_value, missing)
