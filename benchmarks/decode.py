"""Loading and decoding speed: llmbook vs transformers on SmolLM2-135M-Instruct, and the KV cache vs no cache on a small GPT.

Run:  TF_CPP_MIN_LOG_LEVEL=1 .venv/bin/python benchmarks/decode.py [--repeats 3] [--new-tokens 64] [--load-repeats 3]
      [--batch-size 32] [--batch-new-tokens 64] [--skip-load] [--skip-smollm2] [--skip-cache] [--skip-batch]
      [--formats int8,bfloat16]
      [--step] [--prefix]

Part 0: loading the model from the GGUF file, each load in a fresh Python process (imports not timed, the
first TensorFlow/torch operation is): ``load_smollm2`` cold (its cache removed first: it parses the GGUF
file, dequantizes, builds the model and writes the cache), ``load_smollm2`` warm (from the cache, and a second
load in the same process), and transformers' ``AutoModelForCausalLM.from_pretrained(folder, gguf_file=...)``
(which has no cache: it dequantizes every time), interleaved cold, warm, transformers, ..., median of
``--load-repeats``. The benchmark's cache lives in a temporary folder, not next to the installed GGUF file.

Part 1: greedy decoding of 64 new tokens after the same chat prompt, with llmbook (Keras 3 on TensorFlow,
static KV cache, XLA-compiled prefill and an XLA-compiled decoding loop that runs on the device) and with
transformers (torch CPU, its dynamic KV cache),
both float32 from the same dequantized GGUF, and llmbook with weight-only quantized weights (``--formats``,
default int8 and bfloat16: ``load_smollm2(quantize=...)``, see llmbook.layers.quantized), and llama.cpp
(llama-cpp-python, 2 threads, the packaged Q4_1 file) when it is installed; interleaved A B C ..., median
of ``--repeats`` runs, tokens/s of each, its ratio to llmbook float32 and its weight bytes.
The time covers prefill + decoding (compilation excluded by a warm-up run). It checks whether each
produces llmbook float32's tokens (a quantized model may diverge after some tokens: it says where). torch uses 2 threads; TensorFlow its defaults (the machine has 2 cores).

Part 2: a small GPT (random weights: timing does not depend on them) generates 256 new tokens greedily
with the KV cache and without it (each step re-runs all the tokens so far, padded to a power of two),
XLA-compiled, interleaved, median of ``--repeats``. The cache is timed twice: with the device loop that
greedy decoding uses, and with one host call per token (the path sampling uses; ``top_k=1`` makes it
greedy), so the ratio can be read without the loop's share. The no-cache path is always one host call
per token.

Part 3: batched decoding on SmolLM2: the same ``--batch-size`` chat prompts (of different lengths) decoded
greedily one at a time with ``generate`` and all together with ``generate_batch`` (left-padded, one KV
cache, one device loop), ``--batch-new-tokens`` new tokens each and no stop token, so both make the same
tokens; interleaved, median of ``--repeats``; tokens/s of each and the ratio. It checks that every row
gives the tokens of its one-at-a-time run. The load average before and after is printed: the ratio
depends on the cores being free (batched decoding is bound by arithmetic, one-at-a-time by memory).

Part 4 (only with ``--step``): one compiled SmolLM2 decoding step (one token per row, the masked ``extend``
that generate_batch's prefill uses) at batch 1 and 32 with a cache of 107 and 512 slots, median of 7 calls,
to see how the step's time grows with the batch and with the cache. The step returns a new cache, so it
also copies the cache once, which the device loop (the cache updated in place) does not.

Part 5 (only with ``--prefix``): few-shot prompts share their exemplars. ``--batch-size`` chat prompts with
the two chain-of-thought last-letter exemplars (llmbook.prompting.LAST_LETTER) and different questions,
decoded by ``generate_batch`` with the shared prefix prefilled once and copied to every row
(``share_prefix=True``) and with every row prefilled in full (``share_prefix=False``): the prefill alone
(one new token) and the prefill plus ``--batch-new-tokens`` tokens; interleaved, median of ``--repeats``;
the ratio, and whether both give the same tokens in every row.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


from llmbook.book import setup_chapter

setup_chapter()  # quiet TensorFlow, no progress bars


def timed(function):
    start = time.perf_counter()
    result = function()
    return time.perf_counter() - start, result


def load_child(kind: str, cache_dir: str) -> None:
    """One timed load in this (fresh) process; prints the seconds as JSON."""
    if kind == "transformers":
        import torch
        import transformers

        from llmbook.data.pretrained import smollm2_gguf_path

        torch.set_num_threads(2)
        path = smollm2_gguf_path()
        seconds, _ = timed(lambda: transformers.AutoModelForCausalLM.from_pretrained(
            str(path.parent), gguf_file=path.name, dtype=torch.float32).eval())
        print(json.dumps({"load": seconds}))
        return
    from llmbook.weights.gguf import load_smollm2

    first, _ = timed(lambda: load_smollm2(cache_dir=cache_dir))
    second, _ = timed(lambda: load_smollm2(cache_dir=cache_dir))
    print(json.dumps({"load": first, "second": second}))


def load_part(repeats: int) -> None:
    cache_dir = Path(tempfile.mkdtemp(prefix="llmbook-load-benchmark-"))

    def child(kind):
        out = subprocess.run([sys.executable, __file__, "--load-child", kind, "--cache-dir", str(cache_dir)],
                             capture_output=True, text=True, check=True)
        return json.loads(out.stdout.strip().splitlines()[-1])

    runs = {"cold": [], "warm": [], "second": [], "transformers": []}
    try:
        for _ in range(repeats):
            shutil.rmtree(cache_dir, ignore_errors=True)
            cold = child("llmbook")                        # no cache: parses, dequantizes, writes the cache
            warm = child("llmbook")                        # from the cache
            runs["cold"].append(cold["load"])
            runs["warm"].append(warm["load"])
            runs["second"] += [cold["second"], warm["second"]]
            runs["transformers"].append(child("transformers")["load"])
    finally:
        shutil.rmtree(cache_dir, ignore_errors=True)
    median = {name: statistics.median(values) for name, values in runs.items()}

    def line(label, name):
        print(f"  {label:56}: {median[name]:6.2f} s  (runs: {', '.join(f'{s:.2f}' for s in runs[name])})")

    print(f"load SmolLM2-135M-Instruct, a fresh process per load (imports not timed), median of {repeats}:")
    line("llmbook cold (no cache: parse, dequantize, write cache)", "cold")
    line("llmbook warm (from the cache)", "warm")
    line("llmbook, second load in the same process", "second")
    line("transformers from_pretrained(gguf_file=...)", "transformers")
    print(f"  ratio transformers / llmbook: {median['transformers'] / median['cold']:.1f}x cold, "
          f"{median['transformers'] / median['warm']:.1f}x warm")


def llama_cpp_reference(prompt_text: str, new_tokens: int):
    """llama.cpp (llama-cpp-python, 2 threads) on the packaged Q4_1 GGUF, or None if it is not installed.

    Returns a function that decodes ``new_tokens`` greedily after the prompt (prefill included) and returns
    the new token ids, and the prompt's length in its own tokenization."""
    try:
        import llama_cpp
    except ImportError:
        return None, None
    from llmbook.data.pretrained import smollm2_gguf_path

    engine = llama_cpp.Llama(model_path=str(smollm2_gguf_path()), n_ctx=512, n_threads=2, verbose=False)
    prompt = engine.tokenize(prompt_text.encode("utf-8"), add_bos=False, special=True)

    def run():
        engine.reset()
        tokens = []
        for token in engine.generate(prompt, temp=0.0, top_k=1, reset=True):
            tokens.append(token)
            if len(tokens) == new_tokens:
                break
        return tokens
    return run, len(prompt)


