"""German->English translation on Ding's sentence pairs: how BLEU grows with training time, and greedy vs beam 4.

Run:  TF_CPP_MIN_LOG_LEVEL=1 .venv/bin/python benchmarks/translate.py [--budgets 30,60,120,240]
      [--steps 150,300,600] [--max-words 8] [--vocab 1000] [--dev 400] [--batch 64] [--lr 3e-3]
      [--warmup 30] [--label-smoothing 0.1] [--repeats 3] [--beam 4] [--skip-baselines] [--json PATH]
      [--source german|gloss|both] [--dropout 0.1]

The defaults are chapter 16's setup (sentences of 3 to 8 words, a joint BPE of 1000 tokens, peak learning
rate 3e-3 after 30 warm-up steps, label smoothing 0.1). ``--steps`` gives checkpoints in training steps
instead of seconds (a load-independent x-axis); ``--json`` writes the table (and the baselines) to a file,
which chapter 16 reads for its curve (``benchmarks/results/translate_curve.json``). The previous session's
setup was ``--max-words 10 --vocab 4000 --lr 1e-3 --warmup 200 --label-smoothing 0``.

``--source`` says what the encoder reads: ``german`` (the default), ``gloss`` (the word-by-word translation
with ``load_ding_words()``, so the model learns to post-edit the dictionary's output) or ``both`` (the German,
then `` = ``, then the gloss; up to twice as many source tokens).

Data: ``load_ding_sentences(max_words=--max-words)`` split with ``split(seed=0)``; the model trains on the
train part and is scored on the first ``--dev`` pairs of the validation part (against all of each pair's
references).
One joint byte-level BPE vocabulary of ``--vocab`` tokens (``ByteLevelBPE.train`` on the train part's German
and English; ``<pad>``, ``<s>``, ``</s>`` get ids 0, 1, 2). Pairs whose source or target is longer than 32
tokens are dropped from training (a few); every batch is padded to those fixed lengths, so one compiled
training step serves the whole run.

Model: ``Seq2SeqTransformer`` with one shared embedding table, 2 + 2 pre-LN blocks of width 128, 4 heads,
MLP 256, learned positions, dropout 0.1, ``pad_id=0``; Adam, learning rate warmed up linearly to ``--lr`` over
``--warmup`` steps, then constant; batch ``--batch``; cross-entropy over the non-padding target tokens, with
``--label-smoothing``. Seeded (0).

Training runs until the cumulative training time (the compiled steps only: evaluation excluded) passes each
of ``--budgets`` seconds (or until each of ``--steps`` steps is done); there it prints steps, epochs,
training throughput (source + target tokens that
are not padding, per second) and dev BLEU / chrF (``llmbook.metrics``; the sacrebleu signature is printed)
of greedy decoding (``beam_search`` with a beam of 1, which the tests show equals greedy decoding) and of
beam ``--beam`` (length penalty 0.6), each in batches of 100 sources, with its decoding throughput
(sentences/s). After the last budget the two decoders are timed again, interleaved, median of ``--repeats``.
Baselines on the same dev pairs (unless ``--skip-baselines``): the copy baseline and word-by-word
translation with ``load_ding_words()``. The load average is printed before and after: the machine's
cores may be shared, which slows every figure but BLEU.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

import numpy as np

PAD, BOS, EOS = 0, 1, 2
SPECIALS = ("<pad>", "<s>", "</s>")
MAX_TOKENS = 32          # source tokens, and target tokens + 1 (the <s> or </s>)
DECODE_BATCH = 100
MAX_NEW_TOKENS = 32


def _pad(rows, length):
    out = np.full((len(rows), length), PAD, dtype="int32")
    for i, row in enumerate(rows):
        out[i, :len(row)] = row
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budgets", default="30,60,120,240", help="cumulative training seconds, comma-separated")
    parser.add_argument("--steps", default="", help="checkpoints in training steps (replaces --budgets)")
    parser.add_argument("--max-words", type=int, default=8)
    parser.add_argument("--vocab", type=int, default=1000)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--label-smoothing", type=float, default=0.1)
    parser.add_argument("--json", default="", help="write the results table to this JSON file")
    parser.add_argument("--dev", type=int, default=400)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--beam", type=int, default=4)
    parser.add_argument("--skip-baselines", action="store_true")
    parser.add_argument("--source", choices=("german", "gloss", "both"), default="german")
    parser.add_argument("--dropout", type=float, default=0.1)
    args = parser.parse_args()
    by_steps = bool(args.steps)
    budgets = sorted(float(b) for b in (args.steps or args.budgets).split(","))

    import keras

    from llmbook.data import load_ding_sentences, load_ding_words
    from llmbook.generation import beam_search
    from llmbook.metrics import chrf, corpus_bleu, sacrebleu_signature
    from llmbook.models.seq2seq import Seq2SeqTransformer
    from llmbook.tasks.translation import copy_translate, word_by_word
    from llmbook.text import ByteLevelBPE
    from llmbook.training import set_seed

    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; keras backend "
          f"{keras.backend.backend()}")
    split = load_ding_sentences(max_words=args.max_words).split(seed=0)
    train, dev = split.train, split.validation.pairs[:args.dev]
    sources, references = [p.german for p in dev], [list(p.references) for p in dev]
    print(f"{len(train)} train pairs, {len(dev)} dev pairs (of {len(split.validation)})")

    def score(hypotheses):
        return corpus_bleu(hypotheses, references).score, chrf(hypotheses, references).score

    rows = []
    start = time.perf_counter()
    lexicon = load_ding_words() if not args.skip_baselines or args.source != "german" else {}
    loaded = time.perf_counter() - start

    def encoder_text(german):
        if args.source == "german":
            return german
        gloss = word_by_word(german, lexicon)
        return gloss if args.source == "gloss" else f"{german} = {gloss}"

    if not args.skip_baselines:
        rows.append(("copy", *score([copy_translate(s) for s in sources])))
        rows.append(("word-by-word", *score([word_by_word(s, lexicon) for s in sources])))
        print(f"word lexicon: {len(lexicon)} entries, loaded in {loaded:.1f} s")
        for name, bleu, chrf_score in rows:
            print(f"baseline {name:>13}: BLEU {bleu:5.2f}  chrF {chrf_score:5.2f}")

    start = time.perf_counter()
    tokenizer = ByteLevelBPE.train(train.german + train.english, args.vocab, special_tokens=SPECIALS)
    print(f"BPE: {tokenizer.vocab_size} tokens trained in {time.perf_counter() - start:.1f} s")
    assert [tokenizer.encode(s)[0] for s in SPECIALS] == [PAD, BOS, EOS]
    source_length = MAX_TOKENS * (2 if args.source == "both" else 1)
    source_ids = tokenizer.encode_batch([encoder_text(g) for g in train.german])
    target_ids = tokenizer.encode_batch(train.english)
    keep = [i for i, (s, t) in enumerate(zip(source_ids, target_ids))
            if len(s) <= source_length and len(t) < MAX_TOKENS]
    print(f"{len(keep)} of {len(train)} train pairs fit in {MAX_TOKENS} tokens; mean tokens per source "
          f"{np.mean([len(s) for s in source_ids]):.1f}, per English {np.mean([len(t) for t in target_ids]):.1f}")
    source = _pad([source_ids[i] for i in keep], source_length)
    target_in = _pad([[BOS] + target_ids[i] for i in keep], MAX_TOKENS)
    target_out = _pad([target_ids[i] + [EOS] for i in keep], MAX_TOKENS)
    dev_source = _pad([ids[:source_length] for ids in tokenizer.encode_batch([encoder_text(s) for s in sources])],
                      source_length)

    set_seed(0, keras=True)
    model = Seq2SeqTransformer(tokenizer.vocab_size, hidden_dim=128, num_layers=2, num_heads=4, intermediate_dim=256,
                               max_length=source_length + MAX_NEW_TOKENS, dropout=args.dropout, pad_id=PAD)
    schedule = keras.optimizers.schedules.CosineDecay(0.0, decay_steps=10**9, alpha=1.0, warmup_target=args.lr,
                                                      warmup_steps=args.warmup)
    vocab_size = tokenizer.vocab_size

    def smoothed_loss(y_true, logits):
        """Cross-entropy with label smoothing, averaged over the non-padding target tokens."""
        y_true = keras.ops.cast(y_true, "int32")
        per_token = keras.losses.categorical_crossentropy(
            keras.ops.one_hot(y_true, vocab_size), logits, from_logits=True,
            label_smoothing=args.label_smoothing)
        mask = keras.ops.cast(keras.ops.not_equal(y_true, PAD), per_token.dtype)
        return keras.ops.sum(per_token * mask) / keras.ops.maximum(keras.ops.sum(mask), 1.0)

    model.compile(optimizer=keras.optimizers.Adam(schedule), loss=smoothed_loss)
    model.build()
    print(f"model: {model.count_params():,} parameters")

    def decode(beam_size):
        hypotheses = []
        for begin in range(0, len(dev_source), DECODE_BATCH):
            chunk = dev_source[begin:begin + DECODE_BATCH]
            if len(chunk) < DECODE_BATCH:  # keep one shape: the compiled search is reused
                chunk = np.concatenate([chunk, np.full((DECODE_BATCH - len(chunk), source_length), PAD, "int32")])
                chunk[len(dev_source) - begin:, 0] = EOS
            context, context_mask = model.encode(chunk)
            results = beam_search(model, [[BOS]] * DECODE_BATCH, beam_size, MAX_NEW_TOKENS, eos_id=EOS,
                                  length_penalty=0.6 if beam_size > 1 else 0.0, context=context,
                                  context_mask=context_mask, max_length=MAX_NEW_TOKENS + 1)
            for best in results[:len(dev_source) - begin]:
                tokens = [t for t in best[0].tokens if t not in (EOS, PAD)]
                hypotheses.append(tokenizer.decode(tokens).strip())
        return hypotheses

    def timed(beam_size):
        begin = time.perf_counter()
        hypotheses = decode(beam_size)
        return hypotheses, len(hypotheses) / (time.perf_counter() - begin)

    def write_json():
        """The table so far and the baselines, as JSON (written after every checkpoint)."""
        keys = ("train_s", "steps", "epochs", "loss", "train_tokens_per_s", "greedy_bleu", "greedy_chrf",
                "greedy_sentences_per_s", "beam_bleu", "beam_chrf", "beam_sentences_per_s")
        with open(args.json, "w") as handle:
            json.dump({"settings": vars(args), "dev_pairs": len(dev), "train_pairs": len(source),
                       "rows": [dict(zip(keys, row)) for row in report],
                       "baselines": [{"name": n, "bleu": b, "chrf": c} for n, b, c in rows],
                       "load_average_after": os.getloadavg()[0]}, handle, indent=1)

    rng = np.random.default_rng(0)
    order = rng.permutation(len(source))
    cursor, steps, trained, tokens = 0, 0, 0.0, 0
    report = []
    for budget in budgets:
        while (steps < budget) if by_steps else (trained < budget):
            if cursor + args.batch > len(order):
                order, cursor = rng.permutation(len(source)), 0
            batch = order[cursor:cursor + args.batch]
            cursor += args.batch
            begin = time.perf_counter()
            loss = model.train_on_batch((source[batch], target_in[batch]), target_out[batch])
            elapsed = time.perf_counter() - begin
            if steps > 0:  # the first step compiles: not counted in the throughput
                trained += elapsed
                tokens += int(np.count_nonzero(source[batch]) + np.count_nonzero(target_out[batch]))
            steps += 1
        if len(report) == 0:
            decode(1), decode(args.beam)  # compile both searches before timing them
        greedy, greedy_speed = timed(1)
        beam, beam_speed = timed(args.beam)
        report.append((trained, steps, steps * args.batch / len(source), float(loss), tokens / trained,
                       *score(greedy), greedy_speed, *score(beam), beam_speed))
        print(f"after {trained:6.1f} s: step {steps}, loss {float(loss):.3f}, greedy BLEU {report[-1][5]:.2f}, "
              f"beam BLEU {report[-1][8]:.2f}", flush=True)
        if args.json:
            write_json()

    times = {1: [], args.beam: []}
    for _ in range(args.repeats):
        for beam_size in times:
            times[beam_size].append(timed(beam_size)[1])
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    print(f"BLEU signature: {sacrebleu_signature(greedy, references)}")
    print()
    print(f"| train s | steps | epochs | loss | train tok/s | greedy BLEU | greedy chrF | greedy sent/s | "
          f"beam {args.beam} BLEU | beam {args.beam} chrF | beam {args.beam} sent/s |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for budget, n, epochs, loss, speed, gb, gc, gs, bb, bc, bs in report:
        print(f"| {budget:.0f} | {n} | {epochs:.2f} | {loss:.3f} | {speed:,.0f} | {gb:.2f} | {gc:.2f} | {gs:.1f} | "
              f"{bb:.2f} | {bc:.2f} | {bs:.1f} |")
    for name, bleu, chrf_score in rows:
        print(f"| {name} | | | | | {bleu:.2f} | {chrf_score:.2f} | | | | |")
    if args.json:
        write_json()
        print(f"wrote {args.json}")
    greedy_median, beam_median = statistics.median(times[1]), statistics.median(times[args.beam])
    print(f"\nafter the last budget, median of {args.repeats} interleaved runs over {len(dev)} sentences: greedy "
          f"{greedy_median:.1f} sentences/s, beam {args.beam} {beam_median:.1f} sentences/s "
          f"({greedy_median / beam_median:.2f}x slower)")
    for i in range(3):
        print(f"\n  de: {sources[i]}\n  ref: {references[i][0]}\n  greedy: {greedy[i]}\n  beam: {beam[i]}")


if __name__ == "__main__":
    main()
