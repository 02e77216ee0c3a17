"""One artificial neuron in NumPy: activations with their derivatives, and a sigmoid neuron trained by
gradient descent with a hand-written backward pass (checked with ``llmbook.training.gradcheck``).

A neuron computes a weighted sum ``z = x . w + b`` and passes it through an activation ``a = f(z)``.
With the sigmoid activation and the binary cross-entropy loss, it is logistic regression, and the
gradient of the mean loss is ``X^T (p - y) / n`` for the weights and ``mean(p - y)`` for the bias.

>>> import numpy as np
>>> from llmbook.models.neuron import SigmoidNeuron
>>> x = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]); y = np.array([0, 1, 1])
>>> neuron = SigmoidNeuron(2)
>>> grad_w, grad_b = neuron.gradients(x, y)
>>> grad_w.shape
(2,)
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
from scipy.special import erf

from llmbook.validation import positive_int

ArrayFunction = Callable[[np.ndarray], np.ndarray]
_SQRT2 = math.sqrt(2.0)


def _as_float_array(x, name: str = "x") -> np.ndarray:
    array = np.asarray(x, dtype=float)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinity; clean the input first")
    return array


def sigmoid(x) -> np.ndarray:
    """The logistic function ``1 / (1 + exp(-x))``, computed without overflow for large ``|x|``."""
    x = np.asarray(x, dtype=float)
    out = np.empty_like(x)
    positive = x >= 0
    out[positive] = 1.0 / (1.0 + np.exp(-x[positive]))
    exp_x = np.exp(x[~positive])  # x < 0 here, so exp(x) cannot overflow
    out[~positive] = exp_x / (1.0 + exp_x)
    return out


def sigmoid_derivative(x) -> np.ndarray:
    """``sigmoid'(x) = sigmoid(x) (1 - sigmoid(x))``; at most 0.25, at ``x = 0``."""
    s = sigmoid(x)
    return s * (1.0 - s)


def tanh(x) -> np.ndarray:
    """The hyperbolic tangent, ``2 sigmoid(2x) - 1``."""
    return np.tanh(np.asarray(x, dtype=float))


def tanh_derivative(x) -> np.ndarray:
    """``tanh'(x) = 1 - tanh(x)^2``; at most 1, at ``x = 0``."""
    return 1.0 - np.tanh(np.asarray(x, dtype=float)) ** 2


def relu(x) -> np.ndarray:
    """``max(0, x)``."""
    return np.maximum(np.asarray(x, dtype=float), 0.0)


def relu_derivative(x) -> np.ndarray:
    """1 for ``x > 0``, else 0. ReLU has no derivative at 0; like TensorFlow and PyTorch, this returns 0 there."""
    return (np.asarray(x, dtype=float) > 0).astype(float)


def gelu(x) -> np.ndarray:
    """The exact GELU ``x * Phi(x)``, with ``Phi`` the standard normal CDF (Hendrycks and Gimpel, 2016)."""
    x = np.asarray(x, dtype=float)
    return x * 0.5 * (1.0 + erf(x / _SQRT2))


def gelu_derivative(x) -> np.ndarray:
    """``GELU'(x) = Phi(x) + x * phi(x)``, with ``phi`` the standard normal density."""
    x = np.asarray(x, dtype=float)
    cdf = 0.5 * (1.0 + erf(x / _SQRT2))
    pdf = np.exp(-0.5 * x**2) / math.sqrt(2.0 * math.pi)
    return cdf + x * pdf


def silu(x) -> np.ndarray:
    """SiLU (also called swish), ``x * sigmoid(x)``: the activation inside SwiGLU, the MLP of Llama and SmolLM2."""
    x = np.asarray(x, dtype=float)
    return x * sigmoid(x)


def silu_derivative(x) -> np.ndarray:
    """``SiLU'(x) = sigmoid(x) (1 + x (1 - sigmoid(x)))``."""
    x = np.asarray(x, dtype=float)
    s = sigmoid(x)
    return s * (1.0 + x * (1.0 - s))


ACTIVATIONS: dict[str, tuple[ArrayFunction, ArrayFunction]] = {
    "sigmoid": (sigmoid, sigmoid_derivative),
    "tanh": (tanh, tanh_derivative),
    "relu": (relu, relu_derivative),
    "gelu": (gelu, gelu_derivative),
    "silu": (silu, silu_derivative),
}


def activation(name: str) -> tuple[ArrayFunction, ArrayFunction]:
    """The pair ``(f, f')`` for ``name`` in ``ACTIVATIONS`` (sigmoid, tanh, relu, gelu, silu).

    Raises:
        ValueError: for an unknown name; the message lists the known ones.
    """
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; choose one of {', '.join(ACTIVATIONS)}")
    return ACTIVATIONS[name]


