"""Paired bootstrap resampling (Koehn, 2004): is system B's BLEU (or chrF) better than system A's, on the
same test sentences, by more than the choice of sentences explains?

Both systems translate the same ``n`` sentences. One resample draws ``n`` sentence indices with
replacement; both systems' corpus scores are recomputed on those sentences (BLEU from summed n-gram
counts, not averaged sentence scores). Over ``n_samples`` resamples this gives each system's bootstrap
mean and a 95 % interval, and the spread of the difference.

The p-value is sacrebleu's (``sacrebleu --paired-bs``, after the Moses script
``bootstrap-hypothesis-difference-significance.pl``): the resampled absolute differences
``|B - A|`` are centred at their mean (a null distribution of the difference), and
``p = (1 + #{centred > |observed difference|}) / (1 + n_samples)``. Koehn's own figure, the fraction
of resamples in which B does *not* score above A, is reported beside it
(``PairedBootstrap.fraction_not_better``).

With the same seed, the indices are those sacrebleu draws (``numpy.random.default_rng(seed).choice``), so
the means, intervals and p-value equal sacrebleu's ``PairedTest(..., test_type="bs")`` (the tests check
it); its default seed is 12345.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from llmbook.metrics.bleu import (
    _as_reference_lists, _bleu_from_counts, _reference_streams, _sacrebleu, _sentence_counts, tokenize_13a,
)
from llmbook.validation import positive_int

METRICS = ("bleu", "chrf")
SACREBLEU_SEED = 12345


@dataclass(frozen=True)
class PairedBootstrap:
    """The result of :func:`paired_bootstrap`; scores in percent.

    Attributes:
        metric: ``"bleu"`` or ``"chrf"``.
        baseline_score, system_score: the corpus scores on all sentences.
        baseline_mean, system_mean: the means over the resamples.
        baseline_interval, system_interval: 95 % intervals ``(low, high)``: the resampled scores at
            sorted positions ``n_samples // 40`` and ``n_samples - n_samples // 40 - 1`` (sacrebleu's).
        difference: ``system_score - baseline_score``.
        difference_interval: the 95 % interval of the resampled differences, the same way.
        p_value: sacrebleu's paired-bootstrap p-value (module docstring).
        fraction_not_better: Koehn's figure, the fraction of resamples where the system does not score
            above the baseline (small: the system is better).
        n_samples, seed: the resampling's settings.
    """

    metric: str
    baseline_score: float
    system_score: float
    baseline_mean: float
    system_mean: float
    baseline_interval: tuple[float, float]
    system_interval: tuple[float, float]
    difference: float
    difference_interval: tuple[float, float]
    p_value: float
    fraction_not_better: float
    n_samples: int
    seed: int | None


def _bleu_statistics(hypotheses, reference_lists, tokenize: str, lowercase: bool):
    split = tokenize_13a if tokenize == "13a" else str.split

    def prepare(sentence: str) -> list[str]:
        if not isinstance(sentence, str):
            raise TypeError(f"a sentence must be a str, got {type(sentence).__name__}: {sentence!r}")
        return split((sentence.lower() if lowercase else sentence).rstrip())

    rows = []
    for hypothesis, references in zip(hypotheses, reference_lists):
        tokens = prepare(hypothesis)
        matches, totals, closest = _sentence_counts(tokens, [prepare(r) for r in references], 4)
        rows.append([len(tokens), closest, *matches, *totals])
    return np.asarray(rows, dtype=np.int64)


def _bleu_score(summed) -> float:
    summed = [int(v) for v in summed]
    return _bleu_from_counts(summed[2:6], summed[6:10], summed[0], summed[1], "exp", None, False, 4).score


def _interval(scores: np.ndarray) -> tuple[float, float]:
    ordered = np.sort(scores)
    low = len(ordered) // 40
    return float(ordered[low]), float(ordered[len(ordered) - low - 1])


def paired_bootstrap(baseline, system, references, *, metric: str = "bleu", n_samples: int = 1000,
                     seed: int | None = SACREBLEU_SEED, tokenize: str = "13a", lowercase: bool = False,
                     **chrf_options) -> PairedBootstrap:
    """Paired bootstrap resampling of two systems' corpus BLEU or chrF on the same references.

    Args:
        baseline: system A's outputs, one string per sentence.
        system: system B's outputs for the same sentences, in the same order.
        references: ``references[i]``: the reference (a str) or references (a list of str) of sentence
            ``i``, as in :func:`~llmbook.metrics.bleu.corpus_bleu`.
        metric: ``"bleu"`` (:func:`~llmbook.metrics.bleu.corpus_bleu` with its defaults) or ``"chrf"``
            (sacrebleu's chrF, as :func:`~llmbook.metrics.bleu.chrf`).
        n_samples: resamples (sacrebleu's default is 1000).
        seed: the seed of ``numpy.random.default_rng``; None draws fresh entropy (not reproducible).
        tokenize, lowercase: BLEU's options (``"13a"`` or ``"none"``).
        **chrf_options: passed to ``sacrebleu.metrics.CHRF`` when ``metric="chrf"``.

    Returns:
        A :class:`PairedBootstrap`.

    Raises:
        TypeError: if the outputs or references are not lists of strings.
        ValueError: for systems of different lengths, an empty corpus, an unknown metric or tokenizer,
            a non-positive ``n_samples``, or chrF options given for BLEU.
        ImportError: for ``metric="chrf"`` without sacrebleu.

    A system that copies the references against one that drops each sentence's last two words:

    >>> references = ["the cat sat on the mat today", "a dog barks at the moon tonight",
    ...               "it rains in the north of the country"]
    >>> shorter = [" ".join(r.split()[:-2]) for r in references]
    >>> result = paired_bootstrap(shorter, references, references, n_samples=100, seed=0)
    >>> round(result.system_score, 6), result.fraction_not_better
    (100.0, 0.0)
    """
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")
    if tokenize not in ("13a", "none"):
        raise ValueError(f"tokenize must be '13a' or 'none', got {tokenize!r}")
    n_samples = positive_int("n_samples", n_samples)
    reference_lists = _as_reference_lists(baseline, references)
    _as_reference_lists(system, references)
    if chrf_options and metric != "chrf":
        raise ValueError(f"options {sorted(chrf_options)} are chrF's; pass metric='chrf' or drop them")
    n = len(baseline)
    if metric == "bleu":
        stats = [_bleu_statistics(h, reference_lists, tokenize, lowercase) for h in (baseline, system)]
        score = _bleu_score
    else:
        chrf = _sacrebleu().metrics.CHRF(**chrf_options)
        streams = _reference_streams(baseline, references)
        stats = [np.asarray(chrf._extract_corpus_statistics(list(h), streams), dtype=np.int64)
                 for h in (baseline, system)]

        def score(summed):
            return float(chrf._compute_score_from_stats(list(summed)).score)

    full = [score(s.sum(axis=0)) for s in stats]
    indices = np.random.default_rng(seed).choice(n, size=(n_samples, n), replace=True)
    resampled = [np.array([score(s[row].sum(axis=0)) for row in indices]) for s in stats]
    differences = resampled[1] - resampled[0]
    absolute = np.abs(differences)
    centred = absolute - absolute.mean()
    p_value = (int(np.sum(centred > abs(full[1] - full[0]))) + 1) / (n_samples + 1)
    return PairedBootstrap(
        metric=metric, baseline_score=full[0], system_score=full[1], baseline_mean=float(resampled[0].mean()),
        system_mean=float(resampled[1].mean()), baseline_interval=_interval(resampled[0]),
        system_interval=_interval(resampled[1]), difference=full[1] - full[0],
        difference_interval=_interval(differences), p_value=p_value,
        fraction_not_better=float(np.mean(differences <= 0)), n_samples=n_samples, seed=seed)
