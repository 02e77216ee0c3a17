"""llmbook.models.neuron: activations against Keras, hand gradients against tf.GradientTape and central
differences, and gradient descent against scikit-learn's logistic regression."""

import numpy as np
import pytest

from llmbook.models.neuron import ACTIVATIONS, SigmoidNeuron, activation, binary_cross_entropy, gelu, sigmoid
from llmbook.training.gradcheck import numerical_gradient, relative_error

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

X_GRID = np.concatenate([np.linspace(-6, 6, 96), [-0.3, 0.7, 2.5]])  # avoids exactly 0, where ReLU has no derivative


def _keras_activation(name):
    if name == "gelu":
        return lambda t: keras.activations.gelu(t, approximate=False)
    return getattr(keras.activations, name)


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_activation_values_match_keras(name):
    f, _ = activation(name)
    expected = keras.ops.convert_to_numpy(_keras_activation(name)(tf.constant(X_GRID, dtype=tf.float64)))
    np.testing.assert_allclose(f(X_GRID), expected, rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_activation_derivatives_match_gradient_tape_and_central_differences(name):
    f, f_prime = activation(name)
    x = tf.constant(X_GRID, dtype=tf.float64)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = _keras_activation(name)(x)
    np.testing.assert_allclose(f_prime(X_GRID), tape.gradient(y, x).numpy(), rtol=1e-6, atol=1e-8)
    numeric = np.array([numerical_gradient(lambda v: float(f(v)[0]), [value])[0] for value in X_GRID])
    np.testing.assert_allclose(f_prime(X_GRID), numeric, rtol=1e-5, atol=1e-8)


def test_sigmoid_is_stable_and_relu_derivative_at_zero_is_zero():
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        values = sigmoid(np.array([-1000.0, -40.0, 0.0, 40.0, 1000.0]))
    np.testing.assert_allclose(values, [0.0, np.exp(-40.0) / (1 + np.exp(-40.0)), 0.5, 1 / (1 + np.exp(-40.0)), 1.0])
    assert activation("relu")[1](np.array([0.0]))[0] == 0.0
    assert gelu(np.array([0.0]))[0] == 0.0


def test_unknown_activation_is_refused():
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        activation("swish")


def _toy(n=60, d=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d))
    y = (x @ np.array([1.5, -2.0, 0.5][:d]) + rng.normal(scale=1.5, size=n) > 0).astype(int)
    return x, y


def test_hand_gradients_equal_gradient_tape_and_numerical_gradients():
    x, y = _toy()
    neuron = SigmoidNeuron(3, seed=1, init_scale=0.5)
    neuron.bias = 0.3
    grad_w, grad_b = neuron.gradients(x, y)

    w = tf.Variable(neuron.weights)
    b = tf.Variable(neuron.bias, dtype=tf.float64)
    with tf.GradientTape() as tape:
        logits = tf.linalg.matvec(tf.constant(x), w) + b
        loss = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.constant(y, tf.float64), logits=logits))
    tape_w, tape_b = tape.gradient(loss, [w, b])
    np.testing.assert_allclose(grad_w, tape_w.numpy(), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(grad_b, tape_b.numpy(), rtol=1e-10, atol=1e-14)
    assert neuron.loss(x, y) == pytest.approx(float(loss), rel=1e-10)

    def loss_at(params):
        probe = SigmoidNeuron(3)
        probe.weights, probe.bias = params[:3].copy(), float(params[3])
        return probe.loss(x, y)

    numeric = numerical_gradient(loss_at, np.append(neuron.weights, neuron.bias))
    assert relative_error(np.append(grad_w, grad_b), numeric) < 1e-6


def test_gradient_descent_reaches_the_logistic_regression_optimum():
    from sklearn.linear_model import LogisticRegression

    x, y = _toy(n=200)
    neuron = SigmoidNeuron(3)
    losses = neuron.fit(x, y, learning_rate=1.0, epochs=3000)
    assert len(losses) == 3001 and losses[-1] < losses[0]
    assert all(later <= earlier + 1e-12 for earlier, later in zip(losses, losses[1:]))  # convex, small step
    reference = LogisticRegression(C=np.inf, tol=1e-10, max_iter=10_000).fit(x, y)
    np.testing.assert_allclose(neuron.weights, reference.coef_[0], rtol=1e-4, atol=1e-5)
    assert neuron.bias == pytest.approx(reference.intercept_[0], abs=1e-5)
    np.testing.assert_array_equal(neuron.predict(x), reference.predict(x))


def test_fit_with_adam_reaches_the_logistic_regression_optimum():
    from sklearn.linear_model import LogisticRegression

    from llmbook.training.optimizers import Adam

    x, y = _toy()
    neuron = SigmoidNeuron(3)
    losses = neuron.fit(x, y, epochs=200, optimizer=Adam(learning_rate=0.05))
    reference = LogisticRegression(C=np.inf, tol=1e-10, max_iter=10_000).fit(x, y)
    p = reference.predict_proba(x)[:, 1]
    optimum = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    assert losses[-1] == pytest.approx(optimum, abs=1e-7)
    np.testing.assert_allclose(neuron.weights, reference.coef_[0], atol=1e-3)


def test_binary_cross_entropy_matches_keras_and_refuses_bad_labels():
    p = np.array([0.9, 0.2, 0.6, 1.0])
    y = np.array([1, 0, 0, 1])
    expected = float(keras.losses.binary_crossentropy(y.astype("float64"), p))
    assert binary_cross_entropy(p, y) == pytest.approx(expected, rel=1e-5)
    with pytest.raises(ValueError, match="labels must be 0 or 1"):
        binary_cross_entropy(p, [1, 0, 2, 1])
    with pytest.raises(ValueError, match="shape"):
        binary_cross_entropy(p, [1, 0])


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda n: n.gradients(np.ones((4, 2)), np.ones(4)), r"x must have shape \(n, 3\)"),
        (lambda n: n.gradients(np.ones((4, 3)), np.ones(5)), r"y must have shape \(4,\)"),
        (lambda n: n.gradients(np.ones((4, 3)), np.full(4, 0.5)), "only 0 and 1"),
        (lambda n: n.predict_proba(np.full((2, 3), np.nan)), "NaN or infinity"),
        (lambda n: n.predict_proba(np.ones((0, 3))), "no rows"),
        (lambda n: n.fit(np.ones((4, 3)), np.ones(4), learning_rate=0.0), "learning_rate must be positive"),
        (lambda n: n.fit(np.ones((4, 3)), np.ones(4), epochs=-1), "epochs must be non-negative"),
    ],
)
def test_bad_input_is_refused(call, message):
    with pytest.raises(ValueError, match=message):
        call(SigmoidNeuron(3))


def test_bad_constructor_argument():
    with pytest.raises(ValueError, match="n_features must be a positive integer"):
        SigmoidNeuron(0)
