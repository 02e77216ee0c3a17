"""BERT's pre-training data: next-sentence pairs and the 80/10/10 masked-language-model rule.

Devlin et al. (2019) pre-train on two tasks at once:

- **Next-sentence prediction (NSP).** Each example is a pair of text spans A, B. Half of the time B is
  the span that really follows A in its document (label 1, "IsNext"); otherwise B is a span taken from
  another document (label 0, "NotNext").
- **Masked language modelling (MLM).** 15 % of the tokens of each sequence are chosen for prediction
  (special tokens and padding never are). Of the chosen tokens, 80 % are replaced by ``[MASK]``,
  10 % by a random token and 10 % are left unchanged, so that the model cannot learn that only
  ``[MASK]`` positions matter. The loss is computed on the chosen positions only, whatever their input.

As in the original code, every sequence gets exactly ``max(1, round(rate * n))`` chosen positions,
where ``n`` is its number of eligible tokens, so the count is fixed and only the positions are random.

>>> import numpy as np
>>> batch = mask_tokens(np.array([[2, 10, 11, 12, 13, 3, 0]]), np.random.default_rng(0), vocab_size=20,
...                     mask_id=4, special_ids=[0, 1, 2, 3, 4])
>>> int(batch.weights.sum())                # round(0.15 * 5 eligible tokens) = 1 prediction
1
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np


@dataclass(frozen=True)
class MaskedBatch:
    """The inputs and targets of masked language modelling.

    Attributes:
        token_ids: int32 ``(batch, length)``: the input, with chosen positions replaced (80/10/10).
        labels: int32 ``(batch, length)``: the original token ids (the targets).
        weights: float32 ``(batch, length)``: 1.0 at chosen positions, 0.0 elsewhere (the loss weights).
        replacement: int8 ``(batch, length)``: 0 not chosen, 1 ``[MASK]``, 2 random token, 3 kept.
    """

    token_ids: np.ndarray
    labels: np.ndarray
    weights: np.ndarray
    replacement: np.ndarray


NOT_CHOSEN, MASKED, RANDOM, KEPT = 0, 1, 2, 3


def mask_tokens(token_ids, rng: np.random.Generator, *, vocab_size: int, mask_id: int,
                special_ids: Sequence[int], rate: float = 0.15, mask_fraction: float = 0.8,
                random_fraction: float = 0.1) -> MaskedBatch:
    """Choose positions to predict and corrupt them with BERT's 80/10/10 rule.

    Args:
        token_ids: integer array ``(batch, length)`` (or ``(length,)``), with [CLS]/[SEP]/padding in place.
        rng: a ``numpy.random.Generator`` (seed it for reproducible masks).
        vocab_size: number of token ids; random replacements are drawn uniformly from the ids that are
            not in ``special_ids``.
        mask_id: the id of ``[MASK]``.
        special_ids: ids never chosen for prediction (padding, [CLS], [SEP], [MASK], [UNK], ...).
        rate: fraction of eligible tokens chosen per sequence (BERT: 0.15).
        mask_fraction: of the chosen, the fraction replaced by ``[MASK]`` (BERT: 0.8).
        random_fraction: of the chosen, the fraction replaced by a random token (BERT: 0.1); the rest is kept.

    Returns:
        A :class:`MaskedBatch` of the same shape as ``token_ids``.

    Raises:
        ValueError: for a rate outside (0, 1], fractions outside [0, 1] or summing above 1, ids outside
            ``[0, vocab_size)``, or a vocabulary with no non-special token to draw.
        TypeError: if ``rng`` is not a numpy Generator.
    """
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator (np.random.default_rng(seed)), got {type(rng).__name__}")
    if not 0.0 < rate <= 1.0:
        raise ValueError(f"rate must be in (0, 1], got {rate}")
    if not (0.0 <= mask_fraction <= 1.0 and 0.0 <= random_fraction <= 1.0) or mask_fraction + random_fraction > 1.0:
        raise ValueError(f"mask_fraction ({mask_fraction}) and random_fraction ({random_fraction}) must be in [0, 1] "
                         "and sum to at most 1; the remainder is the fraction kept unchanged")
    ids = np.asarray(token_ids)
    squeeze = ids.ndim == 1
    ids = np.atleast_2d(ids).astype(np.int64)
    if ids.ndim != 2:
        raise ValueError(f"token_ids must be (batch, length) or (length,), got shape {np.shape(token_ids)}")
    if ids.size and (ids.min() < 0 or ids.max() >= vocab_size):
        raise ValueError(f"token ids must be in [0, {vocab_size}); got values from {ids.min()} to {ids.max()}")
    special = np.zeros(vocab_size, dtype=bool)
    special[np.asarray(list(special_ids), dtype=np.int64)] = True
    special[mask_id] = True
    drawable = np.flatnonzero(~special)
    if drawable.size == 0:
        raise ValueError("every id is special: there is no token to draw for random replacement")
    eligible = ~special[ids]
    replacement = np.zeros(ids.shape, dtype=np.int8)
    for row in range(ids.shape[0]):
        positions = np.flatnonzero(eligible[row])
        if positions.size == 0:
            continue
        count = max(1, int(round(rate * positions.size)))
        chosen = rng.choice(positions, size=count, replace=False)
        draw = rng.random(count)
        replacement[row, chosen] = np.where(draw < mask_fraction, MASKED,
                                            np.where(draw < mask_fraction + random_fraction, RANDOM, KEPT))
    corrupted = ids.copy()
    corrupted[replacement == MASKED] = mask_id
    n_random = int((replacement == RANDOM).sum())
    corrupted[replacement == RANDOM] = rng.choice(drawable, size=n_random)
    batch = MaskedBatch(corrupted.astype(np.int32), ids.astype(np.int32),
                        (replacement != NOT_CHOSEN).astype(np.float32), replacement)
    if squeeze:
        batch = MaskedBatch(*(getattr(batch, f)[0] for f in ("token_ids", "labels", "weights", "replacement")))
    return batch


@dataclass(frozen=True)
class SentencePair:
    """One NSP example: ``first`` and ``second`` text, ``is_next`` 1 if ``second`` really follows ``first``."""

    first: str
    second: str
    is_next: int
    document: int
    other_document: int


def make_nsp_pairs(documents: Sequence[Sequence[str]], rng: np.random.Generator,
                   next_fraction: float = 0.5) -> list[SentencePair]:
    """One NSP pair for every sentence that has a successor in its document.

    For sentence ``i`` of a document, with probability ``next_fraction`` the pair is (sentence ``i``,
    sentence ``i + 1``) with ``is_next=1``; otherwise (sentence ``i``, a uniformly drawn sentence of a
    uniformly drawn *other* document) with ``is_next=0``, as in BERT.

    Args:
        documents: each document is a list of sentences (strings), in reading order.
        rng: a ``numpy.random.Generator``.
        next_fraction: the probability of a real next sentence (BERT: 0.5).

    Returns:
        The pairs, in document order.

    Raises:
        ValueError: with fewer than two non-empty documents (a random "other document" is needed),
            no document of two sentences or more, or ``next_fraction`` outside [0, 1].
        TypeError: if ``rng`` is not a numpy Generator.
    """
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator (np.random.default_rng(seed)), got {type(rng).__name__}")
    if not 0.0 <= next_fraction <= 1.0:
        raise ValueError(f"next_fraction must be in [0, 1], got {next_fraction}")
    non_empty = [d for d in range(len(documents)) if len(documents[d]) > 0]
    if len(non_empty) < 2:
        raise ValueError(f"NSP needs at least two non-empty documents (random second sentences come from another "
                         f"document); got {len(non_empty)}")
    if not any(len(d) >= 2 for d in documents):
        raise ValueError("no document has two sentences, so there is no real next sentence; split documents into "
                         "sentences first")
    pairs = []
    for d, sentences in enumerate(documents):
        for i in range(len(sentences) - 1):
            if rng.random() < next_fraction:
                pairs.append(SentencePair(sentences[i], sentences[i + 1], 1, d, d))
            else:
                other = d
                while other == d:
                    other = non_empty[int(rng.integers(len(non_empty)))]
                second = documents[other][int(rng.integers(len(documents[other])))]
                pairs.append(SentencePair(sentences[i], second, 0, d, other))
    return pairs


def gather_predictions(batch: MaskedBatch, max_predictions: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The chosen positions of a :class:`MaskedBatch` in the compact form BERT's MLM head consumes.

    Args:
        batch: the output of :func:`mask_tokens` (2-D).
        max_predictions: the number of slots per row (BERT: 20 for 128 tokens).

    Returns:
        ``(positions, labels, weights)``, each ``(batch, max_predictions)``: int32 positions of the chosen
        tokens (0 in unused slots), int32 original ids at those positions, and float32 weights (1 on a
        used slot, 0 on an unused one, so unused slots do not count in the loss).

    Raises:
        ValueError: if a row has more chosen positions than ``max_predictions``.
    """
    chosen = batch.weights.astype(bool)
    if chosen.ndim != 2:
        raise ValueError(f"gather_predictions needs a (batch, length) MaskedBatch, got shape {chosen.shape}")
    most = int(chosen.sum(axis=1).max(initial=0))
    if most > max_predictions:
        raise ValueError(f"a row has {most} chosen positions but max_predictions={max_predictions}; raise "
                         "max_predictions to at least round(rate * length)")
    rows = chosen.shape[0]
    positions = np.zeros((rows, max_predictions), dtype=np.int32)
    labels = np.zeros((rows, max_predictions), dtype=np.int32)
    weights = np.zeros((rows, max_predictions), dtype=np.float32)
    for row in range(rows):
        where = np.flatnonzero(chosen[row])
        positions[row, :where.size] = where
        labels[row, :where.size] = batch.labels[row, where]
        weights[row, :where.size] = 1.0
    return positions, labels, weights
