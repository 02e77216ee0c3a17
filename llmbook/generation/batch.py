"""Greedy decoding of many prompts at once, with one KV cache for the whole batch.

One prompt at a time, each new token is a matrix-*vector* product per weight matrix: the time goes into
reading the weights, and the arithmetic units mostly wait. A batch of ``b`` prompts turns each product
into a matrix-*matrix* one that reads the weights once for ``b`` tokens, so tokens per second grow with
``b`` until the arithmetic, not the memory, is the limit (``benchmarks/decode.py`` measures the ratio).

The prompts have different lengths, so they are **left-padded** to a common length: every row's last
prompt token then sits at the same cache slot, and every decoding step writes all rows at one slot. An
``attention_mask`` over the cache slots (False on each row's padding) keeps each row from reading its
padding. A row's tokens then sit at shifted positions (``padding + i`` instead of ``i``); with rotary
embeddings (RoPE: Llama, SmolLM2, ``GPT(positions="rope")``) attention depends only on the *difference*
of positions, so the shift changes nothing but round-off and greedy decoding gives the tokens one-at-a-time
decoding gives. Absolute positions (a learned table, sinusoids) would change with the shift, so models
that add them are refused.

Few-shot prompts begin with the same exemplars, so most of a batch's prefill would compute the same keys
and values in every row. When the prompts share a prefix of at least one prefill chunk, it is run once
(batch 1) and its cache copied to every row at that row's padded slots, the keys rotated by the row's
padding (RoPE rotations add up); only the rest of each row is prefilled in the batch. The cache is then
the full prefill's up to round-off (``share_prefix=False`` turns it off; ``benchmarks/decode.py --prefix``
measures the saving).

Each row stops at its own stop token; from then on it is *done*: it no longer adds tokens, and decoding
ends when every row is done (or after ``max_new_tokens``). Its slot in the batch still computes until
then: the batch keeps one static shape, so the whole loop is one compiled call on the device.

>>> import numpy as np
>>> from llmbook.models import LlamaDecoder
>>> model = LlamaDecoder(vocab_size=30, num_layers=1, hidden_dim=16, num_heads=2, num_kv_heads=1,
...                      intermediate_dim=32)
>>> rows = generate_batch(model, [[1, 2, 3], [4, 5]], max_new_tokens=4)
>>> [len(row) for row in rows]
[4, 4]
"""

from __future__ import annotations

import numbers
from typing import Iterable, Sequence

import numpy as np
from keras import ops

from llmbook.generation.decoding import _check_prompt, _compiled, _prefill
from llmbook.generation.sampling import sample_next_token
from llmbook.validation import non_negative_int, positive_int

# Prefill chunk of a batch: half of one prompt's (decoding.PREFILL_CHUNK). A chunk of ``b`` rows is already a
# ``16 b``-row matrix product, and the padded prompt length rounds up to fewer wasted slots (43 tokens:
# 48 slots computed instead of 64).
BATCH_PREFILL_CHUNK = 16


def _check_prompts(prompts, vocab_size: int | None) -> list[list[int]]:
    """The prompts as lists of ints; a clear error for text, a bare id, an empty list or bad ids."""
    if isinstance(prompts, (str, bytes)) or not isinstance(prompts, (Sequence, np.ndarray)):
        raise TypeError(f"prompts must be a list of prompts, each a list of token ids; got {type(prompts).__name__}")
    if len(prompts) == 0:
        raise ValueError("prompts is empty: give at least one prompt (a list of token ids)")
    checked = []
    for index, prompt in enumerate(prompts):
        if isinstance(prompt, (str, bytes)):
            raise TypeError(f"prompt {index} is text ({prompt[:20]!r}); encode it first: tokenizer.encode(text)")
        if isinstance(prompt, numbers.Number) or np.ndim(prompt) != 1:
            raise TypeError(f"prompt {index} must be a 1-D sequence of token ids, got {prompt!r}; prompts is a "
                            "list of prompts (for one prompt, pass [ids])")
        try:
            checked.append(_check_prompt(prompt, vocab_size))
        except ValueError as error:
            raise ValueError(f"prompt {index}: {error}") from error
    return checked


