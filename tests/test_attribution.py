"""Token attributions: gradient x input against its closed form, rollout against hand-computed products,
occlusion against an additive score, the encoder run from embeddings against the encoder itself, and
the deletion test's token choices."""

import numpy as np
import pytest
from keras import ops

from llmbook.models.attribution import (
    attention_rollout,
    encode_embedding_output,
    encode_token_embeddings,
    gradient_times_input,
    occlusion,
    random_positions,
    top_k_positions,
)
from llmbook.models.bert import BertEncoder, pool
from tests._backend import to_numpy

RNG = np.random.default_rng(0)


def tiny_bert():
    return BertEncoder(vocab_size=40, hidden_dim=16, num_layers=2, num_heads=2, intermediate_dim=32,
                       max_length=16, dropout=0.0)


def stochastic(shape, rng=RNG):
    weights = rng.random(shape)
    return weights / weights.sum(axis=-1, keepdims=True)


# --- gradient x input ---------------------------------------------------------------------------------

def test_gradient_times_input_of_a_linear_model_is_weight_times_input():
    weights = RNG.normal(size=(1, 5, 4)).astype("float32")
    inputs = RNG.normal(size=(3, 5, 4)).astype("float32")
    got = gradient_times_input(lambda x: ops.sum(x * weights, axis=(1, 2)) + 0.7, inputs)
    np.testing.assert_allclose(got, (weights * inputs).sum(axis=-1), rtol=1e-6, atol=1e-6)
    # completeness for a linear model: the relevances add up to the score minus the bias
    np.testing.assert_allclose(got.sum(axis=1), (weights * inputs).sum(axis=(1, 2)), rtol=1e-5, atol=1e-5)


def test_gradient_times_input_of_a_quadratic_is_twice_the_square():
    inputs = RNG.normal(size=(2, 3, 4)).astype("float32")
    got = gradient_times_input(lambda x: ops.sum(x * x, axis=(1, 2)), inputs)
    np.testing.assert_allclose(got, 2 * (inputs ** 2).sum(axis=-1), rtol=1e-5)


def test_gradient_times_input_refuses_bad_input():
    with pytest.raises(ValueError, match="embeddings must be"):
        gradient_times_input(lambda x: ops.sum(x, axis=1), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="one value per example"):
        gradient_times_input(lambda x: ops.sum(x, axis=2), np.zeros((2, 3, 4)))


def test_the_layernorm_makes_gradient_times_its_input_vanish():
    """f(LN(x)) does not change when one token's x is scaled, so x . grad_x f = 0 for each token (Euler)."""
    encoder = tiny_bert()
    token_ids = RNG.integers(4, 40, size=(2, 6))
    segments = np.zeros_like(token_ids)
    token = to_numpy(encoder.embeddings.token_embedding(token_ids))
    full = to_numpy(encoder.embeddings.position_embedding(token)) + token + to_numpy(
        encoder.embeddings.segment_embedding(segments))
    readout = RNG.normal(size=16).astype("float32")

    def score(x):
        return ops.sum(encode_embedding_output(encoder, encoder.embeddings.norm(x))[:, 0] * readout, axis=-1)

    relevance = gradient_times_input(score, full)
    assert np.abs(relevance).max() < 1e-3 * np.abs(to_numpy(score(full))).max() + 1e-5


# --- the encoder run from embeddings --------------------------------------------------------------------

def test_encoding_from_token_embeddings_equals_the_encoder():
    encoder = tiny_bert()
    token_ids = RNG.integers(4, 40, size=(2, 7))
    mask = np.array([[True] * 7, [True] * 4 + [False] * 3])
    segments = np.array([[0] * 4 + [1] * 3] * 2) * mask
    inputs = {"token_ids": np.where(mask, token_ids, 0), "segment_ids": segments, "padding_mask": mask}
    expected = to_numpy(encoder(inputs, training=False))
    embedded = encoder.embeddings.token_embedding(inputs["token_ids"])
    got = to_numpy(encode_token_embeddings(encoder, embedded, segments, mask))
    np.testing.assert_allclose(got[mask], expected[mask], rtol=1e-5, atol=1e-5)
    after = encoder.embeddings(inputs["token_ids"], segments, training=False)
    np.testing.assert_allclose(to_numpy(encode_embedding_output(encoder, after, mask))[mask], expected[mask],
                               rtol=1e-5, atol=1e-5)


def test_encoding_from_embeddings_refuses_the_wrong_width():
    with pytest.raises(ValueError, match=r"\(batch, length, 16\)"):
        encode_token_embeddings(tiny_bert(), np.zeros((1, 3, 8), "float32"))


def test_gradient_times_input_through_the_encoder_matches_finite_differences():
    encoder = tiny_bert()
    token_ids = RNG.integers(4, 40, size=(1, 5))
    embedded = to_numpy(encoder.embeddings.token_embedding(token_ids)).astype("float64")
    readout = RNG.normal(size=16)

    def score(x):
        sequence = encode_token_embeddings(encoder, x)
        return ops.sum(pool(sequence, np.ones((1, 5), bool), "mean") * readout.astype("float32"), axis=-1)

    relevance = gradient_times_input(score, embedded)
    # the directional derivative along x itself, summed over tokens: d/dt f((1 + t) x) at t = 0
    step = 1e-2
    plus = to_numpy(score((embedded * (1 + step)).astype("float32")))
    minus = to_numpy(score((embedded * (1 - step)).astype("float32")))
    np.testing.assert_allclose(relevance.sum(), (plus - minus)[0] / (2 * step), rtol=2e-2, atol=2e-3)


