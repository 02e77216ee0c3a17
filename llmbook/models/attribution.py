"""Token attributions: which input tokens a classifier's prediction rests on, and a test of the answer.

Three ways to score every input token of one prediction, and the helpers of the *deletion test* that
checks whether a score means anything:

* :func:`gradient_times_input` (Shrikumar et al., 2017; Denil et al., 2014): the gradient of the
  predicted class's score with respect to each input token embedding, times that embedding, summed
  over the embedding axis. For a model that is linear in its inputs it is exactly each token's
  contribution (weight x input), and the contributions add up to the score minus the bias.
* :func:`attention_rollout` (Abnar and Zuidema, 2020): average each layer's attention over heads, add
  the identity for the residual connection, renormalise the rows, and multiply the layers' matrices.
  It follows attention only (not the values, not the MLPs), and it does not depend on the class.
* :func:`occlusion` (leave one out; Zeiler and Fergus, 2014; Li et al., 2016): remove one token at a
  time and record how much the score falls. It costs one forward pass per token, and it is the
  baseline a practitioner tries first.

:func:`encode_token_embeddings` and :func:`encode_embedding_output` run a
:class:`~llmbook.models.encoder.TransformerEncoder` from token embeddings (or from its embedding
layer's output) instead of token ids, which is what the gradient needs. :func:`top_k_positions` and
:func:`random_positions` choose the tokens that the deletion test removes.

>>> import numpy as np
>>> from keras import ops
>>> weights = np.array([[[1.0, 2.0], [0.5, -1.0]]], "float32")
>>> inputs = np.array([[[3.0, 1.0], [2.0, 2.0]]], "float32")
>>> gradient_times_input(lambda x: ops.sum(x * weights, axis=(1, 2)), inputs)
array([[ 5., -1.]], dtype=float32)
>>> attention_rollout([np.eye(3)[None]]).round(3).tolist()
[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
"""

from __future__ import annotations

from typing import Callable, Sequence

import keras
import numpy as np
from keras import ops

from llmbook.models.backbone import output_head
from llmbook.validation import positive_int

__all__ = [
    "attention_rollout",
    "encode_embedding_output",
    "encode_token_embeddings",
    "gradient_times_input",
    "occlusion",
    "random_positions",
    "top_k_positions",
]


def _gradient(objective: Callable, inputs):
    """The gradient of ``sum(objective(inputs))`` with respect to ``inputs``, as float32 NumPy."""
    inputs = ops.convert_to_tensor(np.asarray(inputs, dtype="float32"))
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            tape.watch(inputs)
            total = ops.sum(objective(inputs))
        grad = tape.gradient(total, inputs)
    elif backend == "jax":
        import jax

        grad = jax.grad(lambda x: ops.sum(objective(x)))(inputs)
    elif backend == "torch":
        import torch

        inputs = inputs.detach().requires_grad_(True)
        (grad,) = torch.autograd.grad(ops.sum(objective(inputs)), [inputs])
    else:
        raise NotImplementedError(f"gradient_times_input supports tensorflow, jax and torch, not {backend}")
    if grad is None:
        raise ValueError("score does not depend on its input: it must compute its result from the embeddings "
                         "it is given, with keras.ops (not NumPy, which the gradient cannot pass through)")
    return np.asarray(ops.convert_to_numpy(grad), dtype="float32")


