"""llmbook.text.vocabulary against brute-force counting, and its errors."""

from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmbook.text.vocabulary import Vocabulary

SENTENCES = [["to", "be", "or", "not", "to", "be"], ["that", "is", "the", "question"], ["to", "die", "to", "sleep"]]
TOKEN_LISTS = st.lists(st.lists(st.sampled_from(["a", "b", "c", "d", "e", "<x>", "é", "编程"]), max_size=8),
                       min_size=1, max_size=6).filter(lambda seqs: any(seqs))


def test_build_orders_by_count_then_alphabet():
    vocab = Vocabulary.build(SENTENCES)
    assert vocab.tokens[:4] == ("<pad>", "<unk>", "to", "be")
    assert vocab.tokens[4:] == tuple(sorted(vocab.tokens[4:]))  # the rest occur once: alphabetical
    assert vocab.counts == Counter(t for s in SENTENCES for t in s)


@settings(max_examples=100, deadline=None)
@given(sequences=TOKEN_LISTS, min_count=st.integers(1, 3), max_size=st.one_of(st.none(), st.integers(3, 8)))
def test_build_matches_brute_force(sequences, min_count, max_size):
    counts = Counter(t for s in sequences for t in s)
    expected = [t for t, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])) if n >= min_count]
    if max_size is not None:
        expected = expected[: max_size - 2]
    vocab = Vocabulary.build(sequences, min_count=min_count, max_size=max_size)
    assert list(vocab.tokens[2:]) == expected
    flat = [t for s in sequences for t in s]
    assert vocab.oov_rate(sequences) == pytest.approx(sum(t not in expected for t in flat) / len(flat))
    for sequence in sequences:
        ids = vocab.encode(sequence)
        assert vocab.decode(ids) == [t if t in expected else "<unk>" for t in sequence]


def test_unknown_tokens_and_padding():
    vocab = Vocabulary.build(SENTENCES, min_count=2)
    assert vocab.tokens == ("<pad>", "<unk>", "to", "be")
    assert vocab.encode(["to", "sleep"]) == [2, 1] and vocab["sleep"] == vocab.unk_id
    assert "to" in vocab and "sleep" not in vocab
    batch = vocab.encode_batch([["to", "be", "or"], ["be"]])
    np.testing.assert_array_equal(batch, [[2, 3, 1], [3, 0, 0]])
    assert batch.dtype == np.int64
    np.testing.assert_array_equal(vocab.encode_batch([["to", "be", "to"]], length=2), [[2, 3]])
    assert vocab.decode([2, 3, 0, 0]) == ["to", "be"]
    assert vocab.decode([2, 0], skip_padding=False) == ["to", "<pad>"]


def test_custom_special_tokens():
    vocab = Vocabulary(["a", "b"], pad_token="[PAD]", unk_token="[UNK]")
    assert vocab.tokens == ("[PAD]", "[UNK]", "a", "b") and vocab.encode(["z"]) == [1]


def test_errors():
    with pytest.raises(ValueError, match="no tokens to build a vocabulary"):
        Vocabulary.build([[], []])
    with pytest.raises(TypeError, match="not a string"):
        Vocabulary.build("to be or not")
    with pytest.raises(TypeError, match="not a list of strings"):
        Vocabulary.build(["to be", "or not"])
    with pytest.raises(ValueError, match="min_count must be a positive integer"):
        Vocabulary.build(SENTENCES, min_count=0)
    with pytest.raises(ValueError, match=r"max_size \(<pad>, <unk> and at least one token\) must be an integer >= 3"):
        Vocabulary.build(SENTENCES, max_size=2)
    with pytest.raises(ValueError, match="must be unique"):
        Vocabulary(["a", "b", "a"])
    with pytest.raises(ValueError, match="must be unique"):
        Vocabulary(["a", "<unk>"])
    with pytest.raises(ValueError, match="must differ"):
        Vocabulary(["a"], pad_token="<x>", unk_token="<x>")
    with pytest.raises(TypeError, match="tokens must be strings"):
        Vocabulary(["a", 3])
    vocab = Vocabulary(["a"])
    with pytest.raises(TypeError, match="tokenize the text first"):
        vocab.encode("a b")
    with pytest.raises(ValueError, match="id 7 is outside the vocabulary"):
        vocab.decode([7])
    with pytest.raises(ValueError, match="length must be a positive integer"):
        vocab.encode_batch([["a"]], length=0)
    with pytest.raises(ValueError, match="no tokens to measure"):
        vocab.oov_rate([[]])
