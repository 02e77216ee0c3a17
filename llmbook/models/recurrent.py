"""Recurrent language models: an embedding, LSTM, GRU or plain tanh RNN layers and a softmax head, trained by truncated BPTT.

The model reads token ids (characters or words: only the vocabulary differs) and predicts the next
token at every position. Three parts serve a chapter on recurrent networks:

* :class:`RecurrentLanguageModel`, with **locked (variational) dropout** (Gal & Ghahramani 2016) or
  naive per-step dropout on the embeddings, between layers and before the head, plus Keras's own
  ``recurrent_dropout`` on the recurrent state. Keras's LSTM and GRU cells draw their recurrent mask
  once per call, shape ``(batch, units)``, and reuse it at every time step: it is per-sequence, that
  is variational, as in the paper (an LSTM draws four masks, one per gate). It also switches the
  LSTM to ``implementation=1`` (one matrix product per gate) and rules out the fused cuDNN kernel on
  a GPU. Measured on 2 shared CPU cores (``benchmarks/recurrent_lm.py``: hidden 256, batch 32,
  window 64; two runs, the machine loaded by other work), ``recurrent_dropout=0.25`` cost 31 % and
  53 % of the training throughput in a plain ``tf.function`` (16,000-18,000 tokens/s without it), and
  6 % and none under XLA.
* **Truncated backpropagation through time** with *explicit* states: ``model(x, states=...,
  return_states=True)`` takes the hidden states in and gives the final ones back, and
  :class:`TruncatedBPTT` carries them from one window of a long stream to the next (gradients stop
  at the window boundary, since the carried states enter as plain inputs). Explicit states, rather
  than Keras ``stateful=True`` layers, work on every backend inside a compiled custom training step,
  allow any batch size at evaluation, and make "reset" one assignment. :func:`bptt_batches` cuts a
  stream into ``batch_size`` contiguous streams and yields windows in order.
* :func:`gradient_norms_per_step`: ``||dL/dx_t||`` for every time step ``t``, ``x_t`` the embedded
  input, to show gradients vanishing (or exploding) with the distance from the loss.

**Gradient clipping.** Give the optimizer ``global_clipnorm`` (for example
``keras.optimizers.Adam(1e-3, global_clipnorm=1.0)``): it rescales all gradients together when their
joint norm exceeds the threshold, which keeps the direction of the update (Pascanu et al. 2013).
``clipnorm`` clips each variable's gradient on its own and changes the direction.

**Perplexity** in the book's sense is ``exp`` of the mean cross-entropy over all predicted tokens:
``llmbook.metrics.perplexity(trainer.token_losses(ids, batch_size, window))``.

>>> import numpy as np
>>> model = RecurrentLanguageModel(vocab_size=10, embedding_dim=8, hidden_dim=16)
>>> logits = model(np.zeros((2, 5), dtype="int32"))
>>> tuple(logits.shape)
(2, 5, 10)
"""

from __future__ import annotations

from typing import Iterator

import keras
import numpy as np
from keras import ops

from llmbook.backend import compile_function
from llmbook.layers.dropout import LockedDropout, NaiveDropout
from llmbook.validation import non_negative_int, positive_int, unit_rate

__all__ = ["RecurrentLanguageModel", "TruncatedBPTT", "bptt_batches", "gradient_norms_per_step"]

CELLS = ("lstm", "gru", "simple")
DROPOUTS = ("locked", "naive", None)


class _TiedOutput(keras.layers.Layer):
    """Logits from the transposed embedding matrix plus a bias (weight tying, Press & Wolf 2017)."""

    def __init__(self, embedding: keras.layers.Embedding, **kwargs):
        super().__init__(**kwargs)
        self._embedding = embedding

    def build(self, input_shape):
        self.bias = self.add_weight(shape=(self._embedding.input_dim,), initializer="zeros", name="bias")

    def call(self, inputs):
        matrix = ops.cast(self._embedding.embeddings, inputs.dtype)
        return ops.matmul(inputs, ops.transpose(matrix)) + ops.cast(self.bias, inputs.dtype)


