"""Statistical tests of BERT's pre-training data: the 80/10/10 masking rule and 50 % next-sentence pairs."""

import numpy as np
import pytest
from scipy import stats

from llmbook.training.pretraining import KEPT, MASKED, NOT_CHOSEN, RANDOM, make_nsp_pairs, mask_tokens

PAD, UNK, CLS, SEP, MASK = 0, 1, 2, 3, 4
SPECIAL = [PAD, UNK, CLS, SEP, MASK]
VOCAB = 50


def _batch(rng, rows=6000, length=24):
    """Rows of [CLS] tokens [SEP] padding, with random real lengths (so padding varies)."""
    ids = np.zeros((rows, length), dtype=np.int64)
    for r in range(rows):
        n = rng.integers(3, length - 1)
        ids[r, 0], ids[r, 1:n + 1], ids[r, n + 1] = CLS, rng.integers(5, VOCAB, n), SEP
    return ids


@pytest.fixture(scope="module")
def masked():
    rng = np.random.default_rng(0)
    ids = _batch(rng)
    return ids, mask_tokens(ids, np.random.default_rng(1), vocab_size=VOCAB, mask_id=MASK, special_ids=SPECIAL)


def test_exact_count_and_never_special(masked):
    ids, batch = masked
    eligible = ~np.isin(ids, SPECIAL)
    expected = np.maximum(1, np.round(0.15 * eligible.sum(axis=1)).astype(int))
    np.testing.assert_array_equal(batch.weights.sum(axis=1), expected)
    assert not (batch.weights.astype(bool) & ~eligible).any()
    np.testing.assert_array_equal(batch.labels, ids)
    chosen = batch.replacement != NOT_CHOSEN
    np.testing.assert_array_equal(batch.token_ids[~chosen], ids[~chosen])
    assert (batch.token_ids[batch.replacement == MASKED] == MASK).all()
    assert (batch.token_ids[batch.replacement == KEPT] == ids[batch.replacement == KEPT]).all()


def test_80_10_10_split_chi_square(masked):
    _, batch = masked
    counts = np.array([(batch.replacement == kind).sum() for kind in (MASKED, RANDOM, KEPT)])
    total = counts.sum()
    assert total > 10000
    p_value = stats.chisquare(counts, total * np.array([0.8, 0.1, 0.1])).pvalue
    assert p_value > 1e-3, (counts / total, p_value)
    # The same test has the power to reject a 70/20/10 rule on this many draws.
    wrong = stats.chisquare(counts, total * np.array([0.7, 0.2, 0.1])).pvalue
    assert wrong < 1e-6


def test_random_replacements_are_uniform_over_normal_tokens(masked):
    _, batch = masked
    drawn = batch.token_ids[batch.replacement == RANDOM]
    assert not np.isin(drawn, SPECIAL).any()
    counts = np.bincount(drawn, minlength=VOCAB)[5:]
    assert stats.chisquare(counts).pvalue > 1e-3


def test_chosen_positions_are_uniform_over_eligible_positions():
    length = 12
    ids = np.tile(np.r_[CLS, np.arange(5, 5 + length - 2), SEP], (20000, 1))
    batch = mask_tokens(ids, np.random.default_rng(2), vocab_size=VOCAB, mask_id=MASK, special_ids=SPECIAL)
    per_position = batch.weights.sum(axis=0)
    assert per_position[0] == 0 and per_position[-1] == 0
    assert stats.chisquare(per_position[1:-1]).pvalue > 1e-3


def test_one_dimensional_input_and_custom_fractions():
    ids = np.r_[CLS, np.arange(5, 45), SEP]
    batch = mask_tokens(ids, np.random.default_rng(3), vocab_size=VOCAB, mask_id=MASK, special_ids=SPECIAL,
                        rate=0.5, mask_fraction=1.0, random_fraction=0.0)
    assert batch.token_ids.shape == ids.shape and batch.weights.sum() == 20
    assert (batch.token_ids[batch.weights == 1] == MASK).all()


