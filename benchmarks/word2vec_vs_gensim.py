"""word2vec throughput and analogy accuracy: llmbook (Keras 3) against gensim, same corpus, same settings.

Usage:  .venv/bin/python benchmarks/word2vec_vs_gensim.py [--repeats 3] [--epochs 5] [--architectures skipgram cbow]

Both train on the same token lists (Shakespeare + Wikipedia sample + Lee, about 1.4M words) with the same
hyperparameters: dim 100, window 5 (dynamic), 5 negatives, min_count 5, sample 1e-3, linear learning rate
0.025 -> 0.0001. gensim runs with 2 worker threads; TensorFlow uses its defaults (all cores; 2 here).
Runs are interleaved (ours, gensim, ours, gensim, ...) and the median of the repeats is reported.
Throughput = corpus words (before subsampling) x epochs / training seconds, vocabulary building excluded
for both. On a shared machine wall time depends on what else runs, so the script also reports words per
CPU-second (process CPU time of all threads, ours including the input-pipeline thread): a measure of
work done per unit of compute that is less sensitive to other processes. Analogy accuracy is gensim's way of counting (3CosAdd over the covered questions of the Google
set, restrict_vocab 300000, lower-cased), computed by the same function for both models.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import numpy as np

from llmbook.book import setup_chapter
from llmbook.data import load, load_english_sentences
from llmbook.embeddings import WordVectors, evaluate_analogies
from llmbook.embeddings.word2vec import train_word2vec
from llmbook.text import Vocabulary

setup_chapter()  # quiet TensorFlow, no progress bars

SETTINGS = dict(dim=100, window=5, negative=5, min_count=5, sample=1e-3, learning_rate=0.025,
                min_learning_rate=1e-4)


def run_ours(sentences, architecture, epochs, seed, vocabulary):
    cpu = time.process_time()
    result = train_word2vec(sentences, architecture=architecture, epochs=epochs, seed=seed, vocabulary=vocabulary,
                            **SETTINGS)
    cpu_seconds = time.process_time() - cpu  # includes encoding the corpus to ids (about 1 s), not the vocabulary
    words = sum(len(s) for s in sentences) * epochs
    return result.words_per_second, words / cpu_seconds, result.vectors


def run_gensim(sentences, architecture, epochs, seed, vocabulary=None):
    from gensim.models import Word2Vec

    model = Word2Vec(vector_size=SETTINGS["dim"], window=SETTINGS["window"], negative=SETTINGS["negative"],
                     min_count=SETTINGS["min_count"], sample=SETTINGS["sample"], alpha=SETTINGS["learning_rate"],
                     min_alpha=SETTINGS["min_learning_rate"], sg=int(architecture == "skipgram"), hs=0,
                     workers=2, seed=seed)
    model.build_vocab(sentences)
    words = sum(len(s) for s in sentences)
    start, cpu = time.perf_counter(), time.process_time()
    model.train(sentences, total_examples=len(sentences), epochs=epochs)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu
    return words * epochs / seconds, words * epochs / cpu_seconds, WordVectors(model.wv.index_to_key, model.wv.vectors)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--architectures", nargs="+", default=["skipgram", "cbow"], choices=["skipgram", "cbow"])
    args = parser.parse_args()

    import gensim
    import keras
    import tensorflow as tf

    print(f"load average before: {os.getloadavg()}")
    print(f"python {platform.python_version()}, numpy {np.__version__}, tensorflow {tf.__version__}, "
          f"keras {keras.__version__} ({keras.backend.backend()}), gensim {gensim.__version__}; "
          f"{os.cpu_count()} CPUs visible; gensim workers=2, TensorFlow default threads")
    sentences = load_english_sentences()
    analogies = load("google-analogies")
    vocabulary = Vocabulary.build(sentences, min_count=SETTINGS["min_count"], specials=(), ties="first_occurrence")
    print(f"corpus: {sum(len(s) for s in sentences):,} words in {len(sentences)} sentences; "
          f"{args.epochs} epochs; settings {SETTINGS}")
    for architecture in args.architectures:
        speeds = {"llmbook": [], "gensim": []}
        cpu_speeds = {"llmbook": [], "gensim": []}
        accuracy = {"llmbook": [], "gensim": []}
        for repeat in range(args.repeats):
            for name, runner in (("llmbook", run_ours), ("gensim", run_gensim)):
                words_per_second, words_per_cpu_second, vectors = runner(sentences, architecture, args.epochs,
                                                                         seed=repeat + 1, vocabulary=vocabulary)
                result = evaluate_analogies(vectors, analogies)
                speeds[name].append(words_per_second)
                cpu_speeds[name].append(words_per_cpu_second)
                accuracy[name].append(result.accuracy)
                print(f"  {architecture:8s} run {repeat + 1} {name:8s} {words_per_second:10,.0f} words/s  "
                      f"{words_per_cpu_second:10,.0f} words/CPU-s  "
                      f"analogy {result.accuracy:.4f} ({result.covered} covered)", flush=True)
        ours, theirs = statistics.median(speeds["llmbook"]), statistics.median(speeds["gensim"])
        ratios = [a / b for a, b in zip(speeds["llmbook"], speeds["gensim"])]
        print(f"{architecture}: median words/s llmbook {ours:,.0f}, gensim {theirs:,.0f}; "
              f"ratio of medians {ours / theirs:.2f} (per-pair ratios {', '.join(f'{r:.2f}' for r in ratios)}); "
              f"median words/CPU-s llmbook {statistics.median(cpu_speeds['llmbook']):,.0f}, "
              f"gensim {statistics.median(cpu_speeds['gensim']):,.0f} (ratio "
              f"{statistics.median(cpu_speeds['llmbook']) / statistics.median(cpu_speeds['gensim']):.2f}); "
              f"median analogy accuracy llmbook {statistics.median(accuracy['llmbook']):.4f}, "
              f"gensim {statistics.median(accuracy['gensim']):.4f}", flush=True)


if __name__ == "__main__":
    main()