def binary_cross_entropy(probabilities, labels, eps: float = 1e-12) -> float:
    """Mean of ``-[y log p + (1 - y) log(1 - p)]``; ``p`` is clipped to ``[eps, 1 - eps]`` so the log stays finite.

    Raises:
        ValueError: if the shapes differ, a label is not 0 or 1, or a probability is NaN (clipping would
            not catch it and the loss would be NaN).
    """
    if np.isnan(np.asarray(probabilities, dtype=float)).any():
        raise ValueError("probabilities contain NaN: the forward pass overflowed or diverged")
    p = np.clip(np.asarray(probabilities, dtype=float), eps, 1.0 - eps)
    y = np.asarray(labels, dtype=float)
    if p.shape != y.shape:
        raise ValueError(f"probabilities have shape {p.shape} but labels have shape {y.shape}")
    if not np.all((y == 0) | (y == 1)):
        raise ValueError("labels must be 0 or 1")
    return float(-np.mean(y * np.log(p) + (1.0 - y) * np.log(1.0 - p)))


class SigmoidNeuron:
    """``p = sigmoid(x . w + b)`` trained on the mean binary cross-entropy by full-batch gradient descent.

    Args:
        n_features: the length of one input vector.
        seed: seeds the initial weights (small normal values; the bias starts at 0).
        init_scale: the standard deviation of the initial weights.

    Raises:
        ValueError: if ``n_features`` is not a positive integer.
    """

    def __init__(self, n_features: int, seed: int = 0, init_scale: float = 0.01):
        n_features = positive_int("n_features", n_features)
        self.n_features = int(n_features)
        self.weights = np.random.default_rng(seed).normal(0.0, init_scale, size=self.n_features)
        self.bias = 0.0

    def _check(self, x, y=None) -> tuple[np.ndarray, np.ndarray | None]:
        x = _as_float_array(x)
        if x.ndim != 2 or x.shape[1] != self.n_features:
            raise ValueError(f"x must have shape (n, {self.n_features}), got {x.shape}")
        if x.shape[0] == 0:
            raise ValueError("x has no rows; pass at least one example")
        if y is None:
            return x, None
        y = np.asarray(y, dtype=float)
        if y.shape != (x.shape[0],):
            raise ValueError(f"y must have shape ({x.shape[0]},) to match x, got {y.shape}")
        if not np.all((y == 0) | (y == 1)):
            raise ValueError("y must contain only 0 and 1 labels")
        return x, y

    def weighted_sum(self, x) -> np.ndarray:
        """``z = x . w + b`` for each row of ``x`` (shape ``(n, n_features)``); returns shape ``(n,)``."""
        x, _ = self._check(x)
        return x @ self.weights + self.bias

    def predict_proba(self, x) -> np.ndarray:
        """``P(y = 1 | x) = sigmoid(z)``, shape ``(n,)``."""
        return sigmoid(self.weighted_sum(x))

    def predict(self, x, threshold: float = 0.5) -> np.ndarray:
        """Class labels 0/1: 1 where the probability is at least ``threshold``."""
        return (self.predict_proba(x) >= threshold).astype(np.int64)

    def loss(self, x, y) -> float:
        """The mean binary cross-entropy on ``(x, y)``."""
        x, y = self._check(x, y)
        return binary_cross_entropy(sigmoid(x @ self.weights + self.bias), y)

    def gradients(self, x, y) -> tuple[np.ndarray, float]:
        """The hand-derived gradient of the mean binary cross-entropy: ``(X^T (p - y) / n, mean(p - y))``.

        Derivation, for one example: ``L = -[y log p + (1-y) log(1-p)]``, ``p = sigmoid(z)``,
        ``dL/dp = (p - y) / (p (1 - p))``, ``dp/dz = p (1 - p)``, so ``dL/dz = p - y``, and
        ``dz/dw = x``, ``dz/db = 1``.

        Raises:
            ValueError: for shapes that do not match, non-finite inputs, or labels other than 0/1.
        """
        x, y = self._check(x, y)
        error = sigmoid(x @ self.weights + self.bias) - y
        return x.T @ error / len(y), float(np.mean(error))

    def fit(self, x, y, learning_rate: float = 0.1, epochs: int = 100, optimizer=None) -> list[float]:
        """Full-batch training; returns the loss before each update and after the last one (``epochs + 1`` values).

        Args:
            learning_rate: the step size of plain gradient descent (ignored when ``optimizer`` is given).
            epochs: the number of updates.
            optimizer: an object with ``update(params, grads)`` that changes the arrays in place, e.g.
                ``llmbook.training.optimizers.Adam``; by default plain gradient descent.

        Raises:
            ValueError: if ``learning_rate`` is not positive or ``epochs`` is negative, or for bad ``x``/``y``.
        """
        if optimizer is None and not learning_rate > 0:
            raise ValueError(f"learning_rate must be positive, got {learning_rate!r}")
        if epochs < 0:
            raise ValueError(f"epochs must be non-negative, got {epochs!r}")
        x, y = self._check(x, y)
        losses = []
        for _ in range(epochs):
            losses.append(self.loss(x, y))
            grad_w, grad_b = self.gradients(x, y)
            if optimizer is None:
                self.weights -= learning_rate * grad_w
                self.bias -= learning_rate * grad_b
            else:
                bias = np.array([self.bias])
                optimizer.update([self.weights, bias], [grad_w, np.array([grad_b])])
                self.bias = float(bias[0])
        losses.append(self.loss(x, y))
        return losses
