"""NGramLanguageModel: hand counts, parity with nltk.lm, normalization, generation and bad input."""

import math

import pytest
from nltk.lm import MLE, KneserNeyInterpolated, Lidstone
from nltk.lm.vocabulary import Vocabulary

from llmbook import data
from llmbook.models import BOS, EOS, UNK, NGramLanguageModel
from llmbook.text import tokenize_lines

TOY = [["the", "king", "is", "dead"], ["long", "live", "the", "king"], ["the", "queen", "is", "dead"]]


@pytest.fixture(scope="module")
def shakespeare_lines():
    split = data.load("shakespeare").split(seed=0)
    return tokenize_lines(split.train.lines()[:2500]), tokenize_lines(split.test.lines()[:120])


def nltk_reference(model, sentences, reference_class, **options):
    padded = [model.pad(s) for s in sentences]
    everygrams = [[tuple(p[i:i + k]) for k in range(1, model.order + 1) for i in range(len(p) - k + 1)]
                  for p in padded]
    reference = reference_class(order=model.order, vocabulary=Vocabulary(
        [t for p in padded for t in p], unk_cutoff=model.min_count), **options)
    reference.fit(everygrams)
    return reference


def test_counts_by_hand():
    model = NGramLanguageModel(2, "mle", min_count=1).fit(TOY)
    assert model.score("king", ["the"]) == 2 / 3
    assert model.score("the", [BOS]) == 2 / 3
    assert model.score(EOS, ["dead"]) == 1.0
    assert model.score("dies", ["king"]) == 0.0 and model.logscore("dies", ["king"]) == -math.inf
    assert model.counts(2)[("the", "king")] == 2 and model.counts(1)[(BOS,)] == 3
    assert model.ngrams(["a", "b"]) == [(BOS, "a"), ("a", "b"), ("b", EOS)]
    assert math.isclose(model.perplexity([["the", "king", "is", "dead"]]), (2 / 9) ** (-1 / 5))
    assert model.perplexity([["the", "queen", "is", "alive"]]) == math.inf
    # one term per predicted token, empty sentences skipped; their mean is the cross-entropy
    logs = model.token_logscores([["the", "king", "is", "dead"], []])
    assert logs.shape == (5,) and logs[0] == math.log2(2 / 3)
    assert math.isclose(-logs.mean(), model.cross_entropy([["the", "king", "is", "dead"]]))


def test_rare_words_become_unk():
    model = NGramLanguageModel(1, "lidstone", min_count=2).fit(TOY)
    assert "queen" not in model.vocabulary and UNK in model.vocabulary and "the" in model.vocabulary
    assert model.score("queen") == model.score("never-seen-word") == model.score(UNK)


@pytest.mark.parametrize("order, smoothing, reference_class, options", [
    (1, "mle", MLE, {}),
    (2, "mle", MLE, {}),
    (1, "lidstone", Lidstone, {"gamma": 1.0}),
    (3, "lidstone", Lidstone, {"gamma": 0.1}),
    (2, "kneser-ney", KneserNeyInterpolated, {"discount": 0.75}),
    (3, "kneser-ney", KneserNeyInterpolated, {"discount": 0.1}),
])
def test_perplexity_equals_nltk(shakespeare_lines, order, smoothing, reference_class, options):
    train, test = shakespeare_lines
    variant = {"variant": "nltk"} if smoothing == "kneser-ney" else {}
    ours = NGramLanguageModel(order, smoothing, **options, **variant).fit(train)
    reference = nltk_reference(ours, train, reference_class, **options)
    assert len(ours.vocabulary) == len(reference.vocab)
    grams = [g for s in test for g in ours.ngrams(s)]
    ours_ppl, reference_ppl = ours.perplexity(test), reference.perplexity(grams)
    if math.isinf(reference_ppl):
        assert math.isinf(ours_ppl)
    else:
        assert math.isclose(ours_ppl, reference_ppl, rel_tol=1e-12)
    for gram in grams[:50]:
        assert math.isclose(ours.score(gram[-1], gram[:-1]), reference.score(gram[-1], gram[:-1]), rel_tol=1e-12)


