"""llmbook.text.vocabulary against brute-force counting and gensim's vocabulary, in both of its
configurations (specials and alphabetical ties; no specials and first-occurrence ties), and its errors."""

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
    assert vocab.counts.tolist() == [0, 0, 4, 2] + [1] * 8 and vocab.total_tokens == 14
    assert (vocab.pad_id, vocab.unk_id) == (0, 1)


def _is_ordered(tokens, counts, ties, flat):
    """Each token is at least as frequent as the next; equal counts are in alphabetical or first-seen order."""
    for a, b in zip(tokens, tokens[1:]):
        if counts[a] < counts[b]:
            return False
        if counts[a] == counts[b] and not (a < b if ties == "alphabetical" else flat.index(a) < flat.index(b)):
            return False
    return True


@settings(max_examples=100, deadline=None)
@given(sequences=TOKEN_LISTS, min_count=st.integers(1, 3), max_size=st.one_of(st.none(), st.integers(3, 8)),
       ties=st.sampled_from(["alphabetical", "first_occurrence"]), specials=st.sampled_from([("<pad>", "<unk>"), ()]))
def test_build_matches_brute_force(sequences, min_count, max_size, ties, specials):
    flat = [t for s in sequences for t in s]
    counts = Counter(flat)
    frequent = {t for t, n in counts.items() if n >= min_count}
    if not frequent:
        with pytest.raises(ValueError, match="no token occurs at least min_count"):
            Vocabulary.build(sequences, min_count=min_count, specials=specials)
        return
    vocab = Vocabulary.build(sequences, min_count=min_count, max_size=max_size, ties=ties, specials=specials)
    kept = vocab.tokens[len(specials):]
    assert vocab.tokens[:len(specials)] == specials
    assert _is_ordered(kept, counts, ties, flat)
    # The kept tokens are the most frequent ones: every frequent token left out is no more frequent.
    assert set(kept) <= frequent and len(kept) == min(len(frequent), (max_size or 99) - len(specials))
    assert all(counts[t] <= counts[kept[-1]] for t in frequent - set(kept))
    assert vocab.counts.tolist() == [0] * len(specials) + [counts[t] for t in kept]
    assert vocab.total_tokens == len(flat)
    assert vocab.oov_rate(sequences) == pytest.approx(sum(t not in kept for t in flat) / len(flat))
    for sequence in sequences:
        if specials:
            assert vocab.decode(vocab.encode(sequence)) == [t if t in kept else "<unk>" for t in sequence]
        assert vocab.decode(vocab.encode(sequence, unknown="drop")) == [t for t in sequence if t in kept]


def test_word2vec_configuration_counts_like_gensim():
    gensim = pytest.importorskip("gensim")
    rng = np.random.default_rng(3)
    words = [f"w{i}" for i in range(60)]
    sentences = [list(rng.choice(words, size=20)) for _ in range(30)]  # uniform: many tied counts
    model = gensim.models.Word2Vec(vector_size=4, min_count=3, sample=0, workers=1)
    model.build_vocab(sentences)
    vocab = Vocabulary.build(sentences, min_count=3, specials=(), ties="first_occurrence")
    # The same words and counts; gensim orders ties by numpy's argsort, so only the counts' order agrees.
    assert set(vocab.tokens) == set(model.wv.index_to_key) and len(vocab) == len(model.wv.index_to_key)
    assert vocab.counts.tolist() == [model.wv.get_vecattr(w, "count") for w in vocab.tokens]
    assert vocab.counts.tolist() == [model.wv.get_vecattr(w, "count") for w in model.wv.index_to_key]


