"""Three gradient-descent optimizers in NumPy, small enough to read: SGD, SGD with momentum, and Adam.

Each optimizer's ``update(params, grads)`` changes the parameter arrays in place; the state (velocity,
moments) belongs to the position of each array in ``params``, so pass the arrays in the same order every
step. The updates follow the papers and match ``torch.optim.SGD`` and ``torch.optim.Adam`` (the tests
check this):

- SGD: ``w -= lr * g``.
- Momentum (Polyak, 1964; the form of Sutskever et al., 2013): ``v = mu * v + g``; ``w -= lr * v``.
- Adam (Kingma and Ba, 2015, Algorithm 1): ``m = b1 m + (1 - b1) g``; ``v = b2 v + (1 - b2) g^2``;
  ``w -= lr * m_hat / (sqrt(v_hat) + eps)`` with ``m_hat = m / (1 - b1^t)``, ``v_hat = v / (1 - b2^t)``.

>>> import numpy as np
>>> from llmbook.training.optimizers import Adam
>>> w = np.array([1.0, -1.0]); adam = Adam(learning_rate=0.1)
>>> adam.update([w], [np.array([0.5, -2.0])])
>>> w.round(6)   # the first Adam step moves each weight by about lr, whatever the gradient's size
array([ 0.9, -0.9])
"""

from __future__ import annotations

from typing import Sequence

import numpy as np


class Optimizer:
    """The shared part: argument checks and the step counter.

    Raises:
        ValueError: if ``learning_rate`` is not positive.
    """

    def __init__(self, learning_rate: float):
        if not (isinstance(learning_rate, (int, float)) and learning_rate > 0):
            raise ValueError(f"learning_rate must be a positive number, got {learning_rate!r}")
        self.learning_rate = float(learning_rate)
        self.iterations = 0

    def _check(self, params: Sequence[np.ndarray], grads: Sequence[np.ndarray]) -> None:
        if len(params) != len(grads):
            raise ValueError(f"{len(params)} parameter arrays but {len(grads)} gradients; pass one gradient per array")
        for i, (p, g) in enumerate(zip(params, grads)):
            if not isinstance(p, np.ndarray) or not np.issubdtype(p.dtype, np.floating):
                raise ValueError(f"params[{i}] must be a float NumPy array (it is updated in place)")
            if np.shape(g) != p.shape:
                raise ValueError(f"grads[{i}] has shape {np.shape(g)} but params[{i}] has shape {p.shape}")
            if not np.all(np.isfinite(g)):
                raise ValueError(f"grads[{i}] contains NaN or infinity; lower the learning rate or check the loss")

    def update(self, params: Sequence[np.ndarray], grads: Sequence[np.ndarray]) -> None:
        """Apply one step to every array of ``params`` in place, given ``grads`` of the same shapes.

        Raises:
            ValueError: if the counts or shapes differ, a parameter is not a float array, or a gradient is not finite.
        """
        self._check(params, grads)
        self.iterations += 1
        for index, (param, grad) in enumerate(zip(params, grads)):
            self._step(index, param, np.asarray(grad, dtype=param.dtype))

    def _step(self, index: int, param: np.ndarray, grad: np.ndarray) -> None:
        raise NotImplementedError


class SGD(Optimizer):
    """Gradient descent, optionally with (heavy-ball) momentum.

    Args:
        learning_rate: the step size ``lr``.
        momentum: ``mu`` in ``[0, 1)``; 0 gives plain gradient descent.

    Raises:
        ValueError: if ``learning_rate <= 0`` or ``momentum`` is outside ``[0, 1)``.
    """

    def __init__(self, learning_rate: float = 0.01, momentum: float = 0.0):
        super().__init__(learning_rate)
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1), got {momentum!r}")
        self.momentum = float(momentum)
        self.velocity: dict[int, np.ndarray] = {}

    def _step(self, index, param, grad):
        if self.momentum == 0.0:
            param -= self.learning_rate * grad
            return
        velocity = self.velocity.get(index)
        velocity = grad.copy() if velocity is None else self.momentum * velocity + grad
        self.velocity[index] = velocity
        param -= self.learning_rate * velocity


class Adam(Optimizer):
    """Adam with bias-corrected first and second moments (Kingma and Ba, 2015, Algorithm 1).

    Args:
        learning_rate: the step size.
        beta_1, beta_2: decay rates of the moment estimates, in ``[0, 1)``.
        epsilon: added to ``sqrt(v_hat)``. Keras adds its epsilon to ``sqrt(v)`` before the bias
            correction instead, so the same number means a slightly different update there.

    Raises:
        ValueError: for a non-positive learning rate or epsilon, or a beta outside ``[0, 1)``.
    """

    def __init__(self, learning_rate: float = 0.001, beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-8):
        super().__init__(learning_rate)
        for name, beta in (("beta_1", beta_1), ("beta_2", beta_2)):
            if not 0.0 <= beta < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {beta!r}")
        if not epsilon > 0:
            raise ValueError(f"epsilon must be positive, got {epsilon!r}")
        self.beta_1, self.beta_2, self.epsilon = float(beta_1), float(beta_2), float(epsilon)
        self.first_moment: dict[int, np.ndarray] = {}
        self.second_moment: dict[int, np.ndarray] = {}

    def _step(self, index, param, grad):
        m = self.first_moment.get(index, np.zeros_like(param))
        v = self.second_moment.get(index, np.zeros_like(param))
        m = self.beta_1 * m + (1.0 - self.beta_1) * grad
        v = self.beta_2 * v + (1.0 - self.beta_2) * grad * grad
        self.first_moment[index], self.second_moment[index] = m, v
        m_hat = m / (1.0 - self.beta_1**self.iterations)
        v_hat = v / (1.0 - self.beta_2**self.iterations)
        param -= self.learning_rate * m_hat / (np.sqrt(v_hat) + self.epsilon)


def make_optimizer(name: str, learning_rate: float, **options) -> Optimizer:
    """``"sgd"``, ``"momentum"`` (SGD with ``momentum=0.9`` unless given) or ``"adam"``, by name.

    Raises:
        ValueError: for an unknown name.
    """
    if name == "sgd":
        return SGD(learning_rate, **options)
    if name == "momentum":
        return SGD(learning_rate, momentum=options.pop("momentum", 0.9), **options)
    if name == "adam":
        return Adam(learning_rate, **options)
    raise ValueError(f"unknown optimizer {name!r}; choose 'sgd', 'momentum' or 'adam'")
