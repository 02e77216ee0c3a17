"""Two neural CRF taggers (llmbook.layers.CRF under Keras) against sklearn-crfsuite on People's Daily NER, in one run.

Run:  TF_CPP_MIN_LOG_LEVEL=1 .venv/bin/python benchmarks/crf.py [--models crfsuite,bilstm,conv]
      [--train-fraction 1.0] [--epochs 3] [--conv-epochs 5] [--conv-batch 256] [--iterations 100]
      [--repeats 3] [--idle-wait 120]

The data are chapter 14's: People's Daily, January 1998 (``load_peoples_daily``), cut into blocks of 20
consecutive lines (the file has no document markers; a block stands for a document), the blocks split
80/10/10 with seed 0, every line cut into clauses after ，。！？； and clauses longer than 32 characters
cut at word boundaries; pieces still longer than 32 characters (one long word) are dropped and counted.
Entities are ``nr``/``ns``/``nt`` as character-level BIO (PER/LOC/ORG).

- **CRFsuite**: ``sklearn_crfsuite.CRF`` (L-BFGS, c1=0.1, c2=0.01, ``--iterations``) on hand-made
  features: the characters at offsets -2..2, the bigrams around the character, whether it is a digit.
- **BiLSTM-CRF** (``bilstm``): characters -> 64-d embedding -> bidirectional LSTM (64 units each way) -> 7
  emission scores -> ``CRF`` (unconstrained, transitions learned), trained on the CRF's negative
  log-likelihood with Adam (5e-3), batch 64, ``--epochs`` epochs, on TensorFlow (no XLA: a CRF's scan cannot
  be compiled there for training). Tags with ``predict`` at batch 64.
- **conv-CRF** (``conv``), a recurrence-free encoder after Collobert et al. (2011) and Strubell et al.
  (2017): a 64-d character embedding and a 64-d embedding of the bigram starting at each character
  (bigrams seen at least twice in training; others share one id), dropout 0.2, three Conv1D layers
  (96 filters, width 3, dilations 1, 2, 1, ReLU: a window of 9 characters), 7 emission scores, ``CRF``;
  padding positions zeroed after every layer. Trained like the BiLSTM-CRF (Adam 5e-3, batch
  ``--conv-batch``, ``--conv-epochs`` epochs). Tags with one XLA-compiled forward + Viterbi function
  (``tf.function(jit_compile=True)``; the forward pass compiles, only the gradient of the scan does not)
  called on batches of 64 clauses; the clauses are sorted by length first and each batch is cut to its
  longest clause rounded up to 8 characters (the outputs do not depend on the padding).

Measured: training wall time (CRFsuite: feature extraction + fit; neural: ``fit``), tagging throughput on
the test clauses (sentences/s, from the raw strings to tag strings: CRFsuite: features + ``predict``;
neural: character/bigram ids + tagging at batch 64 + tag names), median of ``--repeats`` interleaved
timings (A B C A B C ...), and entity F1 (micro, conlleval reading, ``llmbook.metrics.span_scores``).
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
CLAUSE_ENDS = frozenset("，。！？；")
MAX_CHARS = 32
KINDS = {"nr": "PER", "ns": "LOC", "nt": "ORG"}


LABELS = {"crfsuite": "CRFsuite", "bilstm": "BiLSTM-CRF", "conv": "conv-CRF"}


def clauses(sentence, max_chars=MAX_CHARS):
    """A line's (word, tag) pairs cut after clause-ending punctuation, then at word boundaries."""
    pieces, current = [], []
    for pair in sentence:
        if current and sum(len(w) for w, _ in current) + len(pair[0]) > max_chars:
            pieces.append(current)
            current = []
        current.append(pair)
        if pair[0] in CLAUSE_ENDS:
            pieces.append(current)
            current = []
    return pieces + ([current] if current else [])


def character_tags(pairs):
    """(characters, BIO entity tags per character) of one clause; adjacent nr words form one PER."""
    characters, tags, previous = "", [], None
    for word, tag in pairs:
        characters += word
        kind = KINDS.get(tag)
        if kind is None:
            tags += ["O"] * len(word)
        elif kind == "PER" and previous == "nr":
            tags += ["I-PER"] * len(word)
        else:
            tags += [f"B-{kind}"] + [f"I-{kind}"] * (len(word) - 1)
        previous = tag
    return characters, tags


