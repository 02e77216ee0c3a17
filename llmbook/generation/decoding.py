"""Autoregressive decoding with or without a KV cache.

Without a cache, every new token re-runs the model over the whole sequence so far: the keys and values
of the past tokens are recomputed at every step, and step ``t`` costs O(t) token computations. With a
KV cache the model keeps each layer's keys and values and runs only the new token: one token of work
per step plus attention over the cache.

Here the cache has a **static shape** ``(batch, kv_heads, max_length, head_dim)`` per layer, so each
function is compiled once (XLA under TensorFlow, ``jax.jit`` under JAX):

- the *prefill* runs the prompt in chunks of 32 tokens through one compiled function, so no prompt
  length needs a compilation of its own, and computes the output head for one token per chunk only;
- *greedy* decoding then runs as one compiled loop on the device (``keras.ops.while_loop``): no
  round-trip to Python per token, and the stop tokens are checked inside the loop;
- *sampling* (``temperature > 0``) and ``return_logits`` use a compiled one-token step and choose each
  token in NumPy on the host, so a seed gives the same text on every backend.

Without the cache, each step re-runs all the tokens so far, padded to a power of two (one compilation
per power, so at most ``log2(max_length)`` of them): its cost grows with the length, as it should, and
is never more than twice the exact length's.

Many prompts decoded together, one batch with one cache: :mod:`llmbook.generation.batch` (its compiled
functions, a masked prefill chunk and a batched greedy loop, are made here with the others).
"""

from __future__ import annotations

import weakref
from typing import Iterable, Sequence

import numpy as np
from keras import ops

from llmbook.backend import compile_function
from llmbook.generation.sampling import sample_next_token
from llmbook.validation import positive_int

_COMPILED: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
PREFILL_CHUNK = 32


def _compiled(model, kind: str, jit: bool):
    """The model's compiled decoding functions, made once per model, kind and weight format (and traced
    per shape). The format (``model.quantization``, set by :func:`llmbook.models.quantize.quantize_model`)
    is part of the key: a function traced before the model was quantized would keep its float weights."""
    functions = _COMPILED.setdefault(model, {})
    key = (kind, jit, weight_format(model))
    if key not in functions:
        functions[key] = compile_function(_DECODERS[kind](model), jit, autograph=False)
    return functions[key]


def weight_format(model):
    """``model.quantization`` (``"int8"``, ``"bfloat16"``) or None for a float model: part of every
    compiled-function cache key, so quantizing a model in place never reuses its float functions."""
    return getattr(model, "quantization", None)


def _extend(model):
    """Run ``token_ids`` at cache positions ``start..`` and return the logits at ``last`` (relative to
    ``token_ids``) with the new cache: a prefill chunk, or one decoding step (one token, ``last=0``)."""
    def extend(token_ids, cache, start, last):
        logits, cache = model.call_with_cache(token_ids, cache, start, logits_at=last)
        return logits[:, 0, :], cache
    return extend


def _extend_masked(model):
    """:func:`_extend` for a left-padded batch: ``attention_mask`` ``(batch, cache_length)`` hides the padding."""
    def extend(token_ids, cache, start, last, attention_mask):
        logits, cache = model.call_with_cache(token_ids, cache, start, logits_at=last, attention_mask=attention_mask)
        return logits[:, 0, :], cache
    return extend


def _forward(model):
    def forward(token_ids, position):
        return model(token_ids, logits_at=position)[:, 0, :]
    return forward


def _greedy_loop(model):
    """Greedy decoding with the KV cache and the loop on the device: one call returns all the new tokens.

    ``first`` is the first new token (chosen from the prompt's logits), written at ``position``; the
    loop adds up to ``steps`` more tokens and stops after a token in ``stops`` (padded with -1).
    """
    def run(first, cache, position, steps, stops, buffer):
        def cond(i, token, cache, buffer):
            stopped = ops.any(ops.equal(stops, token))
            return ops.logical_and(ops.less(i, steps), ops.logical_not(stopped))

        def body(i, token, cache, buffer):
            logits, cache = model.call_with_cache(ops.reshape(token, (1, 1)), cache, position + i)
            token = ops.cast(ops.argmax(logits[0, -1]), "int32")
            buffer = ops.slice_update(buffer, (i,), ops.reshape(token, (1,)))
            return i + 1, token, cache, buffer

        count, _, _, buffer = ops.while_loop(cond, body, (ops.zeros((), "int32"), first, cache, buffer))
        return buffer, count
    return run