def gradient_times_input(score: Callable, embeddings) -> np.ndarray:
    """Gradient x input, summed over the embedding axis: one relevance per token.

    Args:
        score: a function ``(batch, length, dim)`` embeddings -> ``(batch,)`` scores, written with
            ``keras.ops`` so that it can be differentiated; each example's score must depend only on
            its own row (true of a Transformer with a padding mask), since the gradient of the batch
            sum is taken.
        embeddings: float ``(batch, length, dim)``: the input token embeddings.

    Returns:
        float32 ``(batch, length)``: ``sum_d embeddings[b, t, d] * d score[b] / d embeddings[b, t, d]``.

    Raises:
        ValueError: if ``embeddings`` is not 3-D, or ``score`` does not return one value per example or
            does not depend on its input.
    """
    embeddings = np.asarray(embeddings, dtype="float32")
    if embeddings.ndim != 3:
        raise ValueError(f"embeddings must be (batch, length, dim), got shape {embeddings.shape}")
    scores = ops.convert_to_numpy(score(ops.convert_to_tensor(embeddings)))
    if np.shape(scores) != (embeddings.shape[0],):
        raise ValueError(f"score must return one value per example, shape ({embeddings.shape[0]},); got "
                         f"{np.shape(scores)} (select the class's logit, e.g. logits[:, c])")
    return (_gradient(score, embeddings) * embeddings).sum(axis=-1)


def encode_token_embeddings(encoder, token_embeddings, segment_ids=None, padding_mask=None):
    """Run ``encoder`` from token embeddings: what ``encoder(inputs)`` computes after its embedding lookup.

    The rest of the embedding layer (positions, segments, the embedding norm) and every block run as in
    the ``call`` of :class:`~llmbook.models.encoder.TransformerEncoder`, in inference mode; the tests check that the
    two agree.

    Args:
        encoder: a :class:`~llmbook.models.encoder.TransformerEncoder` (for example a ``BertEncoder``).
        token_embeddings: float ``(batch, length, hidden_dim)``, e.g.
            ``encoder.embeddings.token_embedding(token_ids)``.
        segment_ids: int ``(batch, length)``; default all 0.
        padding_mask: bool ``(batch, length)``, True on real tokens; default all True.

    Returns:
        The encoder's output, ``(batch, length, hidden_dim)`` token vectors for a BERT encoder.

    Raises:
        ValueError: if ``token_embeddings`` is not ``(batch, length, hidden_dim)``.
    """
    x = _check_embedded(encoder, token_embeddings, "token_embeddings")
    layer = encoder.embeddings
    if layer.position_embedding is not None:
        x = x + layer.position_embedding(x)
    if layer.segment_embedding is not None:
        if segment_ids is None:
            segment_ids = ops.zeros(tuple(x.shape)[:2], "int32")
        x = x + layer.segment_embedding(segment_ids)
    if layer.norm is not None:
        x = layer.norm(x)
    return encode_embedding_output(encoder, x, padding_mask)


def encode_embedding_output(encoder, embedded, padding_mask=None):
    """Run ``encoder``'s blocks (and output head) on the output of its embedding layer.

    ``embedded`` is what ``encoder.embeddings(token_ids, segment_ids)`` returns: token, position and
    segment embeddings added and, in BERT, layer-normalised. This is the input that attributions for
    BERT usually take (the LayerNorm makes gradient x input of its own input degenerate; the chapter on
    explainability shows why).

    Args:
        encoder: a :class:`~llmbook.models.encoder.TransformerEncoder`.
        embedded: float ``(batch, length, hidden_dim)``.
        padding_mask: bool ``(batch, length)``, True on real tokens; default all True.

    Returns:
        The encoder's output, as :func:`encode_token_embeddings`.

    Raises:
        ValueError: if ``embedded`` is not ``(batch, length, hidden_dim)``.
    """
    x = _check_embedded(encoder, embedded, "embedded")
    mask = None if padding_mask is None else ops.cast(padding_mask, "bool")
    for block in encoder.blocks:
        x = block(x, attention_mask=mask, training=False)
    return output_head(x, final_norm=encoder.final_norm, lm_head=encoder.lm_head,
                       tied_embedding=encoder.embeddings.token_embedding if encoder.tie_embeddings else None)


def _check_embedded(encoder, embedded, name):
    embedded = ops.convert_to_tensor(embedded)
    shape = tuple(embedded.shape)
    if len(shape) != 3 or shape[-1] != encoder.hidden_dim:
        raise ValueError(f"{name} must be (batch, length, {encoder.hidden_dim}), got shape {shape}")
    return embedded


