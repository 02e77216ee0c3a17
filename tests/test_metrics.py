"""llmbook.metrics against the reference libraries: sacrebleu (BLEU, 13a), scikit-learn, seqeval."""

import math
import subprocess
import sys

import numpy as np
import pytest
import sacrebleu
import seqeval.metrics
from hypothesis import given, settings
from hypothesis import strategies as st
from sacrebleu.metrics import BLEU
from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a
from seqeval.metrics.sequence_labeling import get_entities
from seqeval.scheme import IOB2, IOBES, Entities
from sklearn import metrics as skm

from llmbook.metrics import (
    accuracy, chrf, confusion_matrix, corpus_bleu, count_invalid_transitions, extract_spans, perplexity,
    precision_recall_f1, sacrebleu_signature, segment_words, segmentation_scores, segmentation_tags, sentence_bleu, span_scores,
    span_scores_by_type, tokenize_13a, word_spans,
)

SETTINGS = settings(max_examples=60, deadline=None)

# ---------------------------------------------------------------- BLEU and its tokenizer


def streams(references):
    """Per-hypothesis reference lists -> sacrebleu's reference streams (None where a sentence has fewer)."""
    references = [[r] if isinstance(r, str) else r for r in references]
    width = max(len(r) for r in references)
    return [[r[k] if k < len(r) else None for r in references] for k in range(width)]


def assert_same_bleu(ours, theirs, smooth="exp"):
    added = 1 if smooth == "add-k" and any(ours.matches) else 0  # sacrebleu reports add-k's counts after adding k
    assert ours.matches == tuple(c - (n > 0) * added for n, c in enumerate(theirs.counts))
    assert ours.totals == tuple(t - (n > 0) * added for n, t in enumerate(theirs.totals))
    assert (ours.hypothesis_length, ours.reference_length) == (theirs.sys_len, theirs.ref_len)
    np.testing.assert_allclose(ours.brevity_penalty, theirs.bp, rtol=1e-12)
    np.testing.assert_allclose(ours.precisions, theirs.precisions, rtol=1e-12)
    np.testing.assert_allclose(ours.score, theirs.score, rtol=1e-12, atol=1e-12)


TRICKY_LINES = [
    "Hello, world! It's 3.50 dollars (or 1,000 yen).",
    "well-known 2-1 win; e.g. U.S.A. -- \"quoted\" [brackets] {braces} a/b c|d ~tilde",
    "&quot;entities&quot; &amp; &lt;tags&gt; <skipped> line-\nbreak\nnew line",
    "trailing dot. 5. .5 ,5 5, a,.5 x.. 1..2 3,-4",
    "  spaces\tand\ttabs  ",
    "unicode: café, naïve — “quotes” ٣.٥ 北京。",
    "",
]


@pytest.mark.parametrize("line", TRICKY_LINES)
def test_13a_tokenizer_equals_sacrebleu_on_hand_lines(line):
    assert tokenize_13a(line) == Tokenizer13a()(line).split()


@SETTINGS
@given(st.lists(st.sampled_from(list("ab9 0.,-'&;:!?$()[]/\\\n\t\"<>_|é") + ["&quot;", "&amp;", "<skipped>"]),
                max_size=30).map("".join))
def test_13a_tokenizer_equals_sacrebleu_on_generated_text(line):
    assert tokenize_13a(line) == Tokenizer13a()(line).split()


REALISTIC = (
    ["The cat is on the mat.", "There is a cat on the mat!", "A dog barks, loudly.", "It costs $3.50 today."],
    [["The cat is on the mat.", "There is a cat on the mat."],
     ["A cat is on the mat."],
     ["The dog barks loudly.", "A dog is barking loudly.", "Dogs bark."],
     ["Today it costs $3.50.", "It is 3.50 dollars today."]],
)