def _greedy_batch_loop(model):
    """Greedy decoding of a batch with the loop on the device (see :mod:`llmbook.generation.batch`).

    ``first`` ``(batch,)`` holds each row's first new token (in ``buffer[:, 0]``); each step writes the
    next tokens at cache slot ``position + i``. ``stops`` ``(batch, n)`` are each row's stop tokens
    (padded with -1); a row that has emitted one is *done*: from then on it writes ``pad`` and its
    tokens are ignored. The loop ends after ``steps`` steps or when every row is done.
    """
    def run(first, cache, position, steps, stops, attention_mask, buffer, pad):
        def finished(token):
            return ops.any(ops.equal(token[:, None], stops), axis=1)

        def cond(i, token, cache, buffer, done):
            return ops.logical_and(ops.less(i, steps), ops.logical_not(ops.all(done)))

        def body(i, token, cache, buffer, done):
            logits, cache = model.call_with_cache(token[:, None], cache, position + i,
                                                  attention_mask=attention_mask)
            token = ops.where(done, pad, ops.cast(ops.argmax(logits[:, -1], axis=-1), "int32"))
            buffer = ops.slice_update(buffer, (ops.zeros((), "int32"), i + 1), token[:, None])
            return i + 1, token, cache, buffer, ops.logical_or(done, finished(token))

        count, _, _, buffer, _ = ops.while_loop(
            cond, body, (ops.zeros((), "int32"), first, cache, buffer, finished(first)))
        return buffer, count
    return run


def _tile_prefix_function(model):
    """For a batch that shares a prompt prefix (:mod:`llmbook.generation.batch`):
    ``(single_cache, padding, length) -> batch cache``: row ``r``, slot ``s`` gets slot ``s - padding[r]`` of
    the batch-1 cache when that slot holds one of the prefix's ``length`` tokens (zero elsewhere), its keys
    rotated by ``padding[r]`` (rotary models)."""
    from llmbook.layers.positional import apply_rotary_embedding

    rotary = getattr(model, "positions", "rope") == "rope"

    def tile(single, padding, length):
        slots = ops.arange(ops.shape(single[0][0])[2], dtype="int32")[None, :] - padding[:, None]  # (batch, slots)
        inside = ops.logical_and(ops.greater_equal(slots, 0), ops.less(slots, length))
        inside = ops.cast(inside, "float32")[:, None, :, None]
        source = ops.maximum(slots, 0)
        shifts = ops.broadcast_to(padding[:, None], ops.shape(slots))
        tiled = []
        for key, value in single:
            key = ops.transpose(ops.take(key[0], source, axis=1), (1, 2, 0, 3))          # (batch, slots, heads, d)
            if rotary:
                key = apply_rotary_embedding(key, shifts, model.rope_theta)
            value = ops.transpose(ops.take(value[0], source, axis=1), (1, 0, 2, 3))      # (batch, heads, slots, d)
            tiled.append((ops.transpose(key, (0, 2, 1, 3)) * inside, value * inside))
        return tiled
    return tile


_DECODERS = {
    "extend": _extend,
    "extend_masked": _extend_masked,
    "forward": _forward,
    "greedy": _greedy_loop,
    "greedy_batch": _greedy_batch_loop,
    "tile_prefix": _tile_prefix_function,
}


def _padded_length(length: int, max_length: int) -> int:
    """The no-cache path right-pads the sequence to a power of two, at least 32 and at most ``max_length``,
    so that few lengths need their own compilation. Padding after the real tokens is harmless: attention
    is causal, so it cannot change the logits of the real ones."""
    return min(max_length, max(32, 1 << (length - 1).bit_length()))


