"""GloVe in Keras 3 (Pennington, Socher and Manning, 2014).

GloVe first counts, then fits. :func:`cooccurrence_matrix` builds the sparse matrix ``X`` in which
``X[i, j]`` sums ``1 / d`` over every occurrence of word ``j`` at distance ``d <= window`` from word ``i``
(both directions, within a sentence). The model then fits, for every **non-zero** entry,

    J = sum_{i,j: X_ij > 0} f(X_ij) (w_i . w~_j + b_i + b~_j - log X_ij)^2,
    f(x) = (x / x_max)^alpha if x < x_max else 1     (x_max = 100, alpha = 3/4),

a weighted least-squares regression of log co-occurrence on the dot product of a *word* vector ``w_i``
and a separate *context* vector ``w~_j``, plus two biases. Zero entries are not part of the sum (their
log is undefined), and ``f`` keeps rare, noisy pairs from dominating while capping frequent ones.
The word representation returned is ``w + w~``, as in the paper. This is *not* a factorization of
``C^T C``, and no QR decomposition is involved.

Training is AdaGrad on the entries of shuffled mini-batches, updating only the rows a batch touches
(the reference C code does the same, one entry at a time); with ``keras.ops``, compiled with XLA on the
TensorFlow backend.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

import keras
from keras import ops

from llmbook.embeddings.vectors import WordVectors
from llmbook.text.vocabulary import Vocabulary
from llmbook.backend import compile_function, repeat_step
from llmbook.validation import positive_int


def cooccurrence_matrix(ids: np.ndarray, sentence_ids: np.ndarray, vocabulary_size: int, window: int = 10,
                        distance_weighting: bool = True):
    """The symmetric co-occurrence matrix of a corpus of word ids, built sparsely.

    Args:
        ids: int word ids of the corpus, in order.
        sentence_ids: the sentence of each token; co-occurrences never cross a sentence.
        vocabulary_size: the number of rows and columns.
        window: the largest distance counted.
        distance_weighting: add ``1 / d`` for a pair at distance ``d`` (GloVe); False adds 1.

    Returns:
        A ``scipy.sparse.csr_matrix`` of float64, shape ``(vocabulary_size, vocabulary_size)``.

    Raises:
        ValueError: for a window < 1, arrays of different lengths, or an id outside the vocabulary.
    """
    import scipy.sparse as sparse

    ids = np.asarray(ids, dtype=np.int64)
    sentence_ids = np.asarray(sentence_ids)
    positive_int("window", window)
    if ids.shape != sentence_ids.shape:
        raise ValueError(f"ids {ids.shape} and sentence_ids {sentence_ids.shape} differ in shape")
    if len(ids) and (ids.min() < 0 or ids.max() >= vocabulary_size):
        raise ValueError(f"ids must lie in [0, {vocabulary_size}); got {ids.min()}..{ids.max()}")
    shape = (vocabulary_size, vocabulary_size)
    upper = sparse.csr_matrix(shape, dtype=np.float64)
    for d in range(1, window + 1):
        if d >= len(ids):
            break
        same = sentence_ids[d:] == sentence_ids[:-d]
        left, right = ids[:-d][same], ids[d:][same]
        weight = 1.0 / d if distance_weighting else 1.0
        upper = upper + sparse.csr_matrix((np.full(len(left), weight), (left, right)), shape=shape)
    matrix = (upper + upper.T).tocsr()
    matrix.sum_duplicates()
    return matrix


def weighting(x, x_max: float = 100.0, alpha: float = 0.75):
    """GloVe's weight ``f(x) = min(1, (x / x_max) ** alpha)``."""
    return ops.minimum(1.0, ops.power(x / x_max, alpha))


def glove_loss(word_vectors, context_vectors, word_biases, context_biases, counts, x_max=100.0, alpha=0.75):
    """``f(X_ij) (w_i . w~_j + b_i + b~_j - log X_ij)^2`` for each entry of a batch.

    Args:
        word_vectors, context_vectors: ``(batch, dim)``; word_biases, context_biases, counts: ``(batch,)``.

    Returns:
        ``(batch,)`` weighted squared errors.
    """
    difference = ops.sum(word_vectors * context_vectors, axis=1) + word_biases + context_biases - ops.log(counts)
    return weighting(counts, x_max, alpha) * ops.square(difference)


