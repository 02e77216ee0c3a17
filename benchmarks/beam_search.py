"""Beam-search decoding speed against greedy decoding, on a small GPT with random weights.

Run:  TF_CPP_MIN_LOG_LEVEL=1 .venv/bin/python benchmarks/beam_search.py [--repeats 3] [--prompts 16]
      [--new-tokens 32] [--beam 4] [--vocab 2000]

A ``GPT(positions="rope")`` (4 layers, width 128, 4 heads; random weights: the timing does not depend on
them) continues ``--prompts`` prompts of 8 to 24 tokens, all in one batch, by ``--new-tokens`` tokens with no
stop token (so beam search never stops early: the slowest case), three ways: greedy ``generate_batch`` (one
compiled loop on the device), ``beam_search`` with a beam of 1 (the same tokens, from beam search's own compiled
device loop, so the difference is the cost of the beam machinery: the cache gather, the top-k and the
bookkeeping) and with ``--beam`` (``beam`` times the rows).
Each is compiled by a warm-up call, then timed interleaved, median of ``--repeats``; it prints sentences/s
and the ratios, and checks that the beam of 1 gives the greedy tokens. The load average is printed: the
machine's cores may be shared.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--prompts", type=int, default=16)
    parser.add_argument("--new-tokens", type=int, default=32)
    parser.add_argument("--beam", type=int, default=4)
    parser.add_argument("--vocab", type=int, default=2000)
    args = parser.parse_args()

    from llmbook.generation import beam_search, generate_batch
    from llmbook.models import GPT
    from llmbook.training import set_seed

    set_seed(0, keras=True)
    model = GPT(vocab_size=args.vocab, max_length=256, num_layers=4, num_heads=4, hidden_dim=128, positions="rope")
    rng = np.random.default_rng(0)
    prompts = [rng.integers(1, args.vocab, int(length)).tolist()
               for length in rng.integers(8, 25, args.prompts)]
    cache = 24 + args.new_tokens
    runs = {
        "greedy generate_batch": lambda: generate_batch(model, prompts, args.new_tokens, max_length=cache),
        "beam_search beam 1": lambda: [h[0].tokens for h in beam_search(model, prompts, 1, args.new_tokens,
                                                                         max_length=cache)],
        f"beam_search beam {args.beam}": lambda: beam_search(model, prompts, args.beam, args.new_tokens,
                                                             max_length=cache),
    }
    outputs = {name: run() for name, run in runs.items()}           # warm-up: compiles every function
    same = outputs["greedy generate_batch"] == outputs["beam_search beam 1"]
    times = {name: [] for name in runs}
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    for _ in range(args.repeats):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    print(f"{args.prompts} prompts, {args.new_tokens} new tokens, vocabulary {args.vocab}, median of {args.repeats}")
    greedy = statistics.median(times["greedy generate_batch"])
    for name, measured in times.items():
        median = statistics.median(measured)
        print(f"{name:>24}: {median:7.3f} s  {args.prompts / median:8.1f} sentences/s  "
              f"{median / greedy:5.2f}x greedy's time")
    print(f"beam 1 gives the greedy tokens: {same}")


if __name__ == "__main__":
    main()
