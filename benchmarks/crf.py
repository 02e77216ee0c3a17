"""BiLSTM-CRF (llmbook.layers.CRF under Keras) against sklearn-crfsuite on People's Daily NER, in one run.

Run:  TF_CPP_MIN_LOG_LEVEL=1 .venv/bin/python benchmarks/crf.py [--train-fraction 1.0] [--epochs 3]
      [--iterations 100] [--repeats 3] [--idle-wait 120]

The data are chapter 14's: People's Daily, January 1998 (``load_peoples_daily``), cut into blocks of 20
consecutive lines (the file has no document markers; a block stands for a document), the blocks split
80/10/10 with seed 0, every line cut into clauses after ，。！？； and clauses longer than 32 characters
cut at word boundaries; pieces still longer than 32 characters (one long word) are dropped and counted.
Entities are ``nr``/``ns``/``nt`` as character-level BIO (PER/LOC/ORG).

- **CRFsuite**: ``sklearn_crfsuite.CRF`` (L-BFGS, c1=0.1, c2=0.01, ``--iterations``) on hand-made
  features: the characters at offsets -2..2, the bigrams around the character, whether it is a digit.
- **BiLSTM-CRF**: characters -> 64-d embedding -> bidirectional LSTM (64 units each way) -> 7 emission
  scores -> ``CRF`` (unconstrained, transitions learned), trained on the CRF's negative log-likelihood with
  Adam (5e-3), batch 64, ``--epochs`` epochs, on TensorFlow (no XLA: a CRF's scan cannot be compiled there).

Measured: training wall time (CRFsuite: feature extraction + fit; BiLSTM-CRF: ``fit``), tagging throughput on
the test clauses (sentences/s; CRFsuite: features + ``predict``; BiLSTM-CRF: ``predict`` at batch 64 with
Viterbi), median of ``--repeats`` interleaved timings (A B A B ...), and entity F1 (micro, conlleval reading,
``llmbook.metrics.span_scores``). Before each timed run the script waits up to ``--idle-wait`` seconds for the
machine to be idle (1-minute load average below 0.5 per core) and prints whether it was.
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
    test_ids, _ = encode(test, index)
    truth = [tags for _, _, tags in test]

    idle, load = wait_for_idle(args.idle_wait)
    print(f"training CRFsuite: machine idle {idle} (load {load:.2f})")
    start = time.perf_counter()
    crfsuite = sklearn_crfsuite.CRF(algorithm="lbfgs", c1=0.1, c2=0.01, max_iterations=args.iterations)
    crfsuite.fit([features(text) for _, text, _ in train], [tags for _, _, tags in train])
    crfsuite_train = time.perf_counter() - start

    idle, load = wait_for_idle(args.idle_wait)
    print(f"training BiLSTM-CRF: machine idle {idle} (load {load:.2f})")
    model = build_tagger(len(characters) + 2)
    start = time.perf_counter()
    model.fit(train_ids, train_tags, batch_size=64, epochs=args.epochs, verbose=0)
    bilstm_train = time.perf_counter() - start

    def tag_crfsuite():
        return crfsuite.predict([features(text) for _, text, _ in test])

    def tag_bilstm():
        out = model.predict(test_ids, batch_size=64, verbose=0)["tags"]
        return [[NER_TAGS[k] for k in out[i, :len(text)]] for i, (_, text, _) in enumerate(test)]

    tag_bilstm()                                                    # trace the predict function once
    times = {"crfsuite": [], "bilstm": []}
    predictions = {}
    for repeat in range(args.repeats):
        for name, tag in (("crfsuite", tag_crfsuite), ("bilstm", tag_bilstm)):
            idle, load = wait_for_idle(args.idle_wait)
            start = time.perf_counter()
            predictions[name] = tag()
            times[name].append(time.perf_counter() - start)
            print(f"  tagging run {repeat + 1} {name}: {times[name][-1]:.2f} s (idle {idle}, load {load:.2f})")

    f1 = {name: span_scores(truth, predicted).f1 for name, predicted in predictions.items()}
    speed = {name: len(test) / statistics.median(t) for name, t in times.items()}
    print()
    print(f"{'':24}{'CRFsuite':>12}{'BiLSTM-CRF':>12}{'ratio':>8}")
    print(f"{'training time (s)':24}{crfsuite_train:12.1f}{bilstm_train:12.1f}{bilstm_train / crfsuite_train:8.2f}")
    print(f"{'tagging (sentences/s)':24}{speed['crfsuite']:12.0f}{speed['bilstm']:12.0f}"
          f"{speed['bilstm'] / speed['crfsuite']:8.2f}")
    print(f"{'entity F1':24}{f1['crfsuite']:12.4f}{f1['bilstm']:12.4f}{f1['bilstm'] / f1['crfsuite']:8.3f}")
    print(f"goal: F1 >= CRFsuite's: {f1['bilstm'] >= f1['crfsuite']}; "
          f"throughput >= 1.0x at batch 64: {speed['bilstm'] >= speed['crfsuite']}")


if __name__ == "__main__":
    main()