@keras.saving.register_keras_serializable(package="llmbook")
class GloVe(keras.Model):
    """GloVe's parameters: word vectors, context vectors, and a bias for each.

    Args:
        vocabulary_size: rows of each table. dim: the vector size.
        x_max, alpha: the weighting function's parameters.
        seed: seeds the initial values (uniform in [-0.5, 0.5] / dim, as in the reference code).

    Call: ``model((rows, columns))`` returns the predicted log co-occurrence ``w_i . w~_j + b_i + b~_j``.

    Raises:
        ValueError: for non-positive sizes or x_max, or alpha outside (0, 1].
    """

    def __init__(self, vocabulary_size: int, dim: int = 100, x_max: float = 100.0, alpha: float = 0.75,
                 seed: int = 0, **kwargs):
        super().__init__(**kwargs)
        for name, value in (("vocabulary_size", vocabulary_size), ("dim", dim)):
            positive_int(name, value)
        if not x_max > 0 or not 0 < alpha <= 1:
            raise ValueError(f"need x_max > 0 and 0 < alpha <= 1, got x_max={x_max}, alpha={alpha}")
        self.vocabulary_size, self.dim, self.x_max, self.alpha, self.seed = (
            int(vocabulary_size), int(dim), float(x_max), float(alpha), int(seed))
        scale = 0.5 / self.dim
        # Each table holds a word's vector and, in its last column, its bias, so that a step gathers and
        # scatters two tables instead of four.
        self.word_table = self.add_weight(
            shape=(self.vocabulary_size, self.dim + 1), name="word_table",
            initializer=keras.initializers.RandomUniform(-scale, scale, seed=self.seed))
        self.context_table = self.add_weight(
            shape=(self.vocabulary_size, self.dim + 1), name="context_table",
            initializer=keras.initializers.RandomUniform(-scale, scale, seed=self.seed + 1))
        # AdaGrad's sums of squared gradients, starting at 1 as in the reference code.
        self.squared = [self.add_weight(shape=(self.vocabulary_size, self.dim + 1), initializer="ones",
                                        trainable=False, name=f"adagrad_{name}") for name in ("word", "context")]
        self._steps = None
        self.built = True  # every weight exists from the start

    @property
    def word_vectors(self):
        """``(vocabulary_size, dim)``: the word vectors w."""
        return self.word_table[:, :self.dim]

    @property
    def context_vectors(self):
        """``(vocabulary_size, dim)``: the context vectors w~."""
        return self.context_table[:, :self.dim]

    @property
    def word_biases(self):
        return self.word_table[:, self.dim]

    @property
    def context_biases(self):
        return self.context_table[:, self.dim]

    def get_config(self):
        return {**super().get_config(), "vocabulary_size": self.vocabulary_size, "dim": self.dim,
                "x_max": self.x_max, "alpha": self.alpha, "seed": self.seed}

    def call(self, inputs):
        rows, columns = (ops.convert_to_tensor(x, dtype="int32") for x in inputs)
        return (ops.sum(ops.take(self.word_vectors, rows, axis=0) * ops.take(self.context_vectors, columns, axis=0),
                        axis=1)
                + ops.take(self.word_biases, rows, axis=0) + ops.take(self.context_biases, columns, axis=0))

    def vectors(self) -> np.ndarray:
        """``w + w~``: the word representation GloVe reports."""
        return ops.convert_to_numpy(self.word_vectors) + ops.convert_to_numpy(self.context_vectors)

    def _adagrad(self, table, squared, rows, gradient, learning_rate):
        """Sparse AdaGrad on the given rows, as the reference C code does it.

        The sums accumulate the squared *scaled* gradient ``(learning_rate * g)^2`` (starting at 1), and the
        step is ``learning_rate * g / sqrt(sum)``: the denominators grow slowly, so the effective learning rate
        stays near ``learning_rate`` for a long time. (The sums are updated before the step, not after as in
        the C code: that lets XLA update them in place, which made the step six times faster here.)
        """
        index = rows[:, None]
        scaled = learning_rate * gradient
        squared.assign(ops.scatter_update(squared, index, ops.square(scaled), reduction="add"))
        step = scaled / ops.sqrt(ops.take(squared, rows, axis=0))
        table.assign(ops.scatter_update(table, index, -step, reduction="add"))

    def train_step_sparse(self, rows, columns, counts, weights, learning_rate):
        """One AdaGrad step on a batch of non-zero entries ``(rows[k], columns[k], counts[k])``.

        ``weights`` is 1.0 for a real entry and 0.0 for padding. Returns the summed loss ``sum 0.5 f diff^2``.
        """
        # Backend tensors: NumPy arrays times PyTorch tensors that require grad would fail.
        rows, columns, counts, weights = (ops.convert_to_tensor(a) for a in (rows, columns, counts, weights))
        word = ops.take(self.word_table, rows, axis=0)
        context = ops.take(self.context_table, columns, axis=0)
        w, c = word[:, :self.dim], context[:, :self.dim]
        difference = ops.sum(w * c, axis=1) + word[:, self.dim] + context[:, self.dim] - ops.log(counts)
        scaled = weighting(counts, self.x_max, self.alpha) * difference * weights  # dJ/d(prediction), J = 0.5 f d^2
        self._adagrad(self.word_table, self.squared[0], rows,
                      ops.concatenate([scaled[:, None] * c, scaled[:, None]], axis=1), learning_rate)
        self._adagrad(self.context_table, self.squared[1], columns,
                      ops.concatenate([scaled[:, None] * w, scaled[:, None]], axis=1), learning_rate)
        return ops.sum(0.5 * scaled * difference)

    def train_steps(self, rows, columns, counts, weights, learning_rate):
        """Several steps in one call: the batch arguments stacked on a first axis. Returns the summed loss."""
        return repeat_step(self.train_step_sparse, (rows, columns, counts, weights), learning_rate)

    def compiled_steps(self):
        """:meth:`train_steps`, compiled with XLA on the TensorFlow backend (eager elsewhere)."""
        if self._steps is None:
            self._steps = compile_function(self.train_steps)
        return self._steps


