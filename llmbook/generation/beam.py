"""Beam search: the ``beam_size`` most probable continuations kept at every step, for many prompts at once.

Greedy decoding keeps one hypothesis and takes the most probable token at each step; a token that looks
best now can lead to a worse sequence than a slightly less probable one (a translation's first word
fixes its word order). Beam search keeps ``beam_size`` *live* hypotheses per prompt. At each step every
live hypothesis is extended by every token, each extension scored by its summed log-probability, and the
``beam_size`` best extensions become the next live hypotheses. With a beam as large as the search space
it finds the most probable sequence; with a beam of 1 it is greedy decoding.

How it is computed here:

- **Rows.** Each prompt has its own ``beam_size`` rows in one batch (row ``p * beam_size + j`` is beam
  ``j`` of prompt ``p``), all decoded together with one static-shape KV cache. The prompt is prefilled
  once (not once per beam) and its cache rows are repeated ``beam_size`` times.
- **Reordering.** The beams chosen at a step descend from some of the previous beams, two of them
  perhaps from the same one: before the next token runs, every cache row is replaced by its parent's
  (one gather, ``keras.ops.take`` along the batch axis, per cached tensor).
- **Scores** are sums of log-probabilities, computed in float32 with ``log_softmax`` whatever the model's
  dtype. At the first step only beam 0 of each prompt is live (the others score ``-inf``), so the beam
  is never filled with copies of one hypothesis; a beam larger than the number of distinct prefixes keeps
  its extra rows empty (``-inf``) until there are enough.
- **One step.** Gather the cache by the parents, run the chosen tokens through the model, add each
  row's score to its log-probabilities and keep only the ``k`` best ``(score, parent, token)``
  candidates of each prompt (``keras.ops.top_k`` over its ``beam_size * vocab`` extensions). With ``s``
  stop tokens, ``k = beam_size * (1 + s)``: at most ``beam_size * s`` candidates end in a stop token, so
  at least ``beam_size`` of them go on. Then the bookkeeping on those ``k`` candidates per prompt:
  which finish, which stay live, and whether a prompt is done.
- **Where it runs.** With ``jit=True`` (the default) the whole search, steps and bookkeeping alike, is
  one compiled function (:func:`~llmbook.backend.compile_function`: XLA on TensorFlow) with the loop on
  the device (``keras.ops.while_loop``), compiled once per shape: the bookkeeping is tensor operations
  over all the prompts at once, and the finished hypotheses live in fixed-size ``(batch, num_return)``
  buffers. With ``jit=False`` the same algorithm runs step by step, each step one call to the model and
  the bookkeeping in NumPy on the host, prompt by prompt: the readable version, which the tests check
  makes the same choices.
- **Finished hypotheses.** A candidate that ends in a stop token (``eos_id``) and ranks among its
  prompt's ``beam_size`` best candidates is *finished*: it is kept with its score and grows no further
  (the rule of fairseq and Hugging Face); the live beam is refilled with the best candidates that do not
  stop. After ``max_new_tokens`` steps the live hypotheses are finished as they are.
- **Length normalization.** Summed log-probabilities favour short hypotheses (every token costs some
  probability). A finished hypothesis of ``n`` new tokens (its stop token included) with summed
  log-probability ``log_prob`` is ranked by GNMT's (Wu et al., 2016) normalized score
  ``log_prob / ((5 + n) / 6) ** alpha`` (:func:`length_penalty_factor`), with
  ``alpha = length_penalty``: 0 ranks by the raw log-probability, larger values favour longer
  hypotheses (GNMT uses 0.6 to 1). Live beams are chosen by raw log-probability (all have the same length).
- **Early stop.** A prompt is *done* when it has ``num_return`` finished hypotheses and the worst of them
  scores at least as well as any live hypothesis could ever score: a live one with log-probability ``s``
  can only lose probability, so its best reachable normalized score is ``s / lp(m)``, with ``lp(m)``
  the largest length penalty over the lengths ``m`` it can still reach. The bound is exact, so stopping
  early never changes the result. Decoding ends when every prompt is done (a done prompt's rows still
  compute until then: the batch keeps its shape) or after ``max_new_tokens`` steps.

**Models.** :func:`beam_search` drives a :class:`BeamAdapter`: an object that prefills the prompts into
a cache, runs one token per row, and reorders the cache rows.

- A decoder-only model with the KV-cache interface (``TransformerDecoder``, ``GPT``, ``LlamaDecoder``:
  ``init_cache(batch, max_length)``, ``call_with_cache(token_ids, cache, cache_index, logits_at=,
  attention_mask=)``) is wrapped in :class:`DecoderBeams`: the prompts are left-padded as in
  :mod:`llmbook.generation.batch`, so prompts of different lengths need rotary (or no) positions; with
  absolute positions they must all have the same length.
- An encoder-decoder model (``init_cache(batch, max_length)``, ``call_with_cache(target_ids, cache,
  cache_index, context, context_mask, logits_at=)``) is wrapped in :class:`EncoderDecoderBeams` with the
  encoder's output: pass ``context=`` (and ``context_mask=``) to :func:`beam_search`, and the target
  prefixes (for example ``[[bos_id]] * batch``) as the prompts. For the package's seq2seq model:
  ``context, context_mask = model.encode(source_ids)``, then
  ``beam_search(model, [[bos_id]] * len(source_ids), 4, 40, eos_id=eos_id, context=context,
  context_mask=context_mask)``. The context rows are repeated per beam
  once; they need no reordering, since every beam of a prompt reads the same source.
- Any other model: subclass :class:`BeamAdapter` (or write an object with its three methods).

>>> from llmbook.models import LlamaDecoder
>>> model = LlamaDecoder(vocab_size=30, num_layers=1, hidden_dim=16, num_heads=2, num_kv_heads=1,
...                      intermediate_dim=32)
>>> results = beam_search(model, [[1, 2, 3], [4, 5]], beam_size=3, max_new_tokens=4, num_return=2)
>>> [len(hypotheses) for hypotheses in results], [len(best.tokens) for best, _ in results]
([2, 2], [4, 4])
"""

