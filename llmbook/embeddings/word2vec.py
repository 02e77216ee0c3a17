"""word2vec in Keras 3: skip-gram and CBOW with negative sampling (Mikolov et al., 2013).

The model is two embedding tables: *input* vectors (the word vectors one keeps) and *output* vectors
(used only to score a (word, context) pair). For one input vector ``u`` (skip-gram: the centre word;
CBOW: the mean of the context words), its true output word ``o`` and ``K`` noise words ``n_1..n_K`` drawn
from the unigram^0.75 distribution, the skip-gram-negative-sampling (SGNS) loss is

    L = -log sigmoid(u . v_o) - sum_k log sigmoid(-u . v_{n_k})

and its gradient is, with ``e_o = sigmoid(u . v_o) - 1`` and ``e_k = sigmoid(u . v_{n_k})``:

    dL/du = e_o v_o + sum_k e_k v_{n_k},   dL/dv_o = e_o u,   dL/dv_{n_k} = e_k u.

:func:`sgns_loss` and :func:`sgns_gradients` compute both with ``keras.ops``. Training
(:func:`train_word2vec`) is plain SGD on the rows a batch touches, with the learning rate decaying
linearly, as in word2vec: autodiff and a Keras optimizer would update both whole tables at every step,
which is what made earlier prototypes slow. The update step uses only ``keras.ops``; on the TensorFlow
backend it is compiled with XLA, which performs the scatter-adds in place.

Like the C tool and gensim (and unlike the exact gradient of a mean), CBOW adds the full gradient of
its hidden vector to every context word.

One job, kept in one module: the skip-gram/CBOW model with negative sampling and its training loop
(about a third of the lines are docstrings).
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Iterable, Sequence

import numpy as np

import keras
from keras import ops

from llmbook.embeddings.sampling import keep_probabilities, negative_table, subsample
from llmbook.embeddings.vectors import WordVectors
from llmbook.embeddings.windows import cbow_windows, skipgram_pairs
from llmbook.text.vocabulary import Vocabulary
from llmbook.backend import compile_function, repeat_step
from llmbook.validation import positive_int

ARCHITECTURES = ("skipgram", "cbow")


def sgns_loss(input_vectors, output_vectors, weights=None):
    """The negative-sampling loss of each example.

    Args:
        input_vectors: ``(batch, dim)``, the vector ``u`` of each example.
        output_vectors: ``(batch, 1 + K, dim)``; row 0 is the true output word, rows 1..K the noise words.
        weights: optional ``(batch, 1 + K)`` weights of each term (0 switches a term off).

    Returns:
        ``(batch,)`` losses ``-log sigmoid(u.v_o) - sum_k log sigmoid(-u.v_k)``.
    """
    scores = ops.einsum("bd,bkd->bk", input_vectors, output_vectors)
    signs = ops.concatenate([ops.ones_like(scores[:, :1]), -ops.ones_like(scores[:, 1:])], axis=1)
    terms = -ops.log_sigmoid(signs * scores)
    if weights is not None:
        terms = terms * weights
    return ops.sum(terms, axis=1)


def sgns_gradients(input_vectors, output_vectors, weights=None):
    """The gradient of :func:`sgns_loss` (summed over the batch), in closed form.

    Returns:
        ``(d_input, d_output, losses)`` with shapes ``(batch, dim)``, ``(batch, 1 + K, dim)``, ``(batch,)``.
    """
    scores = ops.einsum("bd,bkd->bk", input_vectors, output_vectors)
    labels = ops.concatenate([ops.ones_like(scores[:, :1]), ops.zeros_like(scores[:, 1:])], axis=1)
    errors = ops.sigmoid(scores) - labels  # dL/dscore
    signs = 1.0 - 2.0 * labels
    terms = -ops.log_sigmoid(-signs * scores)
    if weights is not None:
        errors = errors * weights
        terms = terms * weights
    d_input = ops.einsum("bk,bkd->bd", errors, output_vectors)
    d_output = errors[:, :, None] * input_vectors[:, None, :]
    return d_input, d_output, ops.sum(terms, axis=1)


@keras.saving.register_keras_serializable(package="llmbook")
class Word2Vec(keras.Model):
    """Skip-gram or CBOW word2vec with negative sampling.

    Args:
        vocabulary_size: the number of words (rows of both tables).
        dim: the vector size.
        architecture: ``"skipgram"`` (predict each context word from the centre word) or ``"cbow"``
            (predict the centre word from the mean of its context words).
        negative: noise words per positive example (K).
        seed: seeds the initial vectors and the noise-word draws.

    Call: ``model((inputs, outputs))`` returns the scores ``u . v`` of shape ``(batch, n_outputs)``.
    ``inputs`` is ``(batch,)`` word ids (skip-gram) or ``(batch, 2 * window)`` ids with -1 for empty
    slots (CBOW); ``outputs`` is ``(batch, n_outputs)`` word ids.

    Raises:
        ValueError: for an unknown architecture or a non-positive size.

    >>> model = Word2Vec(vocabulary_size=10, dim=4)
    >>> tuple(model((np.array([1, 2]), np.array([[3, 4], [5, 6]]))).shape)
    (2, 2)
    """

    def __init__(self, vocabulary_size: int, dim: int = 100, architecture: str = "skipgram", negative: int = 5,
                 seed: int = 0, **kwargs):
        super().__init__(**kwargs)
        if architecture not in ARCHITECTURES:
            raise ValueError(f"architecture must be 'skipgram' or 'cbow', got {architecture!r}")
        for name, value in (("vocabulary_size", vocabulary_size), ("dim", dim), ("negative", negative)):
            positive_int(name, value)
        self.vocabulary_size, self.dim, self.architecture = int(vocabulary_size), int(dim), architecture
        self.negative, self.seed = int(negative), int(seed)
        # word2vec's initialization: small uniform input vectors, zero output vectors.
        self.input_vectors = self.add_weight(
            shape=(self.vocabulary_size, self.dim), name="input_vectors",
            initializer=keras.initializers.RandomUniform(-0.5 / self.dim, 0.5 / self.dim, seed=self.seed))
        self.output_vectors = self.add_weight(shape=(self.vocabulary_size, self.dim), name="output_vectors",
                                              initializer="zeros")
        self._step = None
        self.built = True  # every weight exists from the start

    def get_config(self):
        return {**super().get_config(), "vocabulary_size": self.vocabulary_size, "dim": self.dim,
                "architecture": self.architecture, "negative": self.negative, "seed": self.seed}

    def hidden(self, inputs):
        """The input vector ``u`` of each example: the centre word's row, or the mean of the context rows."""
        inputs = ops.convert_to_tensor(inputs, dtype="int32")
        if self.architecture == "skipgram":
            return ops.take(self.input_vectors, inputs, axis=0)
        mask = ops.cast(inputs >= 0, self.input_vectors.dtype)
        rows = ops.take(self.input_vectors, ops.maximum(inputs, 0), axis=0) * mask[:, :, None]
        return ops.sum(rows, axis=1) / ops.maximum(ops.sum(mask, axis=1, keepdims=True), 1.0)

    def call(self, inputs):
        inputs, outputs = inputs
        outputs = ops.convert_to_tensor(outputs, dtype="int32")
        return ops.einsum("bd,bkd->bk", self.hidden(inputs), ops.take(self.output_vectors, outputs, axis=0))

    def train_step_sparse(self, inputs, outputs, weights, learning_rate):
        """One SGD step on a batch; only the rows it touches change. Returns the summed loss.

        Args:
            inputs: ``(batch,)`` centre ids (skip-gram) or ``(batch, 2 * window)`` context ids (CBOW, -1 = empty).
            outputs: ``(batch, 1 + K)`` int32: column 0 the word to predict (skip-gram: a context word; CBOW:
                the centre word), columns 1..K noise words (see :func:`draw_noise`).
            weights: ``(batch,)`` 1.0 for a real example, 0.0 for padding.
            learning_rate: a float32 scalar.
        """
        # Backend tensors: NumPy arrays times PyTorch tensors that require grad would fail.
        inputs, outputs, weights = (ops.convert_to_tensor(a) for a in (inputs, outputs, weights))
        targets = outputs[:, :1]
        # A noise word equal to the true word is skipped, as in word2vec.
        term_weights = ops.concatenate(
            [ops.ones_like(targets, dtype="float32"), ops.cast(outputs[:, 1:] != targets, "float32")], axis=1)
        term_weights = term_weights * weights[:, None]
        hidden = self.hidden(inputs)
        out_rows = ops.take(self.output_vectors, outputs, axis=0)
        d_hidden, d_output, losses = sgns_gradients(hidden, out_rows, term_weights)
        self.output_vectors.assign(ops.scatter_update(
            self.output_vectors, ops.reshape(outputs, (-1, 1)), ops.reshape(-learning_rate * d_output, (-1, self.dim)),
            reduction="add"))
        if self.architecture == "skipgram":
            self.input_vectors.assign(ops.scatter_update(
                self.input_vectors, inputs[:, None], -learning_rate * d_hidden, reduction="add"))
        else:
            mask = ops.cast(inputs >= 0, "float32")
            updates = (-learning_rate * d_hidden)[:, None, :] * mask[:, :, None]
            self.input_vectors.assign(ops.scatter_update(
                self.input_vectors, ops.reshape(ops.maximum(inputs, 0), (-1, 1)), ops.reshape(updates, (-1, self.dim)),
                reduction="add"))
        return ops.sum(losses)

    def train_steps(self, inputs, outputs, weights, learning_rates):
        """``steps`` SGD steps in one call: the arguments of :meth:`train_step_sparse`, stacked on a first axis.

        Looping inside one compiled function saves the per-call overhead of the framework.
        Returns the summed loss of all steps.
        """
        return repeat_step(self.train_step_sparse, (inputs, outputs, weights, learning_rates))

    def compiled_steps(self):
        """:meth:`train_steps`, compiled with XLA on the TensorFlow backend (eager elsewhere)."""
        if self._step is None:
            self._step = compile_function(self.train_steps)
        return self._step


