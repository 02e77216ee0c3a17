"""llmbook.embeddings, numpy side: subsampling, noise distribution, windows, vectors, evaluation."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from llmbook.data import SimilarityPair, SimilaritySet
from llmbook.data.gensim_data import AnalogyQuestion, AnalogySet
from llmbook.embeddings import (WordVectors, cbow_windows, evaluate_analogies, evaluate_similarity, keep_probabilities,
                                negative_table, skipgram_pairs, spearman, spearman_interval, subsample,
                                unigram_distribution, weat)
from llmbook.text import Vocabulary

gensim = pytest.importorskip("gensim")


# ------------------------------------------------------------------------------------------ subsampling
def test_keep_probabilities_match_gensim():
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(200)]
    weights = 1.0 / np.arange(1, 201)
    sentences = [list(rng.choice(words, size=50, p=weights / weights.sum())) for _ in range(400)]
    vocabulary = Vocabulary.build(sentences, specials=(), ties="first_occurrence")
    ours = keep_probabilities(vocabulary.counts, sample=1e-3)
    model = gensim.models.Word2Vec(vector_size=4, min_count=1, sample=1e-3, workers=1)
    model.build_vocab(sentences)
    theirs = np.array([model.wv.get_vecattr(w, "sample_int") / 2**32 for w in vocabulary.tokens])
    np.testing.assert_allclose(ours, theirs, atol=1e-9)
    assert ours[0] < 0.5 and ours[-1] == 1.0  # the most frequent word is discarded often, rare ones never


def test_subsampling_keeps_each_word_at_its_probability():
    rng = np.random.default_rng(1)
    keep = np.array([0.1, 0.5, 0.9, 1.0])
    ids = np.repeat(np.arange(4), 20_000)
    kept = subsample(ids, keep, rng)
    for word, p in enumerate(keep):
        observed = kept[ids == word].mean()
        sigma = np.sqrt(p * (1 - p) / 20_000)
        assert abs(observed - p) <= 5 * sigma + 1e-12, (word, observed, p)


def test_keep_probabilities_errors_and_no_subsampling():
    assert keep_probabilities(np.array([5, 1]), sample=0).tolist() == [1.0, 1.0]
    with pytest.raises(ValueError, match="sample"):
        keep_probabilities(np.array([1]), sample=-1)
    with pytest.raises(ValueError, match="positive"):
        keep_probabilities(np.array([0, 1]))


# ------------------------------------------------------------------------------------------ noise words
def test_negative_table_follows_unigram_to_the_075():
    counts = np.array([1000, 300, 50, 10, 1])
    expected = counts ** 0.75 / (counts ** 0.75).sum()
    np.testing.assert_allclose(unigram_distribution(counts), expected)
    table = negative_table(counts, size=100_000)
    np.testing.assert_allclose(np.bincount(table, minlength=5) / len(table), expected, atol=1e-5)
    # Draws from the table: a chi-square goodness-of-fit test at a fixed seed.
    draws = table[np.random.default_rng(2).integers(0, len(table), 200_000)]
    observed = np.bincount(draws, minlength=5)
    chi2 = ((observed - 200_000 * expected) ** 2 / (200_000 * expected)).sum()
    assert chi2 < 18.5  # the 0.999 quantile of chi-square with 4 degrees of freedom
    # ... and the power matters: frequent words are drawn less often than their raw share.
    assert observed[0] / 200_000 < counts[0] / counts.sum()


def test_negative_table_too_small():
    with pytest.raises(ValueError, match="at least the vocabulary size"):
        negative_table(np.ones(10), size=5)


# ------------------------------------------------------------------------------------------ windows
def brute_force_pairs(ids, sentence_ids, sizes):
    pairs = []
    for i in range(len(ids)):
        for j in range(i - sizes[i], i + sizes[i] + 1):
            if j != i and 0 <= j < len(ids) and sentence_ids[j] == sentence_ids[i]:
                pairs.append((ids[i], ids[j]))
    return pairs


def test_skipgram_pairs_against_brute_force():
    rng = np.random.default_rng(3)
    ids = rng.integers(0, 50, 300).astype(np.int32)
    sentence_ids = np.sort(rng.integers(0, 12, 300))
    centres, contexts = skipgram_pairs(ids, sentence_ids, 3, rng, dynamic=False)
    assert Counter(zip(centres.tolist(), contexts.tolist())) == Counter(
        brute_force_pairs(ids.tolist(), sentence_ids, [3] * 300))
    # Dynamic windows: the same draws as the function makes (one integers() call per corpus).
    centres, contexts = skipgram_pairs(ids, sentence_ids, 4, np.random.default_rng(9))
    sizes = np.random.default_rng(9).integers(1, 5, size=300)
    assert list(zip(centres.tolist(), contexts.tolist())) == brute_force_pairs(ids.tolist(), sentence_ids, sizes)


def test_dynamic_window_distance_distribution():
    rng = np.random.default_rng(4)
    n, window = 50_000, 5
    ids = np.arange(n, dtype=np.int32)  # ids are positions, so a pair's distance is |centre - context|
    centres, contexts = skipgram_pairs(ids, np.zeros(n), window, rng)
    share = np.bincount(np.abs(centres - contexts), minlength=window + 1)[1:] / (2 * n)
    expected = (window - np.arange(1, window + 1) + 1) / window  # P(size >= d)
    np.testing.assert_allclose(share, expected, atol=0.01)


def test_cbow_windows_against_brute_force():
    rng = np.random.default_rng(5)
    ids = rng.integers(0, 40, 200).astype(np.int32)
    sentence_ids = np.sort(rng.integers(0, 8, 200))
    sizes = np.random.default_rng(6).integers(1, 4, size=200)
    centres, contexts = cbow_windows(ids, sentence_ids, 3, np.random.default_rng(6))
    expected = []
    for i in range(200):
        context = [ids[j] for j in range(i - sizes[i], i + sizes[i] + 1)
                   if j != i and 0 <= j < 200 and sentence_ids[j] == sentence_ids[i]]
        if context:
            expected.append((ids[i], sorted(context)))
    got = [(c, sorted(x for x in row if x >= 0)) for c, row in zip(centres.tolist(), contexts.tolist())]
    assert got == expected
    assert contexts.shape[1] == 6


def test_windows_reject_bad_input():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="window"):
        skipgram_pairs(np.arange(5), np.zeros(5), 0, rng)
    with pytest.raises(ValueError, match="differ in shape"):
        cbow_windows(np.arange(5), np.zeros(4), 2, rng)


# ------------------------------------------------------------------------------------------ vectors
@pytest.fixture
def random_vectors():
    rng = np.random.default_rng(7)
    return WordVectors([f"w{i}" for i in range(300)], rng.normal(size=(300, 16)).astype(np.float32))


def test_most_similar_and_analogy_match_gensim(random_vectors):
    keyed = gensim.models.KeyedVectors(16)
    keyed.add_vectors(list(random_vectors.words), random_vectors.vectors)
    ours = random_vectors.most_similar("w3", topn=5)
    theirs = keyed.most_similar("w3", topn=5)
    assert [w for w, _ in ours] == [w for w, _ in theirs]
    np.testing.assert_allclose([s for _, s in ours], [s for _, s in theirs], rtol=1e-5)
    assert random_vectors.analogy("w1", "w2", "w3")[0][0] == keyed.most_similar(
        positive=["w2", "w3"], negative=["w1"], topn=1)[0][0]
    assert random_vectors.analogy("w1", "w2", "w3", method="3cosmul")[0][0] == keyed.most_similar_cosmul(
        positive=["w2", "w3"], negative=["w1"], topn=1)[0][0]
    assert random_vectors.similarity("w1", "w2") == pytest.approx(float(keyed.similarity("w1", "w2")), rel=1e-5)


def test_vectors_errors(random_vectors):
    with pytest.raises(KeyError, match="'nope' is not in the vocabulary"):
        random_vectors.most_similar("nope")
    with pytest.raises(KeyError, match="not in the vocabulary"):
        random_vectors.analogy("w1", "w2", "nope")
    with pytest.raises(ValueError, match="method"):
        random_vectors.analogy("w1", "w2", "w3", method="cos")
    with pytest.raises(ValueError, match="no words"):
        WordVectors([], np.zeros((0, 3)))
    with pytest.raises(ValueError, match="shape"):
        WordVectors(["a"], np.zeros((2, 3)))


def test_save_load_round_trip(tmp_path: Path, random_vectors):
    random_vectors.save(tmp_path / "v.npz")
    loaded = WordVectors.load(tmp_path / "v.npz")
    assert loaded.words == random_vectors.words
    np.testing.assert_array_equal(loaded.vectors, random_vectors.vectors)
    with pytest.raises(FileNotFoundError):
        WordVectors.load(tmp_path / "missing.npz")


def test_word2vec_text_format_round_trip_and_gensim_reads_it(tmp_path: Path, random_vectors):
    path = tmp_path / "v.txt"
    random_vectors.save_word2vec_format(path)
    loaded = WordVectors.load_word2vec_format(path)
    assert loaded.words == random_vectors.words
    np.testing.assert_array_equal(loaded.vectors, random_vectors.vectors)
    keyed = gensim.models.KeyedVectors.load_word2vec_format(str(path), binary=False)
    np.testing.assert_allclose(keyed["w5"], random_vectors["w5"])
    path.write_text("2 3\na 1 2\n", encoding="utf-8")
    with pytest.raises(ValueError, match=":2: expected a word and 3 numbers"):
        WordVectors.load_word2vec_format(path)
    with pytest.raises(ValueError, match="whitespace"):
        WordVectors(["a b"], np.zeros((1, 2))).save_word2vec_format(tmp_path / "bad.txt")


# ------------------------------------------------------------------------------------------ evaluation
@pytest.fixture(scope="module")
def lee_vectors():
    path = Path(gensim.__file__).parent / "test" / "test_data" / "lee_fasttext.vec"
    keyed = gensim.models.KeyedVectors.load_word2vec_format(str(path))
    return keyed, WordVectors.load_word2vec_format(path)


def test_analogy_evaluation_matches_gensim(lee_vectors):
    keyed, vectors = lee_vectors
    from llmbook.data import load

    ours = evaluate_analogies(vectors, load("google-analogies"))
    path = Path(gensim.__file__).parent / "test" / "test_data" / "questions-words.txt"
    score, sections = keyed.evaluate_word_analogies(str(path))
    total = sections[-1]
    assert ours.covered == len(total["correct"]) + len(total["incorrect"]) > 0
    assert ours.correct == len(total["correct"])
    assert ours.accuracy == pytest.approx(score)
    assert ours.total == 19544 and 0 < ours.coverage < 1
    assert ours.rows()[-1][0] == "overall"


def test_similarity_evaluation_matches_gensim(lee_vectors):
    keyed, vectors = lee_vectors
    from llmbook.data import load

    ours = evaluate_similarity(vectors, load("wordsim353"))
    path = Path(gensim.__file__).parent / "test" / "test_data" / "wordsim353.tsv"
    _pearson, (rho, _p), oov = keyed.evaluate_word_pairs(str(path))
    assert ours.spearman == pytest.approx(rho, abs=1e-6)
    assert ours.coverage == pytest.approx(1 - oov / 100, abs=1e-9)


def test_spearman_interval_agrees_with_scipys_bootstrap():
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(4)
    x = rng.normal(size=300)
    y = 0.4 * x + rng.normal(size=300)
    ours = spearman_interval(x, y, resamples=4000, seed=1)
    reference = stats.bootstrap((x, y), lambda a, b: stats.spearmanr(a, b).statistic, paired=True,
                                vectorized=False, n_resamples=4000, method="percentile",
                                random_state=0).confidence_interval
    # two Monte Carlo estimates of the same percentiles (different random streams) agree within their noise
    np.testing.assert_allclose(ours, (reference.low, reference.high), atol=0.01)
    assert ours[0] < spearman(x, y) < ours[1]
    assert spearman_interval(x, y, resamples=4000, seed=1) == ours
    with pytest.raises(ValueError, match="positive number"):
        spearman_interval(x, y, resamples=0)
    with pytest.raises(ValueError, match="equal length"):
        spearman_interval(x, y[:-1])


def test_similarity_evaluation_carries_the_interval_of_its_covered_pairs(lee_vectors):
    from llmbook.data import load

    _keyed, vectors = lee_vectors
    pairs = load("wordsim353")
    plain = evaluate_similarity(vectors, pairs)
    ours = evaluate_similarity(vectors, pairs, bootstrap=500, seed=3)
    assert plain.interval is None and ours.spearman == plain.spearman
    assert ours.interval[0] < ours.spearman < ours.interval[1]
    with pytest.raises(ValueError, match="non-negative number of resamples"):
        evaluate_similarity(vectors, pairs, bootstrap=-1)


def test_spearman_against_scipy():
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(8)
    x, y = rng.integers(0, 10, 100), rng.normal(size=100)  # x has ties
    assert spearman(x, y) == pytest.approx(stats.spearmanr(x, y).statistic)
    with pytest.raises(ValueError, match="length"):
        spearman([1], [2])


def test_evaluation_errors(random_vectors):
    with pytest.raises(ValueError, match="empty"):
        evaluate_analogies(random_vectors, AnalogySet({}))
    with pytest.raises(ValueError, match="in the vocabulary"):
        evaluate_similarity(random_vectors, SimilaritySet("x", (SimilarityPair("a", "b", 1.0),)))
    toy = AnalogySet({"s": (AnalogyQuestion("w1", "w2", "w3", "w4"), AnalogyQuestion("w1", "w2", "w3", "zz"))})
    result = evaluate_analogies(random_vectors, toy)
    assert (result.covered, result.total) == (1, 2)


def test_weat_effect_size_against_brute_force():
    rng = np.random.default_rng(10)
    words = [f"x{i}" for i in range(4)] + [f"y{i}" for i in range(4)] + [f"a{i}" for i in range(4)] + [
        f"b{i}" for i in range(4)]
    direction = rng.normal(size=8)
    vectors = rng.normal(size=(16, 8)) * 0.3
    vectors[:4] += direction
    vectors[8:12] += direction  # X is close to A; Y is not
    wv = WordVectors(words, vectors)
    result = weat(wv, words[:4], words[4:8], words[8:12], words[12:], permutations=2000)

    def s(w):
        return np.mean([wv.similarity(w, a) for a in words[8:12]]) - np.mean([wv.similarity(w, b) for b in words[12:]])

    scores = [s(w) for w in words[:8]]
    expected = (np.mean(scores[:4]) - np.mean(scores[4:])) / np.std(scores, ddof=1)
    assert result.effect_size == pytest.approx(expected, rel=1e-5)
    assert result.effect_size > 1.0 and result.p_value < 0.05
    with pytest.raises(ValueError, match="at least 2"):
        weat(wv, ["x0"], words[4:8], words[8:12], words[12:])


# ------------------------------------------------------------------------------------------ corpora
def test_enwiki_sample_loader():
    from llmbook.data import load

    corpus = load("enwiki-sample")
    assert len(corpus) == 107 and "Anarchism" in corpus.documents
    assert not any(text.lstrip().lower().startswith("#redirect") for text in corpus.documents.values())
    assert "[[" not in corpus.documents["Anarchism"]  # gensim's filter_wiki removed the link markup
    assert 400_000 < sum(len(t.split()) for t in corpus.documents.values()) < 600_000
