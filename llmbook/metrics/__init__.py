"""Evaluation metrics, in NumPy: BLEU, classification scores, entity spans and word segmentation, perplexity, Wilson intervals.

Each metric is written out from its definition and tested against the reference implementation:
BLEU and its ``13a`` tokenizer against sacrebleu, the classification scores against scikit-learn,
entity and segmentation scores against seqeval, the paired bootstrap against sacrebleu's. Only
:func:`chrf`, chrF's bootstrap and :func:`sacrebleu_signature` call a library (sacrebleu, imported when
called).
"""

from llmbook.metrics.bleu import BLEUScore, chrf, corpus_bleu, sacrebleu_signature, sentence_bleu, tokenize_13a
from llmbook.metrics.bootstrap import PairedBootstrap, paired_bootstrap
from llmbook.metrics.exposure import canary_rank, chance_exposure, exposure, sampled_exposure
from llmbook.metrics.classification import Scores, accuracy, confusion_matrix, perplexity, precision_recall_f1
from llmbook.metrics.intervals import wilson_interval
from llmbook.metrics.spans import (
    count_invalid_transitions, extract_spans, segment_words, segmentation_scores, segmentation_tags, span_scores,
    span_scores_by_type, word_spans,
)

__all__ = [
    "BLEUScore", "PairedBootstrap", "Scores", "accuracy", "canary_rank", "chance_exposure", "exposure", "sampled_exposure", "chrf", "confusion_matrix", "corpus_bleu", "count_invalid_transitions",
    "extract_spans", "paired_bootstrap", "perplexity", "precision_recall_f1", "sacrebleu_signature", "segment_words",
    "segmentation_scores", "segmentation_tags", "sentence_bleu", "span_scores", "span_scores_by_type", "tokenize_13a", "wilson_interval", "word_spans",
]
from llmbook.metrics.diversity import distinct_n, ngrams, repetition_rate  # noqa: E402

__all__ += ["distinct_n", "ngrams", "repetition_rate"]