@pytest.mark.parametrize("smooth", ["none", "exp", "floor", "add-k"])
@pytest.mark.parametrize("effective_order", [False, True])
def test_corpus_bleu_equals_sacrebleu_on_a_realistic_corpus(smooth, effective_order):
    hypotheses, references = REALISTIC
    ours = corpus_bleu(hypotheses, references, smooth=smooth, effective_order=effective_order)
    theirs = BLEU(smooth_method=smooth, effective_order=effective_order).corpus_score(hypotheses, streams(references))
    assert_same_bleu(ours, theirs, smooth)
    assert 0 < ours.score < 100


def test_corpus_bleu_lowercase_no_tokenizer_and_other_orders_equal_sacrebleu():
    hypotheses, references = REALISTIC
    for options in ({"lowercase": True}, {"tokenize": "none"}, {"max_order": 2}, {"max_order": 6}):
        sacrebleu_options = {("max_ngram_order" if key == "max_order" else key): value for key, value in options.items()}
        theirs = BLEU(**sacrebleu_options).corpus_score(hypotheses, streams(references))
        assert_same_bleu(corpus_bleu(hypotheses, references, **options), theirs)


WORDS = st.lists(st.sampled_from(["the", "cat", "a", "mat", "on", "sat", "dog", "."]), max_size=9).map(" ".join)


@SETTINGS
@given(st.lists(st.tuples(WORDS, st.lists(WORDS, min_size=1, max_size=3), st.integers(0, 9)), min_size=1, max_size=4),
       st.sampled_from(["none", "exp", "floor", "add-k"]), st.booleans())
def test_corpus_bleu_equals_sacrebleu_on_generated_corpora(corpus, smooth, effective_order):
    # each hypothesis starts with a piece of its first reference, so that long n-grams match too
    hypotheses = [" ".join(refs[0].split()[:keep] + words.split()) for words, refs, keep in corpus]
    references = [refs for _, refs, _ in corpus]
    ours = corpus_bleu(hypotheses, references, smooth=smooth, effective_order=effective_order)
    theirs = BLEU(smooth_method=smooth, effective_order=effective_order).corpus_score(hypotheses, streams(references))
    assert_same_bleu(ours, theirs, smooth)


@SETTINGS
@given(WORDS, st.lists(WORDS.filter(bool), min_size=1, max_size=3))
def test_sentence_bleu_equals_sacrebleu(hypothesis, references):
    assert_same_bleu(sentence_bleu(hypothesis, references), sacrebleu.sentence_bleu(hypothesis, references))


@pytest.mark.parametrize("hypothesis, reference", [
    ("", "the cat sat"),                      # empty hypothesis: BP 0, BLEU 0
    ("dog dog", "the cat sat"),               # no match of any order
    ("the cat", "the cat sat on the mat"),    # no 3-grams: 0 without effective order, smoothed or not
    ("the cat sat on the mat", "the cat sat on the mat"),
    ("mat the on sat cat the", "the cat sat on the mat"),  # unigrams only
])
@pytest.mark.parametrize("smooth", ["none", "exp"])
def test_bleu_edge_cases_equal_sacrebleu(hypothesis, reference, smooth):
    ours = corpus_bleu([hypothesis], [reference], smooth=smooth)
    assert_same_bleu(ours, BLEU(smooth_method=smooth).corpus_score([hypothesis], [[reference]]))
    assert str(ours) == str(BLEU(smooth_method=smooth).corpus_score([hypothesis], [[reference]]))
    if hypothesis in ("", "dog dog", "the cat"):
        assert ours.score == 0.0


