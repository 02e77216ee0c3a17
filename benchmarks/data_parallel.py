"""Training-step time of a GPT on one device against MirroredStrategy on logical CPU devices.

Run:  .venv/bin/python benchmarks/data_parallel.py [--devices 2] [--steps 20] [--repeats 3]
      [--global-batch 32]

The CPU is split into ``--devices`` logical TensorFlow devices (llmbook.training.configure_cpu_devices).
A GPT (2 blocks, width 64, context 64, 80 token ids, random windows: the timing does not depend on the
data) is compiled with AdamW (dense gradients, as the appendix recommends) on one device and under
``tf.distribute.MirroredStrategy``; each is warmed up by one ``fit`` call that traces and compiles the
step, then ``--steps`` steps are timed, interleaved, median of ``--repeats``. It prints steps/s for both
and the ratio, with the load average (the cores may be shared).

Logical devices share the same physical cores, so a ratio near or below 1 is the expected result on
a CPU: this measures the overhead of replication and the all-reduce, not a speed-up.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=2)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--global-batch", type=int, default=32)
    args = parser.parse_args()

    from llmbook.book import setup_chapter

    setup_chapter()
    from llmbook.training.distributed import configure_cpu_devices, with_dense_gradients

    devices = configure_cpu_devices(args.devices)
    import keras
    import tensorflow as tf

    from llmbook.models import GPT

    if args.global_batch % args.devices:
        raise SystemExit(f"--global-batch {args.global_batch} must be divisible by --devices {args.devices}")
    rng = np.random.default_rng(0)
    windows = rng.integers(0, 80, (args.steps * args.global_batch, 65)).astype("int32")
    data = tf.data.Dataset.from_tensor_slices((windows[:, :-1], windows[:, 1:])).batch(args.global_batch)

    def compiled(strategy):
        keras.utils.set_random_seed(0)
        with strategy.scope():
            model = GPT(vocab_size=80, max_length=64, num_layers=2, num_heads=4, hidden_dim=64)
            model.build((None, 64))
            model.compile(optimizer=with_dense_gradients(keras.optimizers.AdamW(1e-3)),
                          loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
            model.compute_loss(x=None, y=windows[:2, 1:], y_pred=model(windows[:2, :-1]))
        model.fit(data.take(1), verbose=0, shuffle=False)  # trace and compile
        return model

    runs = {"one device": compiled(tf.distribute.get_strategy()),
            f"{args.devices} replicas": compiled(tf.distribute.MirroredStrategy(devices))}
    times = {name: [] for name in runs}
    for _ in range(args.repeats):
        for name, model in runs.items():
            start = time.perf_counter()
            model.fit(data, verbose=0, shuffle=False)
            times[name].append(time.perf_counter() - start)
    rates = {name: args.steps / statistics.median(t) for name, t in times.items()}
    for name, rate in rates.items():
        print(f"{name:>12}: {rate:6.2f} steps/s (global batch {args.global_batch})")
    single, parallel = rates.values()
    print(f"ratio replicas / one device: {parallel / single:.2f}; load average {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
