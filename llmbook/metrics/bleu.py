"""BLEU (Papineni et al., 2002) built from its parts, equal to sacrebleu's BLEU; chrF through sacrebleu.

BLEU compares a system's output (the *hypotheses*) with one or more human translations (the
*references*) by counting shared n-grams:

- **modified n-gram precision** :math:`p_n`: each hypothesis n-gram counts as a match at most as many
  times as it occurs in the one reference where it occurs most (the count is *clipped*), so repeating
  "the the the" earns nothing; matches and hypothesis n-grams are summed over the whole corpus first;
- **brevity penalty** :math:`BP = e^{1 - r/c}` if the hypotheses' total length :math:`c` is below the
  references' total length :math:`r` (each sentence contributes the length of its reference closest in
  length, the shorter one on a tie), 1 otherwise (0 when :math:`c = 0`);
- :math:`\\text{BLEU} = BP \\cdot \\exp\\big(\\tfrac1N \\sum_{n=1}^{N} \\log p_n\\big)`, with
  :math:`N = 4`, reported in percent like sacrebleu.

Tokenization is part of the definition (the same text scored with two tokenizers gives two BLEUs).
This module implements sacrebleu's default tokenizer, ``13a`` (the rules of the WMT script
``mteval-v13a.pl``), itself, so :func:`corpus_bleu` takes raw strings; ``tokenize="none"`` splits on
whitespace only, for pre-tokenized text. The tests check the tokenizer and every score against
sacrebleu, on hand cases and generated ones, including the edge cases below, which follow sacrebleu:

- no match of any order: BLEU is 0 and every precision is reported as 0;
- a precision of 0 (no match of that order, or no n-gram of that order at all) makes BLEU 0 unless it is
  smoothed: ``smooth="exp"`` (sacrebleu's default) gives the k-th order without matches the precision
  :math:`1 / (2^k \\cdot \\text{total}_n)`; ``"floor"`` gives :math:`\\epsilon / \\text{total}_n`;
  ``"add-k"`` adds k to the matches and totals of orders 2 and up; ``"none"`` leaves the 0;
- ``effective_order=True`` (the default of :func:`sentence_bleu`, as in sacrebleu) averages only over
  the orders up to the last one the hypotheses have n-grams of, so a 3-word sentence is not 0 for
  lacking 4-grams;
- an empty reference is a reference of length 0 (it can be the closest length); sentences may have
  different numbers of references;
- with ``"add-k"``, :attr:`BLEUScore.matches` and ``totals`` are the counts before k is added
  (sacrebleu reports them after), while the precisions and the score are the same.

Only :func:`chrf` and :func:`sacrebleu_signature` use sacrebleu, imported when they are called.

One metric, kept in one module: BLEU's tokenizer, counts and aggregation are one definition, and the
chrF/signature wrappers sit beside it (nearly half of the lines are docstrings and worked examples).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

from llmbook.validation import positive_int, positive_number

__all__ = ["BLEUScore", "tokenize_13a", "corpus_bleu", "sentence_bleu", "chrf", "sacrebleu_signature"]

SMOOTHING = {"none": None, "exp": None, "floor": 0.1, "add-k": 1.0}
TOKENIZERS = ("13a", "none")

# 13a's rules, in order (each a left-to-right pass whose matches do not overlap, as in mteval-v13a.pl):
# 1. ASCII punctuation and symbols other than . , ' and - become separate tokens;
# 2. a period or comma after a non-digit is split off, and so is 3. one before a non-digit (so "3.5"
#    and "1,000" stay whole); 4. a dash after a digit is split off ("2-1" -> "2 - 1").
_SYMBOLS = "!\"#$%&()*+/:;<=>?@[\\]^_`{|}~"
_SYMBOL = re.compile("([" + re.escape(_SYMBOLS) + "])")
_PERIOD_COMMA_AFTER_NON_DIGIT = re.compile(r"([^0-9])([.,])")
_PERIOD_COMMA_BEFORE_NON_DIGIT = re.compile(r"([.,])([^0-9])")
_DASH_AFTER_DIGIT = re.compile(r"([0-9])(-)")
_ENTITIES = (("&quot;", '"'), ("&amp;", "&"), ("&lt;", "<"), ("&gt;", ">"))


def tokenize_13a(text: str) -> list[str]:
    """Split ``text`` into tokens with the ``13a`` rules (sacrebleu's default BLEU tokenizer).

    Before splitting, ``<skipped>`` is deleted, a dash at a line end joins the lines, other newlines
    become spaces, and the HTML entities ``&quot; &amp; &lt; &gt;`` are decoded. Then ASCII punctuation
    other than ``. , ' -`` is split off; a period or comma is split off unless it sits between digits
    (more exactly: after a non-digit, or before a non-digit); a dash after a digit is split off.
    Apostrophes and dashes inside words stay.

    Args:
        text: one sentence.

    Returns:
        The tokens.

    Raises:
        TypeError: if ``text`` is not a string.

    >>> tokenize_13a("The cat's toy costs $3.50, isn't it?")
    ['The', "cat's", 'toy', 'costs', '$', '3.50', ',', "isn't", 'it', '?']
    >>> tokenize_13a("1,000 well-known (2-1) &amp; more.")
    ['1,000', 'well-known', '(', '2', '-', '1', ')', '&', 'more', '.']
    """
    if not isinstance(text, str):
        raise TypeError(f"a sentence must be a str, got {type(text).__name__}: {text!r}")
    text = text.replace("<skipped>", "").replace("-\n", "").replace("\n", " ")
    if "&" in text:
        for entity, character in _ENTITIES:
            text = text.replace(entity, character)
    text = _SYMBOL.sub(r" \1 ", f" {text} ")
    text = _PERIOD_COMMA_AFTER_NON_DIGIT.sub(r"\1 \2 ", text)
    text = _PERIOD_COMMA_BEFORE_NON_DIGIT.sub(r" \1 \2", text)
    text = _DASH_AFTER_DIGIT.sub(r"\1 \2 ", text)
    return text.split()


@dataclass(frozen=True)
class BLEUScore:
    """A BLEU score with the counts it was computed from.

    Attributes:
        score: BLEU in percent (0 to 100).
        precisions: the modified n-gram precisions :math:`p_1 \\ldots p_N` in percent, after smoothing.
        brevity_penalty: :math:`BP`.
        hypothesis_length: :math:`c`, the hypotheses' total number of tokens.
        reference_length: :math:`r`, the sum of each sentence's closest reference length.
        matches: clipped n-gram matches per order, summed over the corpus.
        totals: hypothesis n-grams per order, summed over the corpus.

    ``str()`` prints it as sacrebleu prints its score (the ratio is :math:`c / r`, 0 when r = 0):

    >>> print(corpus_bleu(["the cat sat on the mat"], ["the cat sat on a mat"]))
    BLEU = 53.73 83.3/60.0/50.0/33.3 (BP = 1.000 ratio = 1.000 hyp_len = 6 ref_len = 6)
    """

    score: float
    precisions: tuple[float, ...]
    brevity_penalty: float
    hypothesis_length: int
    reference_length: int
    matches: tuple[int, ...]
    totals: tuple[int, ...]

    def __str__(self) -> str:
        precisions = "/".join(f"{p:.1f}" for p in self.precisions)
        ratio = self.hypothesis_length / self.reference_length if self.reference_length else 0.0
        return (f"BLEU = {self.score:.2f} {precisions} (BP = {self.brevity_penalty:.3f} ratio = {ratio:.3f} "
                f"hyp_len = {self.hypothesis_length} ref_len = {self.reference_length})")


def _ngrams(tokens: list[str], max_order: int) -> Counter:
    return Counter(tuple(tokens[i:i + n]) for n in range(1, max_order + 1) for i in range(len(tokens) - n + 1))


def _closest_length(hypothesis_length: int, reference_lengths: list[int]) -> int:
    return min(reference_lengths, key=lambda length: (abs(length - hypothesis_length), length))


def _sentence_counts(hypothesis: list[str], references: list[list[str]], max_order: int):
    """Clipped matches and totals per order, and the closest reference length, of one sentence."""
    hypothesis_counts = _ngrams(hypothesis, max_order)
    most_in_a_reference = Counter()
    for reference in references:
        most_in_a_reference |= _ngrams(reference, max_order)  # | keeps the larger count of each n-gram
    matches, totals = [0] * max_order, [0] * max_order
    for ngram, count in hypothesis_counts.items():
        matches[len(ngram) - 1] += min(count, most_in_a_reference[ngram])
    for n in range(1, max_order + 1):
        totals[n - 1] = max(0, len(hypothesis) - n + 1)
    return matches, totals, _closest_length(len(hypothesis), [len(reference) for reference in references])


def _bleu_from_counts(matches, totals, hypothesis_length, reference_length, smooth, smooth_value,
                      effective_order, max_order) -> BLEUScore:
    if hypothesis_length < reference_length:
        brevity_penalty = math.exp(1 - reference_length / hypothesis_length) if hypothesis_length > 0 else 0.0
    else:
        brevity_penalty = 1.0
    result = dict(brevity_penalty=brevity_penalty, hypothesis_length=hypothesis_length,
                  reference_length=reference_length, matches=tuple(matches), totals=tuple(totals))
    if not any(matches):
        return BLEUScore(score=0.0, precisions=(0.0,) * max_order, **result)
    matches, totals = [float(m) for m in matches], [float(t) for t in totals]
    if smooth == "add-k":
        for n in range(1, max_order):
            matches[n] += smooth_value
            totals[n] += smooth_value
    precisions = [0.0] * max_order
    orders_used = max_order
    halvings = 1.0
    for n in range(max_order):
        if totals[n] == 0:  # the hypotheses have no n-gram of this order, nor of any higher one
            break
        if effective_order:
            orders_used = n + 1
        if matches[n] > 0:
            precisions[n] = 100.0 * matches[n] / totals[n]
        elif smooth == "exp":
            halvings *= 2
            precisions[n] = 100.0 / (halvings * totals[n])
        elif smooth == "floor":
            precisions[n] = 100.0 * smooth_value / totals[n]
    used = precisions[:orders_used]
    score = 0.0 if min(used) == 0 else brevity_penalty * math.exp(sum(math.log(p) for p in used) / orders_used)
    return BLEUScore(score=score, precisions=tuple(precisions), **result)


def _as_reference_lists(hypotheses, references) -> list[list[str]]:
    if isinstance(hypotheses, str) or not isinstance(hypotheses, (list, tuple)):
        raise TypeError("hypotheses must be a list of strings, one per sentence "
                        f"(for one sentence use sentence_bleu), got {type(hypotheses).__name__}")
    if isinstance(references, str) or not isinstance(references, (list, tuple)):
        raise TypeError(f"references must be a list with one entry per hypothesis, got {type(references).__name__}")
    if len(hypotheses) == 0:
        raise ValueError("the corpus is empty: pass at least one hypothesis and its references")
    if len(references) != len(hypotheses):
        raise ValueError(f"{len(hypotheses)} hypotheses but {len(references)} reference entries: references[i] "
                         "holds the reference (a str) or references (a list of str) of hypotheses[i]")
    lists = []
    for i, entry in enumerate(references):
        entry = [entry] if isinstance(entry, str) else list(entry)
        if not all(isinstance(reference, str) for reference in entry):
            raise TypeError(f"references[{i}] must be a str or a list of str, got {entry!r}")
        if not entry:
            raise ValueError(f"hypothesis {i} has no reference: references[{i}] is an empty list")
        lists.append(entry)
    return lists


def _check_options(smooth, smooth_value, tokenize, max_order):
    if smooth not in SMOOTHING:
        raise ValueError(f"smooth must be one of {sorted(SMOOTHING)}, got {smooth!r}")
    if tokenize not in TOKENIZERS:
        raise ValueError(f"tokenize must be one of {TOKENIZERS}, got {tokenize!r}")
    positive_int("max_order", max_order)
    if smooth_value is None:
        return SMOOTHING[smooth]
    if smooth not in ("floor", "add-k"):
        raise ValueError(f"smooth_value applies to 'floor' and 'add-k' smoothing only, not {smooth!r}")
    return positive_number("smooth_value", smooth_value)


def corpus_bleu(hypotheses, references, *, smooth: str = "exp", smooth_value: float | None = None,
                effective_order: bool = False, tokenize: str = "13a", lowercase: bool = False,
                max_order: int = 4) -> BLEUScore:
    """Corpus BLEU: n-gram matches and lengths summed over all sentences, then one score.

    Equal to ``sacrebleu.metrics.BLEU(...).corpus_score`` with the same options (the tests check it).
    Note the layout of ``references``: one entry *per hypothesis* (sacrebleu takes one list per
    reference *stream* instead, with ``None`` where a sentence has fewer references).

    Args:
        hypotheses: the system outputs, one string per sentence.
        references: ``references[i]`` is the reference of ``hypotheses[i]`` (a str) or its references
            (a non-empty list of str; the number may differ between sentences).
        smooth: ``"exp"`` (default, sacrebleu's), ``"none"``, ``"floor"`` or ``"add-k"`` (module docstring).
        smooth_value: the epsilon of ``"floor"`` (default 0.1) or the k of ``"add-k"`` (default 1).
        effective_order: average only over the orders the hypotheses have n-grams of.
        tokenize: ``"13a"`` (:func:`tokenize_13a`) or ``"none"`` (split on whitespace).
        lowercase: lowercase hypotheses and references first.
        max_order: :math:`N`, the longest n-gram (4).

    Returns:
        A :class:`BLEUScore`.

    Raises:
        TypeError: if hypotheses or references are not lists of strings.
        ValueError: for an empty corpus, a length mismatch, a sentence without reference or an unknown option.

    Two sentences by hand: *the cat sat on the mat* against *the cat sat on a mat* matches 5 of 6
    unigrams, 3 of 5 bigrams, 2 of 4 trigrams and 1 of 3 4-grams; *a dog* against *a dog barks* matches
    2 of 2 unigrams and 1 of 1 bigram and has no trigram. Summed: p = 7/8, 4/6, 2/4, 1/3; lengths
    c = 8, r = 9, so BP = exp(1 - 9/8) and BLEU = 100 BP (7/8 * 4/6 * 2/4 * 1/3)^(1/4):

    >>> hypotheses = ["the cat sat on the mat", "a dog"]
    >>> references = ["the cat sat on a mat", "a dog barks"]
    >>> by_hand = 100 * math.exp(1 - 9 / 8) * (7 / 8 * 4 / 6 * 2 / 4 * 1 / 3) ** 0.25
    >>> score = corpus_bleu(hypotheses, references)
    >>> round(score.score, 4), round(by_hand, 4)
    (49.2782, 49.2782)
    >>> score.matches, score.totals
    ((7, 4, 2, 1), (8, 6, 4, 3))
    """
    smooth_value = _check_options(smooth, smooth_value, tokenize, max_order)
    reference_lists = _as_reference_lists(hypotheses, references)
    split = tokenize_13a if tokenize == "13a" else str.split

    def prepare(sentence: str) -> list[str]:
        if not isinstance(sentence, str):
            raise TypeError(f"a sentence must be a str, got {type(sentence).__name__}: {sentence!r}")
        return split((sentence.lower() if lowercase else sentence).rstrip())

    matches, totals = [0] * max_order, [0] * max_order
    hypothesis_length = reference_length = 0
    for hypothesis, sentence_references in zip(hypotheses, reference_lists):
        tokens = prepare(hypothesis)
        sentence_matches, sentence_totals, closest = _sentence_counts(
            tokens, [prepare(reference) for reference in sentence_references], max_order)
        matches = [a + b for a, b in zip(matches, sentence_matches)]
        totals = [a + b for a, b in zip(totals, sentence_totals)]
        hypothesis_length += len(tokens)
        reference_length += closest
    return _bleu_from_counts(matches, totals, hypothesis_length, reference_length, smooth, smooth_value,
                             effective_order, max_order)


def sentence_bleu(hypothesis: str, references, *, smooth: str = "exp", smooth_value: float | None = None,
                  effective_order: bool = True, tokenize: str = "13a", lowercase: bool = False,
                  max_order: int = 4) -> BLEUScore:
    """BLEU of one sentence: :func:`corpus_bleu` of a one-sentence corpus, with effective order on.

    Equal to ``sacrebleu.sentence_bleu`` (whose defaults are the same: ``"exp"`` smoothing, effective
    order). Averaging sentence BLEUs does not give corpus BLEU: BLEU sums counts before dividing.

    Args:
        hypothesis: the system output.
        references: its reference (a str) or references (a list of str).
        smooth, smooth_value, effective_order, tokenize, lowercase, max_order: as in :func:`corpus_bleu`.

    Returns:
        A :class:`BLEUScore`.

    Raises:
        TypeError: if ``hypothesis`` is not a str.
        ValueError: as :func:`corpus_bleu`.

    *a dog* against *a dog barks*: p1 = 2/2, p2 = 1/1, no trigrams, so the effective order is 2 and
    BLEU = 100 exp(1 - 3/2):

    >>> round(sentence_bleu("a dog", "a dog barks").score, 4), round(100 * math.exp(-0.5), 4)
    (60.6531, 60.6531)
    """
    if not isinstance(hypothesis, str):
        raise TypeError(f"hypothesis must be one str (for a corpus use corpus_bleu), got {type(hypothesis).__name__}")
    return corpus_bleu([hypothesis], [references], smooth=smooth, smooth_value=smooth_value,
                       effective_order=effective_order, tokenize=tokenize, lowercase=lowercase, max_order=max_order)


def _sacrebleu():
    try:
        import sacrebleu
    except ImportError as error:
        raise ImportError("sacrebleu is not installed: pip install sacrebleu") from error
    return sacrebleu


def _reference_streams(hypotheses, references) -> list[list[str]]:
    """sacrebleu's layout: stream k holds every sentence's k-th reference (None where it has none)."""
    lists = _as_reference_lists(hypotheses, references)
    width = max(len(entry) for entry in lists)
    return [[entry[k] if k < len(entry) else None for entry in lists] for k in range(width)]


def chrf(hypotheses, references, **options):
    """Corpus chrF (Popović, 2015), character n-gram F-score, computed by sacrebleu.

    A thin wrapper over ``sacrebleu.metrics.CHRF(**options).corpus_score`` that takes ``references``
    in this module's layout (one entry per hypothesis).

    Args:
        hypotheses: the system outputs, one string per sentence.
        references: ``references[i]``: a str or a list of str, as in :func:`corpus_bleu`.
        **options: passed to ``sacrebleu.metrics.CHRF`` (``char_order``, ``word_order`` (2 for chrF++),
            ``beta``, ``lowercase``, ``whitespace``).

    Returns:
        sacrebleu's ``CHRFScore`` (``.score`` in percent; ``str()`` prints it).

    Raises:
        ImportError: if sacrebleu is not installed.
        TypeError, ValueError: as :func:`corpus_bleu` for bad hypotheses or references.

    >>> chrf(["a dog"], ["a dog"]).score
    100.0
    """
    streams = _reference_streams(hypotheses, references)
    return _sacrebleu().metrics.CHRF(**options).corpus_score(list(hypotheses), streams)


def sacrebleu_signature(hypotheses, references, *, smooth: str = "exp", effective_order: bool = False,
                        tokenize: str = "13a", lowercase: bool = False) -> str:
    """sacrebleu's signature of a BLEU run, the line to print beside a score so others can reproduce it.

    It names the number of references, case, effective order, tokenizer, smoothing and sacrebleu's
    version. sacrebleu knows the number of references only after scoring, so this scores the corpus
    with sacrebleu (the same options as :func:`corpus_bleu`) and returns the signature.

    Args:
        hypotheses, references: as in :func:`corpus_bleu`.
        smooth, effective_order, tokenize, lowercase: as in :func:`corpus_bleu`.

    Returns:
        A string such as ``nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0``.

    Raises:
        ImportError: if sacrebleu is not installed.
        TypeError, ValueError: as :func:`corpus_bleu`.

    >>> sacrebleu_signature(["a dog"], ["a dog barks"]).rsplit("|", 1)[0]
    'nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp'
    """
    _check_options(smooth, None, tokenize, 4)
    streams = _reference_streams(hypotheses, references)
    bleu = _sacrebleu().metrics.BLEU(smooth_method=smooth, effective_order=effective_order, tokenize=tokenize,
                                     lowercase=lowercase)
    bleu.corpus_score(list(hypotheses), streams)
    return str(bleu.get_signature())