@keras.saving.register_keras_serializable(package="llmbook")
class RecurrentLanguageModel(keras.Model):
    """An LSTM, GRU or plain tanh RNN language model: embedding, recurrent layers, dropout of a chosen kind, softmax head.

    Args:
        vocab_size: the number of token ids.
        embedding_dim: the size of the token embeddings.
        hidden_dim: the size of every recurrent layer's state.
        num_layers: how many recurrent layers are stacked.
        cell: ``"lstm"``, ``"gru"`` or ``"simple"`` (Elman's plain tanh RNN, ``keras.layers.SimpleRNN``:
            the baseline whose gradients vanish or explode).
        dropout: ``"locked"`` (one mask per sequence and feature, shared over time), ``"naive"`` (a new
            mask at every time step) or None (no dropout outside the recurrent cells).
        input_rate: dropout on the embeddings, in ``[0, 1)``.
        hidden_rate: dropout between recurrent layers.
        output_rate: dropout on the last recurrent layer's output, before the head.
        recurrent_rate: Keras's ``recurrent_dropout`` on the recurrent state (always per-sequence),
            independent of ``dropout``.
        tie_weights: use the embedding matrix as the output matrix; when ``hidden_dim`` differs from
            ``embedding_dim``, a linear projection to ``embedding_dim`` comes first.
        seed: a seed for the dropout masks (None: random).
        **kwargs: passed to ``keras.Model``.

    Call args:
        token_ids: integers ``(batch, time)``.
        states: None (zeros) or, per layer, the list of initial states (``[h, c]`` for an LSTM,
            ``[h]`` for a GRU or a simple RNN), each ``(batch, hidden_dim)``: what ``return_states`` gave back.
        training: True to apply dropout.
        return_states: also return the final states (same structure as ``states``).

    Returns:
        Logits ``(batch, time, vocab_size)`` in float32, and the final states if ``return_states``.

    Raises:
        ValueError: for an unknown ``cell`` or ``dropout``, a rate outside ``[0, 1)``, a non-zero
            ``input_rate``/``hidden_rate``/``output_rate`` with ``dropout=None``, or a size below 1.
    """

    def __init__(self, vocab_size: int, embedding_dim: int = 128, hidden_dim: int = 256, num_layers: int = 1,
                 cell: str = "lstm", dropout: str | None = None, input_rate: float = 0.0, hidden_rate: float = 0.0,
                 output_rate: float = 0.0, recurrent_rate: float = 0.0, tie_weights: bool = False,
                 seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size = positive_int("vocab_size", vocab_size)
        self.embedding_dim = positive_int("embedding_dim", embedding_dim)
        self.hidden_dim = positive_int("hidden_dim", hidden_dim)
        self.num_layers = positive_int("num_layers", num_layers)
        if cell not in CELLS:
            raise ValueError(f"cell must be 'lstm', 'gru' or 'simple', got {cell!r}")
        if dropout not in DROPOUTS:
            raise ValueError(f"dropout must be 'locked', 'naive' or None, got {dropout!r}")
        self.cell, self.dropout = cell, dropout
        self.input_rate = unit_rate("input_rate", input_rate)
        self.hidden_rate = unit_rate("hidden_rate", hidden_rate)
        self.output_rate = unit_rate("output_rate", output_rate)
        self.recurrent_rate = unit_rate("recurrent_rate", recurrent_rate)
        if dropout is None and (self.input_rate or self.hidden_rate or self.output_rate):
            raise ValueError("input_rate, hidden_rate and output_rate need dropout='locked' or 'naive'; "
                             "with dropout=None leave them at 0")
        self.tie_weights = bool(tie_weights)
        self.seed = None if seed is None else non_negative_int("seed", seed)

        self.embedding = keras.layers.Embedding(self.vocab_size, self.embedding_dim, name="embedding")
        kind = LockedDropout if dropout == "locked" else NaiveDropout

        def drop(rate, index, name):
            if dropout is None or rate == 0.0:
                return None
            return kind(rate, seed=None if self.seed is None else self.seed + index, name=name)

        self.input_dropout = drop(self.input_rate, 0, "input_dropout")
        self.hidden_dropouts = [drop(self.hidden_rate, 1 + i, f"hidden_dropout_{i}") for i in range(self.num_layers - 1)]
        self.output_dropout = drop(self.output_rate, self.num_layers + 1, "output_dropout")
        layer = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU, "simple": keras.layers.SimpleRNN}[cell]
        self.recurrent_layers = [
            layer(self.hidden_dim, return_sequences=True, return_state=True, recurrent_dropout=self.recurrent_rate,
                  seed=None if self.seed is None else self.seed + 100 + i, name=f"{cell}_{i}")
            for i in range(self.num_layers)
        ]
        self.state_count = 2 if cell == "lstm" else 1
        if self.tie_weights:
            self.projection = (None if self.hidden_dim == self.embedding_dim else
                               keras.layers.Dense(self.embedding_dim, use_bias=False, name="projection"))
            self.head = _TiedOutput(self.embedding, name="head")
        else:
            self.projection = None
            self.head = keras.layers.Dense(self.vocab_size, name="head")

    def zero_states(self, batch_size: int) -> list[list]:
        """All-zero states for ``batch_size`` sequences: per layer, ``[h, c]`` (LSTM) or ``[h]`` (GRU, simple).

        Raises:
            ValueError: if ``batch_size`` is not a positive integer.
        """
        batch_size = positive_int("batch_size", batch_size)
        return [[ops.zeros((batch_size, self.hidden_dim), dtype=self.compute_dtype) for _ in range(self.state_count)]
                for _ in range(self.num_layers)]

    def call(self, token_ids, states=None, training=None, return_states=False):
        return self.call_embedded(self.embedding(token_ids), states=states, training=training,
                                  return_states=return_states)

    def call_embedded(self, embedded, states=None, training=None, return_states=False):
        """The model from the embedded inputs ``(batch, time, embedding_dim)`` on (what
        :func:`gradient_norms_per_step` differentiates against); arguments as for the call."""
        if states is not None and len(states) != self.num_layers:
            raise ValueError(f"states must hold one entry per layer ({self.num_layers}), got {len(states)}")
        x = embedded
        if self.input_dropout is not None:
            x = self.input_dropout(x, training=training)
        final = []
        for i, layer in enumerate(self.recurrent_layers):
            if i > 0 and self.hidden_dropouts[i - 1] is not None:
                x = self.hidden_dropouts[i - 1](x, training=training)
            initial = None if states is None else list(states[i])
            outputs = layer(x, initial_state=initial, training=training)
            x, final_states = outputs[0], list(outputs[1:])
            final.append(final_states)
        if self.output_dropout is not None:
            x = self.output_dropout(x, training=training)
        if self.projection is not None:
            x = self.projection(x)
        logits = ops.cast(self.head(x), "float32")
        return (logits, final) if return_states else logits

    def get_config(self):
        return {**super().get_config(), "vocab_size": self.vocab_size, "embedding_dim": self.embedding_dim,
                "hidden_dim": self.hidden_dim, "num_layers": self.num_layers, "cell": self.cell,
                "dropout": self.dropout, "input_rate": self.input_rate, "hidden_rate": self.hidden_rate,
                "output_rate": self.output_rate, "recurrent_rate": self.recurrent_rate,
                "tie_weights": self.tie_weights, "seed": self.seed}


