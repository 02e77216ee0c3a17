"""Bengio et al.'s (2003) neural probabilistic language model: a feed-forward network over a fixed context.

Like an n-gram model it predicts word ``t`` from the ``n - 1`` words before it, but instead of looking the
context up in a count table it maps each context word to a learned vector (one shared table ``C``),
concatenates the vectors into ``x``, and computes

    logits = b + U tanh(d + H x)        (+ W x with ``direct=True``, the paper's direct connections)

so that what is learned about one word carries over to words with similar vectors. The softmax of the
logits is ``P(w_t | w_{t-n+1}, ..., w_{t-1})``.

:func:`context_windows` turns token lists into (context, next word) pairs with exactly the conventions of
:class:`~llmbook.models.NGramLanguageModel` (``n - 1`` start symbols, one end symbol to predict,
unknown words as ``<UNK>``), so that both models predict the same tokens over the same vocabulary and
their perplexities can be compared.

>>> from llmbook.models.feedforward import context_windows
>>> contexts, targets = context_windows([["the", "cat"]], ["<s>", "</s>", "the", "<UNK>"], 2)
>>> contexts.tolist(), targets.tolist()
([[0, 0], [0, 2], [2, 3]], [2, 3, 1])
"""

from __future__ import annotations

from typing import Sequence

import keras
import numpy as np
from keras import ops

from llmbook.models.ngram import BOS, EOS, UNK
from llmbook.validation import non_negative_int, positive_int, unit_rate

__all__ = ["FeedForwardLM", "context_windows", "token_log_probs"]


