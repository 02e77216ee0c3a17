"""llmbook.layers.CRF against brute-force enumeration of every tag sequence and an independent NumPy
forward algorithm and Viterbi (written here), on every Keras backend.

Brute force: ``itertools.product`` over tag sequences (length <= 5, tags <= 4); ``log Z`` is the
logsumexp of their scores, Viterbi their argmax, the marginals their probability-weighted counts.
"""

import itertools

import keras
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from keras import ops

from llmbook.layers import CRF
from llmbook.layers.crf import DISALLOWED_SCORE
from tests._backend import to_numpy


# -- the independent references (float64, one sentence at a time, -inf for a forbidden move) -----------

def logsumexp(values, axis=None):
    values = np.asarray(values, dtype=np.float64)
    top = np.max(values, axis=axis, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)     # an all -inf slice has logsumexp -inf, not nan
    with np.errstate(divide="ignore"):
        return np.squeeze(top + np.log(np.sum(np.exp(values - top), axis=axis, keepdims=True)), axis=axis)


def reference_log_partition(emissions, transitions, start, end):
    """The forward algorithm in log space."""
    alpha = start + emissions[0]
    for emission in emissions[1:]:
        alpha = logsumexp(alpha[:, None] + transitions, axis=0) + emission
    return float(logsumexp(alpha + end))


def reference_viterbi(emissions, transitions, start, end):
    """Viterbi with explicit back-pointers: (best tags, best score)."""
    delta, pointers = start + emissions[0], []
    for emission in emissions[1:]:
        candidates = delta[:, None] + transitions
        pointers.append(candidates.argmax(axis=0))
        delta = candidates.max(axis=0) + emission
    tags = [int(np.argmax(delta + end))]
    for pointer in reversed(pointers):
        tags.append(int(pointer[tags[-1]]))
    return tags[::-1], float(np.max(delta + end))


def path_score(emissions, path, transitions, start, end):
    score = start[path[0]] + end[path[-1]] + sum(emissions[t, tag] for t, tag in enumerate(path))
    return float(score + sum(transitions[a, b] for a, b in zip(path, path[1:])))


def brute_force(emissions, transitions, start, end):
    """Every tag sequence and its score."""
    paths = list(itertools.product(range(emissions.shape[1]), repeat=len(emissions)))
    return paths, np.array([path_score(emissions, p, transitions, start, end) for p in paths])


def brute_marginals(emissions, transitions, start, end):
    """P(y_t = j) for every position and tag, and the expected transition, start and end counts."""
    paths, scores = brute_force(emissions, transitions, start, end)
    probabilities = np.exp(scores - logsumexp(scores))
    tags = emissions.shape[1]
    marginals, pairs = np.zeros(emissions.shape), np.zeros((tags, tags))
    starts, ends = np.zeros(tags), np.zeros(tags)
    for path, probability in zip(paths, probabilities):
        marginals[np.arange(len(path)), path] += probability
        starts[path[0]] += probability
        ends[path[-1]] += probability
        for a, b in zip(path, path[1:]):
            pairs[a, b] += probability
    return marginals, pairs, starts, ends


def make_crf(transitions, start, end, **constraints):
    crf = CRF(len(start), **constraints)
    crf.build((None, None, len(start)))
    for weight, value in ((crf.transitions, transitions), (crf.start_scores, start), (crf.end_scores, end)):
        weight.assign(np.asarray(value, "float32"))
    return crf


def forbid(weights, allowed):
    return weights if allowed is None else np.where(allowed, weights, -np.inf)


def random_case(rng, batch, length, tags, scale=1.5):
    return (rng.normal(size=(batch, length, tags)) * scale, rng.normal(size=(tags, tags)),
            rng.normal(size=tags), rng.normal(size=tags))


@st.composite
def cases(draw):
    tags, length, batch = draw(st.integers(1, 4)), draw(st.integers(1, 5)), draw(st.integers(1, 3))
    mask = np.array(draw(st.lists(st.lists(st.booleans(), min_size=length, max_size=length),
                                  min_size=batch, max_size=batch)))
    constrained = draw(st.booleans())
    seed = draw(st.integers(0, 2**31 - 1))
    return tags, mask, constrained, seed