def test_bleu_by_hand_with_two_references_and_clipping():
    # "the the the cat": "the" occurs at most twice in one reference, so 3 of 4 unigrams match (clipped);
    # bigrams "the the" (once in ref 2), "the cat" (in ref 1): 2 of 3; trigrams "the the cat" (ref 2): 1 of 2;
    # the 4-gram "the the the cat" matches nothing, so "exp" smoothing gives it 1 / (2 * 1).
    # Reference lengths 3 and 5: both 1 away from 4, the shorter wins, r = 3 <= c, so BP = 1.
    score = corpus_bleu(["the the the cat"], [["the cat sat", "the the cat is here"]])
    assert score.matches == (3, 2, 1, 0) and score.reference_length == 3
    assert math.isclose(score.score, 100 * (3 / 4 * 2 / 3 * 1 / 2 * 1 / 2) ** 0.25, rel_tol=1e-12)
    assert str(score) == str(BLEU().corpus_score(["the the the cat"], [["the cat sat"], ["the the cat is here"]]))


def test_bleu_refuses_bad_input():
    with pytest.raises(ValueError, match="empty"):
        corpus_bleu([], [])
    with pytest.raises(ValueError, match="2 hypotheses but 1"):
        corpus_bleu(["a", "b"], ["a"])
    with pytest.raises(ValueError, match="no reference"):
        corpus_bleu(["a"], [[]])
    with pytest.raises(TypeError, match="list of strings"):
        corpus_bleu("a b", ["a b"])
    with pytest.raises(TypeError, match="one str"):
        sentence_bleu(["a b"], ["a b"])
    with pytest.raises(ValueError, match="smooth must be"):
        corpus_bleu(["a"], ["a"], smooth="add-one")
    with pytest.raises(TypeError, match="must be a str"):
        corpus_bleu(["a", 3], ["a", "b"])
    with pytest.raises(TypeError, match=r"references\[1\] must be"):
        corpus_bleu(["a", "b"], ["a", ["b", None]])
    with pytest.raises(ValueError, match="tokenize must be"):
        corpus_bleu(["a"], ["a"], tokenize="intl")
    with pytest.raises(ValueError, match="smooth_value applies"):
        corpus_bleu(["a"], ["a"], smooth="exp", smooth_value=0.5)


def test_chrf_takes_per_hypothesis_references():
    hypotheses, references = REALISTIC
    theirs = sacrebleu.corpus_chrf(hypotheses, streams(references))
    assert chrf(hypotheses, references).score == theirs.score
    assert chrf(["abc"], ["abc"]).score == 100.0 and chrf(["abc"], ["xyz"]).score == 0.0


def test_signature_names_the_options():
    hypotheses, references = REALISTIC
    signature = sacrebleu_signature(hypotheses, references, smooth="none")
    assert signature.startswith("nrefs:var|case:mixed|eff:no|tok:13a|smooth:none|version:")
    assert sacrebleu_signature(["a"], ["a"]).startswith("nrefs:1|")


# ---------------------------------------------------------------- classification against scikit-learn


def random_cases(count=40, seed=0):
    rng = np.random.default_rng(seed)
    for case in range(count):
        classes = np.array(["cat", "dog", "eel", "fox"] if case % 2 else [0, 1, 2, 3, 4])[:rng.integers(2, 6)]
        size = int(rng.integers(1, 30))
        y_true = rng.choice(classes, size)
        y_pred = np.where(rng.random(size) < 0.5, y_true, rng.choice(classes, size))
        yield y_true, y_pred


@pytest.mark.filterwarnings("ignore:A single label was found:UserWarning")
def test_accuracy_and_confusion_matrix_equal_sklearn():
    for y_true, y_pred in random_cases():
        assert accuracy(y_true, y_pred) == skm.accuracy_score(y_true, y_pred)
        np.testing.assert_array_equal(confusion_matrix(y_true, y_pred), skm.confusion_matrix(y_true, y_pred))
    labels = [3, 2, 1, 0]  # order given, with a class (3) that never occurs
    np.testing.assert_array_equal(confusion_matrix([0, 1, 2, 2], [0, 2, 2, 1], labels=labels),
                                  skm.confusion_matrix([0, 1, 2, 2], [0, 2, 2, 1], labels=labels))


