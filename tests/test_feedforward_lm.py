"""The feed-forward (Bengio et al. 2003) language model: its pairs against the n-gram model's, its forward
pass against NumPy, its log-probabilities against a log-softmax, learning, and its errors."""

import numpy as np
import pytest
from keras.ops import convert_to_numpy as to_numpy

from llmbook.models import NGramLanguageModel
from llmbook.models.feedforward import FeedForwardLM, context_windows, token_log_probs
from llmbook.models.ngram import UNK


def random_sentences(seed, count=40, words="abcdefgh"):
    rng = np.random.default_rng(seed)
    return [list(rng.choice(list(words), size=rng.integers(0, 7))) for _ in range(count)]


@pytest.mark.parametrize("context_size", [1, 2, 4])
def test_pairs_are_the_ngram_models_predictions(context_size):
    train, test = random_sentences(0), random_sentences(1, words="abcdefghij")  # i, j are unknown
    ngram = NGramLanguageModel(context_size + 1, "lidstone", min_count=1).fit(train)
    vocabulary = ngram.vocabulary
    contexts, targets = context_windows(test, vocabulary, context_size)
    known = set(vocabulary)
    expected = [tuple(w if w in known else UNK for w in gram) for s in test if s for gram in ngram.ngrams(s)]
    got = [tuple(vocabulary[i] for i in row) + (vocabulary[t],) for row, t in zip(contexts, targets)]
    assert got == expected
    assert contexts.dtype == targets.dtype == np.int32


@pytest.mark.parametrize("direct", [False, True])
def test_forward_pass_equals_numpy(direct):
    model = FeedForwardLM(11, 3, embedding_dim=4, hidden_dim=5, direct=direct)
    ids = np.random.default_rng(2).integers(0, 11, (6, 3)).astype("int32")
    logits = to_numpy(model(ids))
    C = to_numpy(model.embedding.embeddings)
    H, d = (to_numpy(v) for v in model.hidden.weights)
    U, b = (to_numpy(v) for v in model.output_layer.weights)
    x = C[ids].reshape(6, 12)
    expected = np.tanh(x @ H + d) @ U + b
    if direct:
        expected = expected + x @ to_numpy(model.direct_layer.kernel)
    np.testing.assert_allclose(logits, expected, rtol=1e-5, atol=1e-6)
    assert logits.shape == (6, 11)


def test_log_probs_are_a_normalized_log_softmax():
    model = FeedForwardLM(9, 2, embedding_dim=3, hidden_dim=4)
    contexts = np.random.default_rng(3).integers(0, 9, (10, 2)).astype("int32")
    # every target for every context: the probabilities of one context sum to 1
    every_context = np.repeat(contexts, 9, axis=0)
    every_target = np.tile(np.arange(9, dtype="int32"), 10)
    log_probs = token_log_probs(model, every_context, every_target, batch_size=7)
    assert log_probs.dtype == np.float64
    np.testing.assert_allclose(np.exp(log_probs).reshape(10, 9).sum(axis=1), 1.0, rtol=1e-5)
    logits = to_numpy(model(contexts)).astype(np.float64)
    reference = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(log_probs.reshape(10, 9), reference, rtol=1e-5, atol=1e-6)


def test_log_probs_stay_finite_for_extreme_logits():
    # a naive softmax overflows at logits near 100 in float32; the log-softmax must not
    class Extreme:
        def __call__(self, ids, training=False):
            import keras
            return keras.ops.convert_to_tensor(np.array([[200.0, 0.0, -200.0]] * len(ids), "float32"))

    log_probs = token_log_probs(Extreme(), np.zeros((3, 1), "int32"), np.array([0, 1, 2]))
    np.testing.assert_allclose(log_probs, [0.0, -200.0, -400.0], atol=1e-3)


def test_learns_a_deterministic_sequence():
    import keras

    from llmbook.training import set_seed

    set_seed(0, keras=True)
    sentences = [list("abcdefg")] * 50
    ngram = NGramLanguageModel(3, "lidstone", min_count=1).fit(sentences)
    contexts, targets = context_windows(sentences, ngram.vocabulary, 2)
    model = FeedForwardLM(len(ngram.vocabulary), 2, embedding_dim=8, hidden_dim=16, dropout=0.1, seed=0)
    model.compile(optimizer=keras.optimizers.Adam(0.02),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    before = -token_log_probs(model, contexts, targets).mean()
    model.fit(contexts, targets, batch_size=32, epochs=30, verbose=0)
    after = -token_log_probs(model, contexts, targets).mean()
    assert before > 2.0 and after < 0.05, (before, after)  # each next letter is certain given two before


def test_config_round_trip():
    model = FeedForwardLM(13, 4, embedding_dim=6, hidden_dim=7, dropout=0.25, direct=True, seed=3)
    clone = FeedForwardLM.from_config(model.get_config())
    assert (clone.vocab_size, clone.context_size, clone.embedding_dim, clone.hidden_dim, clone.dropout_rate,
            clone.direct, clone.seed) == (13, 4, 6, 7, 0.25, True, 3)


@pytest.mark.parametrize("call, error, words", [
    (lambda: context_windows("a b", ["<s>", "</s>", "<UNK>"], 2), TypeError, "token lists"),
    (lambda: context_windows(["a b"], ["<s>", "</s>", "<UNK>"], 2), TypeError, "token lists"),
    (lambda: context_windows([["a"]], ["<s>", "a", "<UNK>"], 2), ValueError, "lacks </s>"),
    (lambda: context_windows([["a"]], ["<s>", "</s>", "<UNK>", "a", "a"], 2), ValueError, "repeats"),
    (lambda: context_windows([[]], ["<s>", "</s>", "<UNK>"], 2), ValueError, "no token to predict"),
    (lambda: context_windows([["a"]], ["<s>", "</s>", "<UNK>"], 0), ValueError, "context_size"),
    (lambda: FeedForwardLM(10, 2, dropout=1.0), ValueError, "dropout"),
    (lambda: FeedForwardLM(0, 2), ValueError, "vocab_size"),
    (lambda: FeedForwardLM(10, 2)(np.zeros((4, 3), "int32")), ValueError, r"\(batch, 2\)"),
    (lambda: token_log_probs(FeedForwardLM(5, 1), np.zeros((3, 1), "int32"), np.array([0, 1, 5])),
     ValueError, "below 5"),
    (lambda: token_log_probs(FeedForwardLM(5, 1), np.zeros((3, 1), "int32"), np.array([0, 1])),
     ValueError, "same number"),
])
def test_bad_input(call, error, words):
    with pytest.raises(error, match=words):
        call()