from __future__ import annotations

import math
import numbers
import weakref
from typing import Iterable, NamedTuple, Sequence

import numpy as np
from keras import ops, tree

from llmbook.backend import compile_function
from llmbook.generation.batch import BATCH_PREFILL_CHUNK, _check_prompts
from llmbook.generation.decoding import _compiled, weight_format
from llmbook.validation import non_negative_int, positive_int

_STEPS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


class Hypothesis(NamedTuple):
    """One finished hypothesis of :func:`beam_search`: ``tokens``, the new token ids (the prompt not
    included), ending with the stop token when it stopped; ``score``, the length-normalized score it was
    ranked by (``log_prob`` itself when ``length_penalty=0``); ``log_prob``, the summed log-probability of
    ``tokens`` given the prompt (float32 arithmetic).
    """

    tokens: list
    score: float
    log_prob: float


def length_penalty_factor(length, alpha: float):
    """GNMT's length penalty ``((5 + length) / 6) ** alpha``; a score is ``log_prob`` divided by it.

    >>> length_penalty_factor(1, 0.0), length_penalty_factor(7, 1.0)
    (1.0, 2.0)
    """
    return ((5.0 + float(length)) / 6.0) ** float(alpha)


class BeamAdapter:
    """What :func:`beam_search` needs from a model; subclass it (or duck-type its methods) for a new kind.

    Rows are prompt-major: row ``p * beam_size + j`` is beam ``j`` of prompt ``p``. :meth:`extend` and
    :meth:`reorder` run inside a compiled function: they must use ``keras.ops`` and depend only on their
    arguments and on ``self.model`` (the compiled search is kept per model and reused by later adapters).

    Attributes:
        model: the wrapped model (the key under which the compiled step is kept).
        vocab_size: the number of token ids (None when the model does not say; it is then read from
            the logits).
    """

    model = None
    vocab_size = None

    def prefill(self, prompts: list, beam_size: int, max_new_tokens: int, max_length: int | None, jit: bool):
        """Run the prompts into a new cache with ``beam_size`` rows per prompt.

        Args:
            prompts: the checked prompts, lists of token ids.
            beam_size: rows per prompt.
            max_new_tokens: how many tokens will follow.
            max_length: the cache size asked for (None: the smallest that fits).
            jit: compile.

        Returns:
            ``(logits, cache, constants, position)``: the next-token logits after each prompt ``(batch,
            vocab)`` (one row per prompt), the cache, a tuple of per-row tensors every step reads
            (already ``beam_size`` rows per prompt: an attention mask, an encoder's output), and the cache
            slot the first new token is written at.

        Raises:
            ValueError: when ``max_length`` cannot hold the prompts plus ``max_new_tokens``.
        """
        raise NotImplementedError(f"{type(self).__name__} must define prefill()")

    def extend(self, token_ids, cache, position, constants):
        """Run one token per row ``(rows, 1)`` at cache slot ``position``: ``(logits (rows, vocab), cache)``."""
        raise NotImplementedError(f"{type(self).__name__} must define extend()")

    def reorder(self, cache, rows):
        """The cache with row ``i`` replaced by row ``rows[i]``: every cached tensor gathered on axis 0."""
        return tree.map_structure(lambda tensor: ops.take(tensor, rows, axis=0), cache)


