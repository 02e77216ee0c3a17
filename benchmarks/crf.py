"""Two neural CRF taggers (llmbook.layers.CRF under Keras) against sklearn-crfsuite on People's Daily NER, in one run.

Run:  TF_CPP_MIN_LOG_LEVEL=1 .venv/bin/python benchmarks/crf.py [--models crfsuite,bilstm,conv]
      [--train-fraction 1.0] [--epochs 3] [--iterations 100] [--evaluate test|dev]
      [--conv-epochs 5] [--conv-batch 256] [--conv-bigrams 0] [--conv-filters 96]
      [--conv-dilations 1,2,1] [--conv-schedule constant|cosine] [--conv-patience 0]
      [--repeats 3] [--time-copies 5] [--idle-wait 120]

The data are chapter 14's: People's Daily, January 1998 (``load_peoples_daily``), cut into blocks of 20
consecutive lines (the file has no document markers; a block stands for a document), the blocks split
80/10/10 (train/dev/test) with seed 0 (``TaggedCorpus.block_split``), every line cut into clauses after ，。！？； and clauses longer
than 32 characters cut at word boundaries; pieces still longer than 32 characters (one long word) are
dropped and counted (``llmbook.tasks.tagging``, as in chapters 14 and 15).
Entities are ``nr``/``ns``/``nt`` as character-level BIO (PER/LOC/ORG). Models are scored and timed on
the test blocks; ``--evaluate dev`` scores and times them on the development blocks instead (for model
selection: pick options there, never on test). ``--models`` may leave CRFsuite out (no ratios then).

- **CRFsuite**: ``sklearn_crfsuite.CRF`` (L-BFGS, c1=0.1, c2=0.01, ``--iterations``) on hand-made
  features: the characters at offsets -2..2, the bigrams around the character, whether it is a digit.
- **BiLSTM-CRF** (``bilstm``): characters -> 64-d embedding -> bidirectional LSTM (64 units each way) -> 7
  emission scores -> ``CRF`` (unconstrained, transitions learned), trained on the CRF's negative
  log-likelihood with Adam (5e-3), batch 64, ``--epochs`` epochs, on TensorFlow (no XLA: a CRF's scan cannot
  be compiled there for training). Tags with ``predict`` at batch 64.
- **conv-CRF** (``conv``), a recurrence-free encoder after Collobert et al. (2011) and Strubell et al.
  (2017): a 64-d character embedding and a 64-d embedding of the bigram starting at each character
  (bigrams seen at least twice in training, or only the ``--conv-bigrams`` most frequent of them; others
  share one id; the last character's "bigram" is that character alone), dropout
  (``--conv-input-dropout``, 0.2) on the embeddings, one Conv1D layer
  per ``--conv-dilations`` entry (``--conv-filters`` filters, width 3, ReLU; the default 1,2,1 sees a
  window of 9 characters, 1,2,4,1 one of 17), each followed by dropout ``--conv-hidden-dropout``
  (default none), 7 emission scores, ``CRF``; padding positions zeroed
  after every layer. Trained like the BiLSTM-CRF (Adam 5e-3, constant or, with ``--conv-schedule
  cosine``, decayed to 0 along a cosine over ``--conv-epochs`` epochs; batch ``--conv-batch``). With
  ``--conv-patience N`` the development F1 is scored after every epoch, training stops after N epochs
  without a gain and the best epoch's weights are kept (the training time then includes that scoring).
  Tags with one XLA-compiled forward + Viterbi function
  (``tf.function(jit_compile=True)``; the forward pass compiles, only the gradient of the scan does not)
  called on batches of 64 clauses; the clauses are sorted by length first and each batch is cut to its
  longest clause rounded up to 8 characters (the outputs do not depend on the padding).

Measured: training wall time (CRFsuite: feature extraction + fit; neural: ``fit``), tagging throughput on
the test clauses (sentences/s, from the raw strings to tag strings: CRFsuite: features + ``predict``;
neural: character/bigram ids + tagging at batch 64 + tag names); each timing tags the evaluated clauses
``--time-copies`` times over (so that one timing lasts seconds, not one), and the figure is the median of
``--repeats`` interleaved timings (A B C A B C ...), and entity F1 (micro, conlleval reading,
``llmbook.metrics.span_scores``).
Before each training and each timed run the script waits up to ``--idle-wait`` seconds for the machine
to be idle (1-minute load average below 0.5 per core) and prints whether it was.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

NER_TAGS = ("O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG")
MAX_CHARS = 32


LABELS = {"crfsuite": "CRFsuite", "bilstm": "BiLSTM-CRF", "conv": "conv-CRF"}


def load_split(block=20, seed=0):
    """Chapter 14's data: ``TaggedCorpus.block_split`` and ``llmbook.tasks.tagging`` (clauses, BIO tags)."""
    from llmbook.data import load_peoples_daily
    from llmbook.tasks import tagging

    corpus = load_peoples_daily()
    parts = dict(zip(("train", "validation", "test"), corpus.block_split(block, seed=seed)))
    rows, dropped = {}, 0
    for name, indices in parts.items():
        rows[name] = []
        for document in indices:
            for line in corpus.block(document, block):
                for piece in tagging.cut(line, tagging.CLAUSE_ENDS, MAX_CHARS):
                    characters, _, tags = tagging.character_tags(piece)
                    if len(characters) > MAX_CHARS:
                        dropped += 1
                        continue
                    rows[name].append((int(document), characters, tags))
    return rows, dropped


