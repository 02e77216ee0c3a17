"""A sequence tagger with one shared encoder and one softmax head per task: multi-task learning.

:class:`MultiTaskTagger` reads token ids (characters, id 0 is padding) and gives, for every task it
was built with, a tag distribution at every position. The encoder, an embedding followed by
convolutions over a window of neighbours (as in Collobert et al. 2011) or by a bidirectional LSTM, is
shared by all the tasks; each task adds only its own ``Dense`` head. Built with one task, it is the
single-task baseline with exactly that task's parameters (:meth:`MultiTaskTagger.task_parameter_count`).

Training data for several tasks rarely comes with every label on every sentence. A position without a
label for a task has the label ``UNLABELLED`` (-1) in that task's targets, and
:func:`masked_sparse_crossentropy` averages the cross-entropy over the labelled positions only (a
batch with none contributes 0), so one ``model.fit`` with a loss per output trains every head on
the sentences that have its labels, and the shared encoder on all of them.

>>> import numpy as np
>>> model = MultiTaskTagger(vocab_size=20, tasks={"seg": 4, "pos": 7}, embedding_dim=8, hidden_dim=8, seed=0)
>>> outputs = model(np.ones((2, 5), dtype="int32"))
>>> sorted(outputs), tuple(outputs["pos"].shape)
(['pos', 'seg'], (2, 5, 7))
>>> model.task_parameter_count("seg") < model.count_params()
True
"""

from __future__ import annotations

import keras
from keras import ops

from llmbook.validation import non_negative_int, positive_int, unit_rate

__all__ = ["UNLABELLED", "MultiTaskTagger", "masked_sparse_crossentropy"]

UNLABELLED = -1
ENCODERS = ("conv", "bilstm")


def masked_sparse_crossentropy(y_true, logits):
    """Mean cross-entropy of ``logits`` over the positions whose label is not ``UNLABELLED``.

    Args:
        y_true: integer labels, shape ``(batch, length)``; -1 marks a position without a label
            (padding, or a sentence that has no label for this task). Floats holding integers are
            accepted (Keras casts targets to the output's dtype).
        logits: unnormalized scores, shape ``(batch, length, n_tags)``.

    Returns:
        A scalar: the summed cross-entropy of the labelled positions divided by their number, or 0
        if there is none.

    >>> import numpy as np
    >>> logits = np.log(np.array([[[0.5, 0.5], [0.9, 0.1]]], dtype="float32"))
    >>> round(float(masked_sparse_crossentropy(np.array([[0, -1]]), logits)), 4)  # -log 0.5
    0.6931
    """
    labels = ops.cast(y_true, "int32")
    labelled = ops.cast(ops.greater_equal(labels, 0), logits.dtype)
    losses = keras.losses.sparse_categorical_crossentropy(ops.maximum(labels, 0), logits, from_logits=True)
    return ops.sum(losses * labelled) / ops.maximum(ops.sum(labelled), 1.0)