def context_windows(sentences: Sequence[Sequence[str]], vocabulary: Sequence[str],
                    context_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Every (context, next token) pair of ``sentences``, as ids of ``vocabulary``.

    Each sentence is padded as an n-gram model of order ``context_size + 1`` pads it: ``context_size``
    start symbols before it and one end symbol after it; the pairs predict every word and the end symbol,
    each from the ``context_size`` tokens before it. Words not in ``vocabulary`` become ``<UNK>``.

    Args:
        sentences: token lists (e.g. from ``llmbook.text.tokenize_lines``); empty ones are skipped, as the
            n-gram model skips them.
        vocabulary: the tokens, in id order; must contain ``<s>``, ``</s>`` and ``<UNK>`` (an
            ``NGramLanguageModel``'s ``.vocabulary`` does).
        context_size: ``n - 1``, the number of previous tokens the model sees.

    Returns:
        ``(contexts, targets)``: int32 arrays ``(pairs, context_size)`` and ``(pairs,)``.

    Raises:
        TypeError: if ``sentences`` is a string or holds strings rather than token lists.
        ValueError: if the vocabulary lacks a special symbol or repeats a token, or there is no token.
    """
    context_size = positive_int("context_size", context_size)
    if isinstance(sentences, (str, bytes)) or any(isinstance(s, (str, bytes)) for s in sentences):
        raise TypeError("sentences must be token lists, not strings: tokenize them first "
                        "(llmbook.text.tokenize_lines)")
    index = {token: i for i, token in enumerate(vocabulary)}
    if len(index) != len(vocabulary):
        raise ValueError("the vocabulary repeats a token; give each token once, in id order")
    missing = [t for t in (BOS, EOS, UNK) if t not in index]
    if missing:
        raise ValueError(f"the vocabulary lacks {', '.join(missing)}; use the vocabulary of an "
                         "NGramLanguageModel, which has all three")
    unknown = index[UNK]
    contexts, targets = [], []
    for sentence in sentences:
        if len(sentence) == 0:
            continue
        ids = [index[BOS]] * context_size + [index.get(w, unknown) for w in sentence] + [index[EOS]]
        ids = np.asarray(ids, dtype=np.int32)
        # row t holds ids[t : t + context_size]; its target is ids[t + context_size]
        contexts.append(np.lib.stride_tricks.sliding_window_view(ids[:-1], context_size))
        targets.append(ids[context_size:])
    if not targets:
        raise ValueError("there is no token to predict: give at least one non-empty sentence")
    return np.concatenate(contexts).astype(np.int32), np.concatenate(targets).astype(np.int32)


@keras.saving.register_keras_serializable(package="llmbook")
class FeedForwardLM(keras.Model):
    """The neural probabilistic language model of Bengio et al. (2003).

    Args:
        vocab_size: the number of tokens.
        context_size: ``n - 1``, how many previous tokens the model reads.
        embedding_dim: the size of each word vector (the table ``C``).
        hidden_dim: the width of the tanh hidden layer.
        dropout: a dropout rate in ``[0, 1)`` on the concatenated vectors and on the hidden layer.
        direct: add the paper's direct connections ``W x`` from the word vectors to the logits.
        seed: a seed for the dropout masks (None: random).
        **kwargs: passed to ``keras.Model``.

    Call args:
        context_ids: integers ``(batch, context_size)``.
        training: True to apply dropout.

    Returns:
        Logits ``(batch, vocab_size)`` for the next token, in float32.

    Raises:
        ValueError: for sizes below 1, a rate outside ``[0, 1)``, or contexts of the wrong width.
    """

    def __init__(self, vocab_size: int, context_size: int, embedding_dim: int = 64, hidden_dim: int = 128,
                 dropout: float = 0.0, direct: bool = False, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size = positive_int("vocab_size", vocab_size)
        self.context_size = positive_int("context_size", context_size)
        self.embedding_dim = positive_int("embedding_dim", embedding_dim)
        self.hidden_dim = positive_int("hidden_dim", hidden_dim)
        self.dropout_rate = unit_rate("dropout", dropout)
        self.direct = bool(direct)
        self.seed = None if seed is None else non_negative_int("seed", seed)
        self.embedding = keras.layers.Embedding(self.vocab_size, self.embedding_dim, name="embedding")
        self.hidden = keras.layers.Dense(self.hidden_dim, activation="tanh", name="hidden")
        self.output_layer = keras.layers.Dense(self.vocab_size, name="output")
        self.direct_layer = (keras.layers.Dense(self.vocab_size, use_bias=False, name="direct")
                             if self.direct else None)
        self.input_dropout = self.hidden_dropout = None
        if self.dropout_rate:
            self.input_dropout = keras.layers.Dropout(self.dropout_rate, seed=self.seed, name="input_dropout")
            self.hidden_dropout = keras.layers.Dropout(
                self.dropout_rate, seed=None if self.seed is None else self.seed + 1, name="hidden_dropout")

    def call(self, context_ids, training=None):
        shape = tuple(context_ids.shape)
        if len(shape) != 2 or (shape[1] is not None and shape[1] != self.context_size):
            raise ValueError(f"context_ids must be (batch, {self.context_size}) token ids, got shape {shape}")
        vectors = self.embedding(context_ids)
        x = ops.reshape(vectors, (-1, self.context_size * self.embedding_dim))
        if self.input_dropout is not None:
            x = self.input_dropout(x, training=training)
        h = self.hidden(x)
        if self.hidden_dropout is not None:
            h = self.hidden_dropout(h, training=training)
        logits = self.output_layer(h)
        if self.direct_layer is not None:
            logits = logits + self.direct_layer(x)
        return ops.cast(logits, "float32")

    def get_config(self):
        return {**super().get_config(), "vocab_size": self.vocab_size, "context_size": self.context_size,
                "embedding_dim": self.embedding_dim, "hidden_dim": self.hidden_dim,
                "dropout": self.dropout_rate, "direct": self.direct, "seed": self.seed}


def token_log_probs(model, contexts, targets, batch_size: int = 4096) -> np.ndarray:
    """``ln P(target | context)`` for every pair, by Keras's numerically stable log-softmax (in float32,
    returned as float64 so that sums over many tokens lose nothing more).

    Args:
        model: a model that maps ``(batch, context_size)`` ids to logits ``(batch, vocab_size)``.
        contexts, targets: what :func:`context_windows` returns.
        batch_size: pairs per forward pass.

    Returns:
        ``(pairs,)`` natural-log probabilities; their negated mean is the cross-entropy in nats, and
        ``llmbook.metrics.perplexity(-result)`` the perplexity.

    Raises:
        ValueError: if ``contexts`` and ``targets`` disagree in length, or a target is not a token id.
    """
    contexts, targets = np.asarray(contexts), np.asarray(targets)
    batch_size = positive_int("batch_size", batch_size)
    if contexts.ndim != 2 or targets.ndim != 1 or len(contexts) != len(targets):
        raise ValueError(f"contexts must be (pairs, context) and targets (pairs,) with the same number of "
                         f"pairs, got shapes {contexts.shape} and {targets.shape}")
    out = np.empty(len(targets), dtype=np.float64)
    for start in range(0, len(targets), batch_size):
        logits = model(contexts[start:start + batch_size], training=False)
        rows = targets[start:start + batch_size]
        if rows.min() < 0 or rows.max() >= logits.shape[-1]:
            raise ValueError(f"targets must be token ids below {logits.shape[-1]}, the model's vocabulary size")
        chosen = ops.take_along_axis(ops.log_softmax(logits, axis=-1),
                                     ops.convert_to_tensor(rows[:, None].astype("int32")), axis=-1)
        out[start:start + len(rows)] = ops.convert_to_numpy(chosen)[:, 0]
    return out