def features(characters):
    def at(i):
        return characters[i] if 0 <= i < len(characters) else "<s>"

    return [{"c-2": at(i - 2), "c-1": at(i - 1), "c0": at(i), "c1": at(i + 1), "c2": at(i + 2),
             "b-1": at(i - 1) + at(i), "b0": at(i) + at(i + 1), "digit": characters[i].isdigit()}
            for i in range(len(characters))]


def encode(rows, index):
    ids = np.zeros((len(rows), MAX_CHARS), "int32")
    tags = np.zeros((len(rows), MAX_CHARS), "int32")
    for i, (_, characters, labels) in enumerate(rows):
        ids[i, :len(characters)] = [index.get(c, 1) for c in characters]
        tags[i, :len(characters)] = [NER_TAGS.index(t) for t in labels]
    return ids, tags


def build_tagger(vocabulary_size, seed=0):
    import keras

    from llmbook.layers import CRF

    class BiLSTMCRF(keras.Model):
        def __init__(self):
            super().__init__()
            self.embed = keras.layers.Embedding(vocabulary_size, 64, mask_zero=True)
            self.bilstm = keras.layers.Bidirectional(keras.layers.LSTM(64, return_sequences=True))
            self.scores = keras.layers.Dense(len(NER_TAGS))
            self.crf = CRF(len(NER_TAGS))

        def call(self, ids, training=False):
            emissions = self.scores(self.bilstm(self.embed(ids)))
            if training:
                return {"emissions": emissions}
            return {"emissions": emissions, "tags": self.crf(emissions, mask=ids != 0)}

        def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
            return self.crf.negative_log_likelihood(y_pred["emissions"], y, x != 0)

    keras.utils.set_random_seed(seed)
    model = BiLSTMCRF()
    model.compile(optimizer=keras.optimizers.Adam(5e-3))
    return model


def bigram_vocabulary(train, min_count=2, cap=0):
    """Index of the character bigrams seen at least ``min_count`` times in training (0 pad, 1 unknown).

    With ``cap > 0`` only the ``cap`` most frequent of them are kept (ties broken by the bigram)."""
    from collections import Counter

    if cap < 0:
        raise ValueError(f"cap must be 0 (no cap) or a positive number of bigrams, got {cap}")
    counts = Counter(b for _, text, _ in train for b in bigrams(text))
    kept = sorted((b for b, n in counts.items() if n >= min_count), key=lambda b: (-counts[b], b))
    kept = sorted(kept[:cap] if cap else kept)
    return {b: i + 2 for i, b in enumerate(kept)}


def bigrams(characters):
    """The bigram starting at each character; at the last character, that character alone (an end
    marker: no bigram of two characters is one character long)."""
    return [characters[i:i + 2] for i in range(len(characters))]


def encode_pairs(texts, index, bigram_index):
    """``(len(texts), MAX_CHARS, 2)`` int32: character ids and bigram ids, 0 at padding.

    One pass over all characters and one scatter, not one small array assignment per clause."""
    ids = np.zeros((len(texts), MAX_CHARS, 2), "int32")
    lengths = np.fromiter(map(len, texts), np.int64, len(texts))
    total = int(lengths.sum())
    rows = np.repeat(np.arange(len(texts)), lengths)
    columns = np.arange(total) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    get, pair = index.get, bigram_index.get
    ids[rows, columns, 0] = np.fromiter((get(c, 1) for t in texts for c in t), np.int32, total)
    ids[rows, columns, 1] = np.fromiter((pair(t[i:i + 2], 1) for t in texts for i in range(len(t))),
                                        np.int32, total)
    return ids