def _check_cache_length(max_length, needed: int, what: str) -> int:
    if max_length is None:
        return needed
    max_length = positive_int("max_length", max_length)
    if max_length < needed:
        raise ValueError(f"max_length={max_length} cannot hold {what}; pass max_length >= {needed}")
    return max_length


class DecoderBeams(BeamAdapter):
    """:class:`BeamAdapter` for a decoder-only model with the KV-cache interface (``GPT``, ``LlamaDecoder``).

    The prompts are left-padded to one length (as :func:`~llmbook.generation.generate_batch` does) and
    an attention mask over the cache slots hides each row's padding. Padding shifts a row's positions,
    which rotary attention does not see; a model with absolute positions (a learned or sinusoidal
    table) is refused when the prompts' lengths differ.

    Args:
        model: ``init_cache(batch, max_length)`` and ``call_with_cache(token_ids, cache, cache_index,
            logits_at=None, attention_mask=None)``.
        pad_id: the id written in the padding slots (masked; any valid id will do).
    """

    def __init__(self, model, pad_id: int = 0):
        self.model = model
        self.vocab_size = getattr(model, "vocab_size", None)
        self.pad_id = non_negative_int("pad_id", pad_id)
        if self.vocab_size is not None and self.pad_id >= self.vocab_size:
            raise ValueError(f"pad_id={pad_id} is outside the vocabulary 0..{self.vocab_size - 1}")

    def prefill(self, prompts, beam_size, max_new_tokens, max_length, jit):
        model = self.model
        longest = max(len(prompt) for prompt in prompts)
        absolute = getattr(model, "position_embedding", None) is not None
        if absolute and len({len(prompt) for prompt in prompts}) > 1:
            raise ValueError(
                f"{type(model).__name__} adds absolute position embeddings "
                f"({type(model.position_embedding).__name__}) and the prompts' lengths differ "
                f"({sorted({len(p) for p in prompts})}): left-padding would shift their positions. Search "
                "prompts of one length together, or use a model with rotary positions (GPT(positions='rope'))")
        if absolute:
            chunk = min(BATCH_PREFILL_CHUNK, longest) if jit else longest    # no padding: width = length
            width = longest
        else:
            chunk = BATCH_PREFILL_CHUNK if jit else longest
            width = max(longest, chunk)                                      # at least one chunk
        needed = width + max_new_tokens
        max_length = _check_cache_length(
            max_length, needed, f"the prompts (padded to {width} tokens) plus {max_new_tokens} new tokens")
        limit = getattr(model, "max_length", None)
        if absolute and limit is not None and max_length > limit:
            raise ValueError(f"the model has {limit} learned positions; the {width}-token prompts plus "
                             f"{max_new_tokens} new tokens need a cache of {max_length}: generate fewer tokens "
                             "or shorten the prompts")
        tokens = np.full((len(prompts), width), self.pad_id, "int32")
        padding = np.array([width - len(prompt) for prompt in prompts])
        for index, prompt in enumerate(prompts):
            tokens[index, padding[index]:] = prompt
        mask = ops.convert_to_tensor(np.arange(max_length)[None, :] >= padding[:, None])
        cache = model.init_cache(len(prompts), max_length)
        extend = _compiled(model, "extend_masked", jit)
        for start in range(0, width, chunk):
            start = min(start, width - chunk)   # the last chunk ends at the last slot (may recompute a few)
            logits, cache = extend(ops.convert_to_tensor(tokens[:, start:start + chunk]), cache,
                                   ops.convert_to_tensor(start, "int32"), ops.convert_to_tensor(chunk - 1, "int32"),
                                   mask)
        repeat = lambda tensor: ops.repeat(tensor, beam_size, axis=0)  # noqa: E731
        return ops.convert_to_numpy(logits), tree.map_structure(repeat, cache), (repeat(mask),), width

    def extend(self, token_ids, cache, position, constants):
        (attention_mask,) = constants
        logits, cache = self.model.call_with_cache(token_ids, cache, position, logits_at=0,
                                                   attention_mask=attention_mask)
        return logits[:, 0, :], cache