def _check_stops(stop_tokens, batch: int) -> list[set[int]]:
    """One set of stop ids per row: a flat list of ids is shared, a list of lists gives each row its own."""
    stop_tokens = list(stop_tokens)
    if any(isinstance(item, (str, bytes)) for item in stop_tokens):
        raise TypeError("stop_tokens must be token ids, not text: encode the stop string and take its id")
    if stop_tokens and all(isinstance(item, Iterable) for item in stop_tokens):
        if len(stop_tokens) != batch:
            raise ValueError(f"per-row stop_tokens has {len(stop_tokens)} entries for {batch} prompts: give one "
                             "list per prompt, or one flat list of ids for all")
        rows = [list(row) for row in stop_tokens]
    elif any(isinstance(item, Iterable) for item in stop_tokens):
        raise TypeError(f"stop_tokens mixes ids and lists: {stop_tokens!r}; give a flat list of ids or one list "
                        "per prompt")
    else:
        rows = [stop_tokens] * batch
    return [{non_negative_int("stop token", int(t) if isinstance(t, np.integer) else t) for t in row}
            for row in rows]


def generate_batch(model, prompts: Sequence[Sequence[int]], max_new_tokens: int, *,
                   stop_tokens: Iterable = (), pad_id: int = 0, max_length: int | None = None,
                   jit: bool = True, share_prefix: bool = True, temperature: float = 0.0,
                   top_k: int | None = None, top_p: float | None = None, seed=0) -> list[list[int]]:
    """Continuations of many prompts, decoded together with one KV cache: greedy, or sampled per row.

    Args:
        model: a decoder with the KV-cache interface and rotary (relative) positions: ``LlamaDecoder``,
            SmolLM2, ``GPT(positions="rope")``.
        prompts: a list of prompts, each a non-empty list of token ids; the lengths may differ.
        max_new_tokens: how many tokens to add to each prompt at most.
        stop_tokens: ids that end a row (included in its output): one flat list for every row, or one
            list per prompt.
        pad_id: the id written in the padding slots (they are masked; any valid id will do).
        max_length: the cache size, at least the padded prompt length plus ``max_new_tokens``; reuse one
            value across calls to reuse the compiled functions.
        jit: compile (XLA on TensorFlow); False runs eagerly.
        share_prefix: when the prompts begin with the same tokens (a few-shot prompt's exemplars) and
            that common prefix is at least one prefill chunk long, run it once and copy its cache to
            every row (see :func:`shared_prefix_length`); False prefills every row in full.
        temperature, top_k, top_p: 0 (the default) decodes greedily with the loop on the device; a
            temperature > 0 samples each row's tokens on the host, as :func:`~llmbook.generation.generate`
            does, one compiled step per token for the whole batch.
        seed: for sampling, one int (row ``r`` draws from ``numpy.random.default_rng([seed, r])``) or one
            seed per prompt (row ``r`` from ``default_rng(seed[r])``, the generator ``generate`` makes
            from the same seed: the same draws).

    Returns:
        One list of new token ids per prompt, in order: what :func:`~llmbook.generation.generate` gives
        for that prompt alone, greedily or with the row's seed (up to round-off on near ties).

    Raises:
        ValueError: for an empty prompt list, an empty prompt, ids outside the vocabulary,
            ``max_new_tokens < 1``, a ``max_length`` too small, per-row stop tokens of the wrong count, or a
            model with absolute position embeddings.
        TypeError: for text instead of ids, a bare id instead of a list, or malformed stop tokens.
    """
    if getattr(model, "position_embedding", None) is not None:
        raise ValueError(
            f"generate_batch left-pads the prompts, which shifts absolute positions, and "
            f"{type(model).__name__} adds a position embedding ({type(model.position_embedding).__name__}): "
            "the padded rows would not decode as they do alone. Use a model with rotary positions "
            "(LlamaDecoder, GPT(positions='rope')), or generate() one prompt at a time")
    vocab_size = getattr(model, "vocab_size", None)
    rows = _check_prompts(prompts, vocab_size)
    max_new_tokens = positive_int("max_new_tokens", max_new_tokens)
    pad_id = non_negative_int("pad_id", pad_id)
    if vocab_size is not None and pad_id >= vocab_size:
        raise ValueError(f"pad_id={pad_id} is outside the vocabulary 0..{vocab_size - 1}")
    stops = _check_stops(stop_tokens, len(rows))
    generators = None
    if temperature:
        # Bad sampling settings fail here, before any decoding, with sample_next_token's message.
        sample_next_token(np.zeros(2), np.random.default_rng(0), temperature, top_k, top_p)
        generators = _row_generators(seed, len(rows))
    longest = max(len(row) for row in rows)
    chunk = BATCH_PREFILL_CHUNK if jit else longest
    width = max(longest, chunk)                                # at least one chunk: one prefill program
    needed = width + max_new_tokens
    max_length = needed if max_length is None else positive_int("max_length", max_length)
    if max_length < needed:
        raise ValueError(f"max_length={max_length} cannot hold the prompts (padded to {width} tokens) plus "
                         f"{max_new_tokens} new tokens; pass max_length >= {needed}")
    tokens = np.full((len(rows), width), pad_id, "int32")
    padding = np.array([width - len(row) for row in rows])
    for index, row in enumerate(rows):
        tokens[index, padding[index]:] = row
    mask = ops.convert_to_tensor(np.arange(max_length)[None, :] >= padding[:, None])
    extend = _compiled(model, "extend_masked", jit)
    shared = shared_prefix_length(rows) if share_prefix and len(rows) > 1 else 0
    first_slot = 0
    if shared >= chunk or (not jit and shared > 0):
        cache = _tile_prefix(model, rows[0][:shared], padding, max_length, jit)
        first_slot = shared                   # only the slots after the shared prefix are prefilled per row
    else:
        cache = model.init_cache(len(rows), max_length)
    if not jit:
        chunk = width - first_slot                               # eagerly, the rest in one call
    for start in range(first_slot, width, chunk):
        # The last chunk ends at the last slot, recomputing a few slots of the one before when it overlaps
        # (the same tokens at the same slots: the same keys and values).
        start = min(start, width - chunk)
        logits, cache = extend(ops.convert_to_tensor(tokens[:, start:start + chunk]), cache,
                               ops.convert_to_tensor(start, "int32"), ops.convert_to_tensor(chunk - 1, "int32"),
                               mask)
    if temperature:
        return _sample_on_host(model, ops.convert_to_numpy(logits), cache, width, max_new_tokens, stops, mask,
                               generators, (temperature, top_k, top_p), pad_id, jit)
    first = np.argmax(ops.convert_to_numpy(logits), axis=-1).astype("int32")
    stop_matrix = np.full((len(rows), max(1, max(len(s) for s in stops))), -1, "int32")
    for index, row_stops in enumerate(stops):
        stop_matrix[index, : len(row_stops)] = sorted(row_stops)
    # The buffer is as wide as the cache whatever max_new_tokens is: one compiled loop per (batch, max_length).
    buffer = np.full((len(rows), max_length), pad_id, "int32")
    buffer[:, 0] = first
    if max_new_tokens > 1:
        loop = _compiled(model, "greedy_batch", jit)
        buffer, _ = loop(ops.convert_to_tensor(first), cache, ops.convert_to_tensor(width, "int32"),
                         ops.convert_to_tensor(max_new_tokens - 1, "int32"), ops.convert_to_tensor(stop_matrix),
                         mask, ops.convert_to_tensor(buffer), ops.convert_to_tensor(pad_id, "int32"))
        buffer = ops.convert_to_numpy(buffer)
    new_tokens = []
    for row, row_stops in zip(buffer[:, :max_new_tokens].tolist(), stops):
        end = next((i + 1 for i, token in enumerate(row) if token in row_stops), len(row))
        new_tokens.append(row[:end])
    return new_tokens