def test_masking_errors():
    ids = np.array([[CLS, 7, SEP]])
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="rate must be in"):
        mask_tokens(ids, rng, vocab_size=VOCAB, mask_id=MASK, special_ids=SPECIAL, rate=0.0)
    with pytest.raises(ValueError, match="sum to at most 1"):
        mask_tokens(ids, rng, vocab_size=VOCAB, mask_id=MASK, special_ids=SPECIAL, mask_fraction=0.9,
                    random_fraction=0.2)
    with pytest.raises(ValueError, match=r"must be in \[0, 50\)"):
        mask_tokens(np.array([[CLS, 99]]), rng, vocab_size=VOCAB, mask_id=MASK, special_ids=SPECIAL)
    with pytest.raises(ValueError, match="no token to draw"):
        mask_tokens(np.array([[0, 1]]), rng, vocab_size=2, mask_id=1, special_ids=[0])
    with pytest.raises(TypeError, match="default_rng"):
        mask_tokens(ids, 0, vocab_size=VOCAB, mask_id=MASK, special_ids=SPECIAL)


def _documents(rng, count=300):
    return [[f"doc{d} sentence{i}" for i in range(rng.integers(1, 12))] for d in range(count)]


def test_nsp_half_real_next_sentences():
    documents = _documents(np.random.default_rng(4))
    pairs = make_nsp_pairs(documents, np.random.default_rng(5))
    assert len(pairs) == sum(len(d) - 1 for d in documents)
    real = sum(p.is_next for p in pairs)
    assert stats.binomtest(real, len(pairs), 0.5).pvalue > 1e-3
    assert stats.binomtest(real, len(pairs), 0.6).pvalue < 1e-6      # the test can tell 50 % from 60 %
    for pair in pairs:
        d, i = pair.first.split()
        if pair.is_next:
            assert pair.second == f"{d} sentence{int(i[8:]) + 1}"
        else:
            assert not pair.second.startswith(d + " ") and pair.other_document != pair.document
            assert pair.second in documents[pair.other_document]


def test_nsp_other_documents_are_uniform():
    documents = [[f"d{d}s{i}" for i in range(3)] for d in range(6)]
    pairs = make_nsp_pairs(documents, np.random.default_rng(6), next_fraction=0.0)
    others = np.bincount([p.other_document for p in pairs], minlength=6)
    assert len(pairs) == 12 and all(p.is_next == 0 for p in pairs)
    many = [p.other_document for _ in range(300) for p in make_nsp_pairs(documents, np.random.default_rng(_), 0.0)]
    assert stats.chisquare(np.bincount(many, minlength=6)).pvalue > 1e-3
    assert others.sum() == 12


def test_nsp_errors():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="two non-empty documents"):
        make_nsp_pairs([["a", "b"], []], rng)
    with pytest.raises(ValueError, match="split documents into sentences"):
        make_nsp_pairs([["a"], ["b"]], rng)
    with pytest.raises(ValueError, match="next_fraction"):
        make_nsp_pairs([["a", "b"], ["c"]], rng, next_fraction=1.5)
    with pytest.raises(TypeError, match="default_rng"):
        make_nsp_pairs([["a", "b"], ["c"]], 1)


def test_gather_predictions(masked):
    from llmbook.training.pretraining import gather_predictions

    ids, batch = masked
    positions, labels, weights = gather_predictions(batch, max_predictions=4)
    assert positions.shape == labels.shape == weights.shape == (len(ids), 4)
    np.testing.assert_array_equal(weights.sum(axis=1), batch.weights.sum(axis=1))
    rows = np.arange(len(ids))[:, None]
    np.testing.assert_array_equal(labels * weights, ids[rows, positions] * weights)
    assert (batch.weights[rows, positions][weights == 1] == 1).all()
    with pytest.raises(ValueError, match="raise max_predictions"):
        gather_predictions(batch, max_predictions=1)