def bptt_batches(token_ids, batch_size: int, window: int, drop_last: bool = False) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Cut one long token stream into ``batch_size`` contiguous streams and yield ``(x, y)`` windows in order.

    With ``n`` tokens and ``L = (n - 1) // batch_size``, stream ``b`` holds tokens ``b*L .. (b+1)*L - 1``
    as inputs and the next token of each as its target (the last ``n - 1 - batch_size*L`` tokens are
    left out). Window ``k`` is ``x[:, k*window : (k+1)*window]``, so window ``k + 1`` of stream ``b``
    continues window ``k`` of stream ``b`` exactly: carrying the final states of one window into the
    next is the same as reading each stream in one pass.

    Args:
        token_ids: a 1-D sequence of integer ids.
        batch_size: the number of parallel streams ``B``.
        window: the number of time steps per window ``T`` (the truncation length of BPTT).
        drop_last: leave out a last window shorter than ``window`` (its other shape would make a
            compiled step trace again).

    Returns:
        An iterator of ``(x, y)`` int32 arrays ``(batch_size, window)`` (the last may be shorter).

    Raises:
        ValueError: if ``token_ids`` is not 1-D, or too short to give every stream one target, or
            ``batch_size``/``window`` is not a positive integer.
    """
    batch_size = positive_int("batch_size", batch_size)
    window = positive_int("window", window)
    ids = np.asarray(token_ids)
    if ids.ndim != 1:
        raise ValueError(f"token_ids must be one 1-D stream, got shape {ids.shape}")
    if ids.size and not np.issubdtype(ids.dtype, np.integer):
        raise ValueError(f"token_ids must be integers, got dtype {ids.dtype}")
    length = (ids.size - 1) // batch_size
    if length < 1:
        raise ValueError(f"{ids.size} tokens cannot fill {batch_size} streams: need at least {batch_size + 1}")
    inputs = ids[: batch_size * length].reshape(batch_size, length).astype("int32")
    targets = ids[1: batch_size * length + 1].reshape(batch_size, length).astype("int32")

    def windows():
        for start in range(0, length, window):
            if drop_last and start + window > length:
                return
            yield inputs[:, start: start + window], targets[:, start: start + window]

    return windows()


def _token_losses(targets, logits):
    return ops.sparse_categorical_crossentropy(targets, logits, from_logits=True)


class TruncatedBPTT:
    """Train and evaluate a :class:`RecurrentLanguageModel` on a long stream, carrying states across windows.

    ``train_window(x, y)`` runs the model from the carried states, takes one optimizer step on the
    mean cross-entropy of the window and keeps the final states (as values: the gradient is
    truncated at the window's start). ``reset()`` sets them back to zeros (at the start of an epoch,
    or of a new text). The step is compiled with :func:`llmbook.backend.compile_function`
    (TensorFlow: ``tf.function``, XLA if ``jit_compile``); on JAX and PyTorch it runs eagerly.

    Args:
        model: the language model.
        optimizer: a Keras optimizer (give it ``global_clipnorm`` to clip gradients).
        jit_compile: TensorFlow only: compile the steps with XLA.

    Attributes:
        states: the carried states (None until the first window, or after ``reset``).
        last_gradient_norm: the global norm of the last step's gradients, before clipping.
    """

    def __init__(self, model: RecurrentLanguageModel, optimizer: keras.optimizers.Optimizer, jit_compile: bool = False):
        if not isinstance(model, RecurrentLanguageModel):
            raise TypeError(f"model must be a RecurrentLanguageModel, got {type(model).__name__}")
        self.model, self.optimizer = model, optimizer
        self.states = None
        self.last_gradient_norm = None
        backend = keras.backend.backend()
        self._train = compile_function(self._train_step, jit=backend == "tensorflow", xla=bool(jit_compile),
                                       autograph=False)
        self._evaluate = compile_function(self._evaluate_step, jit=backend == "tensorflow", xla=bool(jit_compile),
                                          autograph=False)

    def reset(self) -> None:
        """Forget the carried states: the next window starts from zeros."""
        self.states = None

    def _ensure(self, batch_size):
        if self.states is None or int(self.states[0][0].shape[0]) != batch_size:
            if self.states is not None:
                raise ValueError(f"the carried states are for batch size {int(self.states[0][0].shape[0])}, got "
                                 f"{batch_size}: call reset() before changing the number of streams")
            self.states = self.model.zero_states(batch_size)
        if not self.model.built:
            self.model(np.zeros((batch_size, 1), dtype="int32"), states=self.states)
        if not self.optimizer.built:
            self.optimizer.build(self.model.trainable_variables)

    def _train_step(self, x, y, states):
        variables = self.model.trainable_variables
        backend = keras.backend.backend()
        if backend == "tensorflow":
            import tensorflow as tf

            with tf.GradientTape() as tape:
                logits, final = self.model(x, states=states, training=True, return_states=True)
                loss = ops.mean(_token_losses(y, logits))
            grads = tape.gradient(loss, variables)
        elif backend == "torch":
            import torch

            logits, final = self.model(x, states=states, training=True, return_states=True)
            loss = ops.mean(_token_losses(y, logits))
            grads = list(torch.autograd.grad(loss, [v.value for v in variables]))
            final = [[s.detach() for s in layer] for layer in final]
            loss = loss.detach()
        elif backend == "jax":
            return self._jax_train_step(x, y, states)
        else:
            raise NotImplementedError(f"TruncatedBPTT supports tensorflow, jax and torch, not {backend}")
        norm = ops.sqrt(sum(ops.sum(ops.square(g)) for g in grads))
        self.optimizer.apply(grads, variables)
        return loss, final, norm

    def _jax_train_step(self, x, y, states):
        import jax

        model = self.model
        trainable = [v.value for v in model.trainable_variables]
        non_trainable = [v.value for v in model.non_trainable_variables]

        def loss_of(trainable_values, non_trainable_values):
            (logits, final), non_trainable_values = model.stateless_call(
                trainable_values, non_trainable_values, x, states=states, training=True, return_states=True)
            return ops.mean(_token_losses(y, logits)), (final, non_trainable_values)

        (loss, (final, non_trainable)), grads = jax.value_and_grad(loss_of, has_aux=True)(trainable, non_trainable)
        for variable, value in zip(model.non_trainable_variables, non_trainable):
            variable.assign(value)
        norm = ops.sqrt(sum(ops.sum(ops.square(g)) for g in grads))
        self.optimizer.apply(grads, model.trainable_variables)
        return loss, final, norm

    def _evaluate_step(self, x, y, states):
        logits, final = self.model(x, states=states, training=False, return_states=True)
        return _token_losses(y, logits), final

    def train_window(self, x, y) -> float:
        """One optimizer step on window ``(x, y)`` (``(batch, time)`` ids), from the carried states.

        Returns:
            The window's mean cross-entropy in nats (before the step).
        """
        self._ensure(int(np.shape(x)[0]))
        loss, self.states, norm = self._train(x, y, self.states)
        self.last_gradient_norm = float(norm)
        return float(loss)

    def train_stream(self, token_ids, batch_size: int, window: int, reset: bool = True) -> list[float]:
        """One pass over ``token_ids`` in the windows of :func:`bptt_batches` (full windows only).

        Returns:
            The mean cross-entropy of every window, in order.
        """
        if reset:
            self.reset()
        return [self.train_window(x, y) for x, y in bptt_batches(token_ids, batch_size, window, drop_last=True)]

    def token_losses(self, token_ids, batch_size: int, window: int) -> np.ndarray:
        """The cross-entropy (nats) of every predicted token of ``token_ids``, carrying states from zeros.

        The carried training states are left as they were. ``llmbook.metrics.perplexity`` of the result
        is the stream's perplexity.

        Returns:
            A float array ``(batch_size * ((len(token_ids) - 1) // batch_size),)``, stream by stream.
        """
        states, losses = None, []
        for x, y in bptt_batches(token_ids, batch_size, window):
            if states is None:
                states = self.model.zero_states(x.shape[0])
            step_losses, states = self._evaluate(x, y, states)
            losses.append(np.asarray(ops.convert_to_numpy(step_losses)))
        return np.concatenate(losses, axis=1).ravel()


def gradient_norms_per_step(model: RecurrentLanguageModel, token_ids, targets, loss: str = "last") -> np.ndarray:
    """``||dL/dx_t||`` for every time step ``t``: how much the loss depends on the input ``t`` steps back.

    ``x_t`` is the embedded input at step ``t`` (dropout off). With ``loss="last"``, ``L`` is the mean
    over the batch of the cross-entropy at the last position only, so entry ``t`` measures how far
    the gradient travels back from step ``T`` to step ``t``: a vanishing gradient makes the early
    entries tiny, an exploding one large. ``loss="mean"`` uses the mean over every position.

    Args:
        model: the language model.
        token_ids: integer ids ``(batch, time)``.
        targets: the next-token ids, same shape.
        loss: ``"last"`` or ``"mean"``.

    Returns:
        A float array ``(time,)``: the Euclidean norm of the gradient at each step, averaged over the batch.

    Raises:
        ValueError: for another ``loss``, or ids that are not 2-D of equal shapes.
    """
    if loss not in ("last", "mean"):
        raise ValueError(f"loss must be 'last' or 'mean', got {loss!r}")
    token_ids, targets = np.asarray(token_ids), np.asarray(targets)
    if token_ids.ndim != 2 or token_ids.shape != targets.shape:
        raise ValueError(f"token_ids and targets must be (batch, time) of one shape, got {token_ids.shape} "
                         f"and {targets.shape}")
    embedded = model.embedding(token_ids)

    def objective(inputs):
        logits = model.call_embedded(inputs, training=False)
        losses = _token_losses(targets, logits)
        return ops.mean(losses[:, -1]) if loss == "last" else ops.mean(losses)

    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            tape.watch(embedded)
            value = objective(embedded)
        grad = tape.gradient(value, embedded)
    elif backend == "jax":
        import jax

        grad = jax.grad(objective)(embedded)
    elif backend == "torch":
        import torch

        embedded = embedded.detach().requires_grad_(True)
        (grad,) = torch.autograd.grad(objective(embedded), [embedded])
    else:
        raise NotImplementedError(f"gradient_norms_per_step supports tensorflow, jax and torch, not {backend}")
    grad = np.asarray(ops.convert_to_numpy(grad), dtype="float64")
    return np.linalg.norm(grad, axis=-1).mean(axis=0)