@dataclass
class Word2VecResult:
    """What :func:`train_word2vec` returns.

    Attributes:
        model: the trained :class:`Word2Vec`.
        vocabulary: its vocabulary (row i of the tables is ``vocabulary.tokens[i]``).
        vectors: the input vectors as :class:`WordVectors`.
        losses: mean loss per example, one value per epoch.
        seconds: wall time of training (input pipeline included, vocabulary building excluded).
        words_per_second: corpus words (before subsampling) times epochs, per second of training.
        examples: training examples seen (skip-gram pairs or CBOW windows), all epochs.
    """

    model: Word2Vec
    vocabulary: Vocabulary
    vectors: WordVectors
    losses: list[float] = field(default_factory=list)
    seconds: float = 0.0
    words_per_second: float = 0.0
    examples: int = 0


def draw_noise(table: np.ndarray, targets: np.ndarray, negative: int, rng: np.random.Generator) -> np.ndarray:
    """``(n, 1 + negative)`` int32: each target followed by ``negative`` words drawn from ``table``."""
    noise = table[rng.integers(0, len(table), size=(len(targets), negative), dtype=np.int32)]
    return np.concatenate([np.asarray(targets, np.int32)[:, None], noise], axis=1)


def _epoch_examples(architecture, ids, sentence_ids, keep, window, negative, table, chunk, shuffle, rng):
    """One epoch of examples with their noise words, padded to a whole number of chunks."""
    kept = subsample(ids, keep, rng)
    if architecture == "skipgram":
        inputs, targets = skipgram_pairs(ids[kept], sentence_ids[kept], window, rng)
    else:
        targets, inputs = cbow_windows(ids[kept], sentence_ids[kept], window, rng)
    if shuffle:
        order = rng.permutation(len(targets))
        inputs, targets = inputs[order], targets[order]
    outputs = draw_noise(table, targets, negative, rng)
    n = len(outputs)
    pad = (-n) % chunk
    weights = np.ones(n + pad, np.float32)
    weights[n:] = 0.0
    inputs = np.concatenate([inputs, np.full((pad,) + inputs.shape[1:], -1 if inputs.ndim > 1 else 0, inputs.dtype)])
    outputs = np.concatenate([outputs, np.zeros((pad, outputs.shape[1]), outputs.dtype)])
    return inputs, outputs, weights, n


