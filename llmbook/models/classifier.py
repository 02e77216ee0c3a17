"""A fastText-style text classifier: the mean of n-gram embeddings, then one linear layer.

fastText (Joulin et al., 2017) represents a text as the average of the embeddings of its words and
word n-grams and classifies that average with a linear layer. It has no word order beyond what the
n-grams hold, no attention and no recurrence, and it trains in seconds on a CPU. Two parts:

- :class:`NgramVocabulary` turns token sequences (the characters of a Chinese review, the words of an
  English sentence) into padded arrays of n-gram ids, with 0 as padding; n-grams not seen often
  enough in training are dropped.
- :class:`BagOfNgramsClassifier` is the Keras model: ids -> embeddings -> masked mean -> dropout ->
  logits.

>>> import numpy as np
>>> vocabulary = NgramVocabulary.build([list("很好"), list("很差")], ngram_range=(1, 2), min_count=1)
>>> ids = vocabulary.encode([list("很好"), list("太差")], max_length=4)
>>> ids.shape, ids.dtype.name, int((ids[1] > 0).sum())  # "太" and "太差" are unseen
((2, 4), 'int32', 1)
>>> model = BagOfNgramsClassifier(len(vocabulary), num_classes=2, embedding_dim=8, seed=0)
>>> tuple(model(ids).shape)
(2, 2)
"""

from __future__ import annotations

from collections import Counter
from typing import Sequence

import keras
import numpy as np
from keras import ops

from llmbook.validation import non_negative_int, positive_int, unit_rate

__all__ = ["BagOfNgramsClassifier", "NgramVocabulary"]


def _check_token_lists(name: str, sequences) -> list:
    if isinstance(sequences, str):
        raise TypeError(f"{name} must be a list of token lists, got a string; wrap one text as [tokens]")
    sequences = list(sequences)
    for i, tokens in enumerate(sequences):
        if isinstance(tokens, str):
            raise TypeError(f"{name}[{i}] is a string, not a list of tokens: pass list(text) for characters "
                            "or text.split() for words")
    return sequences


def _ngrams(tokens: Sequence[str], low: int, high: int) -> list[tuple[str, ...]]:
    tokens = tuple(tokens)
    return [tokens[i:i + n] for n in range(low, high + 1) for i in range(len(tokens) - n + 1)]


class NgramVocabulary:
    """The n-grams of a training set that occur at least ``min_count`` times, numbered from 1.

    Build it with :meth:`NgramVocabulary.build` on the training texts only, then encode any texts
    with :meth:`NgramVocabulary.encode`.

    Attributes:
        ngrams: the kept n-grams (tuples of tokens), in id order: ``ngrams[i]`` has id ``i + 1``.
        ngram_range: the ``(shortest, longest)`` n-gram length.
    """

    def __init__(self, ngrams: Sequence[tuple[str, ...]], ngram_range: tuple[int, int]):
        self.ngrams = list(ngrams)
        self.ngram_range = tuple(ngram_range)
        self.index = {gram: i + 1 for i, gram in enumerate(self.ngrams)}

    def __len__(self) -> int:
        """The number of ids, padding (0) included: the ``vocabulary_size`` of the model."""
        return len(self.ngrams) + 1

    @classmethod
    def build(cls, sequences, ngram_range: tuple[int, int] = (1, 2), min_count: int = 2) -> "NgramVocabulary":
        """Count the n-grams of ``sequences`` and keep those seen ``min_count`` times or more.

        Args:
            sequences: token lists, e.g. ``[list(text) for text in train_texts]``.
            ngram_range: ``(shortest, longest)`` n-gram length, ``1 <= shortest <= longest``.
            min_count: the fewest occurrences an n-gram needs to get an id.

        Returns:
            An :class:`NgramVocabulary`; ties in frequency keep the order of first occurrence.

        Raises:
            TypeError: if ``sequences`` is a string or holds strings instead of token lists.
            ValueError: for a bad ``ngram_range`` or ``min_count``, or if no n-gram reaches ``min_count``.
        """
        sequences = _check_token_lists("sequences", sequences)
        low, high = cls._check_range(ngram_range)
        min_count = positive_int("min_count", min_count)
        counts = Counter(gram for tokens in sequences for gram in _ngrams(tokens, low, high))
        kept = [gram for gram, count in counts.most_common() if count >= min_count]
        if not kept:
            raise ValueError(f"no n-gram occurs {min_count} times in {len(sequences)} sequences: "
                             "pass more text or a lower min_count")
        return cls(kept, (low, high))

    @staticmethod
    def _check_range(ngram_range) -> tuple[int, int]:
        try:
            low, high = ngram_range
        except (TypeError, ValueError):
            raise ValueError(f"ngram_range must be a pair (shortest, longest), got {ngram_range!r}") from None
        low, high = positive_int("ngram_range[0]", low), positive_int("ngram_range[1]", high)
        if low > high:
            raise ValueError(f"ngram_range must have shortest <= longest, got {ngram_range!r}")
        return low, high

    def encode(self, sequences, max_length: int = 256) -> np.ndarray:
        """Padded n-gram ids: an int32 array ``(len(sequences), max_length)``, 0 after the last id.

        Unknown n-grams are dropped; a text with more than ``max_length`` known n-grams keeps the
        first ``max_length`` (all unigrams come before all bigrams, and so on). A text with no known
        n-gram is all padding, and the model gives it the logits of its bias alone.

        Raises:
            TypeError: as :meth:`NgramVocabulary.build`.
            ValueError: if ``max_length`` is not a positive integer.
        """
        sequences = _check_token_lists("sequences", sequences)
        max_length = positive_int("max_length", max_length)
        low, high = self.ngram_range
        ids = np.zeros((len(sequences), max_length), dtype=np.int32)
        for row, tokens in enumerate(sequences):
            known = [self.index[g] for g in _ngrams(tokens, low, high) if g in self.index][:max_length]
            ids[row, :len(known)] = known
        return ids