class EncoderDecoderBeams(BeamAdapter):
    """:class:`BeamAdapter` for an encoder-decoder model, its decoder reading the encoder's output.

    The target prefixes (the prompts: usually ``[bos_id]`` for every source) must all have the same
    length, since the decoder's interface has no padding mask for them. The context rows are repeated
    ``beam_size`` times once, before decoding.

    Args:
        model: ``init_cache(batch, max_length)`` and ``call_with_cache(target_ids, cache, cache_index,
            context, context_mask, logits_at=None)``; ``vocab_size`` (target vocabulary), if it has one.
        context: the encoder's output for each source, ``(batch, source_length, hidden)``.
        context_mask: boolean ``(batch, source_length)``, False on the sources' padding; or None.

    Raises:
        ValueError: for a context that is not 3-D or a mask that does not match it.
    """

    def __init__(self, model, context, context_mask=None):
        self.model = model
        self.vocab_size = getattr(model, "target_vocab_size", None) or getattr(model, "vocab_size", None)
        self.context = ops.convert_to_tensor(context)
        if len(self.context.shape) != 3:
            raise ValueError(f"context must be the encoder's output (batch, source_length, hidden), got shape "
                             f"{tuple(self.context.shape)}")
        self.context_mask = None
        if context_mask is not None:
            self.context_mask = ops.convert_to_tensor(context_mask)
            if tuple(self.context_mask.shape) != tuple(self.context.shape[:2]):
                raise ValueError(f"context_mask must have shape (batch, source_length) = "
                                 f"{tuple(self.context.shape[:2])}, got {tuple(self.context_mask.shape)}")

    def prefill(self, prompts, beam_size, max_new_tokens, max_length, jit):
        if len({len(prompt) for prompt in prompts}) > 1:
            raise ValueError(f"the target prefixes must all have one length, got {sorted({len(p) for p in prompts})}: "
                             "start every target with the same prefix (for example [bos_id])")
        if self.context.shape[0] != len(prompts):
            raise ValueError(f"context has {self.context.shape[0]} rows for {len(prompts)} target prefixes: give "
                             "one encoder output row per prompt")
        length = len(prompts[0])
        max_length = _check_cache_length(max_length, length + max_new_tokens,
                                         f"the {length}-token target prefix plus {max_new_tokens} new tokens")
        repeat = lambda tensor: None if tensor is None else ops.repeat(tensor, beam_size, axis=0)  # noqa: E731
        constants = (repeat(self.context), repeat(self.context_mask))
        cache = self.model.init_cache(len(prompts) * beam_size, max_length)
        tokens = ops.convert_to_tensor(np.repeat(np.asarray(prompts, "int32"), beam_size, axis=0))
        logits, cache = _compiled_prefill(self, jit)(tokens, cache, ops.convert_to_tensor(0, "int32"), constants)
        return ops.convert_to_numpy(logits)[::beam_size], cache, constants, length

    def extend(self, token_ids, cache, position, constants):
        context, context_mask = constants
        last = int(token_ids.shape[1]) - 1
        logits, cache = self.model.call_with_cache(token_ids, cache, position, context, context_mask,
                                                   logits_at=last)
        return logits[:, 0, :], cache


def _candidates(logits, beam_scores, beam_size: int, k: int):
    """The ``k`` best extensions of each prompt's beams: ``(scores, flat indices)`` of shape ``(batch, k)``.

    Index ``i`` is token ``i % vocab`` appended to the prompt's beam ``i // vocab``; its score is the beam's
    plus the token's log-probability (float32)."""
    log_probs = ops.log_softmax(ops.cast(logits, "float32"), axis=-1)
    vocab = log_probs.shape[-1]
    total = ops.reshape(beam_scores[:, None] + log_probs, (-1, beam_size * vocab))
    return ops.top_k(total, k, sorted=True)


def _compiled_prefill(adapter, jit: bool):
    """The adapter's :meth:`~BeamAdapter.extend` compiled for a whole prefix (the encoder-decoder's prefill)."""
    owner = adapter.model if adapter.model is not None else adapter
    functions = _STEPS.setdefault(owner, {})
    key = (type(adapter), "prefill", jit, weight_format(owner))
    if key not in functions:
        functions[key] = compile_function(adapter.extend, jit, autograph=False)
    return functions[key]


