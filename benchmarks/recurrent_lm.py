"""Training throughput and time-budgeted perplexity of a character-level LSTM language model on Shakespeare.

Run:  TF_CPP_MIN_LOG_LEVEL=1 .venv/bin/python benchmarks/recurrent_lm.py [--batch-size 32] [--window 64]
      [--hidden-dim 256] [--embedding-dim 128] [--windows 30] [--budgets 30 60] [--recurrent-rate 0.25]

The data are chapter 9's: the works split by work (seed 0), every spoken line tokenized with
``llmbook.text.tokenize_lines``, tokens joined by spaces, one line per newline, characters as ids. The
model is ``RecurrentLanguageModel`` (1 LSTM layer) trained by ``TruncatedBPTT`` (Adam 2e-3,
``global_clipnorm=1``) on the training stream cut into ``--batch-size`` streams of ``--window`` steps.

1. **Throughput**: training tokens per second (``batch * window`` per step), median of three timings of
   ``--windows`` steps each, after two compiling steps, for ``recurrent_dropout`` 0 and
   ``--recurrent-rate``, on TensorFlow with and without XLA (``jit_compile``).
2. **Perplexity in a budget**: a fresh model (no dropout, the faster of the two compilations) trained for
   each budget in ``--budgets`` seconds of training wall time (compilation and evaluation excluded), then
   the per-character perplexity, ``exp`` of the mean cross-entropy over every predicted character of the
   validation stream (carried states, batch 64, window 256), and the per-word perplexity of chapter 9
   (the total character loss over words plus lines).
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def streams():
    from llmbook import data
    from llmbook.text import tokenize_lines

    split = data.load("shakespeare").split(fractions=(0.8, 0.1, 0.1), seed=0)
    lines = {name: tokenize_lines(getattr(split, name).lines()) for name in ("train", "validation")}
    texts = {name: "\n" + "".join(" ".join(tokens) + "\n" for tokens in part) for name, part in lines.items()}
    characters = sorted(set(texts["train"]))
    ids = {c: i for i, c in enumerate(characters)}
    arrays = {name: np.array([ids[c] for c in text], dtype="int32") for name, text in texts.items()}
    words = sum(len(tokens) + 1 for tokens in lines["validation"])
    return arrays, len(characters), words


def make(vocab, args, recurrent_rate, jit, seed=0):
    import keras

    from llmbook.models.recurrent import RecurrentLanguageModel, TruncatedBPTT

    keras.utils.set_random_seed(seed)
    model = RecurrentLanguageModel(vocab, embedding_dim=args.embedding_dim, hidden_dim=args.hidden_dim,
                                   recurrent_rate=recurrent_rate, seed=seed)
    return TruncatedBPTT(model, keras.optimizers.Adam(2e-3, global_clipnorm=1.0), jit_compile=jit)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--window", type=int, default=64)
    parser.add_argument("--hidden-dim", type=int, default=256)
    parser.add_argument("--embedding-dim", type=int, default=128)
    parser.add_argument("--windows", type=int, default=30)
    parser.add_argument("--recurrent-rate", type=float, default=0.25)
    parser.add_argument("--budgets", type=float, nargs="*", default=[30, 60])
    args = parser.parse_args()

    from llmbook.metrics import perplexity
    from llmbook.models.recurrent import bptt_batches

    arrays, vocab, words = streams()
    print(f"{vocab} characters; train {arrays['train'].size:,}, validation {arrays['validation'].size:,} ids; "
          f"batch {args.batch_size}, window {args.window}, LSTM {args.hidden_dim}, embedding {args.embedding_dim}")
    batches = list(bptt_batches(arrays["train"], args.batch_size, args.window, drop_last=True))
    per_step = args.batch_size * args.window
    rates = {}
    for jit in (False, True):
        for rate in (0.0, args.recurrent_rate):
            trainer = make(vocab, args, rate, jit)
            for x, y in batches[:2]:
                trainer.train_window(x, y)
            timings, position = [], 2
            for _ in range(3):
                start = time.perf_counter()
                for x, y in batches[position: position + args.windows]:
                    trainer.train_window(x, y)
                timings.append(time.perf_counter() - start)
                position += args.windows
            rates[jit, rate] = per_step * args.windows / float(np.median(timings))
            print(f"jit_compile={jit!s:5} recurrent_dropout={rate:<4}: {rates[jit, rate]:9,.0f} tokens/s")
    for jit in (False, True):
        print(f"recurrent_dropout={args.recurrent_rate} costs {1 - rates[jit, args.recurrent_rate] / rates[jit, 0.0]:.0%} "
              f"of the throughput with jit_compile={jit}")

    if not args.budgets:
        return
    jit = rates[True, 0.0] > rates[False, 0.0]
    trainer = make(vocab, args, 0.0, jit)
    trained, step, losses = 0.0, 0, []
    for budget in sorted(args.budgets):
        while trained < budget:
            if step == len(batches):
                trainer.reset()
                step = 0
            x, y = batches[step]
            start = time.perf_counter()
            losses.append(trainer.train_window(x, y))
            if len(losses) > 1:  # the first step compiles
                trained += time.perf_counter() - start
            step += 1
        token_losses = trainer.token_losses(arrays["validation"], 64, 256)
        print(f"{budget:.0f} s of training (jit_compile={jit}, {len(losses)} windows, {len(losses) * per_step:,} tokens, "
              f"last train loss {np.mean(losses[-20:]):.3f}): validation perplexity {perplexity(token_losses):.3f} "
              f"per character, {np.exp(token_losses.sum() / words):.1f} per word")


if __name__ == "__main__":
    main()