@keras.saving.register_keras_serializable(package="llmbook")
class BagOfNgramsClassifier(keras.Model):
    """fastText-style classifier: logits = W · mean(embedding of each n-gram id) + b.

    Args:
        vocabulary_size: the number of ids, padding (id 0) included (``len(NgramVocabulary)``).
        num_classes: the number of classes (at least 2); the model returns one logit per class.
        embedding_dim: the size of each n-gram embedding.
        dropout: the dropout rate on the mean embedding, in training.
        seed: seeds the initializers and dropout.

    Call args:
        ids: integer ids, shape ``(batch, length)``; 0 is padding and is left out of the mean.
        training: whether dropout is active.

    Returns (of a call):
        Logits of shape ``(batch, num_classes)``; train with
        ``SparseCategoricalCrossentropy(from_logits=True)``.

    Raises:
        ValueError: for bad sizes or rates, or ids that are not 2-D.

    >>> import numpy as np
    >>> model = BagOfNgramsClassifier(vocabulary_size=10, num_classes=3, embedding_dim=4, seed=0)
    >>> logits = model(np.array([[1, 2, 0], [0, 0, 0]], dtype="int32"))
    >>> tuple(logits.shape), model.count_params()  # 10*4 embeddings + 4*3 weights + 3 biases
    ((2, 3), 55)
    """

    def __init__(self, vocabulary_size: int, num_classes: int = 2, embedding_dim: int = 32,
                 dropout: float = 0.0, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.vocabulary_size = positive_int("vocabulary_size", vocabulary_size, minimum=2)
        self.num_classes = positive_int("num_classes", num_classes, minimum=2)
        self.embedding_dim = positive_int("embedding_dim", embedding_dim)
        self.dropout_rate = unit_rate("dropout", dropout)
        self.seed = None if seed is None else non_negative_int("seed", seed)
        self.embedding = keras.layers.Embedding(
            self.vocabulary_size, self.embedding_dim, name="embedding",
            embeddings_initializer=keras.initializers.RandomUniform(-0.1, 0.1, seed=self.seed))
        self.dropout_layer = keras.layers.Dropout(self.dropout_rate, seed=self.seed)
        self.output_layer = keras.layers.Dense(
            self.num_classes, name="logits",
            kernel_initializer=keras.initializers.GlorotUniform(seed=None if self.seed is None else self.seed + 1))

    def mean_embedding(self, ids, training=False):
        """The mean embedding of the non-padding ids of each row, ``(batch, embedding_dim)``; zeros for
        an all-padding row."""
        if len(ids.shape) != 2:
            raise ValueError(f"ids must be 2-D (batch, length) integer ids, got shape {tuple(ids.shape)}; "
                             "encode texts with NgramVocabulary.encode")
        ids = ops.cast(ids, "int32")
        mask = ops.cast(ops.not_equal(ids, 0), self.embedding.compute_dtype)
        summed = ops.sum(self.embedding(ids) * mask[:, :, None], axis=1)
        count = ops.maximum(ops.sum(mask, axis=1, keepdims=True), 1.0)
        return self.dropout_layer(summed / count, training=training)

    def call(self, ids, training=False):
        return self.output_layer(self.mean_embedding(ids, training=training))

    def get_config(self):
        config = super().get_config()
        config.update(vocabulary_size=self.vocabulary_size, num_classes=self.num_classes,
                      embedding_dim=self.embedding_dim, dropout=self.dropout_rate, seed=self.seed)
        return config