def _check_prompt(prompt_ids, vocab_size: int | None = None) -> list[int]:
    """The prompt as a list of ints, refusing a batch, non-integer ids and ids outside the vocabulary."""
    array = np.asarray(prompt_ids)
    if array.ndim > 1 and array.shape[0] != 1 or array.ndim > 2:
        raise ValueError(
            f"generate() continues one prompt, a 1-D sequence of token ids; got an array of shape {array.shape}. "
            "Call it once per prompt (flattening a batch would join the prompts into one)"
        )
    if array.size and not (np.issubdtype(array.dtype, np.integer) or np.all(np.mod(array, 1) == 0)):
        raise ValueError(f"prompt_ids must be integer token ids, got {array.dtype} values such as {array.reshape(-1)[0]!r}")
    prompt = [int(t) for t in array.reshape(-1)]
    if not prompt:
        raise ValueError("prompt_ids is empty: give at least one token (for example the BOS id)")
    if vocab_size is not None:
        bad = [t for t in prompt if not 0 <= t < vocab_size]
        if bad:
            raise ValueError(f"token ids {bad[:5]} are outside the model's vocabulary 0..{vocab_size - 1}: "
                             "encode the prompt with the model's own tokenizer")
    return prompt


def generate(model, prompt_ids: Sequence[int], max_new_tokens: int, *, temperature: float = 0.0,
             top_k: int | None = None, top_p: float | None = None, seed: int = 0,
             stop_tokens: Iterable[int] = (), use_cache: bool = True, max_length: int | None = None,
             jit: bool = True, return_logits: bool = False):
    """Continue ``prompt_ids`` with up to ``max_new_tokens`` tokens.

    Args:
        model: a :class:`~llmbook.models.decoder.TransformerDecoder` (``GPT``, ``LlamaDecoder``, or any configuration of it).
        prompt_ids: the prompt, a sequence of token ids.
        max_new_tokens: how many tokens to add at most.
        temperature: 0 for greedy decoding; > 0 to sample.
        top_k, top_p: truncation of the sampling distribution (see :mod:`llmbook.generation.sampling`).
        seed: seeds the sampler's ``numpy.random.Generator``; the same seed gives the same text.
        stop_tokens: ids that end generation; the stop token is included in the output.
        use_cache: decode with the KV cache (True) or re-run the full sequence at each step (False).
        max_length: size of the static cache/buffer; default ``len(prompt) + max_new_tokens``.
            Reuse one value across calls to reuse the compiled step.
        jit: compile the step (XLA); False runs eagerly.
        return_logits: also return the ``(steps, vocab_size)`` logits each new token was chosen from.

    Returns:
        The list of new token ids; ``(ids, logits)`` when ``return_logits`` is True.

    Raises:
        ValueError: for an empty prompt, a batch of prompts (shape ``(b, n)`` with ``b > 1``), token ids
            outside the model's vocabulary, ``max_new_tokens < 1``, or a ``max_length`` too small for
            the prompt plus the new tokens.
    """
    prompt = _check_prompt(prompt_ids, getattr(model, "vocab_size", None))
    max_new_tokens = positive_int("max_new_tokens", max_new_tokens)
    needed = len(prompt) + int(max_new_tokens)
    max_length = needed if max_length is None else int(max_length)
    if max_length < needed:
        raise ValueError(f"max_length={max_length} cannot hold the {len(prompt)}-token prompt plus "
                         f"{max_new_tokens} new tokens; pass max_length >= {needed}")
    limit = getattr(model, "max_length", None)
    if getattr(model, "position_embedding", None) is not None and limit is not None and max_length > limit:
        raise ValueError(f"the model has {limit} learned positions; prompt + new tokens need {needed}. "
                         "Shorten the prompt or generate fewer tokens")
    rng = np.random.default_rng(seed)
    stops = {int(t) for t in stop_tokens}
    step_logits = []

    def choose(logits_row):
        logits_row = ops.convert_to_numpy(logits_row).astype(np.float64)
        if return_logits:
            step_logits.append(logits_row)
        return sample_next_token(logits_row, rng, temperature, top_k, top_p)

    if not use_cache:
        new_tokens = _decode_without_cache(model, prompt, max_new_tokens, max_length, stops, choose, jit)
    else:
        cache = model.init_cache(1, max_length)
        logits, cache = _prefill(model, prompt, cache, max_length, jit)
        first = choose(logits)
        if jit and temperature == 0 and not return_logits:
            new_tokens = _greedy_on_device(model, first, cache, len(prompt), max_new_tokens, max_length, stops)
        else:
            new_tokens = _decode_on_host(model, first, cache, len(prompt), max_new_tokens, stops, choose, jit)
    if return_logits:
        return new_tokens, np.stack(step_logits)
    return new_tokens