def _row_generators(seed, batch: int) -> list[np.random.Generator]:
    """One NumPy generator per row: ``default_rng([seed, r])`` for an int seed, ``default_rng(seed[r])``
    for one seed per row."""
    if isinstance(seed, (bool, np.bool_)):
        raise TypeError("seed must be an int or one int per prompt, not a bool")
    if isinstance(seed, (numbers.Integral, np.integer)):
        return [np.random.default_rng([int(seed), row]) for row in range(batch)]
    seeds = list(seed) if isinstance(seed, (Sequence, np.ndarray)) and not isinstance(seed, (str, bytes)) else None
    if seeds is None or not all(isinstance(s, (numbers.Integral, np.integer)) and not isinstance(s, bool)
                                for s in seeds):
        raise TypeError(f"seed must be an int or a list of ints (one per prompt), got {seed!r}")
    if len(seeds) != batch:
        raise ValueError(f"{len(seeds)} seeds for {batch} prompts: give one seed per prompt, or one int for all")
    return [np.random.default_rng(int(s)) for s in seeds]


def _sample_on_host(model, logits, cache, position: int, max_new_tokens: int, stops, mask, generators,
                    settings, pad_id: int, jit: bool) -> list[list[int]]:
    """Sampled decoding of the batch: one compiled step per token (every row together), each row's token
    drawn on the host from its own generator; a row that has emitted a stop token is done."""
    temperature, top_k, top_p = settings
    step = _compiled(model, "extend_masked", jit)
    rows = len(generators)
    new_tokens, done = [[] for _ in range(rows)], [False] * rows
    no_offset = ops.convert_to_tensor(0, "int32")
    for index in range(max_new_tokens):
        tokens = np.full((rows, 1), pad_id, "int32")
        for row in range(rows):
            if done[row]:
                continue
            token = sample_next_token(logits[row].astype(np.float64), generators[row], temperature, top_k, top_p)
            new_tokens[row].append(token)
            tokens[row, 0] = token
            done[row] = token in stops[row] or len(new_tokens[row]) == max_new_tokens
        if all(done):
            break
        last, cache = step(ops.convert_to_tensor(tokens), cache, ops.convert_to_tensor(position + index, "int32"),
                           no_offset, mask)
        logits = ops.convert_to_numpy(last)
    return new_tokens