def build_conv_tagger(vocabulary_size, bigram_size, seed=0, width=96, dilations=(1, 2, 1), rate=5e-3,
                      decay_steps=0, input_dropout=0.2, hidden_dropout=0.0):
    """Character + bigram embeddings -> stacked (dilated) Conv1D -> emission scores -> CRF.

    Padding positions are zeroed after the embeddings and after every convolution, so a clause's
    emissions do not depend on how far its batch is padded (the tagger may cut batches to their
    longest clause)."""
    import keras

    from llmbook.layers import CRF

    class ConvCRF(keras.Model):
        def __init__(self):
            super().__init__()
            self.chars = keras.layers.Embedding(vocabulary_size, 64)
            self.pairs = keras.layers.Embedding(bigram_size, 64)
            self.dropout = keras.layers.Dropout(input_dropout)
            self.hidden_dropout = keras.layers.Dropout(hidden_dropout)
            self.convs = [keras.layers.Conv1D(width, 3, padding="same", dilation_rate=d,
                                              activation="relu") for d in dilations]
            self.scores = keras.layers.Dense(len(NER_TAGS))
            self.crf = CRF(len(NER_TAGS))

        def emissions(self, ids, training=False):
            real = keras.ops.cast(ids[..., 0] != 0, "float32")[..., None]
            x = keras.ops.concatenate([self.chars(ids[..., 0]), self.pairs(ids[..., 1])], axis=-1)
            x = self.dropout(x * real, training=training)
            for conv in self.convs:
                x = conv(x) * real
                if hidden_dropout:
                    x = self.hidden_dropout(x, training=training)
            return self.scores(x)

        def call(self, ids, training=False):
            emissions = self.emissions(ids, training)
            if training:
                return {"emissions": emissions}
            return {"emissions": emissions, "tags": self.crf(emissions, mask=ids[..., 0] != 0)}

        def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
            return self.crf.negative_log_likelihood(y_pred["emissions"], y, x[..., 0] != 0)

    keras.utils.set_random_seed(seed)
    model = ConvCRF()
    if decay_steps:   # cosine decay from ``rate`` to 0 over ``decay_steps`` optimizer steps
        rate = keras.optimizers.schedules.CosineDecay(rate, decay_steps)
    model.compile(optimizer=keras.optimizers.Adam(rate))
    return model