def test_no_specials_ids_first_occurrence_ties_and_corpus_encoding():
    sentences = [["b", "a", "b", "c"], ["a", "b", "d"]]
    vocab = Vocabulary.build(sentences, min_count=2, specials=(), ties="first_occurrence")
    assert vocab.tokens == ("b", "a") and vocab.counts.tolist() == [3, 2] and vocab.total_tokens == 7
    assert vocab.pad_id is None and vocab.unk_id is None and vocab["a"] == 1
    ids, sentence_ids = vocab.encode_corpus(sentences)
    assert ids.tolist() == [0, 1, 0, 1, 0] and sentence_ids.tolist() == [0, 0, 0, 1, 1]
    assert ids.dtype == sentence_ids.dtype == np.int32
    assert Vocabulary.build([["x", "y", "z", "y", "x", "z"]], specials=(), ties="first_occurrence").tokens == (
        "x", "y", "z")
    assert Vocabulary.build([["x", "y", "z", "y", "x", "z"]], specials=()).tokens == ("x", "y", "z")
    assert Vocabulary.build([["z", "y", "x", "y", "x", "z"]], specials=()).tokens == ("x", "y", "z")
    with pytest.raises(KeyError, match="'c' is not in the vocabulary"):
        vocab["c"]
    with pytest.raises(KeyError, match="'c' is not in the vocabulary"):
        vocab.encode(["a", "c"])
    with pytest.raises(ValueError, match="no unk_token"):
        vocab.encode(["a"], unknown="unk")
    with pytest.raises(ValueError, match="no pad_token"):
        vocab.encode_batch([["a"]])


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
    vocab = Vocabulary(["a", "b"], specials=("[PAD]", "[UNK]"), pad_token="[PAD]", unk_token="[UNK]")
    assert vocab.tokens == ("[PAD]", "[UNK]", "a", "b") and vocab.encode(["z"]) == [1]
    vocab = Vocabulary.build([["<s>", "a", "</s>"]], specials=("<pad>", "<unk>", "<s>", "</s>"))
    assert vocab.tokens == ("<pad>", "<unk>", "<s>", "</s>", "a") and (vocab.pad_id, vocab.unk_id) == (0, 1)
    assert vocab.encode(["<s>", "b"]) == [2, 1] and vocab.counts.tolist() == [0, 0, 0, 0, 1]
    assert vocab.encode(["<s>", "b"], unknown="drop") == [2]
    unk_only = Vocabulary(["a"], specials=("<unk>",))
    assert unk_only.pad_id is None and unk_only.encode(["q"]) == [0] and unk_only.decode([0, 1]) == ["<unk>", "a"]


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
    with pytest.raises(ValueError, match="max_size must be a positive integer"):
        Vocabulary.build(SENTENCES, max_size=0, specials=())
    with pytest.raises(ValueError, match="no token occurs at least min_count=5"):
        Vocabulary.build(SENTENCES, min_count=5)
    with pytest.raises(ValueError, match="ties must be one of alphabetical, first_occurrence"):
        Vocabulary.build(SENTENCES, ties="random")
    with pytest.raises(TypeError, match="specials must be a list"):
        Vocabulary.build(SENTENCES, specials="<pad>")
    with pytest.raises(ValueError, match="pad_token '\\[PAD\\]' is not one of the specials"):
        Vocabulary(["a"], pad_token="[PAD]")
    with pytest.raises(ValueError, match="must be unique"):
        Vocabulary(["a", "b", "a"])
    with pytest.raises(ValueError, match="must be unique"):
        Vocabulary(["a", "<unk>"])
    with pytest.raises(ValueError, match="must differ"):
        Vocabulary(["a"], specials=("<x>",), pad_token="<x>", unk_token="<x>")
    with pytest.raises(TypeError, match="tokens must be strings"):
        Vocabulary(["a", 3])
    vocab = Vocabulary(["a"])
    with pytest.raises(TypeError, match="tokenize the text first"):
        vocab.encode("a b")
    with pytest.raises(ValueError, match="unknown must be one of unk, error, drop"):
        vocab.encode(["a"], unknown="skip")
    with pytest.raises(KeyError, match="'b' is not in the vocabulary"):
        vocab.encode(["a", "b"], unknown="error")
    with pytest.raises(ValueError, match="id 7 is outside the vocabulary"):
        vocab.decode([7])
    with pytest.raises(ValueError, match="length must be a positive integer"):
        vocab.encode_batch([["a"]], length=0)
    with pytest.raises(ValueError, match="no tokens to measure"):
        vocab.oov_rate([[]])