@pytest.mark.parametrize("zero_division", [0.0, 1.0])
def test_precision_recall_f1_equal_sklearn(zero_division):
    for y_true, y_pred in random_cases():
        for average in (None, "macro", "micro", "weighted"):
            ours = precision_recall_f1(y_true, y_pred, average, zero_division=zero_division)
            precision, recall, f1, support = skm.precision_recall_fscore_support(
                y_true, y_pred, average=average, zero_division=zero_division)
            np.testing.assert_allclose([ours.precision, ours.recall, ours.f1], [precision, recall, f1], rtol=1e-12)
            if average is None:
                np.testing.assert_array_equal(ours.support, support)
        assert precision_recall_f1(y_true, y_pred, "micro").f1 == pytest.approx(skm.accuracy_score(y_true, y_pred))


def test_classification_refuses_bad_input():
    with pytest.raises(ValueError, match="3 labels but y_pred has 2"):
        accuracy([0, 1, 1], [0, 1])
    with pytest.raises(ValueError, match="empty"):
        accuracy([], [])
    with pytest.raises(ValueError, match=r"1-D .*argmax"):
        precision_recall_f1([[1, 0], [0, 1]], [0, 1])
    with pytest.raises(ValueError, match="lacks"):
        confusion_matrix([0, 1, 2], [0, 1, 1], labels=[0, 1])
    with pytest.raises(ValueError, match="average must be"):
        precision_recall_f1([0, 1], [0, 1], "binary")


def test_perplexity_is_the_inverse_geometric_mean_probability():
    rng = np.random.default_rng(1)
    probabilities = rng.uniform(0.01, 1.0, size=50)
    inverse_geometric_mean = 2.0 ** -np.mean(np.log2(probabilities))
    assert math.isclose(perplexity(-np.log(probabilities)), inverse_geometric_mean, rel_tol=1e-12)
    assert math.isclose(perplexity(np.full((3, 4), np.log(7.0))), 7.0, rel_tol=1e-12)  # uniform over 7 tokens
    assert perplexity([0.5, np.inf]) == np.inf
    with pytest.raises(ValueError, match="negative"):
        perplexity(np.log(probabilities))
    with pytest.raises(ValueError, match="empty"):
        perplexity([])


# ---------------------------------------------------------------- spans against seqeval

TYPES = ["PER", "LOC"]
BIO_TAG = st.sampled_from(["O"] + [f"{p}-{t}" for p in "BI" for t in TYPES])
BIOES_TAG = st.sampled_from(["O"] + [f"{p}-{t}" for p in "BIES" for t in TYPES])


def seqeval_spans(tags):
    return [(kind, start, end + 1) for kind, start, end in get_entities(list(tags))]


@SETTINGS
@given(st.sampled_from([("BIO", BIO_TAG), ("BIOES", BIOES_TAG)]).flatmap(
    lambda scheme: st.tuples(st.just(scheme[0]), st.lists(scheme[1], max_size=12))))
def test_extract_spans_equals_seqeval(scheme_and_tags):
    scheme, tags = scheme_and_tags
    assert extract_spans(tags, scheme) == seqeval_spans(tags)
    strict = Entities([tags], {"BIO": IOB2, "BIOES": IOBES}[scheme]).entities[0]
    assert extract_spans(tags, scheme, strict=True) == [(e.tag, e.start, e.end) for e in strict]


def test_strict_spans_by_hand():
    tags = ["B-PER", "I-PER", "O", "I-LOC", "B-LOC", "I-LOC", "E-LOC", "B-PER", "I-PER", "S-LOC"]
    assert extract_spans(tags, "BIOES", strict=True) == [("LOC", 4, 7), ("LOC", 9, 10)]  # B-PER I-PER never ends
    assert extract_spans(["O", "I-PER", "B-LOC", "I-LOC", "I-PER"], strict=True) == [("LOC", 2, 4)]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # seqeval's report averages over no entity at all