def train_word2vec(sentences: Iterable[Sequence[str]], *, architecture: str = "skipgram", dim: int = 100,
                   window: int = 5, negative: int = 5, min_count: int = 5, sample: float = 1e-3,
                   epochs: int = 5, learning_rate: float = 0.025, min_learning_rate: float = 1e-4,
                   batch_size: int = 256, steps_per_call: int = 64, shuffle: bool = False, seed: int = 0,
                   vocabulary: Vocabulary | None = None) -> Word2VecResult:
    """Train word2vec on tokenized sentences, with the hyperparameters (and defaults) of gensim.

    Args:
        sentences: token lists (e.g. ``[["the", "cat", "sat"], ...]``); read twice, so not an iterator.
        architecture: ``"skipgram"`` or ``"cbow"``.
        dim, window, negative, min_count, sample, epochs: as in gensim (``vector_size``, ``window``, ...).
        learning_rate, min_learning_rate: the linear decay's start and end (gensim's ``alpha``, ``min_alpha``).
        batch_size: examples per SGD step (their gradients are summed, then applied at once).
        steps_per_call: SGD steps per call of the compiled function (fewer calls, less overhead).
        shuffle: shuffle the examples of each epoch; by default they come in corpus order, as in word2vec.
        seed: seeds the vectors, subsampling, windows, shuffling and noise words.
        vocabulary: a prebuilt vocabulary without special tokens (default: built from ``sentences`` with
            ``min_count``, no specials, ties in first-occurrence order).

    Returns:
        A :class:`Word2VecResult`.

    Raises:
        TypeError: if ``sentences`` is a string or an iterator.
        ValueError: for an empty or too-small corpus (no word reaches ``min_count``, or no training
            example survives), or out-of-range hyperparameters.
    """
    if isinstance(sentences, str) or iter(sentences) is sentences:
        raise TypeError("sentences must be a list of token lists (it is read twice), not a string or an iterator")
    for name, value in (("epochs", epochs), ("batch_size", batch_size), ("window", window),
                        ("steps_per_call", steps_per_call)):
        positive_int(name, value)
    if not 0 < min_learning_rate <= learning_rate:
        raise ValueError(f"need 0 < min_learning_rate <= learning_rate, got {min_learning_rate}, {learning_rate}")
    if vocabulary is None:
        vocabulary = Vocabulary.build(sentences, min_count=min_count, specials=(), ties="first_occurrence")
    ids, sentence_ids = vocabulary.encode_corpus(sentences)
    if len(ids) < 2:
        raise ValueError(f"the corpus is too small: {len(ids)} in-vocabulary token(s); word2vec needs at least 2")
    raw_words = sum(len(s) for s in sentences)
    model = Word2Vec(len(vocabulary), dim=dim, architecture=architecture, negative=negative, seed=seed)
    steps = model.compiled_steps()
    table = negative_table(vocabulary.counts)
    keep = keep_probabilities(vocabulary.counts, sample)
    rng = np.random.default_rng(seed)
    chunk = batch_size * steps_per_call

    def epoch_examples():
        return _epoch_examples(architecture, ids, sentence_ids, keep, window, negative, table, chunk, shuffle, rng)

    start = time.perf_counter()
    examples = epoch_examples()
    if examples[3] == 0:
        raise ValueError("the corpus is too small: no training example (every sentence has one word after "
                         "subsampling); add text, or lower sample or min_count")
    # The learning rate decays linearly over the expected number of steps (epochs vary a little in size).
    total_steps = epochs * len(examples[2]) // batch_size
    done, losses, seen = 0, [], 0
    with ThreadPoolExecutor(max_workers=1) as pool:  # builds the next epoch's examples while this one trains
        for epoch in range(epochs):
            upcoming = pool.submit(epoch_examples) if epoch + 1 < epochs else None
            inputs, outputs, weights, n = examples
            epoch_loss = []
            for first in range(0, len(weights), chunk):
                part = slice(first, first + chunk)
                progress = np.minimum((done + np.arange(steps_per_call)) / total_steps, 1.0)
                rates = (learning_rate - (learning_rate - min_learning_rate) * progress).astype(np.float32)
                epoch_loss.append(steps(
                    inputs[part].reshape((steps_per_call, batch_size) + inputs.shape[1:]),
                    outputs[part].reshape(steps_per_call, batch_size, -1),
                    weights[part].reshape(steps_per_call, batch_size), rates))
                done += steps_per_call
            losses.append(float(ops.convert_to_numpy(ops.sum(ops.stack(epoch_loss)))) / n)
            seen += n
            if upcoming is not None:
                examples = upcoming.result()
    seconds = time.perf_counter() - start
    vectors = WordVectors(vocabulary.tokens, ops.convert_to_numpy(model.input_vectors))
    return Word2VecResult(model, vocabulary, vectors, losses, seconds, raw_words * epochs / seconds, seen)