def wait_for_idle(max_wait):
    """Wait up to max_wait seconds for the 1-minute load average to fall below 0.5 per core."""
    limit = 0.5 * (os.cpu_count() or 1)
    start = time.time()
    while os.getloadavg()[0] >= limit and time.time() - start < max_wait:
        time.sleep(5)
    load = os.getloadavg()[0]
    return load < limit, load


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-fraction", type=float, default=1.0, help="fraction of training documents")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--conv-epochs", type=int, default=5, help="conv-CRF epochs (the most, with patience)")
    parser.add_argument("--conv-batch", type=int, default=256, help="conv-CRF training batch size")
    parser.add_argument("--conv-bigrams", type=int, default=0,
                        help="keep only the N most frequent bigrams (0: every bigram seen twice or more)")
    parser.add_argument("--conv-filters", type=int, default=96, help="filters per conv-CRF layer")
    parser.add_argument("--conv-dilations", default="1,2,1", help="one width-3 Conv1D layer per dilation")
    parser.add_argument("--conv-input-dropout", type=float, default=0.2,
                        help="conv-CRF dropout rate on the embeddings")
    parser.add_argument("--conv-hidden-dropout", type=float, default=0.0,
                        help="conv-CRF dropout rate after every Conv1D layer (0: none)")
    parser.add_argument("--conv-schedule", choices=("constant", "cosine"), default="constant",
                        help="conv-CRF learning rate: constant 5e-3, or cosine decay to 0 over --conv-epochs")
    parser.add_argument("--conv-patience", type=int, default=0,
                        help="early stopping: score development F1 after every epoch, stop after N epochs "
                             "without a gain and keep the best epoch's weights (0: off)")
    parser.add_argument("--evaluate", choices=("test", "dev"), default="test",
                        help="blocks to score and time on (dev for model selection)")
    parser.add_argument("--models", default="crfsuite,bilstm,conv",
                        help="comma-separated: any of crfsuite, bilstm, conv")
    parser.add_argument("--iterations", type=int, default=100, help="CRFsuite L-BFGS iterations")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved timings per tagger (median)")
    parser.add_argument("--time-copies", type=int, default=5,
                        help="each timing tags the evaluated clauses this many times over")
    parser.add_argument("--idle-wait", type=float, default=120.0)
    args = parser.parse_args()
    for name in ("epochs", "conv_epochs", "conv_batch", "conv_filters", "iterations", "repeats", "time_copies"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1, got {getattr(args, name)}")
    for name in ("conv_input_dropout", "conv_hidden_dropout"):
        if not 0.0 <= getattr(args, name) < 1.0:
            parser.error(f"--{name.replace('_', '-')} must be a rate in [0, 1), got {getattr(args, name)}")
    if args.conv_bigrams < 0 or args.conv_patience < 0:
        parser.error("--conv-bigrams and --conv-patience must be 0 (off) or positive")
    try:
        dilations = tuple(int(d) for d in args.conv_dilations.split(","))
    except ValueError:
        parser.error(f"--conv-dilations must be comma-separated integers like 1,2,1; got {args.conv_dilations!r}")
    if not dilations or min(dilations) < 1:
        parser.error(f"--conv-dilations must list positive integers, got {args.conv_dilations!r}")
    models = [m for m in args.models.split(",") if m]
    unknown = set(models) - set(LABELS)
    if unknown or not models:
        parser.error(f"--models must list some of crfsuite, bilstm, conv; got {args.models!r}")

    from llmbook.book import setup_chapter

    setup_chapter()
    from importlib.metadata import version

    import keras
    import sklearn_crfsuite
    import tensorflow as tf

    from llmbook.metrics import span_scores

    rows, dropped = load_split()
    train, dev = rows["train"], rows["validation"]
    test = rows["test"] if args.evaluate == "test" else dev
    if args.train_fraction < 1.0:
        documents = sorted({d for d, _, _ in train})
        keep = set(documents[::max(1, round(1 / args.train_fraction))])
        train = [r for r in train if r[0] in keep]
    print(f"versions: keras {keras.__version__}, tensorflow {tf.__version__}, "
          f"sklearn-crfsuite {version('sklearn-crfsuite')}, python-crfsuite {version('python-crfsuite')}; "
          f"{os.cpu_count()} cores, TF default threads")
    print(f"train {len(train)} clauses ({sum(len(r[1]) for r in train)} characters), dev {len(dev)}, "
          f"test {len(rows['test'])} clauses; scored and timed on {args.evaluate}; "
          f"{dropped} pieces over {MAX_CHARS} characters dropped")

    characters = sorted({c for _, text, _ in train for c in text})
    index = {c: i + 2 for i, c in enumerate(characters)}           # 0 padding, 1 unknown
    train_ids, train_tags = encode(train, index)
    truth = [tags for _, _, tags in test]
    test_texts = [text for _, text, _ in test]
    timed_texts = test_texts * args.time_copies
    train_time, taggers = {}, {}
    names = np.array(NER_TAGS)

    if "crfsuite" in models:
        idle, load = wait_for_idle(args.idle_wait)
        print(f"training CRFsuite: machine idle {idle} (load {load:.2f})")
        start = time.perf_counter()
        crfsuite = sklearn_crfsuite.CRF(algorithm="lbfgs", c1=0.1, c2=0.01, max_iterations=args.iterations)
        crfsuite.fit([features(text) for _, text, _ in train], [tags for _, _, tags in train])
        train_time["crfsuite"] = time.perf_counter() - start
        taggers["crfsuite"] = lambda texts: crfsuite.predict([features(text) for text in texts])

    if "bilstm" in models:
        idle, load = wait_for_idle(args.idle_wait)
        print(f"training BiLSTM-CRF: machine idle {idle} (load {load:.2f})")
        bilstm = build_tagger(len(characters) + 2)
        start = time.perf_counter()
        bilstm.fit(train_ids, train_tags, batch_size=64, epochs=args.epochs, verbose=0)
        train_time["bilstm"] = time.perf_counter() - start

        def tag_bilstm(texts):
            rows = [(0, text, ["O"] * len(text)) for text in texts]
            out = bilstm.predict(encode(rows, index)[0], batch_size=64, verbose=0)["tags"]
            return [[NER_TAGS[k] for k in out[i, :len(text)]] for i, text in enumerate(texts)]

        taggers["bilstm"] = tag_bilstm

    if "conv" in models:
        bigram_index = bigram_vocabulary(train, cap=args.conv_bigrams)
        print(f"conv-CRF: {len(bigram_index)} bigrams (seen twice or more in training"
              + (f", the {args.conv_bigrams} most frequent)" if args.conv_bigrams else ")")
              + f"; filters {args.conv_filters}, dilations {dilations}, dropout {args.conv_input_dropout} on "
              f"embeddings and {args.conv_hidden_dropout} after convolutions, schedule {args.conv_schedule}, "
              f"batch {args.conv_batch}, at most {args.conv_epochs} epochs, patience {args.conv_patience}")
        idle, load = wait_for_idle(args.idle_wait)
        print(f"training conv-CRF: machine idle {idle} (load {load:.2f})")
        steps = -(-len(train) // args.conv_batch) * args.conv_epochs
        conv = build_conv_tagger(len(characters) + 2, len(bigram_index) + 2, width=args.conv_filters,
                                 dilations=dilations, input_dropout=args.conv_input_dropout,
                                 hidden_dropout=args.conv_hidden_dropout,
                                 decay_steps=steps if args.conv_schedule == "cosine" else 0)

        @tf.function(jit_compile=True)
        def viterbi_batch(ids):
            return conv(ids, training=False)["tags"]

        def tag_conv(texts):
            ids = encode_pairs(texts, index, bigram_index)
            lengths = np.fromiter(map(len, texts), np.int64, len(texts))
            order = np.argsort(lengths, kind="stable")  # batches of 64 clauses of similar length
            out = np.zeros(ids.shape[:2], "int32")
            for i in range(0, len(order), 64):
                rows = order[i:i + 64]
                batch = np.zeros((64, -(-lengths[rows].max() // 8) * 8, 2), "int32")
                batch[:len(rows)] = ids[rows, :batch.shape[1]]  # 64 rows, length a multiple of 8
                out[rows, :batch.shape[1]] = viterbi_batch(tf.constant(batch)).numpy()[:len(rows)]
            words = names[np.maximum(out, 0)]
            return [words[i, :len(text)].tolist() for i, text in enumerate(texts)]

        pairs = encode_pairs([r[1] for r in train], index, bigram_index)
        dev_texts, dev_truth = [r[1] for r in dev], [r[2] for r in dev]
        best, best_epoch, best_weights, waited = -1.0, 0, None, 0
        start = time.perf_counter()
        for epoch in range(args.conv_epochs):
            conv.fit(pairs, train_tags, batch_size=args.conv_batch, epochs=epoch + 1, initial_epoch=epoch,
                     verbose=0)
            if args.conv_patience:
                score = span_scores(dev_truth, tag_conv(dev_texts)).f1
                print(f"  conv-CRF epoch {epoch + 1}: dev F1 {score:.4f} "
                      f"({time.perf_counter() - start:.0f} s, load {os.getloadavg()[0]:.2f})")
                if score > best:
                    best, best_epoch, best_weights, waited = score, epoch + 1, conv.get_weights(), 0
                else:
                    waited += 1
                    if waited >= args.conv_patience:
                        break
        if best_weights is not None:
            conv.set_weights(best_weights)
            print(f"  conv-CRF: kept epoch {best_epoch} (dev F1 {best:.4f})")
        train_time["conv"] = time.perf_counter() - start   # with the dev scoring, when early stopping
        taggers["conv"] = tag_conv

    for name in models:
        if name != "crfsuite":
            taggers[name](test_texts)                   # trace / compile the tagging function once
    times = {name: [] for name in models}
    predictions = {}
    for repeat in range(args.repeats):
        for name in models:
            idle, load = wait_for_idle(args.idle_wait)
            start = time.perf_counter()
            tagged = taggers[name](timed_texts)
            times[name].append(time.perf_counter() - start)
            predictions[name] = tagged[:len(test_texts)]
            print(f"  tagging run {repeat + 1} {name}: {times[name][-1]:.2f} s for {len(timed_texts)} clauses "
                  f"(idle {idle}, load {load:.2f})")

    f1 = {name: span_scores(truth, predicted).f1 for name, predicted in predictions.items()}
    speed = {name: len(timed_texts) / statistics.median(t) for name, t in times.items()}
    others = [m for m in models if m != "crfsuite"] if "crfsuite" in models else []
    print()
    print(f"{'':24}" + "".join(f"{LABELS[m]:>12}" for m in models)
          + "".join(f"{m + '/CRFsuite':>16}" for m in others))
    rows_out = (("training time (s)", train_time, ".1f", ".2f"), ("tagging (sentences/s)", speed, ".0f", ".2f"),
                (f"entity F1 ({args.evaluate})", f1, ".4f", ".3f"))
    for label, values, style, ratio in rows_out:
        print(f"{label:24}" + "".join(f"{values[m]:12{style}}" for m in models)
              + "".join(f"{values[m] / values['crfsuite']:16{ratio}}" if values["crfsuite"] else f"{'n/a':>16}"
                        for m in others))
    for m in others:
        print(f"goal ({LABELS[m]}): F1 >= CRFsuite's: {f1[m] >= f1['crfsuite']}; "
              f"throughput >= 1.0x at batch 64: {speed[m] >= speed['crfsuite']}")
    print(f"load average at the end: {os.getloadavg()[0]:.2f} ({os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
