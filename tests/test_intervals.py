"""Wilson's interval against SciPy's, and its bad-input errors."""

import numpy as np
import pytest
from scipy.stats import binomtest

from llmbook.metrics import wilson_interval


@pytest.mark.parametrize("k, n", [(0, 1), (1, 1), (0, 100), (100, 100), (37, 200), (199, 200), (3, 7), (500, 1000)])
@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99])
def test_equals_scipy(k, n, confidence):
    reference = binomtest(k, n).proportion_ci(confidence_level=confidence, method="wilson")
    np.testing.assert_allclose(wilson_interval(k, n, confidence), (reference.low, reference.high), rtol=0, atol=1e-12)


def test_interval_holds_the_estimate_and_narrows_with_n():
    low, high = wilson_interval(30, 100)
    assert low < 0.3 < high
    low_big, high_big = wilson_interval(300, 1000)
    assert high_big - low_big < (high - low) / 3 ** 0.5 * 1.05


def test_all_or_nothing_ends_exactly_at_the_bound():
    # The formula's round-off put the upper end of n out of n a hair below 1 for 880 of these n (360 among
    # them), which drew a negative error bar.
    for n in range(1, 2001):
        assert wilson_interval(n, n)[1] == 1.0 and wilson_interval(0, n)[0] == 0.0, n
        assert wilson_interval(n, n)[0] < 1.0 and wilson_interval(0, n)[1] > 0.0, n


@pytest.mark.parametrize("k, n, confidence, error, words", [
    (1, 0, 0.95, ValueError, "n must be positive"),
    (5, 4, 0.95, ValueError, "between 0 and n=4"),
    (-1, 4, 0.95, ValueError, "between 0 and n=4"),
    (1, 4, 95, ValueError, "strictly between 0 and 1"),
    (0.5, 4, 0.95, TypeError, "integer count"),
    (True, 4, 0.95, TypeError, "integer count"),
])
def test_bad_input(k, n, confidence, error, words):
    with pytest.raises(error, match=words):
        wilson_interval(k, n, confidence)