def attention_rollout(attention_maps: Sequence, residual: bool = True) -> np.ndarray:
    """Attention rollout (Abnar and Zuidema, 2020): how much each output position draws on each input token.

    For every layer ``l``, ``A_l`` is the mean over heads; with ``residual`` it becomes
    ``(A_l + I) / 2`` (the residual connection carries each token's own vector past attention), its
    rows renormalised to 1; the rollout is ``A_L @ ... @ A_2 @ A_1``. Row ``i`` says how much output
    position ``i`` draws on each input token, under the assumption that information mixes only
    through attention, linearly.

    Args:
        attention_maps: one array per layer, first layer first, each ``(batch, heads, length, length)``
            or ``(heads, length, length)``, every row a probability distribution (softmax outputs),
            as :meth:`~llmbook.models.encoder.TransformerEncoder.attention_maps` returns them.
        residual: add the identity before multiplying (the method as published); False multiplies the
            raw head-averaged attentions.

    Returns:
        float64 ``(batch, length, length)`` (or ``(length, length)`` for unbatched maps); every row sums to 1.

    Raises:
        ValueError: for no maps, maps of different or non-square shapes, or rows that do not sum to 1.
    """
    if len(attention_maps) == 0:
        raise ValueError("attention_maps is empty; pass one (…, heads, length, length) array per layer")
    maps = [np.asarray(a, dtype="float64") for a in attention_maps]
    shape = maps[0].shape
    if maps[0].ndim not in (3, 4) or shape[-1] != shape[-2]:
        raise ValueError(f"each attention map must be (batch, heads, length, length) or (heads, length, "
                         f"length), got shape {shape}")
    rollout = None
    for index, weights in enumerate(maps):
        if weights.shape != shape:
            raise ValueError(f"attention map {index} has shape {weights.shape}, layer 0 has {shape}; every "
                             "layer must have the same shape")
        if not np.allclose(weights.sum(axis=-1), 1.0, atol=1e-4):
            raise ValueError(f"attention map {index}: rows must sum to 1 (softmax weights over the keys); "
                             "pass the attention probabilities, not the scores")
        averaged = weights.mean(axis=-3)
        if residual:
            averaged = averaged + np.eye(shape[-1])
            averaged = averaged / averaged.sum(axis=-1, keepdims=True)
        rollout = averaged if rollout is None else averaged @ rollout
    return rollout


def occlusion(score: Callable, token_ids, padding_mask, candidates=None) -> np.ndarray:
    """Leave-one-out occlusion: the fall in the score when each candidate token is removed alone.

    A token is removed by switching off its entry of the padding mask, so nothing attends to it and
    mask-aware pooling leaves it out, while every other token keeps its position.

    Args:
        score: a function ``(token_ids, padding_mask)`` (NumPy, ``(n, length)`` each) -> ``(n,)`` scores;
            it is called once with all the occluded copies (``sum(candidates)`` rows) and once with the
            originals, so it should batch internally.
        token_ids: int ``(batch, length)``.
        padding_mask: bool ``(batch, length)``, True on real tokens.
        candidates: bool ``(batch, length)``: the tokens to occlude (default: every real token); must be
            a subset of ``padding_mask``.

    Returns:
        float64 ``(batch, length)``: ``score(original) - score(without token t)`` at candidates, 0 elsewhere.

    Raises:
        ValueError: for shapes that differ, candidates outside the mask, or a score of the wrong shape.
    """
    token_ids, padding_mask = np.asarray(token_ids), np.asarray(padding_mask, dtype=bool)
    candidates = padding_mask if candidates is None else np.asarray(candidates, dtype=bool)
    if token_ids.ndim != 2 or token_ids.shape != padding_mask.shape or candidates.shape != token_ids.shape:
        raise ValueError(f"token_ids, padding_mask and candidates must be (batch, length) of one shape, got "
                         f"{token_ids.shape}, {padding_mask.shape}, {candidates.shape}")
    if np.any(candidates & ~padding_mask):
        raise ValueError("candidates must be real tokens: every candidate must be True in padding_mask")
    rows, columns = np.nonzero(candidates)
    occluded_mask = padding_mask[rows].copy()
    occluded_mask[np.arange(len(rows)), columns] = False
    original = np.asarray(score(token_ids, padding_mask), dtype="float64")
    occluded = np.asarray(score(token_ids[rows], occluded_mask), dtype="float64") if len(rows) else np.zeros(0)
    if original.shape != (len(token_ids),) or occluded.shape != (len(rows),):
        raise ValueError(f"score must return one value per row: got {original.shape} for {len(token_ids)} "
                         f"rows and {occluded.shape} for {len(rows)}")
    result = np.zeros(token_ids.shape)
    result[rows, columns] = original[rows] - occluded
    return result