@SETTINGS
@given(st.lists(st.lists(st.tuples(BIOES_TAG, BIOES_TAG), min_size=1, max_size=10), min_size=1, max_size=4))
def test_span_scores_equal_seqeval(sentences):
    y_true = [[t for t, _ in sentence] for sentence in sentences]
    y_pred = [[p for _, p in sentence] for sentence in sentences]
    ours = span_scores(y_true, y_pred, scheme="BIOES")
    np.testing.assert_allclose(
        [ours.precision, ours.recall, ours.f1],
        [seqeval.metrics.precision_score(y_true, y_pred, zero_division=0),
         seqeval.metrics.recall_score(y_true, y_pred, zero_division=0),
         seqeval.metrics.f1_score(y_true, y_pred, zero_division=0)], rtol=1e-12)
    strict = span_scores(y_true, y_pred, scheme="BIOES", strict=True)
    np.testing.assert_allclose(
        [strict.precision, strict.recall, strict.f1],
        [seqeval.metrics.precision_score(y_true, y_pred, zero_division=0, mode="strict", scheme=IOBES),
         seqeval.metrics.recall_score(y_true, y_pred, zero_division=0, mode="strict", scheme=IOBES),
         seqeval.metrics.f1_score(y_true, y_pred, zero_division=0, mode="strict", scheme=IOBES)], rtol=1e-12)
    for strict, options in ((False, {}), (True, {"mode": "strict", "scheme": IOBES})):
        report = seqeval.metrics.classification_report(y_true, y_pred, output_dict=True, zero_division=0, **options)
        by_type = span_scores_by_type(y_true, y_pred, scheme="BIOES", strict=strict)
        assert set(by_type) == set(report) - {"micro avg", "macro avg", "weighted avg"}
        for kind, scores in by_type.items():
            expected = report[kind]
            np.testing.assert_allclose([scores.precision, scores.recall, scores.f1, scores.support],
                                       [expected["precision"], expected["recall"], expected["f1-score"],
                                        expected["support"]], rtol=1e-12)


SEGMENTATION_TO_BIOES = {"B": "B-W", "M": "I-W", "E": "E-W", "S": "S-W"}


@SETTINGS
@given(st.lists(st.lists(st.tuples(st.sampled_from("BMES"), st.sampled_from("BMES")), min_size=1, max_size=10),
                min_size=1, max_size=4))
def test_segmentation_equals_seqeval_on_words_as_entities(sentences):
    y_true = ["".join(t for t, _ in sentence) for sentence in sentences]
    y_pred = ["".join(p for _, p in sentence) for sentence in sentences]
    as_bioes_true = [[SEGMENTATION_TO_BIOES[t] for t in tags] for tags in y_true]
    as_bioes_pred = [[SEGMENTATION_TO_BIOES[t] for t in tags] for tags in y_pred]
    for tags, bioes in zip(y_true, as_bioes_true):
        assert word_spans(tags) == [(start, end) for _, start, end in seqeval_spans(bioes)]
    ours = segmentation_scores(y_true, y_pred)
    np.testing.assert_allclose(
        [ours.precision, ours.recall, ours.f1],
        [seqeval.metrics.precision_score(as_bioes_true, as_bioes_pred, zero_division=0),
         seqeval.metrics.recall_score(as_bioes_true, as_bioes_pred, zero_division=0),
         seqeval.metrics.f1_score(as_bioes_true, as_bioes_pred, zero_division=0)], rtol=1e-12)


@SETTINGS
@given(st.lists(st.text(alphabet="甲乙丙丁", min_size=1, max_size=4), max_size=6))
def test_segmentation_tags_invert_segment_words(words):
    tags = segmentation_tags(words)
    assert segment_words("".join(words), tags) == words and count_invalid_transitions(tags, "BMES") == 0