def _prefill(model, prompt: list[int], cache, max_length: int, jit: bool):
    """Run the prompt into the cache; return the last position's logits (NumPy) and the cache.

    Compiled, the prompt goes in chunks of ``PREFILL_CHUNK`` tokens through one function, whatever its
    length. The last chunk is right-padded (harmless: attention is causal, and the padded cache slots are
    overwritten before any query sees them); when it would run past the cache, it is moved back and
    recomputes a few cached positions, from the same tokens, instead.
    """
    if not jit:
        logits, cache = model.call_with_cache(np.asarray([prompt], "int32"), cache, 0)
        return ops.convert_to_numpy(logits[0, -1]), cache
    chunk = min(PREFILL_CHUNK, max_length)
    tokens = np.zeros((1, max_length), "int32")
    tokens[0, : len(prompt)] = prompt
    extend = _compiled(model, "extend", jit)
    for start in range(0, len(prompt), chunk):
        start = min(start, max_length - chunk)
        last = min(len(prompt) - 1 - start, chunk - 1)          # only the final chunk's row is used
        logits, cache = extend(ops.convert_to_tensor(tokens[:, start:start + chunk]), cache,
                               ops.convert_to_tensor(start, "int32"), ops.convert_to_tensor(last, "int32"))
    return ops.convert_to_numpy(logits)[0], cache


def _greedy_on_device(model, first: int, cache, position: int, max_new_tokens: int, max_length: int,
                      stops: set[int]) -> list[int]:
    """Greedy decoding after the first token: the remaining tokens in one compiled call, the loop (and
    the stop-token check) on the device."""
    new_tokens = [first]
    if first in stops or max_new_tokens == 1:
        return new_tokens
    buffer, count = _compiled(model, "greedy", True)(
        ops.convert_to_tensor(first, "int32"), cache, ops.convert_to_tensor(position, "int32"),
        ops.convert_to_tensor(max_new_tokens - 1, "int32"),
        ops.convert_to_tensor(sorted(stops) or [-1], "int32"), ops.zeros((max_length,), "int32"))
    return new_tokens + [int(t) for t in ops.convert_to_numpy(buffer)[: int(count)]]


def _decode_on_host(model, first: int, cache, position: int, max_new_tokens: int, stops: set[int],
                    choose, jit: bool) -> list[int]:
    """One compiled step per token, the token chosen on the host by ``choose`` (sampling, or when the
    logits are wanted)."""
    step, no_offset = _compiled(model, "extend", jit), ops.zeros((), "int32")
    new_tokens, token = [], first
    while True:
        new_tokens.append(token)
        if token in stops or len(new_tokens) == max_new_tokens:
            return new_tokens
        last, cache = step(ops.convert_to_tensor([[token]], "int32"), cache,
                           ops.convert_to_tensor(position, "int32"), no_offset)
        position += 1
        token = choose(ops.convert_to_numpy(last)[0])  # slice in NumPy: no extra eager op


def _decode_without_cache(model, prompt: list[int], max_new_tokens: int, max_length: int, stops: set[int],
                          choose, jit: bool) -> list[int]:
    """No cache: every step re-runs all the tokens so far, padded to a power of two when compiled."""
    forward = _compiled(model, "forward", jit)
    buffer = np.zeros((1, max_length), "int32")
    buffer[0, : len(prompt)] = prompt
    length, new_tokens = len(prompt), []
    while True:
        window = _padded_length(length, max_length) if jit else length
        last = forward(ops.convert_to_tensor(buffer[:, :window]), ops.convert_to_tensor(length - 1, "int32"))
        token = choose(ops.convert_to_numpy(last)[0])
        new_tokens.append(token)
        if token in stops or len(new_tokens) == max_new_tokens:
            return new_tokens
        buffer[0, length] = token
        length += 1
