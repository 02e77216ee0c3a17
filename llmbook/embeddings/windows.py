"""Training examples from a corpus of word ids: skip-gram pairs and CBOW context windows.

Both use word2vec's *dynamic window*: each centre word draws its own window size uniformly from
``1 .. window``, so near neighbours are seen more often than far ones (on average a context word at
distance ``d`` is used with probability ``(window - d + 1) / window``). Windows never cross a sentence.
Everything is vectorized numpy: one pass over the corpus per distance, not a Python loop per word.
"""

from __future__ import annotations

import numpy as np

from llmbook.validation import positive_int


def _window_sizes(n: int, window: int, dynamic: bool, rng: np.random.Generator) -> np.ndarray:
    positive_int("window", window)
    if dynamic:
        return rng.integers(1, window + 1, size=n)
    return np.full(n, window)


def skipgram_pairs(ids: np.ndarray, sentence_ids: np.ndarray, window: int, rng: np.random.Generator,
                   dynamic: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Every (centre, context) pair of the corpus, in corpus order (centre by centre, as word2vec visits them).

    Args:
        ids: int word ids of the (already subsampled) corpus.
        sentence_ids: the sentence of each token; pairs never join two sentences.
        window: the largest distance between centre and context.
        rng: the random generator for the dynamic window sizes.
        dynamic: draw each centre's window size from ``1..window`` (word2vec) or always use ``window``.

    Returns:
        ``(centres, contexts)``, two int32 arrays of equal length.

    Raises:
        ValueError: for a window < 1 or arrays of different lengths.
    """
    ids = np.asarray(ids, dtype=np.int32)
    contexts = _context_matrix(ids, sentence_ids, window, rng, dynamic)
    rows, columns = np.nonzero(contexts >= 0)
    return ids[rows], contexts[rows, columns]


def _context_matrix(ids, sentence_ids, window, rng, dynamic):
    """``(n, 2 * window)`` context ids of every position (left ones, then right ones), -1 where empty."""
    sentence_ids = np.asarray(sentence_ids)
    if ids.shape != sentence_ids.shape:
        raise ValueError(f"ids {ids.shape} and sentence_ids {sentence_ids.shape} differ in shape")
    n = len(ids)
    sizes = _window_sizes(n, window, dynamic, rng)
    contexts = np.full((n, 2 * window), -1, dtype=np.int32)
    for d in range(1, window + 1):
        if d >= n:
            break
        same = sentence_ids[d:] == sentence_ids[:-d]
        left = same & (sizes[d:] >= d)  # centre i + d sees i on its left
        right = same & (sizes[:-d] >= d)  # centre i sees i + d on its right
        contexts[d:, window - d][left] = ids[:-d][left]
        contexts[:-d, window + d - 1][right] = ids[d:][right]
    return contexts


def cbow_windows(ids: np.ndarray, sentence_ids: np.ndarray, window: int, rng: np.random.Generator,
                 dynamic: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Each centre word with its context words, for CBOW.

    Returns:
        ``(centres, contexts)``: ``centres`` int32 of shape ``(n,)`` and ``contexts`` int32 of shape
        ``(n, 2 * window)``, where missing context slots (window edge, sentence edge, dynamic window)
        hold -1. Centres without any context word are left out.

    Raises:
        ValueError: for a window < 1 or arrays of different lengths.
    """
    ids = np.asarray(ids, dtype=np.int32)
    contexts = _context_matrix(ids, sentence_ids, window, rng, dynamic)
    has_context = (contexts >= 0).any(axis=1)
    return ids[has_context], contexts[has_context]
