"""llmbook.training.gradcheck: central differences against exact derivatives, the relative error
against hand-computed ratios, and their errors."""

import numpy as np
import pytest

from llmbook.training.gradcheck import numerical_gradient, relative_error


def test_relative_error_is_a_norm_ratio():
    assert relative_error([3.0, 4.0], [3.0, 4.0]) == 0.0
    assert relative_error([0.0, 0.0], [0.0, 0.0]) == 0.0
    assert relative_error([3.0, 4.0], [3.0, 3.0]) == pytest.approx(1.0 / 5.0)
    assert relative_error([1.0, 1e-12], [1.0, 2e-12]) < 1e-11  # tiny elements do not dominate


def test_numerical_gradient_is_exact_on_a_quadratic_and_leaves_the_point_alone():
    point = np.array([[1.0, -2.0], [0.5, 3.0]])
    before = point.copy()
    grad = numerical_gradient(lambda v: float(np.sum(v**2)), point, step=1e-3)
    np.testing.assert_allclose(grad, 2 * point, atol=1e-9)
    np.testing.assert_array_equal(point, before)


def test_numerical_gradient_matches_an_exact_derivative_to_order_h_squared():
    point = np.array([0.3, -1.2, 2.0])
    exact = np.cos(point) * np.exp(np.sin(point))  # d/dx exp(sin x)
    errors = [relative_error(numerical_gradient(lambda v: float(np.sum(np.exp(np.sin(v)))), point, step=h), exact)
              for h in (1e-2, 1e-3)]
    assert errors[1] < errors[0] / 50  # a tenth of the step, about a hundredth of the error
    assert errors[1] < 1e-6


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="step must be positive"):
        numerical_gradient(lambda v: 0.0, [1.0], step=0)
    with pytest.raises(ValueError, match="point contains NaN or infinity"):
        numerical_gradient(lambda v: 0.0, [np.nan])
    with pytest.raises(ValueError, match="shapes differ"):
        relative_error([1.0], [1.0, 2.0])
