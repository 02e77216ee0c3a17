"""llmbook.models.classifier: the n-gram vocabulary and the fastText-style bag-of-n-grams classifier."""

import keras
import numpy as np
import pytest

from llmbook.models.classifier import BagOfNgramsClassifier, NgramVocabulary
from tests._backend import to_numpy


def toy_task(n=200, seed=0):
    """Texts of random filler words with one cue word that decides the label."""
    rng = np.random.default_rng(seed)
    filler = [f"w{i}" for i in range(30)]
    texts, labels = [], []
    for _ in range(n):
        label = int(rng.integers(2))
        words = list(rng.choice(filler, size=6))
        words.insert(int(rng.integers(7)), "good" if label else "bad")
        texts.append(words)
        labels.append(label)
    return texts, np.array(labels)


def test_vocabulary_counts_ngrams_like_brute_force():
    texts = [list("很好很好"), list("很差")]
    vocabulary = NgramVocabulary.build(texts, ngram_range=(1, 2), min_count=2)
    # unigrams: 很 x3, 好 x2, 差 x1; bigrams: 很好 x2, 好很 x1, 很差 x1
    assert set(vocabulary.ngrams) == {("很",), ("好",), ("很", "好")}
    assert vocabulary.ngrams[0] == ("很",) and len(vocabulary) == 4
    ids = vocabulary.encode([list("很好"), list("差")], max_length=5)
    assert ids.dtype == np.int32 and ids.shape == (2, 5)
    expected_first = sorted([vocabulary.index[("很",)], vocabulary.index[("好",)], vocabulary.index[("很", "好")]])
    assert sorted(ids[0][ids[0] > 0].tolist()) == expected_first
    assert (ids[1] == 0).all()
    assert (vocabulary.encode([list("很好很好")], max_length=2) > 0).sum() == 2


def test_padding_is_left_out_of_the_mean():
    model = BagOfNgramsClassifier(vocabulary_size=12, embedding_dim=5, seed=0)
    ids = np.array([[3, 4, 0, 0], [5, 0, 0, 0]], dtype="int32")
    mean = to_numpy(model.mean_embedding(ids))
    table = to_numpy(model.embedding.embeddings)
    np.testing.assert_allclose(mean[0], table[[3, 4]].mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(mean[1], table[5], rtol=1e-6)
    shorter = to_numpy(model(ids[:, :2]))
    np.testing.assert_allclose(to_numpy(model(ids)), shorter, rtol=1e-6, atol=1e-7)
    empty = to_numpy(model.mean_embedding(np.zeros((1, 4), "int32")))
    assert np.all(empty == 0)


def test_learns_a_separable_toy_task():
    keras.utils.set_random_seed(0)
    texts, labels = toy_task(300, seed=0)
    vocabulary = NgramVocabulary.build(texts, ngram_range=(1, 1), min_count=1)
    ids = vocabulary.encode(texts, max_length=8)
    model = BagOfNgramsClassifier(len(vocabulary), embedding_dim=8, seed=0)
    model.compile(optimizer=keras.optimizers.Adam(0.05),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(ids, labels, epochs=15, batch_size=32, verbose=0)
    test_texts, test_labels = toy_task(200, seed=1)
    predicted = to_numpy(model.predict(vocabulary.encode(test_texts, max_length=8), verbose=0)).argmax(-1)
    assert np.mean(predicted == test_labels) > 0.95


def test_save_and_load_round_trip(tmp_path):
    model = BagOfNgramsClassifier(vocabulary_size=20, num_classes=3, embedding_dim=4, dropout=0.2, seed=3)
    ids = np.array([[1, 5, 7, 0], [19, 2, 0, 0]], dtype="int32")
    before = to_numpy(model(ids))
    path = tmp_path / "classifier.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, BagOfNgramsClassifier)
    assert loaded.get_config()["num_classes"] == 3 and loaded.get_config()["dropout"] == 0.2
    np.testing.assert_allclose(to_numpy(loaded(ids)), before, rtol=1e-6)
    clone = BagOfNgramsClassifier.from_config(model.get_config())
    assert clone.vocabulary_size == 20 and clone.seed == 3


@pytest.mark.parametrize("options, message", [
    (dict(vocabulary_size=1), "vocabulary_size"),
    (dict(vocabulary_size=10, num_classes=1), "num_classes"),
    (dict(vocabulary_size=10, embedding_dim=0), "embedding_dim"),
    (dict(vocabulary_size=10, dropout=1.0), "dropout"),
    (dict(vocabulary_size=10.0), "vocabulary_size"),
])
def test_bad_sizes_are_refused(options, message):
    with pytest.raises(ValueError, match=message):
        BagOfNgramsClassifier(**options)


def test_bad_ids_and_texts_are_refused():
    model = BagOfNgramsClassifier(vocabulary_size=10)
    with pytest.raises(ValueError, match="2-D"):
        model(np.array([1, 2, 3], dtype="int32"))
    with pytest.raises(TypeError, match="list of token lists"):
        NgramVocabulary.build("很好")
    with pytest.raises(TypeError, match=r"list\(text\)"):
        NgramVocabulary.build(["很好", "很差"])
    with pytest.raises(ValueError, match="min_count"):
        NgramVocabulary.build([["a"]], min_count=2)
    with pytest.raises(ValueError, match="shortest <= longest"):
        NgramVocabulary.build([["a"]], ngram_range=(3, 1), min_count=1)
    vocabulary = NgramVocabulary.build([["a", "b"]], min_count=1)
    with pytest.raises(ValueError, match="max_length"):
        vocabulary.encode([["a"]], max_length=0)
