"""Autoregressive decoding with or without a KV cache.

Without a cache, every new token re-runs the model over the whole sequence so far: the keys and values
of the past tokens are recomputed at every step, and step ``t`` costs O(t) token computations. With a
KV cache the model keeps each layer's keys and values and runs only the new token: one token of work
per step plus attention over the cache.

Here the cache has a **static shape** ``(batch, max_length, kv_heads, head_dim)`` per layer, and the
one-token step is compiled once (XLA under TensorFlow, ``jax.jit`` under JAX). The prompt is run once,
eagerly, to fill the cache ("prefill"). The no-cache path uses a static ``(1, max_length)`` buffer too,
compiled once, so the comparison measures the cache, not retracing.
"""

from __future__ import annotations

import weakref
from typing import Iterable, Sequence

import keras
import numpy as np
from keras import ops

from llmbook.generation.sampling import sample_next_token

_COMPILED: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def compile_function(function, jit: bool = True):
    """``function`` compiled for the current Keras backend (XLA for TensorFlow, jit for JAX), or as is."""
    if not jit:
        return function
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return tf.function(function, jit_compile=True)
    if backend == "jax":
        import jax

        return jax.jit(function)
    return function


def _compiled(model, kind: str, jit: bool):
    functions = _COMPILED.setdefault(model, {})
    key = (kind, jit)
    if key not in functions:
        if kind == "step":
            def step(token_ids, cache, cache_index):
                logits, cache = model.call_with_cache(token_ids, cache, cache_index)
                return logits[:, -1, :], cache
            functions[key] = compile_function(step, jit)
        else:
            def forward(token_ids, position):
                logits = model(token_ids)
                return ops.take(logits, position, axis=1)
            functions[key] = compile_function(forward, jit)
    return functions[key]


def _check_prompt(prompt_ids) -> list[int]:
    prompt = [int(t) for t in np.asarray(prompt_ids).reshape(-1)] if not isinstance(prompt_ids, list) \
        else [int(t) for t in prompt_ids]
    if not prompt:
        raise ValueError("prompt_ids is empty: give at least one token (for example the BOS id)")
    return prompt


def generate(model, prompt_ids: Sequence[int], max_new_tokens: int, *, temperature: float = 0.0,
             top_k: int | None = None, top_p: float | None = None, seed: int = 0,
             stop_tokens: Iterable[int] = (), use_cache: bool = True, max_length: int | None = None,
             jit: bool = True, return_logits: bool = False):
    """Continue ``prompt_ids`` with up to ``max_new_tokens`` tokens.

    Args:
        model: a :class:`~llmbook.models.gpt.CausalTransformer` (``GPT``, ``LlamaDecoder``).
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
        ValueError: for an empty prompt, ``max_new_tokens < 1``, or a ``max_length`` too small for
            the prompt plus the new tokens.
    """
    prompt = _check_prompt(prompt_ids)
    if isinstance(max_new_tokens, bool) or int(max_new_tokens) != max_new_tokens or max_new_tokens < 1:
        raise ValueError(f"max_new_tokens must be a positive integer, got {max_new_tokens!r}")
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
    new_tokens, step_logits = [], []

    def choose(logits_row):
        logits_row = ops.convert_to_numpy(logits_row).astype(np.float64)
        if return_logits:
            step_logits.append(logits_row)
        return sample_next_token(logits_row, rng, temperature, top_k, top_p)

    if use_cache:
        step = _compiled(model, "step", jit)
        cache = model.init_cache(1, max_length)
        logits, cache = model.call_with_cache(np.asarray([prompt], "int32"), cache, 0)   # prefill, eager
        token = choose(logits[0, -1])
        position = len(prompt)
        while True:
            new_tokens.append(token)
            if token in stops or len(new_tokens) == max_new_tokens:
                break
            last, cache = step(ops.convert_to_tensor([[token]], "int32"), cache,
                               ops.convert_to_tensor(position, "int32"))
            position += 1
            token = choose(last[0])
    else:
        forward = _compiled(model, "forward", jit)
        buffer = np.zeros((1, max_length), "int32")
        buffer[0, : len(prompt)] = prompt
        length = len(prompt)
        while True:
            last = forward(ops.convert_to_tensor(buffer), ops.convert_to_tensor(length - 1, "int32"))
            token = choose(last[0])
            new_tokens.append(token)
            if token in stops or len(new_tokens) == max_new_tokens:
                break
            buffer[0, length] = token
            length += 1
    if return_logits:
        return new_tokens, np.stack(step_logits)
    return new_tokens
