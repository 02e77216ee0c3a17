"""What prompting SmolLM2 costs on 2 cores: standard, chain-of-thought and least-to-most on last-letter lists.

The real-LLM chapter of Part V is asked to run the three methods on lists of 2 to 6 words, at least 100
lists per length and method. This measures what one batch costs, with the code such a chapter would
use: ``llmbook.prompting.run_batch`` over a ``LocalChat`` on SmolLM2-135M-Instruct (greedy, batched by
``generate_batch`` with the exemplars' shared prefix prefilled once), the paper's exemplars
(``llmbook.prompting.LAST_LETTER``), and the model's own decomposition for least to most. For each method
it prints the seconds (the first method's include the compilation of its shapes), the rounds of calls,
the reply tokens, the exact matches, and the seconds that ``--target-items`` lists at each of
``--target-lengths`` would take at the same rate per list, the rate measured at ``--length`` only (longer
lists cost more per list with chain-of-thought and least to most, so this is a lower bound for them).

The ratio against decoding one prompt at a time is in ``benchmarks/decode.py`` (part 3).

Run:  TF_CPP_MIN_LOG_LEVEL=3 .venv/bin/python benchmarks/prompting_cost.py [--items 32] [--length 4]
      [--target-items 100] [--target-lengths 2 3 4 5 6]
The machine is shared: the load average is printed before and after.
"""

from __future__ import annotations

import argparse
import os
import time

from llmbook.book import setup_chapter

setup_chapter()  # quiet TensorFlow, no progress bars

from llmbook.prompting import LocalChat  # noqa: E402
from llmbook.prompting import methods  # noqa: E402
from llmbook.prompting.exemplars import LAST_LETTER  # noqa: E402
from llmbook.prompting.problems import WORDS, last_letter_problems  # noqa: E402
from llmbook.weights.gguf import load_smollm2  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=32, help="lists per method (one batch at 32)")
    parser.add_argument("--length", type=int, default=4, help="words per list")
    parser.add_argument("--target-items", type=int, default=100)
    parser.add_argument("--target-lengths", type=int, nargs="+", default=[2, 3, 4, 5, 6])
    args = parser.parse_args()

    model, tokenizer, template = load_smollm2()
    problems = last_letter_problems(WORDS, length=args.length, count=args.items, seed=0)
    questions = [problem.question for problem in problems]
    settings = (
        ("standard", methods.standard, dict(exemplars=LAST_LETTER.standard), 16),
        ("chain-of-thought", methods.chain_of_thought, dict(exemplars=LAST_LETTER.chain_of_thought),
         24 * args.length + 16),
        ("least-to-most", methods.least_to_most,
         dict(decompose_exemplars=LAST_LETTER.decompose, solve_exemplars=LAST_LETTER.solve), 64),
    )
    target = args.target_items * len(args.target_lengths)
    print(f"SmolLM2-135M-Instruct, {args.items} last-letter lists of {args.length} words per method, batches of 32; "
          f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    for name, method, options, max_new_tokens in settings:
        chat = LocalChat(model, tokenizer, template, max_new_tokens=max_new_tokens, batch_size=32, max_length=1024)
        reply_tokens = []
        batch = chat.batch

        def counted(conversations, batch=batch, reply_tokens=reply_tokens):
            replies = batch(conversations)
            reply_tokens.append(sum(len(tokenizer.encode(reply)) for reply in replies))
            return replies

        chat.batch = counted
        start = time.perf_counter()
        traces = methods.run_batch(method, chat, questions, **options)
        seconds = time.perf_counter() - start
        rounds = len(reply_tokens)
        right = sum(trace.answer == problem.answer for trace, problem in zip(traces, problems))
        print(f"{name:>17}: {seconds:7.1f} s, {rounds:2d} rounds, {sum(reply_tokens):6d} reply tokens, "
              f"{right}/{args.items} right; {target} lists ({args.target_items} at each of "
              f"{len(args.target_lengths)} lengths) at this rate: {seconds / args.items * target:7.0f} s")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