def load_split(block=20, seed=0):
    from llmbook.data import load_peoples_daily

    lines = load_peoples_daily().sentences
    documents = [lines[i:i + block] for i in range(0, len(lines), block)]
    order = np.random.default_rng(seed).permutation(len(documents))
    cut = [int(0.8 * len(order)), int(0.9 * len(order))]
    parts = dict(zip(("train", "validation", "test"), np.split(order, cut)))
    rows, dropped = {}, 0
    for name, indices in parts.items():
        rows[name] = []
        for document in sorted(indices):
            for line in documents[document]:
                for piece in clauses(line):
                    characters, tags = character_tags(piece)
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


def bigram_vocabulary(train, min_count=2):
    """Index of the character bigrams seen at least ``min_count`` times in training (0 pad, 1 unknown)."""
    from collections import Counter

    counts = Counter(b for _, text, _ in train for b in bigrams(text))
    kept = sorted(b for b, n in counts.items() if n >= min_count)
    return {b: i + 2 for i, b in enumerate(kept)}


def bigrams(characters):
    """The bigram starting at each character (the last one pairs with an end marker)."""
    return [characters[i:i + 2] if i + 1 < len(characters) else characters[i] + "</s>"
            for i in range(len(characters))]


def encode_pairs(texts, index, bigram_index):
    """``(len(texts), MAX_CHARS, 2)`` int32: character ids and bigram ids, 0 at padding."""
    ids = np.zeros((len(texts), MAX_CHARS, 2), "int32")
    for i, text in enumerate(texts):
        ids[i, :len(text), 0] = [index.get(c, 1) for c in text]
        ids[i, :len(text), 1] = [bigram_index.get(b, 1) for b in bigrams(text)]
    return ids