@keras.saving.register_keras_serializable(package="llmbook")
class MultiTaskTagger(keras.Model):
    """A shared character encoder with one tagging head per task.

    Args:
        vocab_size: the number of token ids, padding (id 0) included.
        tasks: task name -> number of tags, in the order of the outputs; one task gives a
            single-task tagger.
        embedding_dim: the size of the token embeddings.
        hidden_dim: the encoder's width (channels of each convolution, or units of each LSTM
            direction: a BiLSTM layer's output has ``2 * hidden_dim`` features).
        encoder: ``"conv"`` (``num_layers`` ReLU convolutions of width ``kernel_size``, "same"
            padding) or ``"bilstm"`` (``num_layers`` bidirectional LSTMs).
        num_layers: the number of encoder layers.
        kernel_size: the convolution's window (``"conv"`` only).
        dropout: the dropout rate on the embeddings and after each encoder layer, in training.
        seed: seeds the initializers and dropout.

    Call args:
        ids: integer ids, shape ``(batch, length)``; 0 is padding (its embedding is zeroed, the
            BiLSTM skips it).
        training: whether dropout is active.

    Returns (of a call):
        A dict: task name -> logits of shape ``(batch, length, n_tags)``.

    Raises:
        ValueError: for no task, a non-positive tag count, an unknown encoder or bad sizes.
    """

    def __init__(self, vocab_size: int, tasks: dict, embedding_dim: int = 32, hidden_dim: int = 64,
                 encoder: str = "conv", num_layers: int = 2, kernel_size: int = 3, dropout: float = 0.0,
                 seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(tasks, dict) or not tasks:
            raise ValueError(f"tasks must be a non-empty dict of task name -> number of tags, got {tasks!r}")
        for name, count in tasks.items():
            if not isinstance(name, str) or not name:
                raise ValueError(f"task names must be non-empty strings, got {name!r}")
            positive_int(f"tasks[{name!r}]", count)
        if encoder not in ENCODERS:
            raise ValueError(f"encoder must be one of {ENCODERS}, got {encoder!r}")
        self.vocab_size = positive_int("vocab_size", vocab_size)
        self.tasks = {name: int(count) for name, count in tasks.items()}
        self.embedding_dim = positive_int("embedding_dim", embedding_dim)
        self.hidden_dim = positive_int("hidden_dim", hidden_dim)
        self.encoder_kind = encoder
        self.num_layers = positive_int("num_layers", num_layers)
        self.kernel_size = positive_int("kernel_size", kernel_size)
        self.dropout_rate = unit_rate("dropout", dropout)
        self.seed = None if seed is None else non_negative_int("seed", seed)
        init = keras.initializers.GlorotUniform(seed=self.seed)
        self.embedding = keras.layers.Embedding(vocab_size, embedding_dim, embeddings_initializer=init,
                                                name="embedding")
        if encoder == "conv":
            self.encoder_layers = [
                keras.layers.Conv1D(hidden_dim, kernel_size, padding="same", activation="relu",
                                    kernel_initializer=keras.initializers.GlorotUniform(
                                        seed=None if seed is None else seed + 1 + i), name=f"conv_{i}")
                for i in range(num_layers)]
        else:
            self.encoder_layers = [
                keras.layers.Bidirectional(keras.layers.LSTM(hidden_dim, return_sequences=True, seed=seed),
                                           name=f"bilstm_{i}")
                for i in range(num_layers)]
        self.dropout_layer = keras.layers.Dropout(self.dropout_rate, seed=seed)
        self.heads = {name: keras.layers.Dense(count, name=f"head_{name}",
                                               kernel_initializer=keras.initializers.GlorotUniform(
                                                   seed=None if seed is None else seed + 100 + i))
                      for i, (name, count) in enumerate(self.tasks.items())}

    def encode(self, ids, training: bool = False):
        """The shared features, shape ``(batch, length, features)``, zero at padding."""
        ids = ops.convert_to_tensor(ids, "int32")
        present = ops.not_equal(ids, 0)
        keep = ops.cast(present, "float32")[..., None]
        x = self.embedding(ids) * keep
        x = self.dropout_layer(x, training=training)
        for layer in self.encoder_layers:
            x = layer(x) if self.encoder_kind == "conv" else layer(x, mask=present)
            x = self.dropout_layer(x, training=training) * keep
        return x

    def call(self, ids, training: bool = False):
        features = self.encode(ids, training=training)
        return {name: head(features) for name, head in self.heads.items()}

    def task_parameter_count(self, task: str) -> int:
        """The parameters one task uses: the shared encoder's plus that task's head.

        A single-task tagger built with the same sizes has exactly this many parameters.

        Raises:
            KeyError: for a task the model does not have.
            ValueError: if the model is not built yet (call it once).
        """
        if task not in self.heads:
            raise KeyError(f"no task {task!r}; the tasks are {sorted(self.heads)}")
        if not self.built or not self.heads[task].built:
            raise ValueError("the model is not built yet: call it on a batch of ids first")
        shared = self.count_params() - sum(head.count_params() for head in self.heads.values())
        return shared + self.heads[task].count_params()

    def reinitialize(self, seed: int) -> None:
        """Set every weight to what a new tagger of the same configuration and ``seed`` starts with.

        If the model is compiled, the optimizer's variables (moments, step count) are set back to a
        new optimizer's, so that the next ``fit`` trains exactly as a new model with this seed would, but reuses
        the compiled training step: one trace for many seeded runs. (Dropout's random stream is not
        reset; with ``dropout=0`` there is none.)

        Raises:
            ValueError: if the model is not built yet.
        """
        if not self.built:
            raise ValueError("the model is not built yet: call it on a batch of ids first")
        config = {**self.get_config(), "seed": non_negative_int("seed", seed)}
        config.pop("name", None)
        config.pop("trainable", None)
        config.pop("dtype", None)
        fresh = MultiTaskTagger(**config)
        fresh(ops.ones((1, 1), "int32"))
        self.set_weights(fresh.get_weights())
        optimizer = getattr(self, "optimizer", None)
        if optimizer is not None and optimizer.built:
            start = type(optimizer).from_config(optimizer.get_config())
            start.build(self.trainable_variables)
            for variable, value in zip(optimizer.variables, start.variables):
                variable.assign(value)

    def get_config(self):
        config = super().get_config()
        config.update(vocab_size=self.vocab_size, tasks=dict(self.tasks), embedding_dim=self.embedding_dim,
                      hidden_dim=self.hidden_dim, encoder=self.encoder_kind, num_layers=self.num_layers,
                      kernel_size=self.kernel_size, dropout=self.dropout_rate, seed=self.seed)
        return config
