"""Dropout is active in training and off at inference; word2vec's CBOW update equals a NumPy reference."""

import numpy as np
import pytest
from tests._backend import to_numpy  # noqa: E402


@pytest.fixture(scope="module", autouse=True)
def quiet():
    from llmbook.book import setup_chapter

    setup_chapter()


def test_gpt_dropout_is_on_in_training_and_off_at_inference():
    from llmbook.models import GPT

    ids = np.arange(12, dtype="int32").reshape(2, 6)
    with_dropout = GPT(vocab_size=20, max_length=8, num_layers=2, num_heads=2, hidden_dim=16, dropout=0.5)
    without = GPT(vocab_size=20, max_length=8, num_layers=2, num_heads=2, hidden_dim=16, dropout=0.0)
    with_dropout.build((None, None))
    without.build((None, None))
    without.set_weights(with_dropout.get_weights())
    inference = to_numpy(with_dropout(ids, training=False))
    np.testing.assert_allclose(inference, to_numpy(without(ids, training=False)), atol=1e-6)
    np.testing.assert_array_equal(inference, to_numpy(with_dropout(ids)))           # default: inference
    first, second = to_numpy(with_dropout(ids, training=True)), to_numpy(with_dropout(ids, training=True))
    assert np.abs(first - inference).max() > 1e-2 and np.abs(first - second).max() > 1e-2
    np.testing.assert_allclose(to_numpy(without(ids, training=True)), inference, atol=1e-6)


def test_bert_dropout_is_on_in_training_and_off_at_inference():
    from llmbook.models import BertEncoder

    encoder = BertEncoder(vocab_size=20, hidden_dim=16, num_layers=1, num_heads=2, intermediate_dim=32,
                          max_length=8, dropout=0.3)
    inputs = {"token_ids": np.array([[2, 5, 6, 7, 3]])}
    inference = to_numpy(encoder(inputs, training=False))
    np.testing.assert_array_equal(inference, to_numpy(encoder(inputs, training=False)))
    assert np.abs(to_numpy(encoder(inputs, training=True)) - inference).max() > 1e-2


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def cbow_step_numpy(input_vectors, output_vectors, inputs, outputs, weights, learning_rate):
    """One CBOW negative-sampling step as word2vec's C tool does it: the hidden vector is the mean of the
    context rows; every context row receives the whole input gradient; a noise word equal to the true
    word is skipped; all gradients of the batch come from the tables before the step."""
    d_in, d_out = np.zeros_like(input_vectors), np.zeros_like(output_vectors)
    for b in range(len(inputs)):
        context = [c for c in inputs[b] if c >= 0]
        hidden = input_vectors[context].mean(axis=0)
        d_hidden = np.zeros_like(hidden)
        for k, word in enumerate(outputs[b]):
            if k > 0 and word == outputs[b, 0]:
                continue
            error = (_sigmoid(hidden @ output_vectors[word]) - (k == 0)) * weights[b]
            d_hidden += error * output_vectors[word]
            d_out[word] += error * hidden
        for c in context:
            d_in[c] += d_hidden
    return input_vectors - learning_rate * d_in, output_vectors - learning_rate * d_out


def test_cbow_update_equals_a_numpy_reference():
    from llmbook.embeddings.word2vec import Word2Vec

    rng = np.random.default_rng(0)
    model = Word2Vec(vocabulary_size=9, dim=5, architecture="cbow", negative=2)
    start_in = rng.normal(size=(9, 5)).astype("float32")
    start_out = rng.normal(size=(9, 5)).astype("float32")
    model.input_vectors.assign(start_in)
    model.output_vectors.assign(start_out)
    inputs = np.array([[1, 2, -1, 3], [2, 2, 4, -1], [5, -1, -1, -1]], "int32")   # -1: empty context slot
    outputs = np.array([[0, 6, 7], [3, 3, 8], [6, 0, 1]], "int32")             # row 1: a noise word = target
    weights = np.array([1.0, 1.0, 0.0], "float32")                               # row 2: padding
    model.train_step_sparse(inputs, outputs, weights, np.float32(0.1))
    expected_in, expected_out = cbow_step_numpy(start_in, start_out, inputs, outputs, weights, 0.1)
    np.testing.assert_allclose(to_numpy(model.input_vectors), expected_in, atol=1e-6)
    np.testing.assert_allclose(to_numpy(model.output_vectors), expected_out, atol=1e-6)
    assert not np.allclose(expected_in, start_in) and np.array_equal(expected_in[5], start_in[5])