def test_segmentation_scores_of_word_lists_by_hand():
    # gold 我|爱|编程, predicted 我爱|编程: 1 of 2 predicted words right, 1 of 3 gold words found
    scores = segmentation_scores([segmentation_tags(["我", "爱", "编程"])], [segmentation_tags(["我爱", "编程"])])
    np.testing.assert_allclose(scores[:3], (1 / 2, 1 / 3, 0.4), rtol=1e-12)
    with pytest.raises(ValueError, match="non-empty"):
        segmentation_tags(["我", ""])


def test_segment_words_by_hand():
    assert segment_words("他来到北京大学", "SBEBMME") == ["他", "来到", "北京大学"]
    assert segment_words("abcd", "BMSE") == ["ab", "c", "d"]  # an unfinished word ends before S; E alone is a word
    assert "".join(segment_words("abcdef", "MEBBSM")) == "abcdef"


@pytest.mark.parametrize("tags, scheme, expected", [
    (["B-PER", "I-PER", "O", "B-LOC"], "BIO", 0),
    (["I-PER"], "BIO", 1),                                  # I after the start
    (["O", "I-PER", "I-PER"], "BIO", 1),                    # I after O; then I after I of the same type is fine
    (["B-PER", "I-LOC", "I-PER"], "BIO", 2),                # I-LOC after B-PER, I-PER after I-LOC
    (["B-PER", "I-PER", "E-PER", "S-LOC", "O"], "BIOES", 0),
    (["B-PER", "O"], "BIOES", 1),                           # an entity that never ends
    (["B-PER"], "BIOES", 1),                                # ... at the sentence end
    (["S-PER", "E-PER", "O", "I-LOC", "E-LOC"], "BIOES", 2),  # E after S, I after O
    (["B-PER", "E-LOC"], "BIOES", 1),                       # E of another type after B-PER
    ("BMESBE", "BMES", 0),
    ("SMEBS", "BMES", 2),                                   # M after S, S after B
    ("EEB", "BMES", 3),                                     # E at the start, E after E, B at the end
])
def test_invalid_transitions_by_hand(tags, scheme, expected):
    assert count_invalid_transitions(tags, scheme) == expected


@SETTINGS
@given(st.lists(st.tuples(st.sampled_from(TYPES + [None]), st.integers(1, 3)), max_size=6))
def test_well_formed_sequences_have_no_invalid_transition_and_decode_to_their_spans(pieces):
    bio, bioes, spans, position = [], [], [], 0
    for kind, length in pieces:
        if kind is None:
            bio.append("O")
            bioes.append("O")
            position += 1
            continue
        bio += [f"B-{kind}"] + [f"I-{kind}"] * (length - 1)
        bioes += [f"S-{kind}"] if length == 1 else [f"B-{kind}"] + [f"I-{kind}"] * (length - 2) + [f"E-{kind}"]
        spans.append((kind, position, position + length))
        position += length
    assert count_invalid_transitions(bio, "BIO") == 0 and count_invalid_transitions(bioes, "BIOES") == 0
    assert extract_spans(bioes, "BIOES") == spans


def test_spans_refuse_bad_input():
    with pytest.raises(ValueError, match="not a BIO tag"):
        extract_spans(["B-PER", "E-PER"], scheme="BIO")
    with pytest.raises(ValueError, match="scheme must be"):
        extract_spans(["O"], scheme="IOB1")
    with pytest.raises(TypeError, match="list of tag strings"):
        extract_spans("B-PER")
    with pytest.raises(ValueError, match="2 true tags but 1"):
        span_scores([["B-PER", "O"]], [["O"]])
    with pytest.raises(ValueError, match="1 sentences but y_pred has 2"):
        span_scores([["O"]], [["O"], ["O"]])
    with pytest.raises(ValueError, match="not a segmentation tag"):
        word_spans("BXE")
    with pytest.raises(ValueError, match="3 characters but 2 tags"):
        segment_words("abc", "BE")


def test_importing_metrics_loads_neither_keras_nor_sacrebleu():
    code = ("import sys, llmbook.metrics\n"
            "print(sorted(m for m in ('keras', 'tensorflow', 'sacrebleu', 'sklearn') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout
