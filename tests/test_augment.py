"""Text augmentation (llmbook.text.augment) and the Ding round-trip lexicon (llmbook.data.ding_round_trip)."""

from collections import Counter

import numpy as np
import pytest

from llmbook.data import ding
from llmbook.text import augment as aug

SENTENCE = "the film is good but the plot is thin and slow".split()
NEIGHBOURS = {"good": ["fine", "great"], "film": ["movie"], "slow": ["sluggish", "dull"], "thin": []}
needs_ding = pytest.mark.skipif(not ding.DICT_PATH.exists(), reason="needs the Debian package dict-de-en")


def test_deletion_never_empties_and_keeps_order():
    for seed in range(200):
        for tokens in (SENTENCE, ["a", "b"], ["one"]):
            out = aug.random_deletion(tokens, 1.0 if seed % 2 else 0.7, seed)
            assert 1 <= len(out) <= len(tokens)
            positions = iter(range(len(tokens)))
            assert all(any(tokens[i] == t for i in positions) for t in out)  # a subsequence, in order
    assert aug.random_deletion(SENTENCE, 0.0, 0) == SENTENCE
    assert aug.random_deletion([], 0.5, 0) == []
    # with p = 0.5 about half the tokens go
    kept = [len(aug.random_deletion(SENTENCE * 10, 0.5, s)) for s in range(50)]
    assert 0.4 < np.mean(kept) / 110 < 0.6


def test_swap_keeps_the_multiset_and_changes_order():
    changed = 0
    for seed in range(100):
        out = aug.random_swap(SENTENCE, 2, seed)
        assert Counter(out) == Counter(SENTENCE)
        changed += out != SENTENCE
    assert changed > 80  # two swaps of distinct positions rarely restore the sentence
    assert aug.random_swap(["x"], 3, 0) == ["x"]
    assert aug.random_swap(SENTENCE, 0, 0) == SENTENCE


def test_synonym_replacement_only_substitutes_words_with_neighbours():
    for seed in range(100):
        out = aug.synonym_replacement(SENTENCE, NEIGHBOURS, 2, seed)
        assert len(out) == len(SENTENCE)
        differ = [(a, b) for a, b in zip(SENTENCE, out) if a != b]
        assert 1 <= len(differ) <= 2
        assert all(b in NEIGHBOURS[a] for a, b in differ)
    # n larger than the candidates: every word that has neighbours is replaced, nothing else
    out = aug.synonym_replacement(SENTENCE, NEIGHBOURS, 50, 0)
    assert [a != b for a, b in zip(SENTENCE, out)] == [t in ("good", "film", "slow") for t in SENTENCE]
    assert aug.synonym_replacement(["no", "match"], NEIGHBOURS, 3, 0) == ["no", "match"]


def test_insertion_inserts_neighbours_only():
    for seed in range(50):
        out = aug.random_insertion(SENTENCE, NEIGHBOURS, 3, seed)
        assert len(out) == len(SENTENCE) + 3
        extra = Counter(out) - Counter(SENTENCE)
        allowed = {w for v in NEIGHBOURS.values() for w in v}
        assert sum(extra.values()) == 3 and set(extra) <= allowed
    assert aug.random_insertion(["no", "match"], NEIGHBOURS, 2, 0) == ["no", "match"]


def test_same_seed_same_output_and_input_untouched():
    original = list(SENTENCE)
    for op in aug.EDA_OPERATIONS:
        a = [aug.eda(SENTENCE, NEIGHBOURS, 0.3, np.random.default_rng(7), (op,)) for _ in range(3)]
        assert a[0] == a[1] == a[2]
    runs = {tuple(aug.eda(SENTENCE, NEIGHBOURS, 0.3, seed)) for seed in range(30)}
    assert len(runs) > 10  # different seeds, different copies
    assert SENTENCE == original


def test_edit_count_follows_eda():
    assert aug.edit_count(11, 0.1) == 1 and aug.edit_count(30, 0.1) == 3 and aug.edit_count(3, 0.1) == 1
    assert aug.edit_count(10, 0.0) == 0 and aug.edit_count(0, 0.5) == 0


def test_eda_applies_one_operation():
    rng = np.random.default_rng(0)
    for _ in range(100):
        out = aug.eda(SENTENCE, NEIGHBOURS, 0.1, rng)
        same_length = len(out) == len(SENTENCE)
        swapped = Counter(out) == Counter(SENTENCE)
        replaced = same_length and all(a == b or b in NEIGHBOURS.get(a, ()) for a, b in zip(SENTENCE, out))
        assert swapped or replaced or len(out) == len(SENTENCE) + 1 or len(out) < len(SENTENCE)


def test_back_translate():
    forward = {"good": ["gut", "brav"], "film": ["Film"], "bad": ["schlimm"]}
    backward = {"gut": "good", "brav": "well behaved", "Film": "film"}
    outs = {tuple(aug.back_translate(["a", "good", "film", "bad"], forward, backward, s)) for s in range(20)}
    assert outs == {("a", "good", "film", "bad"), ("a", "well", "behaved", "film", "bad")}
    with pytest.raises(ValueError, match="empty"):
        aug.back_translate(["a"], {}, backward, 0)


def test_augmented_copies():
    examples = [["a", "b", "c"], ["d", "e"]]
    tokens, labels = aug.augmented_copies(examples, [1, 0], 3, lambda t, r: aug.random_swap(t, 1, r), 0)
    assert len(tokens) == 8 and labels.tolist() == [1, 0, 1, 1, 1, 0, 0, 0]
    assert tokens[:2] == examples
    assert all(Counter(t) == Counter(examples[0]) for t in tokens[2:5])
    again, _ = aug.augmented_copies(examples, [1, 0], 3, lambda t, r: aug.random_swap(t, 1, r), 0)
    assert again == tokens
    assert aug.augmented_copies(examples, [1, 0], 0, lambda t, r: t, 0)[0] == examples


@pytest.mark.parametrize("call, error, words", [
    (lambda: aug.eda(SENTENCE, NEIGHBOURS, 1.5, 0), ValueError, "alpha"),
    (lambda: aug.eda(SENTENCE, NEIGHBOURS, -0.1, 0), ValueError, "alpha"),
    (lambda: aug.random_deletion(SENTENCE, 2, 0), ValueError, "p must"),
    (lambda: aug.augmented_copies([["a"]], [1], -1, lambda t, r: t, 0), ValueError, "k must"),
    (lambda: aug.augmented_copies([["a"]], [1, 0], 1, lambda t, r: t, 0), ValueError, "one label each"),
    (lambda: aug.synonym_replacement(SENTENCE, {}, 1, 0), ValueError, "neighbours is empty"),
    (lambda: aug.synonym_replacement(SENTENCE, {"a": []}, 1, 0), ValueError, "neighbours is empty"),
    (lambda: aug.random_swap(SENTENCE, -1, 0), ValueError, "n must"),
    (lambda: aug.random_swap("a sentence", 1, 0), TypeError, "split the text"),
    (lambda: aug.random_swap(SENTENCE, 1, "seed"), TypeError, "default_rng"),
    (lambda: aug.eda(SENTENCE, None, 0.1, 0), ValueError, "need neighbours"),
    (lambda: aug.eda(SENTENCE, None, 0.1, 0, ("shuffle",)), ValueError, "subset"),
])
def test_bad_input_names_the_problem(call, error, words):
    with pytest.raises(error, match=words):
        call()


@needs_ding
def test_ding_round_trip_agrees_with_load_ding_words():
    from llmbook.data.ding_round_trip import load_ding_round_trip

    words = {"good", "bad", "film", "funny", "and", "zzzqx"}
    lexicon = load_ding_round_trip(words)
    assert "zzzqx" not in lexicon.english_to_german
    assert lexicon.english_to_german["good"][0] == "gut" and lexicon.round_trip("good")[0] == "good"
    assert all(1 <= len(g) <= 3 for g in lexicon.english_to_german.values())
    # every German candidate has a word entry that lists the English word as a whole alternative,
    # and its translation back is one of that German word's own alternatives
    alternatives: dict[str, set[str]] = {}
    for entry in ding.word_entries():
        alternatives.setdefault(entry.german, set()).update(a.lower() for a in entry.alternatives)
    for english, germans in lexicon.english_to_german.items():
        assert all(english in alternatives[g] for g in germans), english
    assert all(back in alternatives[g] for g, back in lexicon.german_to_english.items())
    assert set(lexicon.german_to_english) == {g for gs in lexicon.english_to_german.values() for g in gs}
    with pytest.raises(ValueError, match="vocabulary is empty"):
        load_ding_round_trip([])
    with pytest.raises(TypeError, match="not one string"):
        load_ding_round_trip("good")
