"""llmbook.numerics (softmax, log-softmax) and llmbook.training.losses (log-sum-exp, cross-entropy) against SciPy and Keras, gradients
against central differences, and behaviour at logits that overflow a naive softmax."""

import numpy as np
import pytest
from scipy import special

from llmbook.numerics import log_softmax, softmax
from llmbook.training.gradcheck import numerical_gradient, relative_error
from llmbook.training.losses import cross_entropy, cross_entropy_gradient, logsumexp

RNG = np.random.default_rng(0)


@pytest.mark.parametrize("shape, axis", [((5,), -1), ((4, 7), -1), ((3, 4, 6), -1), ((6, 3), 0)])
def test_match_scipy(shape, axis):
    z = RNG.normal(scale=5.0, size=shape)
    np.testing.assert_allclose(logsumexp(z, axis=axis), special.logsumexp(z, axis=axis), rtol=1e-12)
    np.testing.assert_allclose(softmax(z, axis=axis), special.softmax(z, axis=axis), rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(log_softmax(z, axis=axis), special.log_softmax(z, axis=axis), rtol=1e-12)
    np.testing.assert_allclose(softmax(z, axis=axis).sum(axis=axis), 1.0, rtol=1e-12)


def test_large_logits_do_not_overflow_in_float32():
    z = np.array([[1000.0, 999.0, -1000.0]], dtype=np.float32)
    with np.errstate(over="raise", invalid="raise"):
        p = softmax(z)
        lse = logsumexp(z)
    assert p.dtype == np.float32 and np.all(np.isfinite(p))
    np.testing.assert_allclose(p[0, :2], [1 / (1 + np.exp(-1.0)), np.exp(-1.0) / (1 + np.exp(-1.0))], rtol=1e-6)
    np.testing.assert_allclose(lse, 1000.0 + np.log1p(np.exp(-1.0)), rtol=1e-6)
    with np.errstate(over="ignore", invalid="ignore"):
        naive = np.exp(z) / np.exp(z).sum(axis=-1, keepdims=True)  # the formula as written
    assert np.isnan(naive).any()  # so the stable version is not a tautology


def test_minus_infinity_logits_are_masked_positions():
    z = np.array([[0.0, -np.inf, 0.0], [-np.inf, -np.inf, -np.inf]])
    np.testing.assert_allclose(softmax(z[:1]), [[0.5, 0.0, 0.5]])
    assert logsumexp(z)[1] == -np.inf


def test_cross_entropy_matches_keras():
    keras = pytest.importorskip("keras")
    logits = RNG.normal(scale=3.0, size=(5, 4, 9))
    labels = RNG.integers(0, 9, size=(5, 4))
    expected = keras.ops.convert_to_numpy(
        keras.losses.sparse_categorical_crossentropy(labels, logits, from_logits=True)).mean()
    assert cross_entropy(logits, labels) == pytest.approx(float(expected), rel=1e-6)
    uniform = np.zeros((3, 10))
    assert cross_entropy(uniform, np.array([0, 4, 9])) == pytest.approx(np.log(10))


def test_cross_entropy_gradient_is_softmax_minus_onehot():
    logits = RNG.normal(size=(4, 6))
    labels = np.array([0, 5, 2, 2])
    analytic = cross_entropy_gradient(logits, labels)
    numeric = numerical_gradient(lambda z: cross_entropy(z, labels), logits)
    assert relative_error(analytic, numeric) < 1e-6
    np.testing.assert_allclose(analytic.sum(axis=-1), 0.0, atol=1e-15)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: softmax(np.float64(3.0)), "at least one axis"),
        (lambda: softmax(np.zeros((2, 0))), "no classes"),
        (lambda: softmax(np.array([1.0, np.nan])), "NaN or \\+infinity"),
        (lambda: cross_entropy(np.zeros((2, 3)), np.array([0.0, 1.0])), "integer class indices"),
        (lambda: cross_entropy(np.zeros((2, 3)), np.array([0, 3])), r"must lie in \[0, 2\]"),
        (lambda: cross_entropy(np.zeros((2, 3)), np.array([0, 1, 2])), "labels have shape"),
    ],
)
def test_bad_input_is_refused(call, message):
    with pytest.raises(ValueError, match=message):
        call()