@settings(max_examples=30, deadline=None)
@given(cases())
def test_every_computation_equals_brute_force_for_any_mask(case):
    """log Z, Viterbi, sequence scores and the NLL on each row's True positions (right padding,
    holes, left padding, empty rows), with and without forbidden transitions."""
    tags, mask, constrained, seed = case
    rng = np.random.default_rng(seed)
    emissions, transitions, start, end = random_case(rng, *mask.shape, tags)
    constraints = {}
    if constrained:                                 # tag 0 -> 0 and tag 0 at both ends stay allowed
        allowed = rng.random((tags, tags)) < 0.6
        allowed[0, 0] = True
        allowed_start, allowed_end = rng.random(tags) < 0.6, rng.random(tags) < 0.6
        allowed_start[0] = allowed_end[0] = True
        constraints = {"allowed_transitions": allowed, "allowed_start": allowed_start, "allowed_end": allowed_end}
    crf = make_crf(transitions, start, end, **constraints)
    reference = (forbid(transitions, constraints.get("allowed_transitions")),
                 forbid(start, constraints.get("allowed_start")), forbid(end, constraints.get("allowed_end")))

    gold = np.zeros(mask.shape, "int32")
    expected_log_z, expected_gold, expected_best = [], [], []
    expected_tags = np.full(mask.shape, -1)
    for row in range(len(mask)):
        sentence = emissions[row][mask[row]].astype("float32").astype(np.float64)
        if not len(sentence):                       # an empty row: everything 0, every tag -1
            for expected in (expected_log_z, expected_gold, expected_best):
                expected.append(0.0)
            continue
        paths, scores = brute_force(sentence, *reference)
        log_z, best = logsumexp(scores), int(np.argmax(scores))
        assert reference_log_partition(sentence, *reference) == pytest.approx(log_z, abs=1e-9)
        assert reference_viterbi(sentence, *reference) == (list(paths[best]), pytest.approx(scores[best]))
        allowed_paths = np.flatnonzero(np.isfinite(scores))
        chosen = int(rng.choice(allowed_paths))
        gold[row][mask[row]] = paths[chosen]
        gold[row][~mask[row]] = rng.integers(-1, tags, size=(~mask[row]).sum())   # ignored
        expected_tags[row][mask[row]] = paths[best]
        expected_log_z.append(log_z), expected_gold.append(scores[chosen]), expected_best.append(scores[best])

    x = emissions.astype("float32")
    np.testing.assert_allclose(to_numpy(crf.log_partition(x, mask)), expected_log_z, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(to_numpy(crf.sequence_score(x, gold, mask)), expected_gold, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(to_numpy(crf.negative_log_likelihood(x, gold, mask, reduction="none")),
                               np.subtract(expected_log_z, expected_gold), rtol=1e-5, atol=1e-4)
    decoded, best_score = crf.viterbi(x, mask)
    np.testing.assert_array_equal(to_numpy(decoded), expected_tags)
    np.testing.assert_allclose(to_numpy(best_score), expected_best, rtol=1e-5, atol=1e-4)
    np.testing.assert_array_equal(to_numpy(crf(x, mask=mask)), expected_tags)


def test_the_probabilities_of_all_tag_sequences_sum_to_one():
    """exp(-NLL) over every sequence of 4 tokens and 3 tags, fed to the layer as one batch of 81."""
    emissions, transitions, start, end = random_case(np.random.default_rng(1), 1, 4, 3)
    crf = make_crf(transitions, start, end)
    paths = np.array(list(itertools.product(range(3), repeat=4)))
    tiled = np.repeat(emissions.astype("float32"), len(paths), axis=0)
    nll = to_numpy(crf.negative_log_likelihood(tiled, paths, reduction="none"))
    assert np.exp(-nll.astype(np.float64)).sum() == pytest.approx(1.0, abs=1e-5)
    assert to_numpy(crf.negative_log_likelihood(tiled, paths)) == pytest.approx(nll.mean(), rel=1e-6)


def autodiff_gradient(function, x):
    """d function(x) / dx with the backend's own automatic differentiation."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        x = tf.constant(x)
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = function(x)
        return tape.gradient(y, x).numpy()
    if backend == "jax":
        import jax

        return np.asarray(jax.grad(function)(x))
    if backend == "torch":
        import torch

        x = torch.tensor(x, requires_grad=True)
        function(x).backward()
        return x.grad.numpy()
    pytest.skip(f"no gradient helper for the {backend} backend")


def test_gradient_of_log_partition_is_the_marginals():
    """Brute-force marginals = finite differences of the NumPy forward algorithm (float64) = the
    layer's autodiff gradient of log Z (zero at padded positions)."""
    rng = np.random.default_rng(2)
    emissions, transitions, start, end = random_case(rng, 2, 4, 3)
    lengths = [4, 2]
    mask = np.arange(4)[None] < np.array(lengths)[:, None]
    expected = np.zeros(emissions.shape)
    for row, length in enumerate(lengths):
        sentence = emissions[row, :length]
        marginals = brute_marginals(sentence, transitions, start, end)[0]
        step, finite_differences = 1e-6, np.zeros(sentence.shape)
        for index in np.ndindex(sentence.shape):
            bump = np.zeros(sentence.shape)
            bump[index] = step
            finite_differences[index] = (reference_log_partition(sentence + bump, transitions, start, end)
                                         - reference_log_partition(sentence - bump, transitions, start, end)) / (2 * step)
        np.testing.assert_allclose(finite_differences, marginals, atol=1e-8)
        np.testing.assert_allclose(marginals.sum(axis=1), 1.0, atol=1e-12)
        expected[row, :length] = marginals

    crf = make_crf(transitions, start, end)
    gradient = autodiff_gradient(lambda x: ops.sum(crf.log_partition(x, mask)), emissions.astype("float32"))
    np.testing.assert_allclose(gradient, expected, atol=1e-5)


@pytest.mark.tensorflow_only(reason="gradients with respect to the layer's variables use tf.GradientTape")
def test_gradients_of_the_nll_with_respect_to_the_weights_are_expected_minus_gold_counts():
    import tensorflow as tf

    rng = np.random.default_rng(3)
    emissions, transitions, start, end = random_case(rng, 1, 5, 4)
    gold = [2, 0, 0, 3, 1]
    _, pairs, starts, ends = brute_marginals(emissions[0], transitions, start, end)
    gold_pairs = np.zeros((4, 4))
    for a, b in zip(gold, gold[1:]):
        gold_pairs[a, b] += 1
    crf = make_crf(transitions, start, end)
    with tf.GradientTape() as tape:
        nll = crf.negative_log_likelihood(emissions.astype("float32"), np.array([gold]))
    d_transitions, d_start, d_end = tape.gradient(nll, [crf.transitions, crf.start_scores, crf.end_scores])
    np.testing.assert_allclose(d_transitions.numpy(), pairs - gold_pairs, atol=1e-5)
    np.testing.assert_allclose(d_start.numpy(), starts - np.eye(4)[gold[0]], atol=1e-5)
    np.testing.assert_allclose(d_end.numpy(), ends - np.eye(4)[gold[-1]], atol=1e-5)


def test_bio_constraints_are_never_broken_even_when_the_emissions_ask_for_it():
    """Tags O=0, B=1, I=2: no I after O and no I first. Emissions that favour I everywhere and O at the
    start and middle still decode to a valid sequence, the brute-force best valid one."""
    allowed = np.ones((3, 3), bool)
    allowed[0, 2] = False
    allowed_start = np.array([True, True, False])
    emissions = np.array([[[2.0, 0.0, 3.0], [0.0, 0.0, 5.0], [4.0, 0.0, 4.5], [0.0, 0.0, 6.0]]], "float32")
    zeros = np.zeros(3)
    crf = make_crf(np.zeros((3, 3)), zeros, zeros, allowed_transitions=allowed, allowed_start=allowed_start)
    paths, scores = brute_force(emissions[0].astype(np.float64), forbid(np.zeros((3, 3)), allowed),
                                forbid(zeros, allowed_start), zeros)
    decoded, best = crf.viterbi(emissions)
    decoded = to_numpy(decoded)[0].tolist()
    assert decoded == list(paths[int(np.argmax(scores))]) == [1, 2, 2, 2]
    assert to_numpy(best)[0] == pytest.approx(scores.max())
    assert to_numpy(crf.log_partition(emissions))[0] == pytest.approx(logsumexp(scores), abs=1e-4)
    invalid = np.array([[0, 2, 2, 2], [2, 2, 2, 2]])            # I after O; I first
    nll = to_numpy(crf.negative_log_likelihood(np.repeat(emissions, 2, axis=0), invalid, reduction="none"))
    assert (nll > -DISALLOWED_SCORE / 2).all()


def test_an_empty_row_has_a_defined_result():
    crf = make_crf(*random_case(np.random.default_rng(4), 1, 3, 3)[1:])
    emissions = np.random.default_rng(5).normal(size=(2, 3, 3)).astype("float32")
    mask = np.array([[False] * 3, [True, True, False]])
    tags = np.array([[1, 2, 0], [0, 1, -1]])
    np.testing.assert_array_equal(to_numpy(crf.log_partition(emissions, mask))[0], 0.0)
    np.testing.assert_array_equal(to_numpy(crf.negative_log_likelihood(emissions, tags, mask, "none"))[0], 0.0)
    decoded, best = crf.viterbi(emissions, mask)
    np.testing.assert_array_equal(to_numpy(decoded)[0], [-1, -1, -1])
    assert to_numpy(best)[0] == 0.0 and to_numpy(decoded)[1, 2] == -1


def test_float16_emissions_are_scored_in_float32():
    rng = np.random.default_rng(6)
    emissions, transitions, start, end = random_case(rng, 2, 5, 4)
    half = emissions.astype("float16")
    tags = rng.integers(0, 4, size=(2, 5))
    full_crf = make_crf(transitions, start, end)
    mixed = CRF(4, dtype="mixed_float16")
    mixed.build((None, None, 4))
    for ours, theirs in zip(mixed.weights, full_crf.weights):
        ours.assign(theirs)
    assert all(weight.dtype == "float32" for weight in mixed.weights)
    log_z = mixed.log_partition(half)
    assert keras.backend.standardize_dtype(log_z.dtype) == "float32"
    np.testing.assert_allclose(to_numpy(log_z), to_numpy(full_crf.log_partition(half.astype("float32"))), rtol=1e-6)
    np.testing.assert_allclose(to_numpy(mixed.negative_log_likelihood(half, tags, reduction="none")),
                               to_numpy(full_crf.negative_log_likelihood(half.astype("float32"), tags,
                                                                          reduction="none")), rtol=1e-6)
    np.testing.assert_array_equal(to_numpy(mixed(half)), to_numpy(full_crf(half.astype("float32"))))


def test_bad_input_raises_clear_errors():
    with pytest.raises(ValueError, match="num_tags must be a positive integer"):
        CRF(0)
    with pytest.raises(ValueError, match=r"allowed_transitions must have shape \(3, 3\)"):
        CRF(3, allowed_transitions=np.ones((3, 2), bool))
    with pytest.raises(ValueError, match="allowed_start must be a boolean array"):
        CRF(3, allowed_start=np.ones(3))
    with pytest.raises(ValueError, match="allowed_end allows no tag"):
        CRF(3, allowed_end=np.zeros(3, bool))
    crf = CRF(3)
    emissions = np.zeros((2, 4, 3), "float32")
    with pytest.raises(ValueError, match="num_tags=3 scores per token"):
        crf(np.zeros((2, 4, 5), "float32"))
    with pytest.raises(ValueError, match=r"emissions must be \(batch, length, num_tags\)"):
        crf.log_partition(np.zeros((4, 3), "float32"))
    with pytest.raises(ValueError, match="mask must be"):
        crf.log_partition(emissions, np.ones((2, 5), bool))
    with pytest.raises(ValueError, match="tags must be"):
        crf.sequence_score(emissions, np.zeros((2, 3), "int32"))
    with pytest.raises(ValueError, match="reduction must be 'mean' or 'none'"):
        crf.negative_log_likelihood(emissions, np.zeros((2, 4), "int32"), reduction="sum")
    with pytest.raises(ValueError, match=r"tags must lie in 0\.\.2 at real \(unmasked\) positions; got values from 0 to 3"):
        crf.negative_log_likelihood(emissions, np.array([[0, 1, 2, 3], [0, 0, 0, 0]], "int32"))
    with pytest.raises(ValueError, match="from -1 to 0"):
        crf.sequence_score(emissions, np.array([[0, 0, 0, 0], [0, -1, 0, 0]], "int32"))
    with pytest.raises(ValueError, match="tags must be integer tag ids"):
        crf.sequence_score(emissions, np.zeros((2, 4), "float32"))
    # Padding positions may hold any value (viterbi writes -1 there): only real positions are checked.
    mask = np.array([[True, True, False, False], [True, True, True, True]])
    padded = np.array([[0, 1, -1, -1], [0, 1, 2, 0]], "int32")
    assert np.isfinite(to_numpy(crf.negative_log_likelihood(emissions, padded, mask)))


def test_keras_save_load_round_trip_keeps_weights_and_constraints(tmp_path):
    allowed = np.ones((3, 3), bool)
    allowed[0, 2] = False
    inputs = keras.Input((None, 3))
    crf = CRF(3, allowed_transitions=allowed, allowed_start=np.array([True, True, False]))
    model = keras.Model(inputs, crf(inputs))
    crf.transitions.assign(np.random.default_rng(7).normal(size=(3, 3)).astype("float32"))
    x = np.random.default_rng(8).normal(size=(4, 6, 3)).astype("float32") * 3
    expected = to_numpy(model(x))
    model.save(tmp_path / "crf.keras")
    loaded = keras.models.load_model(tmp_path / "crf.keras", safe_mode=True)
    np.testing.assert_array_equal(to_numpy(loaded(x)), expected)
    config = loaded.layers[-1].get_config()
    assert config["allowed_transitions"] == allowed.tolist() and config["allowed_end"] is None


class ToyTagger(keras.Model):
    """Token -> Dense emission scores (no context) -> CRF; token 0 is padding."""

    def __init__(self, vocab_size, num_tags):
        super().__init__()
        self.vocab_size = vocab_size
        self.emission = keras.layers.Dense(num_tags)
        self.crf = CRF(num_tags)

    def call(self, tokens):
        emissions = self.emission(ops.one_hot(tokens, self.vocab_size))
        return {"emissions": emissions, "tags": self.crf(emissions, mask=ops.not_equal(tokens, 0))}

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        return self.crf.negative_log_likelihood(y_pred["emissions"], y, mask=ops.not_equal(x, 0))


def test_a_dense_crf_tagger_trained_on_hmm_data_reaches_the_true_models_nll():
    """Data from a hidden Markov model: its posterior p(tags | tokens) is a linear-chain CRF with
    log-probabilities as scores, so the true model's NLL (NumPy reference) is within reach of fit."""
    rng = np.random.default_rng(9)
    tags, vocab, sentences, length = 3, 7, 240, 8            # tokens 1..6, 0 = padding
    initial = np.array([0.6, 0.3, 0.1])
    moves = np.array([[0.1, 0.8, 0.1], [0.1, 0.1, 0.8], [0.7, 0.2, 0.1]])
    emits = np.array([[0.0, 0.5, 0.3, 0.1, 0.05, 0.05, 0.0], [0.0, 0.05, 0.3, 0.5, 0.1, 0.05, 0.0],
                      [0.0, 0.0, 0.05, 0.1, 0.3, 0.3, 0.25]])
    tokens, gold = np.zeros((sentences, length), "int32"), np.zeros((sentences, length), "int32")
    for row in range(sentences):
        tag = rng.choice(tags, p=initial)
        for t in range(rng.integers(3, length + 1)):
            tag = tag if t == 0 else rng.choice(tags, p=moves[tag])
            gold[row, t], tokens[row, t] = tag, rng.choice(vocab, p=emits[tag])

    def reference_nll(emission_table, transitions, start, end):
        total = 0.0
        for row in range(sentences):
            real = tokens[row] > 0
            sentence = emission_table[tokens[row][real]]
            total += (reference_log_partition(sentence, transitions, start, end)
                      - path_score(sentence, gold[row][real], transitions, start, end))
        return total / sentences

    with np.errstate(divide="ignore"):
        true_nll = reference_nll(np.log(emits.T), np.log(moves), np.log(initial), np.zeros(tags))

    keras.utils.set_random_seed(0)
    model = ToyTagger(vocab, tags)
    model.compile(optimizer=keras.optimizers.Adam(0.1))
    before = model.evaluate(tokens, gold, batch_size=sentences, verbose=0)
    model.fit(tokens, gold, batch_size=sentences, epochs=60, verbose=0)
    after = model.evaluate(tokens, gold, batch_size=sentences, verbose=0)

    kernel, bias = (to_numpy(w).astype(np.float64) for w in model.emission.weights)
    crf_weights = [to_numpy(w).astype(np.float64) for w in (model.crf.transitions, model.crf.start_scores,
                                                             model.crf.end_scores)]
    assert after == pytest.approx(reference_nll(kernel + bias, *crf_weights), rel=1e-4)
    assert before > true_nll + 1.0
    assert after < true_nll + 0.02, (before, after, true_nll)
    predicted = to_numpy(model(tokens)["tags"])
    real = tokens > 0
    assert (predicted[~real] == -1).all() and (predicted[real] >= 0).all()
