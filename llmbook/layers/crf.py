"""A linear-chain conditional random field (Lafferty et al., 2001) over per-token emission scores.

A tagger gives every token ``t`` a score ``emissions[t, j]`` for each tag ``j``; the CRF adds a score
``transitions[i, j]`` for tag ``j`` following tag ``i``, ``start_scores[j]`` for the first tag and
``end_scores[j]`` for the last. A tag sequence ``y`` of a sentence then has the score

    s(y) = start[y_0] + sum_t emissions[t, y_t] + sum_{t>0} transitions[y_{t-1}, y_t] + end[y_last]

and the probability ``exp(s(y)) / Z`` with ``Z`` the sum of ``exp(s)`` over every tag sequence. The
forward algorithm computes ``log Z`` in ``O(length * num_tags^2)`` (in log space, so nothing
overflows); Viterbi finds the best sequence with the same recursion, ``max`` in place of ``logsumexp``.
Training minimises the negative log-likelihood ``log Z - s(gold tags)``.

Everything is written with ``keras.ops`` (``ops.scan`` runs over time), so it runs under TensorFlow,
JAX and PyTorch.

One layer, kept in one module: the CRF's three computations share its weights and masks (about 40 %
of the lines are docstrings and examples).
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from llmbook.validation import positive_int

# The score a disallowed transition, start or end gets: far below any real score, yet finite, so that
# logsumexp and its gradient stay finite even in a sequence that no allowed path can tag.
DISALLOWED_SCORE = -1e9


def _constraint(name: str, value, shape: tuple) -> np.ndarray | None:
    """``value`` as a boolean array of ``shape`` (None stays None: everything allowed)."""
    if value is None:
        return None
    array = np.asarray(value)
    if array.dtype != bool:
        raise ValueError(f"{name} must be a boolean array (True where allowed), got dtype {array.dtype}")
    if array.shape != shape:
        raise ValueError(f"{name} must have shape {shape} (one entry per tag), got {array.shape}")
    return array


@keras.saving.register_keras_serializable(package="llmbook")
class CRF(keras.layers.Layer):
    """A linear-chain CRF: ``log Z``, sequence scores, the negative log-likelihood and Viterbi decoding.

    The weights are ``transitions`` ``(num_tags, num_tags)`` (row: previous tag, column: next tag),
    ``start_scores`` and ``end_scores`` ``(num_tags,)``, all initialised to zero and kept and used in
    float32: emissions of any float dtype (float16 under ``mixed_float16``) are cast up first, and the
    layer does not autocast its weights.

    **Masks** are boolean ``(batch, length)``, True for real tokens (right padding: real tokens first,
    though any mask works: a sentence is its True positions, in order). A row with no True position
    is an empty sentence and has a defined result: ``log Z = 0``, score 0, negative log-likelihood 0,
    Viterbi score 0 and every tag ``-1``. Viterbi tags at padded positions are ``-1``.

    **Constraints.** ``allowed_transitions[i, j] = False`` forbids tag ``j`` right after tag ``i``
    (in BIO tagging: ``I-X`` after ``O``); ``allowed_start`` / ``allowed_end`` forbid tags at the
    first / last position. A forbidden move scores ``DISALLOWED_SCORE`` (-1e9) in the partition
    function, in sequence scores and in Viterbi, so no decoded sequence uses one (unless no allowed
    sequence exists), and a gold sequence that uses one has a negative log-likelihood near 1e9.

    **Training.** ``call`` returns the Viterbi tags in training and inference alike; they carry no
    gradient. To train, minimise ``negative_log_likelihood`` of the emissions: for instance a
    ``keras.Model`` whose ``call`` returns ``{"emissions": e, "tags": crf(e, mask=mask)}`` and whose
    ``compute_loss`` returns ``crf.negative_log_likelihood(y_pred["emissions"], y, mask)``. That
    works under ``fit`` and ``evaluate`` on every backend, and ``predict`` returns both. (On TensorFlow,
    training cannot be compiled with XLA: ``jit_compile="auto"`` leaves it out, ``jit_compile=True``
    fails.)

    Args:
        num_tags: the number of tags.
        allowed_transitions: optional boolean ``(num_tags, num_tags)``, True where tag ``j`` may follow
            tag ``i`` (default: every transition allowed).
        allowed_start: optional boolean ``(num_tags,)``, True for tags that may start a sentence.
        allowed_end: optional boolean ``(num_tags,)``, True for tags that may end a sentence.
        **kwargs: passed to ``keras.layers.Layer`` (``name``, ``dtype``, ...).

    Call args:
        emissions: float ``(batch, length, num_tags)``.
        mask: optional boolean ``(batch, length)``.

    Returns:
        ``call``: the Viterbi tags, int32 ``(batch, length)``, ``-1`` at padded positions.

    Raises:
        ValueError: for a bad ``num_tags``, a constraint of the wrong shape or dtype, constraints that
            allow no start or no end tag, or (when called) emissions, tags or a mask of the wrong shape.

    >>> import numpy as np
    >>> from keras import ops
    >>> crf = CRF(num_tags=2)
    >>> emissions = np.array([[[2.0, 0.0], [0.0, 1.0], [3.0, 0.0]]], "float32")
    >>> ops.convert_to_numpy(crf(emissions)).tolist()      # zero transitions: each token's best tag
    [[0, 1, 0]]
    >>> ops.convert_to_numpy(crf(emissions, mask=np.array([[True, True, False]]))).tolist()
    [[0, 1, -1]]
    >>> no_switch = CRF(num_tags=2, allowed_transitions=np.eye(2, dtype=bool))
    >>> ops.convert_to_numpy(no_switch(emissions)).tolist()  # one tag throughout: 0 scores 5, 1 scores 1
    [[0, 0, 0]]
    >>> round(float(ops.convert_to_numpy(crf.log_partition(emissions))[0]), 4)  # sum_t logsumexp_j e[t, j]
    6.4888
    """

    def __init__(self, num_tags: int, allowed_transitions=None, allowed_start=None, allowed_end=None,
                 **kwargs):
        super().__init__(**{**kwargs, "autocast": False})
        self.num_tags = positive_int("num_tags", num_tags)
        self.supports_masking = True               # the tags keep the emissions' mask
        # TensorFlow's XLA cannot differentiate ops.scan (its while loop has no maximum_iterations), so a
        # model holding a CRF tells fit's jit_compile="auto" to stay a plain tf.function there.
        self.supports_jit = keras.backend.backend() != "tensorflow"
        tags = (self.num_tags,)
        self.allowed_transitions = _constraint("allowed_transitions", allowed_transitions, tags * 2)
        self.allowed_start = _constraint("allowed_start", allowed_start, tags)
        self.allowed_end = _constraint("allowed_end", allowed_end, tags)
        for name, allowed in (("allowed_start", self.allowed_start), ("allowed_end", self.allowed_end)):
            if allowed is not None and not allowed.any():
                raise ValueError(f"{name} allows no tag, so no sentence can be tagged: allow at least one")

    def build(self, input_shape):
        if input_shape[-1] is not None and input_shape[-1] != self.num_tags:
            raise ValueError(f"emissions must have num_tags={self.num_tags} scores per token (last axis), "
                             f"got shape {tuple(input_shape)}")
        self.transitions = self.add_weight(shape=(self.num_tags, self.num_tags), initializer="zeros",
                                           name="transitions", dtype="float32")
        self.start_scores = self.add_weight(shape=(self.num_tags,), initializer="zeros", name="start_scores",
                                            dtype="float32")
        self.end_scores = self.add_weight(shape=(self.num_tags,), initializer="zeros", name="end_scores",
                                          dtype="float32")
        self.built = True

    # -- shared preparation ---------------------------------------------------------------------------

    def _scores(self):
        """``(transitions, start, end)`` in float32, with disallowed entries set to DISALLOWED_SCORE."""
        scores = []
        for weight, allowed in ((self.transitions, self.allowed_transitions),
                                (self.start_scores, self.allowed_start), (self.end_scores, self.allowed_end)):
            weight = ops.cast(weight, "float32")
            if allowed is not None:
                weight = ops.where(allowed, weight, DISALLOWED_SCORE)
            scores.append(weight)
        return scores

    def _time_major(self, emissions, mask, tags=None):
        """Check shapes; return emissions ``(length, batch, num_tags)`` float32, mask and tags time-major."""
        emissions = ops.cast(ops.convert_to_tensor(emissions), "float32")
        shape = tuple(emissions.shape)
        if len(shape) != 3:
            raise ValueError(f"emissions must be (batch, length, num_tags), got shape {shape}")
        if not self.built:
            self.build(shape)
        elif shape[-1] is not None and shape[-1] != self.num_tags:
            raise ValueError(f"emissions must have num_tags={self.num_tags} scores per token (last axis), "
                             f"got shape {shape}")
        if mask is None:
            mask = ops.ones(ops.shape(emissions)[:2], dtype="bool")
        mask = ops.cast(ops.convert_to_tensor(mask), "bool")
        arrays = [("mask", mask)] + ([] if tags is None else [("tags", ops.convert_to_tensor(tags))])
        for name, array in arrays:
            if len(array.shape) != 2 or any(a is not None and b is not None and a != b
                                            for a, b in zip(array.shape, shape[:2])):
                raise ValueError(f"{name} must be (batch, length) like the emissions' first two axes "
                                 f"{shape[:2]}, got shape {tuple(array.shape)}")
        if tags is not None:
            self._check_tag_range(tags, mask)
        out = [ops.transpose(emissions, (1, 0, 2)), ops.transpose(mask, (1, 0))]
        if tags is not None:
            out.append(ops.transpose(ops.cast(tags, "int32"), (1, 0)))
        return out

    def _check_tag_range(self, tags, mask) -> None:
        """Refuse gold tags outside ``0..num_tags-1`` at real positions when they are concrete (eager calls);
        inside a compiled training step they are symbolic and cannot be read."""
        try:
            values = np.asarray(ops.convert_to_numpy(tags))
            real = np.asarray(ops.convert_to_numpy(mask), dtype=bool)
        except Exception:  # symbolic tensors (tf.function / jit): nothing concrete to check
            return
        if not np.issubdtype(values.dtype, np.integer):
            raise ValueError(f"tags must be integer tag ids, got dtype {values.dtype}")
        used = values[real]
        if used.size and (used.min() < 0 or used.max() >= self.num_tags):
            raise ValueError(f"tags must lie in 0..{self.num_tags - 1} at real (unmasked) positions; got values "
                             f"from {used.min()} to {used.max()}: map labels to ids with the same tag set the "
                             "CRF was built for")

    # -- the three computations -------------------------------------------------------------------------

    def log_partition(self, emissions, mask=None):
        """``log Z``: the logsumexp of the scores of every tag sequence, by the forward algorithm.

        Args:
            emissions: float ``(batch, length, num_tags)``.
            mask: optional boolean ``(batch, length)``, True for real tokens.

        Returns:
            float32 ``(batch,)``; 0 for a row with no real token.

        Raises:
            ValueError: for emissions or a mask of the wrong shape.
        """
        emissions, mask = self._time_major(emissions, mask)
        transitions, start, end = self._scores()

        def step(carry, inputs):
            alpha, started = carry                 # alpha[b, j]: log-sum of the paths ending in tag j
            emission, real = inputs
            following = ops.logsumexp(alpha[:, :, None] + transitions[None], axis=1) + emission
            new = ops.where(started[:, None], following, start[None] + emission)
            return (ops.where(real[:, None], new, alpha), ops.logical_or(started, real)), None

        batch = ops.shape(emissions)[1]
        init = (ops.zeros((batch, self.num_tags), "float32"), ops.zeros((batch,), "bool"))
        (alpha, started), _ = ops.scan(step, init, (emissions, mask))
        return ops.where(started, ops.logsumexp(alpha + end[None], axis=-1), 0.0)

    def sequence_score(self, emissions, tags, mask=None):
        """The score ``s(tags)`` of given tag sequences (start + emissions + transitions + end).

        Args:
            emissions: float ``(batch, length, num_tags)``.
            tags: integer ``(batch, length)`` in ``[0, num_tags)``; entries at padded positions are
                ignored (any value, ``-1`` included).
            mask: optional boolean ``(batch, length)``, True for real tokens.

        Returns:
            float32 ``(batch,)``; 0 for a row with no real token.

        Raises:
            ValueError: for emissions, tags or a mask of the wrong shape.
        """
        emissions, mask, tags = self._time_major(emissions, mask, tags)
        transitions, start, end = self._scores()
        one_hot = ops.one_hot(ops.where(mask, tags, 0), self.num_tags, dtype="float32")

        def step(carry, inputs):
            previous, started, score = carry       # previous: one-hot tag of the last real token
            emission, tag, real = inputs
            moved = ops.sum(ops.matmul(previous, transitions) * tag, axis=-1)
            entered = ops.where(started, moved, ops.sum(start[None] * tag, axis=-1))
            score = score + ops.where(real, ops.sum(emission * tag, axis=-1) + entered, 0.0)
            return (ops.where(real[:, None], tag, previous), ops.logical_or(started, real), score), None

        batch = ops.shape(emissions)[1]
        init = (ops.zeros((batch, self.num_tags), "float32"), ops.zeros((batch,), "bool"),
                ops.zeros((batch,), "float32"))
        (last, started, score), _ = ops.scan(step, init, (emissions, one_hot, mask))
        return score + ops.where(started, ops.sum(last * end[None], axis=-1), 0.0)

    def negative_log_likelihood(self, emissions, tags, mask=None, reduction: str = "mean"):
        """``log Z - s(tags)``: minus the log-probability the CRF gives the gold tags.

        Args:
            emissions: float ``(batch, length, num_tags)``.
            tags: integer ``(batch, length)``, the gold tags.
            mask: optional boolean ``(batch, length)``, True for real tokens.
            reduction: ``"mean"`` (over the batch rows, empty rows counting 0) or ``"none"``.

        Returns:
            float32: a scalar for ``"mean"``, ``(batch,)`` for ``"none"``.

        Raises:
            ValueError: for an unknown reduction, or arrays of the wrong shape.
        """
        if reduction not in ("mean", "none"):
            raise ValueError(f"reduction must be 'mean' or 'none', got {reduction!r}")
        per_sequence = self.log_partition(emissions, mask) - self.sequence_score(emissions, tags, mask)
        return ops.mean(per_sequence) if reduction == "mean" else per_sequence

    def viterbi(self, emissions, mask=None):
        """The best tag sequence of each row and its score.

        Args:
            emissions: float ``(batch, length, num_tags)``.
            mask: optional boolean ``(batch, length)``, True for real tokens.

        Returns:
            ``(tags, best_score)``: int32 ``(batch, length)`` with ``-1`` at padded positions, and the
            float32 ``(batch,)`` score of those tags (0 for a row with no real token).

        Raises:
            ValueError: for emissions or a mask of the wrong shape.
        """
        emissions, mask = self._time_major(emissions, mask)
        transitions, start, end = self._scores()
        batch = ops.shape(emissions)[1]
        stay = ops.broadcast_to(ops.arange(self.num_tags, dtype="int32")[None], (batch, self.num_tags))

        def step(carry, inputs):
            # delta[b, j]: the best score of a path ending in tag j; pointer[b, j]: that path's previous
            # tag (the identity at padded positions and at the first real token, so backtracking passes).
            delta, started, _ = carry
            emission, real = inputs
            candidates = delta[:, :, None] + transitions[None]
            pointer = ops.cast(ops.argmax(candidates, axis=1), "int32")
            new = ops.where(started[:, None], ops.max(candidates, axis=1) + emission, start[None] + emission)
            carry = (ops.where(real[:, None], new, delta), ops.logical_or(started, real),
                     ops.where(ops.logical_and(real, started)[:, None], pointer, stay))
            return carry, carry                     # ops.scan on TensorFlow needs outputs shaped like the carry

        init = (ops.zeros((batch, self.num_tags), "float32"), ops.zeros((batch,), "bool"), stay)
        (delta, started, _), (_, _, pointers) = ops.scan(step, init, (emissions, mask))
        final = delta + end[None]
        best_score = ops.where(started, ops.max(final, axis=-1), 0.0)

        def back(tag, pointer):
            return ops.take_along_axis(pointer, tag[:, None], axis=1)[:, 0], tag

        _, tags = ops.scan(back, ops.cast(ops.argmax(final, axis=-1), "int32"), pointers, reverse=True)
        return ops.where(ops.transpose(mask, (1, 0)), ops.transpose(tags, (1, 0)), -1), best_score

    def call(self, emissions, mask=None):
        return self.viterbi(emissions, mask)[0]

    def compute_output_spec(self, emissions, mask=None):
        return keras.KerasTensor(tuple(emissions.shape[:-1]), dtype="int32")

    def get_config(self):
        def listed(array):
            return None if array is None else array.tolist()

        return {**super().get_config(), "num_tags": self.num_tags,
                "allowed_transitions": listed(self.allowed_transitions),
                "allowed_start": listed(self.allowed_start), "allowed_end": listed(self.allowed_end)}