def _check_selection(candidates, k) -> tuple[np.ndarray, int]:
    candidates = np.asarray(candidates, dtype=bool)
    k = positive_int("k", k)
    if candidates.ndim != 2:
        raise ValueError(f"candidates must be (batch, length), got shape {candidates.shape}")
    short = np.nonzero(candidates.sum(axis=1) < k)[0]
    if len(short):
        raise ValueError(f"k={k} but row(s) {short[:5].tolist()} have fewer candidate tokens; drop those rows "
                         "or lower k")
    return candidates, k


def top_k_positions(attributions, candidates, k: int) -> np.ndarray:
    """The ``k`` candidate tokens with the largest attribution in each row, as a boolean mask.

    Ties go to the earlier position. Attributions are ranked as they are (signed): pass the
    attribution toward the predicted class, so that "largest" means "most in favour of it".

    Args:
        attributions: float ``(batch, length)``.
        candidates: bool ``(batch, length)``: the tokens that may be chosen (e.g. real tokens without
            ``[CLS]`` and ``[SEP]``).
        k: tokens per row.

    Returns:
        bool ``(batch, length)`` with exactly ``k`` True entries per row, all of them candidates.

    Raises:
        ValueError: for shapes that differ, k < 1, or a row with fewer than k candidates.
    """
    candidates, k = _check_selection(candidates, k)
    attributions = np.asarray(attributions, dtype="float64")
    if attributions.shape != candidates.shape:
        raise ValueError(f"attributions {attributions.shape} and candidates {candidates.shape} must have one shape")
    if not np.all(np.isfinite(attributions[candidates])):
        raise ValueError("attributions contain NaN or infinity at candidate positions")
    ranked = np.where(candidates, attributions, -np.inf)
    order = np.argsort(-ranked, axis=1, kind="stable")[:, :k]
    chosen = np.zeros(candidates.shape, dtype=bool)
    np.put_along_axis(chosen, order, True, axis=1)
    return chosen


def random_positions(candidates, k: int, rng: np.random.Generator) -> np.ndarray:
    """``k`` candidate tokens per row drawn uniformly without replacement: the deletion test's control.

    Args:
        candidates: bool ``(batch, length)``.
        k: tokens per row.
        rng: a ``numpy.random.Generator`` (seeded by the caller).

    Returns:
        bool ``(batch, length)`` with exactly ``k`` True entries per row, all of them candidates.

    Raises:
        ValueError: for k < 1 or a row with fewer than k candidates; TypeError if rng is not a Generator.
    """
    candidates, k = _check_selection(candidates, k)
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator (np.random.default_rng(seed)), got {type(rng).__name__}")
    keys = np.where(candidates, rng.random(candidates.shape), np.inf)
    order = np.argsort(keys, axis=1)[:, :k]
    chosen = np.zeros(candidates.shape, dtype=bool)
    np.put_along_axis(chosen, order, True, axis=1)
    return chosen
