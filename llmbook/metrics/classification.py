"""Classification scores from the confusion matrix: accuracy, precision, recall, F1; and perplexity.

For a class :math:`k`, with :math:`TP_k` examples of class k predicted as k, :math:`FP_k` others
predicted as k and :math:`FN_k` examples of k predicted as something else:

- precision :math:`P_k = TP_k / (TP_k + FP_k)`, recall :math:`R_k = TP_k / (TP_k + FN_k)`,
- :math:`F1_k = 2 P_k R_k / (P_k + R_k) = 2 TP_k / (2 TP_k + FP_k + FN_k)` (the second form is the one
  computed, so a class never predicted and never present is the only one without an F1);
- averages: **macro** (the plain mean over classes), **weighted** (the mean weighted by each class's
  support, its number of true examples), **micro** (precision, recall and F1 of the summed counts; with
  every class included it equals the accuracy).

A ratio whose denominator is 0 takes ``zero_division`` (0 by default, as scikit-learn's default).
The tests check every function against scikit-learn.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["Scores", "accuracy", "confusion_matrix", "precision_recall_f1", "perplexity"]

AVERAGES = (None, "macro", "micro", "weighted")


def _labels_1d(name: str, values) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be 1-D (one label per example), got shape {array.shape}; "
                         "for one-hot rows or class probabilities pass their argmax(axis=-1)")
    return array


def _pair(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    y_true, y_pred = _labels_1d("y_true", y_true), _labels_1d("y_pred", y_pred)
    if len(y_true) != len(y_pred):
        raise ValueError(f"y_true has {len(y_true)} labels but y_pred has {len(y_pred)}: pass one of each per example")
    if len(y_true) == 0:
        raise ValueError("y_true and y_pred are empty: pass at least one example")
    return y_true, y_pred


def accuracy(y_true, y_pred) -> float:
    """The fraction of examples whose predicted label equals the true one.

    Args:
        y_true: the true labels, 1-D (ints or strings).
        y_pred: the predicted labels, same length.

    Returns:
        A float in [0, 1].

    Raises:
        ValueError: if the arrays are not 1-D, differ in length or are empty.

    >>> accuracy([0, 1, 1, 2], [0, 1, 2, 2])
    0.75
    """
    y_true, y_pred = _pair(y_true, y_pred)
    return float(np.mean(y_true == y_pred))


def confusion_matrix(y_true, y_pred, labels=None) -> np.ndarray:
    """Counts ``C[i, j]`` of examples of class ``labels[i]`` predicted as ``labels[j]``.

    Rows are true classes and columns predicted ones, as in scikit-learn.

    Args:
        y_true: the true labels, 1-D.
        y_pred: the predicted labels, same length.
        labels: the classes in row/column order; by default the sorted union of both arrays. It may
            list classes that never occur (their rows and columns are 0) but must include every label
            that does.

    Returns:
        An int64 array of shape ``(len(labels), len(labels))``.

    Raises:
        ValueError: for arrays that are not 1-D, differ in length or are empty, repeated entries in
            ``labels``, or a label missing from ``labels``.

    >>> confusion_matrix(["cat", "dog", "dog", "cat"], ["cat", "cat", "dog", "cat"])
    array([[2, 0],
           [1, 1]])
    """
    y_true, y_pred = _pair(y_true, y_pred)
    present = np.union1d(y_true, y_pred)
    if labels is None:
        labels = present
    else:
        labels = _labels_1d("labels", labels)
        if len(np.unique(labels)) != len(labels):
            raise ValueError(f"labels has repeated entries: {labels.tolist()}")
        missing = np.setdiff1d(present, labels)
        if len(missing):
            raise ValueError(f"labels lacks {missing.tolist()}, which occur in y_true or y_pred: add them")
    index = {label: i for i, label in enumerate(labels.tolist())}
    matrix = np.zeros((len(labels), len(labels)), dtype=np.int64)
    np.add.at(matrix, ([index[t] for t in y_true.tolist()], [index[p] for p in y_pred.tolist()]), 1)
    return matrix


class Scores(NamedTuple):
    """Precision, recall, F1 and support: arrays per class (``average=None``) or floats (an average).

    ``support`` is the number of true examples per class, or their total for an average.
    """

    precision: np.ndarray | float
    recall: np.ndarray | float
    f1: np.ndarray | float
    support: np.ndarray | int


def _divide(numerator, denominator, zero_division: float):
    numerator, denominator = np.asarray(numerator, dtype=float), np.asarray(denominator, dtype=float)
    safe = np.where(denominator == 0, 1.0, denominator)
    return np.where(denominator == 0, zero_division, numerator / safe)


def precision_recall_f1(y_true, y_pred, average: str | None = None, zero_division: float = 0.0) -> Scores:
    """Precision, recall and F1 per class or averaged (module docstring), over the classes present.

    The classes are the sorted union of ``y_true`` and ``y_pred`` (the order of
    :func:`confusion_matrix`).

    Args:
        y_true: the true labels, 1-D.
        y_pred: the predicted labels, same length.
        average: ``None`` (per class), ``"macro"``, ``"micro"`` or ``"weighted"``.
        zero_division: the value of a ratio with denominator 0 (0.0 or 1.0 usually).

    Returns:
        :class:`Scores`.

    Raises:
        ValueError: for bad label arrays (see :func:`confusion_matrix`), an unknown ``average`` or a
            ``zero_division`` outside [0, 1].

    Three classes by hand: class 0 has TP 1, FP 0, FN 1 (P 1, R 1/2, F1 2/3); class 1 has TP 1, FP 1,
    FN 0 (P 1/2, R 1, F1 2/3); class 2 has TP 1, FP 0, FN 0. Macro F1 = (2/3 + 2/3 + 1) / 3 = 7/9;
    micro F1 = 3 correct of 4 = accuracy:

    >>> per_class = precision_recall_f1([0, 0, 1, 2], [0, 1, 1, 2])
    >>> per_class.precision.tolist(), per_class.recall.tolist(), per_class.support.tolist()
    ([1.0, 0.5, 1.0], [0.5, 1.0, 1.0], [2, 1, 1])
    >>> round(precision_recall_f1([0, 0, 1, 2], [0, 1, 1, 2], "macro").f1, 6), round(7 / 9, 6)
    (0.777778, 0.777778)
    >>> precision_recall_f1([0, 0, 1, 2], [0, 1, 1, 2], "micro").f1
    0.75
    """
    if average not in AVERAGES:
        raise ValueError(f"average must be one of {AVERAGES}, got {average!r}")
    if isinstance(zero_division, bool) or not isinstance(zero_division, (int, float)) or not 0 <= zero_division <= 1:
        raise ValueError(f"zero_division must be a number in [0, 1], got {zero_division!r}")
    matrix = confusion_matrix(y_true, y_pred)
    true_positives = np.diag(matrix)
    predicted, support = matrix.sum(axis=0), matrix.sum(axis=1)
    if average == "micro":
        true_positives, predicted = true_positives.sum(), predicted.sum()
        support_total = support.sum()
        return Scores(float(_divide(true_positives, predicted, zero_division)),
                      float(_divide(true_positives, support_total, zero_division)),
                      float(_divide(2 * true_positives, predicted + support_total, zero_division)), int(support_total))
    precision = _divide(true_positives, predicted, zero_division)
    recall = _divide(true_positives, support, zero_division)
    f1 = _divide(2 * true_positives, predicted + support, zero_division)
    if average is None:
        return Scores(precision, recall, f1, support)
    weights = support if average == "weighted" else np.ones_like(support)
    return Scores(*(float(np.average(values, weights=weights)) for values in (precision, recall, f1)),
                  int(support.sum()))


def perplexity(token_losses) -> float:
    """Perplexity: the exponential of the mean per-token cross-entropy.

    For a text of :math:`N` predicted tokens, with :math:`\\ell_i = -\\ln p(w_i \\mid w_{<i})` the
    cross-entropy (negative log-likelihood, in nats) of token :math:`i`,
    :math:`\\text{PPL} = \\exp\\big(\\tfrac1N \\sum_i \\ell_i\\big) = \\big(\\prod_i p(w_i \\mid w_{<i})\\big)^{-1/N}`:
    the number of equally likely choices that would be as surprising. A model that gives every token
    probability 1/V has perplexity V; a token of probability 0 makes it infinite.

    Args:
        token_losses: the per-token losses in nats, any shape (flattened); ``inf`` is allowed.

    Returns:
        The perplexity, a float >= 1 when every loss is >= 0.

    Raises:
        ValueError: if there are no losses, or one is NaN or negative (a log-probability passed
            without its minus sign).

    Two tokens of probability 1/2 and 1/8: PPL = (1/2 * 1/8)^(-1/2) = 4:

    >>> round(perplexity([-np.log(1 / 2), -np.log(1 / 8)]), 12)
    4.0
    """
    losses = np.asarray(token_losses, dtype=float).ravel()
    if losses.size == 0:
        raise ValueError("token_losses is empty: pass at least one token's cross-entropy")
    if np.isnan(losses).any():
        raise ValueError("token_losses contains NaN")
    if (losses < 0).any():
        raise ValueError(f"token_losses has negative entries (min {losses.min():.4g}): pass the negative "
                         "log-probability -log p, not log p")
    return float(np.exp(losses.mean()))
