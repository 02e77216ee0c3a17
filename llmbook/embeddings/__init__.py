"""Word vectors: word2vec (skip-gram, CBOW) and GloVe in Keras 3, and their evaluation.

Their vocabulary is ``llmbook.text.Vocabulary`` built with ``specials=()`` and ``ties="first_occurrence"``.

>>> from llmbook.embeddings import train_word2vec, evaluate_analogies   # doctest: +SKIP
"""

from llmbook.embeddings.evaluation import (AnalogyResult, SimilarityResult, WeatResult, evaluate_analogies,
                                           evaluate_similarity, spearman, spearman_interval, weat)
from llmbook.embeddings.sampling import keep_probabilities, negative_table, subsample, unigram_distribution
from llmbook.embeddings.vectors import WordVectors
from llmbook.embeddings.windows import cbow_windows, skipgram_pairs

_LAZY = {
    "Word2Vec": "word2vec", "Word2VecResult": "word2vec", "train_word2vec": "word2vec", "sgns_loss": "word2vec",
    "sgns_gradients": "word2vec",
    "GloVe": "glove", "GloVeResult": "glove", "train_glove": "glove", "cooccurrence_matrix": "glove",
    "glove_loss": "glove",
}


def __getattr__(name):
    """Import the Keras models on first use, so that the numpy parts load without TensorFlow."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"llmbook.embeddings.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'llmbook.embeddings' has no attribute {name!r}")


__all__ = [
    "AnalogyResult", "SimilarityResult", "WeatResult", "WordVectors",
    "cbow_windows", "evaluate_analogies", "evaluate_similarity", "keep_probabilities", "negative_table",
    "skipgram_pairs", "spearman", "spearman_interval", "subsample", "unigram_distribution", "weat", *_LAZY,
]
