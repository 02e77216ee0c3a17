"""What recomputing cross-attention keys and values at every decoding step costs in Seq2SeqTransformer.

Run:  TF_CPP_MIN_LOG_LEVEL=1 .venv/bin/python benchmarks/seq2seq_cross_attention.py [--repeats 20]
      [--batch-size 64] [--hidden-dim 256] [--layers 3] [--source-lengths 16 32 64]

``Seq2SeqTransformer.call_with_cache`` runs each decoder block's cross-attention on the encoder output,
so the key and value projections of the whole source (``2 * source_length * hidden_dim^2`` multiply-adds
per block and row) are redone at every step, although they do not change while a batch is decoded. This
script times, for a random-weight model (timing does not depend on the weights), XLA-compiled:

- one decoding step (one target token per row, the cache at slot 8), as ``greedy_translate`` and beam
  search run it;
- the key and value projections of the context for every decoder block, alone: what a cross-attention
  K/V cache would save per step.

Median of ``--repeats`` calls each, interleaved; it prints both and the projections' share of the step.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--hidden-dim", type=int, default=256)
    parser.add_argument("--layers", type=int, default=3)
    parser.add_argument("--source-lengths", type=int, nargs="+", default=[16, 32, 64])
    args = parser.parse_args()

    import keras
    from keras import ops

    from llmbook.backend import compile_function
    from llmbook.models.seq2seq import Seq2SeqTransformer

    keras.utils.set_random_seed(0)
    longest = max(args.source_lengths)
    model = Seq2SeqTransformer(8000, hidden_dim=args.hidden_dim, num_layers=args.layers, num_heads=4,
                               max_length=max(longest, 64))
    model.build()

    def step(token, cache, index, context, context_mask):
        logits, cache = model.call_with_cache(token, cache, index, context, context_mask)
        return logits[:, 0], cache

    def projections(context):
        return [(block.cross_attention.key(context), block.cross_attention.value(context))
                for block in model.decoder_blocks]

    step_compiled = compile_function(step, autograph=False)
    projections_compiled = compile_function(projections, autograph=False)
    rng = np.random.default_rng(0)
    print(f"backend {keras.backend.backend()}, batch {args.batch_size}, hidden {args.hidden_dim}, "
          f"{args.layers}+{args.layers} layers, load average {os.getloadavg()[0]:.2f}")
    print(f"{'source length':>13} {'step ms':>8} {'K/V projections ms':>19} {'share':>6}")
    for length in args.source_lengths:
        source = rng.integers(1, 8000, size=(args.batch_size, length)).astype("int32")
        context, context_mask = model.encode(source)
        cache = model.init_cache(args.batch_size, 64)
        token = ops.convert_to_tensor(np.ones((args.batch_size, 1), "int32"))
        index = ops.convert_to_tensor(8, "int32")
        for _ in range(2):  # compile and warm up
            ops.convert_to_numpy(step_compiled(token, cache, index, context, context_mask)[0])
            ops.convert_to_numpy(projections_compiled(context)[-1][1])
        step_times, projection_times = [], []
        for _ in range(args.repeats):
            start = time.perf_counter()
            ops.convert_to_numpy(step_compiled(token, cache, index, context, context_mask)[0])
            step_times.append(time.perf_counter() - start)
            start = time.perf_counter()
            ops.convert_to_numpy(projections_compiled(context)[-1][1])
            projection_times.append(time.perf_counter() - start)
        step_ms, projection_ms = 1e3 * np.median(step_times), 1e3 * np.median(projection_times)
        print(f"{length:>13} {step_ms:>8.2f} {projection_ms:>19.2f} {projection_ms / step_ms:>6.1%}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