def _device_search(adapter, beam_size: int, k: int, num_return: int):
    """The whole search as one function with the loop on the device (``keras.ops.while_loop``).

    ``run(first_logits, cache, position, constants, stops, pad, sequences, alpha)``: ``first_logits``
    ``(batch, vocab)`` after each prompt, ``stops`` the stop ids (padded with -1), ``sequences`` a ``(rows,
    max_new_tokens)`` buffer of ``pad``, ``alpha`` the length penalty (a float32 scalar; an input, so
    that trying another penalty needs no new compilation). Returns each prompt's ``num_return`` best
    finished hypotheses: normalized scores and log-probabilities ``(batch, num_return)`` (``-inf`` where
    there are fewer), their tokens ``(batch, num_return, max_new_tokens)`` (``pad`` after the end) and lengths. Each step makes the
    choices :func:`beam_search`'s host loop (``jit=False``) makes, as tensor operations over every prompt.
    """
    width, n = beam_size, num_return

    def select(i, values, indices, sequences, finished, stops, pad, vocab, penalty):
        """Step ``i``'s candidates ``(batch, k)`` -> the live beams (tokens, parents, scores, sequences) and
        the finished hypotheses, merged with the new ones; which prompts are done."""
        fin_scores, fin_log_probs, fin_tokens, fin_lengths, done = finished
        batch, steps = done.shape[0], sequences.shape[1]
        first_rows = ops.arange(batch, dtype="int32") * width                           # (batch,)
        token = ops.cast(indices % vocab, "int32")
        parent = ops.cast(indices // vocab, "int32") + first_rows[:, None]               # (batch, k) global rows
        is_stop = ops.any(ops.equal(token[:, :, None], stops[None, None, :]), axis=-1)
        finite = ops.isfinite(values)
        active = ops.logical_not(done)[:, None]
        finishing = ops.logical_and(ops.logical_and(is_stop, finite),
                                    ops.logical_and(ops.arange(k)[None, :] < width, active))
        live = ops.logical_and(ops.logical_not(is_stop), finite)
        slot = ops.cumsum(ops.cast(live, "int32"), axis=1) - 1                          # live ones, in rank order
        match = ops.logical_and(live[:, :, None], ops.equal(slot[:, :, None], ops.arange(width)[None, None, :]))
        filled = ops.any(match, axis=1)                                                  # (batch, width)
        slot_rank = ops.cast(ops.argmax(ops.cast(match, "int32"), axis=1), "int32")
        scores = ops.where(filled, ops.take_along_axis(values, slot_rank, axis=1), -np.inf)
        tokens = ops.where(filled, ops.take_along_axis(token, slot_rank, axis=1), pad)
        parents = ops.where(filled, ops.take_along_axis(parent, slot_rank, axis=1), first_rows[:, None])
        column = ops.equal(ops.arange(steps)[None, :], i)
        stopped = ops.take(sequences, ops.reshape(parent, (-1,)), axis=0)
        stopped = ops.reshape(ops.where(column, ops.reshape(token, (-1, 1)), stopped), (batch, k, steps))
        grown = ops.take(sequences, ops.reshape(parents, (-1,)), axis=0)
        grown = ops.where(column, ops.reshape(tokens, (-1, 1)), grown)                   # (rows, steps)
        last = ops.equal(i, steps - 1)
        factor = penalty(i + 1)
        ending = ops.logical_and(ops.logical_and(filled, active), last)                 # live ones at the end
        all_scores = ops.concatenate([fin_scores, ops.where(finishing, values / factor, -np.inf),
                                      ops.where(ending, scores / factor, -np.inf)], axis=1)
        best, order = ops.top_k(all_scores, n, sorted=True)
        all_log_probs = ops.concatenate([fin_log_probs, values, scores], axis=1)
        all_tokens = ops.concatenate([fin_tokens, stopped, ops.reshape(grown, (batch, width, steps))], axis=1)
        all_lengths = ops.concatenate([fin_lengths, ops.full((batch, k + width), i + 1, "int32")], axis=1)
        finished_tokens = ops.take_along_axis(all_tokens, ops.repeat(order[:, :, None], steps, axis=2), axis=1)
        best_live = ops.max(scores, axis=1)
        reachable = ops.maximum(best_live / penalty(i + 2), best_live / penalty(steps))
        worst = best[:, n - 1]
        done = ops.logical_or(ops.logical_or(done, last), ops.logical_or(
            ops.logical_not(ops.any(filled, axis=1)),
            ops.logical_and(ops.isfinite(worst), ops.greater_equal(worst, reachable))))
        finished = (best, ops.take_along_axis(all_log_probs, order, axis=1), finished_tokens,
                    ops.take_along_axis(all_lengths, order, axis=1), done)
        return ops.reshape(tokens, (-1,)), ops.reshape(parents, (-1,)), ops.reshape(scores, (-1,)), grown, finished

    def run(first_logits, cache, position, constants, stops, pad, sequences, alpha):
        def penalty(length):
            return ops.power((5.0 + ops.cast(length, "float32")) / 6.0, alpha)

        batch, vocab, steps = first_logits.shape[0], first_logits.shape[-1], sequences.shape[1]
        rows = batch * width
        initial = ops.where(ops.equal(ops.arange(rows) % width, 0), 0.0, -np.inf)
        values, indices = _candidates(ops.repeat(first_logits, width, axis=0), initial, width, k)
        finished = (ops.full((batch, n), -np.inf, "float32"), ops.zeros((batch, n), "float32"),
                    ops.full((batch, n, steps), pad, "int32"), ops.zeros((batch, n), "int32"),
                    ops.zeros((batch,), "bool"))
        tokens, parents, scores, sequences, finished = select(
            ops.zeros((), "int32"), values, indices, sequences, finished, stops, pad, vocab, penalty)

        def cond(i, tokens, parents, scores, cache, sequences, finished):
            return ops.logical_and(ops.less(i, steps), ops.logical_not(ops.all(finished[-1])))

        def body(i, tokens, parents, scores, cache, sequences, finished):
            cache = adapter.reorder(cache, parents)
            logits, cache = adapter.extend(tokens[:, None], cache, position + i - 1, constants)
            values, indices = _candidates(logits, scores, width, k)
            tokens, parents, scores, sequences, finished = select(i, values, indices, sequences, finished, stops, pad,
                                                                  vocab, penalty)
            return i + 1, tokens, parents, scores, cache, sequences, finished

        *_, finished = ops.while_loop(
            cond, body, (ops.ones((), "int32"), tokens, parents, scores, cache, sequences, finished))
        return finished[:4]
    return run


def _search_on_device(adapter, logits, cache, constants, position: int, stops: list, batch: int, width: int,
                      k: int, num_return: int, alpha: float, max_new_tokens: int, pad_id: int):
    """:func:`beam_search` with ``jit=True``: one compiled call runs the search; the hypotheses as lists."""
    owner = adapter.model if adapter.model is not None else adapter
    functions = _STEPS.setdefault(owner, {})
    key = (type(adapter), "search", width, k, num_return, weight_format(owner))
    if key not in functions:
        functions[key] = compile_function(_device_search(adapter, width, k, num_return), True, autograph=False)
    scores, log_probs, tokens, lengths = functions[key](
        ops.convert_to_tensor(logits), cache, ops.convert_to_tensor(position, "int32"), constants,
        ops.convert_to_tensor(stops or [-1], "int32"), ops.convert_to_tensor(pad_id, "int32"),
        ops.convert_to_tensor(np.full((batch * width, max_new_tokens), pad_id, "int32")),
        ops.convert_to_tensor(float(alpha), "float32"))
    scores, log_probs, tokens, lengths = (ops.convert_to_numpy(x) for x in (scores, log_probs, tokens, lengths))
    return [[Hypothesis(tokens[p, j, : lengths[p, j]].tolist(), float(scores[p, j]), float(log_probs[p, j]))
             for j in range(num_return) if np.isfinite(scores[p, j])] for p in range(batch)]


def _check_stop_ids(stop_tokens, eos_id, vocab_size) -> list[int]:
    stop_tokens = [stop_tokens] if isinstance(stop_tokens, (numbers.Integral, np.integer)) else list(stop_tokens)
    if any(isinstance(t, (str, bytes)) for t in stop_tokens):
        raise TypeError("stop_tokens must be token ids, not text: encode the stop string and take its id")
    if eos_id is not None:
        stop_tokens.append(eos_id)
    stops = sorted({non_negative_int("stop token", int(t) if isinstance(t, np.integer) else t) for t in stop_tokens})
    if vocab_size is not None and stops and stops[-1] >= vocab_size:
        raise ValueError(f"stop token {stops[-1]} is outside the vocabulary 0..{vocab_size - 1}")
    return stops


def _check_beam(beam_size: int, vocab_size: int, max_new_tokens: int):
    if vocab_size ** max_new_tokens < beam_size:
        raise ValueError(f"beam_size={beam_size} is larger than the search space: {vocab_size} tokens give only "
                         f"{vocab_size ** max_new_tokens} sequences of {max_new_tokens} new tokens; "
                         "use a smaller beam (at most vocab_size ** max_new_tokens)")


def beam_search(model, prompts: Sequence[Sequence[int]], beam_size: int, max_new_tokens: int, *,
                stop_tokens: Iterable[int] = (), eos_id: int | None = None, length_penalty: float = 0.0,
                num_return: int = 1, context=None, context_mask=None, pad_id: int = 0,
                max_length: int | None = None, jit: bool = True) -> list[list[Hypothesis]]:
    """The ``num_return`` best continuations of each prompt by batched beam search with the KV cache.

    See the module's text for the algorithm, the length normalization and the early stop.

    Args:
        model: a decoder-only model with the KV-cache interface (``GPT``, ``LlamaDecoder``; see
            :class:`DecoderBeams`), an encoder-decoder model together with ``context`` (see
            :class:`EncoderDecoderBeams`), or a :class:`BeamAdapter`.
        prompts: a list of prompts, each a non-empty list of token ids (an encoder-decoder's target
            prefixes, for example ``[[bos_id]] * batch``).
        beam_size: live hypotheses per prompt (1: greedy decoding); at most ``vocab_size **
            max_new_tokens``, the number of sequences there are.
        max_new_tokens: the most tokens a hypothesis gets (its stop token included).
        stop_tokens: ids that finish a hypothesis (included in its tokens), shared by every prompt.
        eos_id: one more stop id (the end-of-sequence token), added to ``stop_tokens``.
        length_penalty: ``alpha`` of the normalized score ``log_prob / ((5 + n) / 6) ** alpha`` for ``n``
            new tokens; 0 ranks by the raw log-probability.
        num_return: how many hypotheses to return per prompt, best first (at most ``beam_size``).
        context, context_mask: an encoder-decoder's encoder output ``(batch, source_length, hidden)`` and
            its padding mask, one row per prompt.
        pad_id: the id in the padding slots of left-padded prompts.
        max_length: the cache size (default: the smallest that holds the prompts plus ``max_new_tokens``);
            reuse one value across calls to reuse the compiled step.
        jit: run the search as one compiled loop on the device; False runs it eagerly, step by step,
            with the bookkeeping on the host.

    Returns:
        For each prompt, in order, a list of up to ``num_return`` :class:`Hypothesis` ``(tokens, score,
        log_prob)``, best score first.

    Raises:
        ValueError: for ``beam_size < 1`` or larger than the search space, ``num_return`` outside
            ``1..beam_size``, an empty prompt list or prompt, ids outside the vocabulary, ``max_new_tokens
            < 1``, a ``max_length`` too small for the prompts plus ``max_new_tokens``, prompts of different
            lengths for a model with absolute positions, or a non-finite ``length_penalty``.
        TypeError: for text instead of ids, or a non-numeric ``length_penalty``.
    """
    if context is not None:
        adapter = EncoderDecoderBeams(model, context, context_mask)
    elif callable(getattr(model, "prefill", None)) and callable(getattr(model, "extend", None)):
        adapter = model
    else:
        adapter = DecoderBeams(model, pad_id)
    beam_size = positive_int("beam_size", beam_size)
    max_new_tokens = positive_int("max_new_tokens", max_new_tokens)
    num_return = positive_int("num_return", num_return)
    if num_return > beam_size:
        raise ValueError(f"num_return={num_return} is more than beam_size={beam_size}: the search keeps only "
                         f"{beam_size} hypotheses; raise beam_size or ask for fewer")
    if isinstance(length_penalty, bool) or not isinstance(length_penalty, numbers.Real):
        raise TypeError(f"length_penalty must be a number (alpha, 0 for none), got {length_penalty!r}")
    if not math.isfinite(length_penalty):
        raise ValueError(f"length_penalty must be finite, got {length_penalty}")
    vocab_size = getattr(adapter, "vocab_size", None)
    rows = _check_prompts(prompts, vocab_size)
    stops = _check_stop_ids(stop_tokens, eos_id, vocab_size)
    if vocab_size is not None:
        _check_beam(beam_size, vocab_size, max_new_tokens)
    logits, cache, constants, position = adapter.prefill(rows, beam_size, max_new_tokens, max_length, jit)
    vocab = int(logits.shape[-1])
    if vocab_size is None:
        _check_beam(beam_size, vocab, max_new_tokens)
    batch, width = len(rows), beam_size
    k = min(width * vocab, width * (1 + len(stops)))
    if jit:
        return _search_on_device(adapter, logits, cache, constants, position, stops, batch, width, k, num_return,
                                 length_penalty, max_new_tokens, pad_id)
    return _search_on_host(adapter, logits, cache, constants, position, stops, batch, width, k, num_return,
                           length_penalty, max_new_tokens, pad_id)


def _search_on_host(adapter, logits, cache, constants, position: int, stops: list, batch: int, width: int,
                    k: int, num_return: int, length_penalty: float, max_new_tokens: int, pad_id: int):
    """:func:`beam_search` with ``jit=False``: one eager call to the model per step, the bookkeeping in NumPy."""
    vocab = int(logits.shape[-1])

    def step(tokens, cache, position, parents, beam_scores):
        cache = adapter.reorder(cache, parents)
        logits, cache = adapter.extend(tokens[:, None], cache, position, constants)
        return (*_candidates(logits, beam_scores, width, k), cache)

    stop_set = set(stops)
    # Only beam 0 of each prompt is live at first: the others would repeat its extensions.
    scores = np.where(np.arange(batch * width) % width == 0, 0.0, -np.inf).astype("float32")
    candidates, candidate_ids = _candidates(ops.convert_to_tensor(np.repeat(logits, width, axis=0)),
                                            ops.convert_to_tensor(scores), width, k)
    sequences = np.full((batch * width, max_new_tokens), pad_id, "int32")
    finished: list[list[Hypothesis]] = [[] for _ in range(batch)]
    done = [False] * batch

    def keep(prompt, tokens, log_prob):
        score = log_prob / length_penalty_factor(len(tokens), length_penalty)
        finished[prompt].append(Hypothesis(tokens, float(score), float(log_prob)))
        finished[prompt].sort(key=lambda hypothesis: -hypothesis.score)   # stable: earlier first on ties
        del finished[prompt][num_return:]

    for index in range(max_new_tokens):
        candidates, candidate_ids = ops.convert_to_numpy(candidates), ops.convert_to_numpy(candidate_ids)
        last = index == max_new_tokens - 1
        parents = np.repeat(np.arange(batch) * width, width)        # empty rows copy the prompt's row 0
        tokens = np.full(batch * width, pad_id, "int32")
        scores = np.full(batch * width, -np.inf, "float32")
        for prompt in range(batch):
            if done[prompt]:
                continue
            live = 0
            for rank in range(k):
                score = candidates[prompt, rank]
                if not np.isfinite(score):
                    break
                parent = prompt * width + int(candidate_ids[prompt, rank]) // vocab
                token = int(candidate_ids[prompt, rank]) % vocab
                if token in stop_set:
                    if rank < width:
                        keep(prompt, sequences[parent, :index].tolist() + [token], score)
                    continue
                row = prompt * width + live
                parents[row], tokens[row], scores[row] = parent, token, score
                live += 1
                if live == width:
                    break
            live_scores = scores[prompt * width: prompt * width + live]
            if last:
                for j in range(live):
                    row = prompt * width + j
                    keep(prompt, sequences[parents[row], :index].tolist() + [int(tokens[row])], live_scores[j])
                done[prompt] = True
            elif live == 0:
                done[prompt] = True
            elif len(finished[prompt]) == num_return:
                # The best normalized score a live hypothesis can still reach: its log-probability can only
                # fall, and log_prob / penalty(m) is largest at one end of the lengths m it can still reach.
                best = float(live_scores.max())
                reachable = max(best / length_penalty_factor(index + 2, length_penalty),
                                best / length_penalty_factor(max_new_tokens, length_penalty))
                done[prompt] = finished[prompt][-1].score >= reachable
        if all(done):
            break
        sequences = sequences[parents]
        sequences[:, index] = tokens
        candidates, candidate_ids, cache = step(
            ops.convert_to_tensor(tokens), cache, ops.convert_to_tensor(position + index, "int32"),
            ops.convert_to_tensor(parents.astype("int32")), ops.convert_to_tensor(scores))
    return finished