@pytest.mark.parametrize("order", [2, 3, 4])
def test_every_distribution_sums_to_one(shakespeare_lines, order):
    train, _ = shakespeare_lines
    contexts = [(BOS,) * 3, ("i", "pray", "you"), ("<s>", "<s>", "o"), ("zzz", "qqq", "the")]
    for smoothing in ("kneser-ney", "lidstone"):
        model = NGramLanguageModel(order, smoothing).fit(train)
        for context in contexts:
            assert model.distribution(context[-(order - 1):]).sum() == pytest.approx(1.0, abs=1e-12)
    nltk_variant = NGramLanguageModel(order, "kneser-ney", variant="nltk").fit(train)
    excess = nltk_variant.distribution((BOS,) * (order - 1)).sum() - 1
    if order >= 3:  # the documented flaw of the nltk recursion after the sentence start (lower orders only)
        assert excess > 1e-6
    else:
        assert excess == pytest.approx(0.0, abs=1e-12)
    assert nltk_variant.distribution(("i", "pray", "you")[-(order - 1):]).sum() == pytest.approx(1.0, abs=1e-12)


def test_kneser_ney_beats_add_one_and_context_helps(shakespeare_lines):
    train, test = shakespeare_lines
    unigram = NGramLanguageModel(1, "lidstone").fit(train).perplexity(test)
    bigram_kn = NGramLanguageModel(2, "kneser-ney").fit(train).perplexity(test)
    bigram_add_one = NGramLanguageModel(2, "lidstone").fit(train).perplexity(test)
    assert bigram_kn < unigram < bigram_add_one


def test_unseen_fraction(shakespeare_lines):
    train, test = shakespeare_lines
    fractions = [NGramLanguageModel(n, "mle").fit(train).unseen_fraction(test) for n in (1, 2, 3)]
    assert fractions[0] == 0.0 and fractions[0] < fractions[1] < fractions[2] < 1.0
    model = NGramLanguageModel(2, "mle", min_count=1).fit(TOY)
    assert model.unseen_fraction([["long", "king"]]) == pytest.approx(1 / 3)  # only (long, king) is new


def test_generation_is_seeded_stops_at_the_end_and_never_samples_specials():
    model = NGramLanguageModel(2, "kneser-ney", min_count=1).fit(TOY * 5)
    first, again = model.generate(30, seed=7), model.generate(30, seed=7)
    assert first == again and 0 < len(first) <= 30
    samples = [w for seed in range(40) for w in model.generate(10, seed=seed)]
    assert not {BOS, UNK, EOS} & set(samples) and set(samples) <= set(model.vocabulary)
    assert model.generate(3, seed=0, context=["long"])[0] == "live"  # live is the only word after long


@pytest.mark.parametrize("kwargs, message", [
    ({"order": 0}, "order must be a positive integer"),
    ({"order": 2.5}, "order must be a positive integer"),
    ({"order": 1, "smoothing": "kneser-ney"}, "Kneser-Ney needs order >= 2"),
    ({"order": 2, "smoothing": "good-turing"}, "unknown smoothing 'good-turing'"),
    ({"order": 2, "discount": 1.5}, r"discount must be in \[0, 1\]"),
    ({"order": 2, "smoothing": "lidstone", "gamma": 0}, "gamma must be > 0"),
    ({"order": 2, "min_count": 0}, "min_count must be a positive integer"),
    ({"order": 2, "variant": "modified"}, "variant must be 'continuation' or 'nltk'"),
])
def test_bad_configuration(kwargs, message):
    with pytest.raises(ValueError, match=message):
        NGramLanguageModel(**kwargs)


def test_bad_text():
    with pytest.raises(ValueError, match="training text is empty"):
        NGramLanguageModel(2).fit([])
    with pytest.raises(ValueError, match="training text is empty"):
        NGramLanguageModel(2).fit([[], []])
    with pytest.raises(ValueError, match=r"order 5 is larger than the training text \(3 tokens\)"):
        NGramLanguageModel(5).fit([["to", "be", "or"]])
    model = NGramLanguageModel(2, min_count=1).fit(TOY)
    with pytest.raises(ValueError, match="evaluation text is empty"):
        model.perplexity([])
    with pytest.raises(ValueError, match="evaluation text is empty"):
        model.unseen_fraction([[]])
    with pytest.raises(ValueError, match="max_words must be a positive integer"):
        model.generate(0)
    with pytest.raises(ValueError, match="k must be between 1 and the order 2"):
        model.counts(3)


def test_unfitted_model_says_so():
    model = NGramLanguageModel(2)
    for call in (lambda: model.score("a"), lambda: model.perplexity([["a"]]), lambda: model.generate(3),
                 lambda: model.counts()):
        with pytest.raises(RuntimeError, match="not fitted yet: call fit"):
            call()
    assert "not fitted" in repr(model) and "variant='continuation'" in repr(model)
