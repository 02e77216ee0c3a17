"""Sentence-embedding throughput: llmbook's MiniLM (Keras 3, TensorFlow CPU) against sentence-transformers (torch CPU).

Both encode the same sentences (from the Lee news corpus, split at ". ") with the same packaged weights,
batch size 32, mean pooling and L2 normalization. Runs alternate (ours, reference, ours, ...) and the
median of ``--repeats`` runs is reported, with the ratio ours / reference in sentences per second
(> 1 means ours is faster). torch uses ``--threads`` threads; TensorFlow uses the same number of
intra-op threads. Tokenization is included on both sides (ours is pure Python, the reference is Rust).
On a shared, busy machine torch's thread pool loses much more than TensorFlow's when both ask for 2
threads (measured here: 25 vs 57 sentences/s for torch at 2 vs 1 threads under a load of about 5), so
also run ``--threads 1`` and prefer an idle machine before quoting the ratio.

Usage: python benchmarks/encode.py [--sentences 256] [--repeats 5] [--threads 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from llmbook.book import setup_chapter  # noqa: E402

setup_chapter()  # quiet TensorFlow, no progress bars


def sentences(count: int) -> list[str]:
    from llmbook.data import load

    found = []
    for text in load("lee").documents.values():
        for part in text.replace("\n", " ").split(". "):
            part = part.strip()
            if len(part.split()) >= 3:
                found.append(part if part.endswith(".") else part + ".")
    if len(found) < count:
        found = (found * (count // len(found) + 1))
    return found[:count]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()

    import keras
    import numpy as np
    import sentence_transformers
    import tensorflow as tf
    import torch
    import transformers

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    torch.set_num_threads(args.threads)

    from llmbook.models.bert import SentenceEncoder
    from llmbook.data.pretrained import minilm_path
    from llmbook.weights import load_minilm

    texts = sentences(args.sentences)
    tokenizer, encoder = load_minilm()
    ours = SentenceEncoder(tokenizer, encoder)
    reference = sentence_transformers.SentenceTransformer(str(minilm_path()), device="cpu")
    print(f"keras {keras.__version__} (backend {keras.backend.backend()}), tensorflow {tf.__version__}, "
          f"torch {torch.__version__}, transformers {transformers.__version__}, "
          f"sentence-transformers {sentence_transformers.__version__}; threads {args.threads}")
    tokens = [len(tokenizer.encode(t)[0]) for t in texts]
    print(f"{len(texts)} sentences, {statistics.mean(tokens):.1f} tokens on average (max {max(tokens)}), "
          f"batch size {args.batch_size}")

    def run_ours():
        return ours.encode(texts, batch_size=args.batch_size)

    def run_reference():
        return reference.encode(texts, batch_size=args.batch_size, convert_to_numpy=True,
                                normalize_embeddings=True)

    # Warm up both (compiles our graphs for every padded length, loads torch kernels), and check agreement.
    difference = np.abs(run_ours() - run_reference()).max()
    print(f"max |ours - reference| over all embeddings: {difference:.1e}")
    timings = {"llmbook": [], "sentence-transformers": []}
    for _ in range(args.repeats):
        for name, function in (("llmbook", run_ours), ("sentence-transformers", run_reference)):
            start = time.perf_counter()
            function()
            timings[name].append(time.perf_counter() - start)
    rates = {name: len(texts) / statistics.median(times) for name, times in timings.items()}
    for name, times in timings.items():
        print(f"{name:>22}: median {statistics.median(times):.3f} s  ({rates[name]:.0f} sentences/s; "
              f"runs {', '.join(f'{t:.3f}' for t in times)})")
    print(f"ratio llmbook / sentence-transformers: {rates['llmbook'] / rates['sentence-transformers']:.2f} "
          "(goal >= 1.0)")


if __name__ == "__main__":
    main()