def build_conv_tagger(vocabulary_size, bigram_size, seed=0, width=96, dilations=(1, 2, 1), rate=5e-3):
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
            self.dropout = keras.layers.Dropout(0.2)
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
    parser.add_argument("--conv-epochs", type=int, default=5)
    parser.add_argument("--conv-batch", type=int, default=256, help="conv-CRF training batch size")
    parser.add_argument("--models", default="crfsuite,bilstm,conv",
                        help="comma-separated: crfsuite and any of bilstm, conv")
    parser.add_argument("--iterations", type=int, default=100, help="CRFsuite L-BFGS iterations")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--idle-wait", type=float, default=120.0)
    args = parser.parse_args()

    from llmbook.book import setup_chapter

    setup_chapter()
    from importlib.metadata import version

    import keras
    import sklearn_crfsuite
    import tensorflow as tf

    from llmbook.metrics import span_scores

    rows, dropped = load_split()
    train, test = rows["train"], rows["test"]
    if args.train_fraction < 1.0:
        documents = sorted({d for d, _, _ in train})
        keep = set(documents[::max(1, round(1 / args.train_fraction))])
        train = [r for r in train if r[0] in keep]
    print(f"versions: keras {keras.__version__}, tensorflow {tf.__version__}, "
          f"sklearn-crfsuite {version('sklearn-crfsuite')}, python-crfsuite {version('python-crfsuite')}; "
          f"{os.cpu_count()} cores, TF default threads")
    print(f"train {len(train)} clauses ({sum(len(r[1]) for r in train)} characters), test {len(test)} clauses; "
          f"{dropped} pieces over {MAX_CHARS} characters dropped")

    characters = sorted({c for _, text, _ in train for c in text})
    index = {c: i + 2 for i, c in enumerate(characters)}           # 0 padding, 1 unknown
    train_ids, train_tags = encode(train, index)
    truth = [tags for _, _, tags in test]

    models = [m for m in args.models.split(",") if m]
    unknown = set(models) - set(LABELS)
    if unknown or "crfsuite" not in models or len(models) < 2:
        raise SystemExit(f"--models must list crfsuite and at least one of bilstm, conv; got {args.models!r}")
    test_texts = [text for _, text, _ in test]
    train_time, taggers = {}, {}

    idle, load = wait_for_idle(args.idle_wait)
    print(f"training CRFsuite: machine idle {idle} (load {load:.2f})")
    start = time.perf_counter()
    crfsuite = sklearn_crfsuite.CRF(algorithm="lbfgs", c1=0.1, c2=0.01, max_iterations=args.iterations)
    crfsuite.fit([features(text) for _, text, _ in train], [tags for _, _, tags in train])
    train_time["crfsuite"] = time.perf_counter() - start
    taggers["crfsuite"] = lambda: crfsuite.predict([features(text) for text in test_texts])

    if "bilstm" in models:
        idle, load = wait_for_idle(args.idle_wait)
        print(f"training BiLSTM-CRF: machine idle {idle} (load {load:.2f})")
        bilstm = build_tagger(len(characters) + 2)
        start = time.perf_counter()
        bilstm.fit(train_ids, train_tags, batch_size=64, epochs=args.epochs, verbose=0)
        train_time["bilstm"] = time.perf_counter() - start

        def tag_bilstm():
            out = bilstm.predict(encode(test, index)[0], batch_size=64, verbose=0)["tags"]
            return [[NER_TAGS[k] for k in out[i, :len(text)]] for i, text in enumerate(test_texts)]

        taggers["bilstm"] = tag_bilstm

    if "conv" in models:
        bigram_index = bigram_vocabulary(train)
        print(f"conv-CRF: {len(bigram_index)} bigrams seen twice or more in training")
        idle, load = wait_for_idle(args.idle_wait)
        print(f"training conv-CRF: machine idle {idle} (load {load:.2f})")
        conv = build_conv_tagger(len(characters) + 2, len(bigram_index) + 2)
        start = time.perf_counter()
        conv.fit(encode_pairs([r[1] for r in train], index, bigram_index), train_tags, batch_size=args.conv_batch,
                 epochs=args.conv_epochs, verbose=0)
        train_time["conv"] = time.perf_counter() - start

        @tf.function(jit_compile=True)
        def viterbi_batch(ids):
            return conv(ids, training=False)["tags"]

        names = np.array(NER_TAGS)

        def tag_conv():
            ids = encode_pairs(test_texts, index, bigram_index)
            lengths = np.array([len(text) for text in test_texts])
            order = np.argsort(lengths, kind="stable")  # batches of 64 clauses of similar length
            out = np.zeros(ids.shape[:2], "int32")
            for i in range(0, len(order), 64):
                rows = order[i:i + 64]
                batch = np.zeros((64, -(-lengths[rows].max() // 8) * 8, 2), "int32")
                batch[:len(rows)] = ids[rows, :batch.shape[1]]  # 64 rows, length a multiple of 8
                out[rows, :batch.shape[1]] = viterbi_batch(tf.constant(batch)).numpy()[:len(rows)]
            words = names[np.maximum(out, 0)]
            return [words[i, :len(text)].tolist() for i, text in enumerate(test_texts)]

        taggers["conv"] = tag_conv

    for name in models[1:]:
        taggers[name]()                                  # trace / compile the tagging function once
    times = {name: [] for name in models}
    predictions = {}
    for repeat in range(args.repeats):
        for name in models:
            idle, load = wait_for_idle(args.idle_wait)
            start = time.perf_counter()
            predictions[name] = taggers[name]()
            times[name].append(time.perf_counter() - start)
            print(f"  tagging run {repeat + 1} {name}: {times[name][-1]:.2f} s (idle {idle}, load {load:.2f})")

    f1 = {name: span_scores(truth, predicted).f1 for name, predicted in predictions.items()}
    speed = {name: len(test) / statistics.median(t) for name, t in times.items()}
    print()
    print(f"{'':24}" + "".join(f"{LABELS[m]:>12}" for m in models)
          + "".join(f"{m + '/CRFsuite':>16}" for m in models[1:]))
    rows_out = (("training time (s)", train_time, ".1f", ".2f"), ("tagging (sentences/s)", speed, ".0f", ".2f"),
                ("entity F1", f1, ".4f", ".3f"))
    for label, values, style, ratio in rows_out:
        print(f"{label:24}" + "".join(f"{values[m]:12{style}}" for m in models)
              + "".join(f"{values[m] / values['crfsuite']:16{ratio}}" if values["crfsuite"] else f"{'n/a':>16}"
                        for m in models[1:]))
    for m in models[1:]:
        print(f"goal ({LABELS[m]}): F1 >= CRFsuite's: {f1[m] >= f1['crfsuite']}; "
              f"throughput >= 1.0x at batch 64: {speed[m] >= speed['crfsuite']}")
    print(f"load average at the end: {os.getloadavg()[0]:.2f} ({os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