def shared_prefix_length(prompts: Sequence[Sequence[int]]) -> int:
    """How many leading tokens all the prompts share, leaving every prompt at least one token of its own.

    Every row needs its last prompt token run through the model (its logits give the first new token),
    so the shared part stops one token before the end of the shortest prompt.

    >>> shared_prefix_length([[5, 6, 7, 8], [5, 6, 9], [5, 6, 7]])
    2
    >>> shared_prefix_length([[1, 2, 3], [1, 2, 3]])
    2
    """
    prompts = [list(prompt) for prompt in prompts]
    if not prompts:
        return 0
    limit = min(len(prompt) for prompt in prompts) - 1
    first = prompts[0]
    length = 0
    while length < limit and all(prompt[length] == first[length] for prompt in prompts):
        length += 1
    return max(length, 0)


def _tile_prefix(model, prefix: list[int], padding: np.ndarray, max_length: int, jit: bool):
    """The batch cache with ``prefix`` already in it: prefill it once (batch 1, slots ``0..P-1``), then copy
    its keys and values to every row at that row's slots ``padding[r]..padding[r]+P-1``.

    A left-padded row's tokens sit at positions shifted by its padding. Values carry no position, so they
    are copied as they are; rotary keys carry theirs, so each row's keys are rotated by its padding (RoPE
    rotations compose: rotating a key made at position ``p`` by ``d`` gives the key made at ``p + d``).
    The cache is then the one a full prefill of the left-padded prompts writes, up to round-off. The prefill
    is :func:`~llmbook.generation.generate`'s own; its last chunk is right-padded, so only the prefix's ``P``
    slots are copied and every other slot stays zero.
    """
    positions = getattr(model, "positions", "rope")
    if positions not in ("rope", "none"):
        raise ValueError(f"a shared prefix can be moved only with rotary or no positions, got {positions!r}")
    _, single = _prefill(model, prefix, model.init_cache(1, max_length), max_length, jit)   # generate()'s prefill
    return _compiled(model, "tile_prefix", jit)(single, ops.convert_to_tensor(padding.astype("int32")),
                                                ops.convert_to_tensor(len(prefix), "int32"))