def smollm2_part(repeats: int, new_tokens: int, formats: list[str]) -> None:
    import os

    import torch
    import transformers

    from llmbook.generation import generate, render_chat
    from llmbook.data.pretrained import smollm2_gguf_path
    from llmbook.models.quantize import weight_bytes
    from llmbook.weights.gguf import load_smollm2

    torch.set_num_threads(2)
    path = smollm2_gguf_path()
    load_s, (model, tokenizer, template) = timed(load_smollm2)
    ref_load_s, reference = timed(lambda: transformers.AutoModelForCausalLM.from_pretrained(
        str(path.parent), gguf_file=path.name, dtype=torch.float32).eval())
    print(f"load in this process (llmbook with its default cache): llmbook {load_s:.1f} s, "
          f"transformers {ref_load_s:.1f} s")
    models = {"float32": model}
    for name in formats:
        seconds, (models[name], _, _) = timed(lambda: load_smollm2(quantize=name))
        print(f"load + quantize to {name}: {seconds:.1f} s")
    prompt_text = render_chat(template, [{"role": "user", "content": "Tell me a long story about a lighthouse "
                                                                      "keeper and a storm."}])
    prompt = tokenizer.encode(prompt_text)
    print(f"prompt: {len(prompt)} tokens; {new_tokens} new tokens, greedy; "
          f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    max_length = len(prompt) + new_tokens
    input_ids = torch.tensor([prompt])

    def ours(name):
        return lambda: generate(models[name], prompt, new_tokens, max_length=max_length)

    def theirs():
        with torch.no_grad():
            output = reference.generate(input_ids, attention_mask=torch.ones_like(input_ids),
                                        max_new_tokens=new_tokens, do_sample=False)
        return output[0, len(prompt):].tolist()

    runs = {f"llmbook {name}": ours(name) for name in models}
    runs["transformers"] = theirs
    llama_cpp_run, llama_cpp_prompt = llama_cpp_reference(prompt_text, new_tokens)
    if llama_cpp_run is not None:
        runs["llama.cpp Q4_1"] = llama_cpp_run
    else:
        print("llama-cpp-python is not installed: no llama.cpp row")
    for name, run in runs.items():
        seconds, _ = timed(run)                            # warm-up: XLA compilation, torch's caches
        if name.startswith("llmbook"):
            print(f"{name} warm-up (XLA compilation + one run): {seconds:.1f} s")
    seconds = {name: [] for name in runs}
    tokens = {}
    for _ in range(repeats):
        for name, run in runs.items():
            elapsed, tokens[name] = timed(run)
            seconds[name].append(elapsed)
    rates = {name: len(tokens[name]) / statistics.median(values) for name, values in seconds.items()}
    float_tokens = tokens["llmbook float32"]
    for name, rate in rates.items():
        size = ""
        if name.startswith("llmbook"):
            size = f"  weights {weight_bytes(models[name.split()[1]]) / 1e6:5.0f} MB"
        best = len(tokens[name]) / min(seconds[name])
        print(f"{name:18}: {rate:6.2f} tokens/s (best run {best:6.2f})  ratio to llmbook float32 "
              f"{rate / rates['llmbook float32']:.2f}x{size}  (runs: {', '.join(f'{s:.2f}' for s in seconds[name])} s)")
    theirs_tokens = tokens["transformers"]
    if len(theirs_tokens) != new_tokens:
        print(f"transformers stopped at its end-of-text token after {len(theirs_tokens)} tokens")
    print(f"ratio llmbook float32 / transformers: {rates['llmbook float32'] / rates['transformers']:.2f}x")
    for name in runs:
        if name == "llmbook float32" or name.startswith("llama.cpp"):
            continue
        other = tokens[name]
        same = float_tokens[: len(other)] == other
        first_difference = next((i for i, (a, b) in enumerate(zip(float_tokens, other)) if a != b), None)
        print(f"{name} gives llmbook float32's {len(other)} tokens: {same}"
              + ("" if same else f" (first difference at new token {first_difference})"))
    if llama_cpp_run is not None:
        print(f"llama.cpp: its prompt has {llama_cpp_prompt} tokens; ratio of each llmbook row to llama.cpp: "
              + ", ".join(f"{name.split()[1]} {rates[name] / rates['llama.cpp Q4_1']:.2f}x"
                          for name in runs if name.startswith("llmbook")))
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    print("text:", repr(tokenizer.decode(float_tokens)[:160]))


def cache_part(repeats: int, new_tokens: int = 256) -> None:
    from llmbook.generation import generate
    from llmbook.models import GPT

    from llmbook.training import set_seed

    set_seed(0, keras=True)
    model = GPT(vocab_size=96, max_length=320, num_layers=4, num_heads=4, hidden_dim=128)
    prompt = list(range(1, 17))
    max_length = len(prompt) + new_tokens

    runs = {
        "KV cache, device loop": lambda: generate(model, prompt, new_tokens, max_length=max_length),
        "KV cache, host loop": lambda: generate(model, prompt, new_tokens, max_length=max_length,
                                                temperature=1.0, top_k=1),
        "no cache, host loop": lambda: generate(model, prompt, new_tokens, use_cache=False, max_length=max_length),
    }
    for run in runs.values():                               # compile each
        run()
    seconds = {name: [] for name in runs}
    tokens = {}
    for _ in range(repeats):
        for name, run in runs.items():
            elapsed, tokens[name] = timed(run)
            seconds[name].append(elapsed)
    rates = {name: new_tokens / statistics.median(values) for name, values in seconds.items()}
    print(f"small GPT ({model.count_params():,} parameters), {new_tokens} new tokens after {len(prompt)}:")
    for name, rate in rates.items():
        print(f"  {name:22}: {rate:8.1f} tokens/s")
    baseline = rates["no cache, host loop"]
    print(f"  ratio cache / no cache: {rates['KV cache, device loop'] / baseline:.2f}x with the device loop, "
          f"{rates['KV cache, host loop'] / baseline:.2f}x with the host loop; "
          f"same tokens: {len({tuple(t) for t in tokens.values()}) == 1}")


def batch_part(repeats: int, batch_size: int, new_tokens: int) -> None:
    import os

    from llmbook.generation import generate, generate_batch, render_chat
    from llmbook.weights.gguf import load_smollm2

    model, tokenizer, template = load_smollm2()
    subjects = ["a lighthouse keeper", "the tides", "bread", "a violin maker", "winter in a small town",
                "how bees find flowers", "the first telescope", "a long train journey", "why the sky is blue",
                "a chess game between friends", "rivers and deltas", "the smell of rain"]
    questions = [f"Tell me about {subject}." if i % 2 else f"Write a short story about {subject}, please."
                 for i, subject in enumerate(subjects * (batch_size // len(subjects) + 1))][:batch_size]
    prompts = [tokenizer.encode(render_chat(template, [{"role": "user", "content": q}])) for q in questions]
    max_length = max(32, max(map(len, prompts))) + new_tokens   # one cache size: one program for all runs

    def one_at_a_time():
        return [generate(model, prompt, new_tokens, max_length=max_length) for prompt in prompts]

    def batched():
        return generate_batch(model, prompts, new_tokens, max_length=max_length)

    print(f"batched decoding, SmolLM2-135M-Instruct: {batch_size} chat prompts of {min(map(len, prompts))}-"
          f"{max(map(len, prompts))} tokens, {new_tokens} new tokens each (greedy, no stop token); "
          f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    generate(model, prompts[0], new_tokens, max_length=max_length)     # warm-up: compile both
    batched()
    seconds = {"one at a time": [], "batched": []}
    for _ in range(repeats):
        elapsed, single_tokens = timed(one_at_a_time)
        seconds["one at a time"].append(elapsed)
        elapsed, batch_tokens = timed(batched)
        seconds["batched"].append(elapsed)
    total = batch_size * new_tokens
    rates = {name: total / statistics.median(values) for name, values in seconds.items()}
    for name, rate in rates.items():
        print(f"  {name:14}: {rate:7.1f} tokens/s  (runs: {', '.join(f'{s:.1f}' for s in seconds[name])} s)")
    same = sum(a == b for a, b in zip(single_tokens, batch_tokens))
    print(f"  ratio batched / one at a time: {rates['batched'] / rates['one at a time']:.1f}x at batch {batch_size}; "
          f"rows with the same tokens: {same}/{batch_size}; load average after: {os.getloadavg()[0]:.2f}")


def step_part() -> None:
    import os

    import numpy as np
    from keras import ops

    from llmbook.generation.decoding import _compiled
    from llmbook.weights.gguf import load_smollm2

    model, _, _ = load_smollm2()
    extend = _compiled(model, "extend_masked", True)
    print(f"one decoding step, SmolLM2-135M-Instruct, median of 7; load average before: {os.getloadavg()[0]:.2f}")
    for batch, slots in [(1, 107), (32, 107), (1, 512), (32, 512)]:
        arguments = (ops.convert_to_tensor(np.full((batch, 1), 5, "int32")), model.init_cache(batch, slots),
                     ops.convert_to_tensor(40, "int32"), ops.convert_to_tensor(0, "int32"),
                     ops.convert_to_tensor(np.ones((batch, slots), bool)))
        ops.convert_to_numpy(extend(*arguments)[0])          # compile
        seconds = [timed(lambda: ops.convert_to_numpy(extend(*arguments)[0]))[0] for _ in range(7)]
        print(f"  batch {batch:2}, {slots:3} cache slots: {statistics.median(seconds) * 1e3:6.1f} ms")
    print(f"  load average after: {os.getloadavg()[0]:.2f}")


def prefix_part(repeats: int, batch_size: int, new_tokens: int) -> None:
    import os

    from llmbook.generation import generate_batch, render_chat
    from llmbook.generation.batch import shared_prefix_length
    from llmbook.prompting import LAST_LETTER, WORDS, Prompt, last_letter_problems
    from llmbook.weights.gguf import load_smollm2

    model, tokenizer, template = load_smollm2()
    shots = tuple((e.question, e.answer) for e in LAST_LETTER.chain_of_thought)
    problems = last_letter_problems(WORDS, 4, batch_size, seed=0)
    prompts = [tokenizer.encode(render_chat(template, Prompt(shots, p.question).messages)) for p in problems]
    max_length = max(map(len, prompts)) + new_tokens
    shared = shared_prefix_length(prompts)
    print(f"shared-prefix prefill, SmolLM2-135M-Instruct: {batch_size} few-shot chat prompts of "
          f"{min(map(len, prompts))}-{max(map(len, prompts))} tokens sharing their first {shared}; "
          f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    for steps in (1, new_tokens):
        runs = {name: (lambda share=share: generate_batch(model, prompts, steps, max_length=max_length,
                                                          share_prefix=share))
                for name, share in (("shared prefix", True), ("full prefill", False))}
        for run in runs.values():
            run()                                                   # warm-up: compile
        seconds, tokens = {name: [] for name in runs}, {}
        for _ in range(repeats):
            for name, run in runs.items():
                elapsed, tokens[name] = timed(run)
                seconds[name].append(elapsed)
        medians = {name: statistics.median(values) for name, values in seconds.items()}
        same = sum(a == b for a, b in zip(tokens["shared prefix"], tokens["full prefill"]))
        print(f"  {steps:3} new token(s): shared prefix {medians['shared prefix']:.2f} s, full prefill "
              f"{medians['full prefill']:.2f} s, ratio {medians['full prefill'] / medians['shared prefix']:.1f}x; "
              f"rows with the same tokens: {same}/{batch_size}")
    print(f"  load average after: {os.getloadavg()[0]:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--skip-smollm2", action="store_true")
    parser.add_argument("--formats", default="int8,bfloat16",
                        help="weight-only formats to time beside float32 in part 1 (comma-separated; '' for none)")
    parser.add_argument("--load-repeats", type=int, default=3)
    parser.add_argument("--skip-load", action="store_true")
    parser.add_argument("--skip-cache", action="store_true")
    parser.add_argument("--skip-batch", action="store_true")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--batch-new-tokens", type=int, default=64)
    parser.add_argument("--step", action="store_true", help="part 4: time one decoding step")
    parser.add_argument("--prefix", action="store_true", help="part 5: shared-prefix prefill against full prefill")
    parser.add_argument("--load-child", choices=["llmbook", "transformers"], help=argparse.SUPPRESS)
    parser.add_argument("--cache-dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load_child:
        load_child(args.load_child, args.cache_dir)
        return
    import keras
    import tensorflow as tf
    import torch
    import transformers

    print(f"keras {keras.__version__} ({keras.backend.backend()}), tensorflow {tf.__version__}, "
          f"torch {torch.__version__}, transformers {transformers.__version__}")
    if not args.skip_load:
        load_part(args.load_repeats)
    if not args.skip_smollm2:
        smollm2_part(args.repeats, args.new_tokens, [f for f in args.formats.split(",") if f])
    if not args.skip_cache:
        cache_part(args.repeats)
    if not args.skip_batch:
        batch_part(args.repeats, args.batch_size, args.batch_new_tokens)
    if args.step:
        step_part()
    if args.prefix:
        prefix_part(args.repeats, args.batch_size, args.batch_new_tokens)


if __name__ == "__main__":
    main()