# --- attention rollout --------------------------------------------------------------------------------

def test_rollout_of_identity_attentions_is_the_identity():
    identity = np.broadcast_to(np.eye(4), (2, 3, 4, 4))
    for residual in (True, False):
        np.testing.assert_allclose(attention_rollout([identity] * 3, residual=residual),
                                   np.broadcast_to(np.eye(4), (2, 4, 4)))


def test_rollout_rows_sum_to_one_and_match_the_product_by_hand():
    first, second = stochastic((2, 3, 5, 5)), stochastic((2, 3, 5, 5))
    rollout = attention_rollout([first, second])
    np.testing.assert_allclose(rollout.sum(axis=-1), 1.0, rtol=1e-12)

    def with_residual(a):
        a = a.mean(axis=1) + np.eye(5)
        return a / a.sum(axis=-1, keepdims=True)

    np.testing.assert_allclose(rollout, with_residual(second) @ with_residual(first), rtol=1e-12)
    np.testing.assert_allclose(attention_rollout([first, second], residual=False),
                               second.mean(axis=1) @ first.mean(axis=1), rtol=1e-12)
    # unbatched maps give the same matrices
    np.testing.assert_allclose(attention_rollout([first[0], second[0]]), rollout[0], rtol=1e-12)


def test_rollout_of_uniform_attention_is_uniform():
    uniform = np.full((1, 2, 4, 4), 0.25)
    np.testing.assert_allclose(attention_rollout([uniform], residual=False), np.full((1, 4, 4), 0.25))


def test_rollout_refuses_bad_maps():
    with pytest.raises(ValueError, match="empty"):
        attention_rollout([])
    with pytest.raises(ValueError, match="rows must sum to 1"):
        attention_rollout([np.ones((1, 2, 3, 3))])
    with pytest.raises(ValueError, match="same shape"):
        attention_rollout([stochastic((1, 2, 3, 3)), stochastic((1, 2, 4, 4))])
    with pytest.raises(ValueError, match="length, length"):
        attention_rollout([stochastic((2, 3, 4))])


# --- occlusion ----------------------------------------------------------------------------------------

def test_occlusion_of_an_additive_score_is_each_token_value():
    values = RNG.normal(size=40)
    token_ids = RNG.integers(0, 40, size=(3, 6))
    mask = np.ones((3, 6), bool)
    mask[2, 4:] = False

    def score(ids, keep):
        return (values[ids] * keep).sum(axis=1)

    got = occlusion(score, token_ids, mask)
    np.testing.assert_allclose(got, np.where(mask, values[token_ids], 0.0), rtol=1e-12)
    candidates = mask.copy()
    candidates[:, 0] = False
    assert np.all(occlusion(score, token_ids, mask, candidates)[:, 0] == 0)


def test_occlusion_refuses_candidates_outside_the_mask_and_bad_scores():
    ids, mask = np.zeros((1, 3), int), np.array([[True, True, False]])
    with pytest.raises(ValueError, match="candidates must be real tokens"):
        occlusion(lambda i, m: m.sum(axis=1), ids, mask, np.ones((1, 3), bool))
    with pytest.raises(ValueError, match="one value per row"):
        occlusion(lambda i, m: m.sum(), ids, mask)


# --- the deletion test's choices ----------------------------------------------------------------------

def test_top_k_positions_takes_the_largest_candidates_and_breaks_ties_by_position():
    attributions = np.array([[0.5, 9.0, 0.5, 0.1, 3.0]])
    candidates = np.array([[True, False, True, True, True]])
    np.testing.assert_array_equal(top_k_positions(attributions, candidates, 2), [[True, False, False, False, True]])
    chosen = top_k_positions(attributions, candidates, 3)
    assert chosen.sum() == 3 and not chosen[0, 1]


def test_random_positions_are_uniform_over_candidates():
    candidates = np.zeros((4000, 6), bool)
    candidates[:, 1:5] = True
    chosen = random_positions(candidates, 2, np.random.default_rng(1))
    assert np.all(chosen.sum(axis=1) == 2) and not np.any(chosen & ~candidates)
    np.testing.assert_allclose(chosen[:, 1:5].mean(axis=0), 0.5, atol=0.03)


def test_selection_refuses_rows_with_too_few_candidates_and_bad_generators():
    candidates = np.array([[True, True, False], [True, False, False]])
    with pytest.raises(ValueError, match=r"row\(s\) \[1\]"):
        top_k_positions(np.zeros((2, 3)), candidates, 2)
    with pytest.raises(ValueError, match="k must be"):
        random_positions(candidates, 0, np.random.default_rng(0))
    with pytest.raises(TypeError, match="default_rng"):
        random_positions(candidates, 1, 0)
    with pytest.raises(ValueError, match="NaN"):
        top_k_positions(np.array([[np.nan, 0.0, 0.0], [0.0, 0.0, 0.0]]), candidates, 1)