@dataclass
class GloVeResult:
    """What :func:`train_glove` returns: the model, vocabulary, ``w + w~`` vectors, mean loss per epoch,
    the number of non-zero co-occurrences, and the seconds spent counting and fitting."""

    model: GloVe
    vocabulary: Vocabulary
    vectors: WordVectors
    losses: list[float] = field(default_factory=list)
    nonzeros: int = 0
    counting_seconds: float = 0.0
    training_seconds: float = 0.0


def train_glove(sentences: Sequence[Sequence[str]], *, dim: int = 100, window: int = 10, min_count: int = 5,
                epochs: int = 15, learning_rate: float = 0.05, x_max: float = 100.0, alpha: float = 0.75,
                batch_size: int = 512, steps_per_call: int = 64, seed: int = 0,
                vocabulary: Vocabulary | None = None) -> GloVeResult:
    """Count co-occurrences and fit GloVe (defaults of the reference code, except fewer epochs).

    Args:
        sentences: token lists.
        dim, window, min_count: vector size, co-occurrence window, rarest word kept.
        epochs: passes over the shuffled non-zero entries. learning_rate: AdaGrad's initial rate.
        x_max, alpha: the weighting function. batch_size, steps_per_call: as in ``train_word2vec``.
        seed: seeds initialization and shuffling.
        vocabulary: a prebuilt vocabulary (default: built with ``min_count``, no specials and
            first-occurrence ties, as for ``train_word2vec``).

    Returns:
        A :class:`GloVeResult`.

    Raises:
        TypeError: if ``sentences`` is a string. ValueError: for an empty or too-small corpus (no
        co-occurrence at all) or bad sizes.
    """
    if isinstance(sentences, str):
        raise TypeError("sentences must be a list of token lists, not a string")
    for name, value in (("epochs", epochs), ("batch_size", batch_size), ("steps_per_call", steps_per_call)):
        positive_int(name, value)
    start = time.perf_counter()
    if vocabulary is None:
        vocabulary = Vocabulary.build(sentences, min_count=min_count, specials=(), ties="first_occurrence")
    ids, sentence_ids = vocabulary.encode_corpus(sentences)
    matrix = cooccurrence_matrix(ids, sentence_ids, len(vocabulary), window).tocoo()
    if matrix.nnz == 0:
        raise ValueError("the corpus is too small: no two in-vocabulary words co-occur in a window; add text "
                         "or lower min_count")
    counting = time.perf_counter() - start
    rows, columns, counts = matrix.row.astype(np.int32), matrix.col.astype(np.int32), matrix.data.astype(np.float32)
    model = GloVe(len(vocabulary), dim=dim, x_max=x_max, alpha=alpha, seed=seed)
    steps = model.compiled_steps()
    rng = np.random.default_rng(seed)
    chunk = batch_size * steps_per_call
    n = len(counts)
    pad = (-n) % chunk
    weights = np.concatenate([np.ones(n, np.float32), np.zeros(pad, np.float32)])
    rate = ops.convert_to_tensor(np.float32(learning_rate))
    losses = []
    start = time.perf_counter()
    for _ in range(epochs):
        order = np.concatenate([rng.permutation(n), np.zeros(pad, np.int64)])
        epoch_loss = []
        for first in range(0, n + pad, chunk):
            part = order[first:first + chunk]
            shape = (steps_per_call, batch_size)
            epoch_loss.append(steps(rows[part].reshape(shape), columns[part].reshape(shape),
                                    counts[part].reshape(shape), weights[first:first + chunk].reshape(shape), rate))
        losses.append(float(ops.convert_to_numpy(ops.sum(ops.stack(epoch_loss)))) / n)
    training = time.perf_counter() - start
    return GloVeResult(model, vocabulary, WordVectors(vocabulary.tokens, model.vectors()), losses, n, counting,
                       training)
