"""Exposure of a canary (Carlini et al., 2019): the formula on hand cases, the chance baseline, the sampled estimate."""

import math

import numpy as np
import pytest

from llmbook.metrics import canary_rank, chance_exposure, exposure, sampled_exposure


def test_a_model_that_prefers_the_canary_gets_the_maximum_exposure():
    scores = np.array([9.0, 8.5, 0.25, 7.0, 11.0, 6.0, 5.0, 4.0])
    assert canary_rank(scores, 2) == 1
    assert exposure(scores, 2) == 3.0  # log2 8, exactly


def test_the_least_likely_canary_and_ties_get_zero():
    assert exposure([1.0, 2.0, 3.0, 4.0], 3) == 0.0
    # every candidate as likely as the canary: rank |R|, exposure 0
    assert canary_rank([2.0] * 16, 5) == 16
    assert exposure([2.0] * 16, 5) == 0.0


def test_hand_cases():
    # rank 3 of 8: log2 8 - log2 3
    scores = [4.0, 1.0, 2.0, 3.0, 9.0, 8.0, 7.0, 6.0]
    assert canary_rank(scores, 3) == 3
    assert exposure(scores, 3) == pytest.approx(3 - math.log2(3), abs=1e-12)
    # a tie with one other candidate counts against the canary: rank 2 of 4 = 1 bit
    assert canary_rank([0.5, 3.0, 0.5, 9.0], 0) == 2
    assert exposure([0.5, 3.0, 0.5, 9.0], 0) == 1.0
    # rank 1 of 10,000 is log2 10,000
    scores = np.arange(10_000, dtype=float)
    assert exposure(scores, 0) == pytest.approx(4 * math.log2(10), abs=1e-12)
    assert exposure(scores, 9_999) == 0.0
    assert exposure(scores, 4_999) == pytest.approx(1.0, abs=1e-12)  # rank 5,000 of 10,000


def test_chance_exposure_is_the_mean_over_uniform_ranks_and_tends_to_1_over_ln2():
    for size in (1, 2, 3, 7, 100):
        scores = np.arange(size, dtype=float)
        by_hand = np.mean([exposure(scores, i) for i in range(size)])
        assert chance_exposure(size) == pytest.approx(by_hand, abs=1e-9)
    assert chance_exposure(2) == pytest.approx(0.5, abs=1e-12)  # (1 + 0) / 2
    assert abs(chance_exposure(10**6) - 1 / math.log(2)) < 1e-4


def test_random_scores_give_about_chance_exposure():
    rng = np.random.default_rng(0)
    values = [exposure(rng.normal(size=1000), 0) for _ in range(2000)]
    # mean of 2000 draws; the per-draw standard deviation is about 1.44 bits
    assert abs(np.mean(values) - chance_exposure(1000)) < 4 * 1.5 / math.sqrt(2000)


def test_sampled_exposure_equals_exact_with_the_whole_space_and_estimates_from_a_sample():
    rng = np.random.default_rng(1)
    scores = rng.normal(size=4096)
    for index in (0, 17, 4000):
        assert sampled_exposure(scores[index], scores) == pytest.approx(exposure(scores, index), abs=1e-12)
    # a canary at rank 41 of 4096 (about 6.6 bits): a 1,024-candidate sample estimates it within a bit
    index = int(np.argsort(scores)[40])
    sample = rng.choice(scores, size=1024, replace=False)
    assert abs(sampled_exposure(scores[index], sample) - exposure(scores, index)) < 1.0


def test_bad_input_names_the_problem():
    with pytest.raises(ValueError, match="non-empty 1-D"):
        exposure([], 0)
    with pytest.raises(ValueError, match="non-empty 1-D"):
        exposure([[1.0, 2.0]], 0)
    with pytest.raises(ValueError, match="NaN or infinity"):
        exposure([1.0, float("nan")], 0)
    with pytest.raises(ValueError, match="outside scores"):
        exposure([1.0, 2.0], 2)
    with pytest.raises(TypeError, match="integer position"):
        exposure([1.0, 2.0], 0.5)
    with pytest.raises(ValueError, match="sample more candidates"):
        sampled_exposure(0.0, [1.0, 2.0])
    with pytest.raises(ValueError, match="finite"):
        sampled_exposure(float("inf"), [1.0, 2.0])
    with pytest.raises(ValueError, match="positive integer"):
        chance_exposure(0)
