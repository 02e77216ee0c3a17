"""llmbook.embeddings, Keras side: the SGNS gradient, word2vec and GloVe on small corpora, serialization."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from keras import ops  # noqa: E402

from llmbook.embeddings import cooccurrence_matrix, glove_loss, sgns_gradients, sgns_loss  # noqa: E402
from llmbook.embeddings.glove import GloVe, train_glove, weighting  # noqa: E402
from llmbook.embeddings.word2vec import Word2Vec, train_word2vec  # noqa: E402
from llmbook.text import Vocabulary  # noqa: E402
from tests._backend import to_numpy  # noqa: E402


def topic_corpus(seed=0, groups=3, words_per_group=8, sentences=240, length=15):
    """Sentences that each use the words of one group only: neighbours should stay within a group."""
    rng = np.random.default_rng(seed)
    vocabulary = [[f"g{g}w{i}" for i in range(words_per_group)] for g in range(groups)]
    return [list(rng.choice(vocabulary[s % groups], size=length)) for s in range(sentences)], vocabulary


def neighbour_purity(vectors, vocabulary):
    hits = [vectors.most_similar(w, topn=1)[0][0][:2] == w[:2] for group in vocabulary for w in group]
    return float(np.mean(hits))


@pytest.mark.tensorflow_only(reason="the autodiff reference is tf.GradientTape")
def test_sgns_gradients_equal_autodiff():
    rng = np.random.default_rng(0)
    u = tf.constant(rng.normal(size=(4, 6)), tf.float32)
    v = tf.constant(rng.normal(size=(4, 3, 6)), tf.float32)
    weights = tf.constant(rng.integers(0, 2, size=(4, 3)), tf.float32)
    with tf.GradientTape() as tape:
        tape.watch([u, v])
        loss = ops.sum(sgns_loss(u, v, weights))
    auto_u, auto_v = tape.gradient(loss, [u, v])
    d_u, d_v, losses = sgns_gradients(u, v, weights)
    np.testing.assert_allclose(d_u, auto_u, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(d_v, auto_v, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ops.sum(losses), loss, rtol=1e-6)


def test_sgns_loss_against_numpy():
    rng = np.random.default_rng(1)
    u, v = rng.normal(size=(2, 5)), rng.normal(size=(2, 4, 5))
    scores = np.einsum("bd,bkd->bk", u, v)
    expected = np.log1p(np.exp(-scores[:, 0])) + np.log1p(np.exp(scores[:, 1:])).sum(axis=1)
    np.testing.assert_allclose(sgns_loss(u.astype("float32"), v.astype("float32")), expected, rtol=1e-5)


@pytest.mark.parametrize("architecture", ["skipgram", "cbow"])
def test_word2vec_learns_topics(architecture):
    sentences, vocabulary = topic_corpus()
    result = train_word2vec(sentences, architecture=architecture, dim=16, window=3, min_count=1, sample=0,
                            epochs=5, learning_rate=0.025, batch_size=64, steps_per_call=4, seed=0)
    assert result.losses[-1] < result.losses[0]
    assert neighbour_purity(result.vectors, vocabulary) >= 0.9
    assert result.vectors.vectors.shape == (24, 16) and result.examples > 0


def test_word2vec_is_deterministic_for_a_seed():
    sentences, _ = topic_corpus(seed=1, sentences=60)
    runs = [train_word2vec(sentences, dim=8, min_count=1, sample=0, epochs=1, batch_size=32, steps_per_call=2,
                           seed=3).vectors.vectors for _ in range(2)]
    np.testing.assert_array_equal(*runs)


def test_word2vec_one_step_equals_manual_sgd():
    model = Word2Vec(6, dim=4, negative=2, seed=0)
    before_in, before_out = ops.convert_to_numpy(model.input_vectors), ops.convert_to_numpy(model.input_vectors) * 0
    model.output_vectors.assign(np.random.default_rng(2).normal(size=(6, 4)).astype("float32"))
    before_out = ops.convert_to_numpy(model.output_vectors)
    inputs, outputs = np.array([1, 2], np.int32), np.array([[3, 4, 5], [0, 1, 3]], np.int32)
    model.train_step_sparse(inputs, outputs, np.ones(2, np.float32), np.float32(0.5))
    expected_in, expected_out = before_in.copy(), before_out.copy()
    for b in range(2):
        u = before_in[inputs[b]]
        for k, o in enumerate(outputs[b]):
            label = 1.0 if k == 0 else 0.0
            error = 1 / (1 + np.exp(-u @ before_out[o])) - label
            expected_in[inputs[b]] -= 0.5 * error * before_out[o]
            expected_out[o] -= 0.5 * error * u
    np.testing.assert_allclose(ops.convert_to_numpy(model.input_vectors), expected_in, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(ops.convert_to_numpy(model.output_vectors), expected_out, rtol=1e-5, atol=1e-7)


def test_word2vec_errors():
    with pytest.raises(ValueError, match="no tokens to build a vocabulary"):
        train_word2vec([[]])
    with pytest.raises(ValueError, match="no token occurs at least min_count=5 times"):
        train_word2vec([["a", "b"]], min_count=5)
    with pytest.raises(ValueError, match="special tokens has count 0"):
        train_word2vec([["a", "b", "a"]], vocabulary=Vocabulary.build([["a", "b", "a"]]))
    with pytest.raises(TypeError, match="not a string"):
        train_word2vec("the cat sat")
    with pytest.raises(TypeError, match="iterator"):
        train_word2vec(iter([["a"]]))
    with pytest.raises(ValueError, match="no training example"):
        train_word2vec([["a"], ["b"]] * 3, min_count=1, sample=0)
    with pytest.raises(ValueError, match="architecture"):
        Word2Vec(10, architecture="glove")


def test_word2vec_keras_save_load_round_trip(tmp_path: Path):
    model = Word2Vec(12, dim=4, architecture="cbow", negative=3, seed=5)
    inputs, outputs = np.array([[1, 2, -1, 3]], np.int32), np.array([[4, 5]], np.int32)
    model.output_vectors.assign(np.random.default_rng(0).normal(size=(12, 4)).astype("float32"))
    model.save(tmp_path / "w2v.keras")
    loaded = keras.saving.load_model(tmp_path / "w2v.keras")
    assert isinstance(loaded, Word2Vec) and loaded.architecture == "cbow" and loaded.negative == 3
    np.testing.assert_allclose(to_numpy(loaded((inputs, outputs))), to_numpy(model((inputs, outputs))))


# ------------------------------------------------------------------------------------------ GloVe
def test_cooccurrence_against_brute_force():
    rng = np.random.default_rng(4)
    ids = rng.integers(0, 7, 60)
    sentence_ids = np.sort(rng.integers(0, 5, 60))
    expected = np.zeros((7, 7))
    for i in range(60):
        for j in range(60):
            d = abs(i - j)
            if 0 < d <= 4 and sentence_ids[i] == sentence_ids[j]:
                expected[ids[i], ids[j]] += 1.0 / d
    matrix = cooccurrence_matrix(ids, sentence_ids, 7, window=4)
    np.testing.assert_allclose(matrix.toarray(), expected, atol=1e-12)
    unweighted = cooccurrence_matrix(ids, sentence_ids, 7, window=1, distance_weighting=False).toarray()
    assert unweighted.sum() == 2 * np.sum(sentence_ids[1:] == sentence_ids[:-1])
    with pytest.raises(ValueError, match="must lie in"):
        cooccurrence_matrix(np.array([0, 9]), np.zeros(2), 7)


def test_glove_loss_and_weighting_against_numpy():
    rng = np.random.default_rng(5)
    w, c = rng.normal(size=(6, 3)).astype("float32"), rng.normal(size=(6, 3)).astype("float32")
    b, bc = rng.normal(size=6).astype("float32"), rng.normal(size=6).astype("float32")
    x = np.array([0.5, 1, 10, 99, 100, 500], np.float32)
    f = np.minimum(1, (x / 100) ** 0.75)
    np.testing.assert_allclose(weighting(x), f, rtol=1e-6)
    expected = f * ((w * c).sum(1) + b + bc - np.log(x)) ** 2
    np.testing.assert_allclose(glove_loss(w, c, b, bc, x), expected, rtol=1e-5)


def test_glove_learns_topics_and_loss_falls():
    sentences, vocabulary = topic_corpus(seed=2)
    result = train_glove(sentences, dim=16, window=3, min_count=1, epochs=30, batch_size=32, steps_per_call=4,
                         seed=0, x_max=10)
    assert result.losses[-1] < 0.5 * result.losses[0]
    assert neighbour_purity(result.vectors, vocabulary) >= 0.9
    np.testing.assert_allclose(result.vectors.vectors, result.model.vectors(), rtol=1e-6)


def test_glove_step_matches_manual_adagrad():
    model = GloVe(4, dim=2, seed=1)
    params = [ops.convert_to_numpy(v).copy() for v in (model.word_vectors, model.context_vectors,
                                                       model.word_biases, model.context_biases)]
    model.train_step_sparse(np.array([1], np.int32), np.array([2], np.int32), np.array([5.0], np.float32),
                            np.ones(1, np.float32), np.float32(0.1))
    w, c, b, bc = params
    diff = w[1] @ c[2] + b[1] + bc[2] - np.log(5.0)
    scaled = (5.0 / 100) ** 0.75 * diff
    gradient = scaled * c[2]
    np.testing.assert_allclose(ops.convert_to_numpy(model.word_vectors)[1],
                               w[1] - 0.1 * gradient / np.sqrt(1 + (0.1 * gradient) ** 2), rtol=1e-5)
    np.testing.assert_allclose(ops.convert_to_numpy(model.context_biases)[2], bc[2] - 0.1 * scaled / np.sqrt(1 + (0.1 * scaled) ** 2),
                               rtol=1e-5)
    np.testing.assert_allclose(ops.convert_to_numpy(model.squared[0])[1], np.append(1 + (0.1 * scaled * c[2]) ** 2, 1 + (0.1 * scaled) ** 2),
                               rtol=1e-5)
    np.testing.assert_allclose(ops.convert_to_numpy(model.word_vectors)[0], w[0])  # untouched row


def test_glove_errors_and_config():
    with pytest.raises(ValueError, match="no tokens to build a vocabulary"):
        train_glove([[]])
    with pytest.raises(ValueError, match="co-occur"):
        train_glove([["a"], ["b"]], min_count=1)
    with pytest.raises(ValueError, match="alpha"):
        GloVe(5, alpha=2.0)
    config = GloVe(5, dim=3, x_max=10.0).get_config()
    assert (config["vocabulary_size"], config["dim"], config["x_max"]) == (5, 3, 10.0)
