"""Spans from tag sequences: named entities from BIO/BIOES tags, words from B/M/E/S tags, and their scores.

A tagger labels each token; the unit that is scored is the **span**. BIO tags an entity's first token
``B-TYPE``, its other tokens ``I-TYPE`` and tokens outside entities ``O``; BIOES adds ``E-TYPE`` for
the last token of a longer entity and ``S-TYPE`` for a one-token entity. Word segmentation (Chinese)
tags each character B (begins a word), M (middle), E (ends it) or S (a one-character word).

A predicted tag sequence need not be well formed (``O I-PER``, ``B-PER I-LOC``). Decoding follows the
CoNLL evaluation script ``conlleval`` (and seqeval's default mode), which reads every sequence: a span
starts at ``B`` or ``S``, at an ``I``/``E`` that follows ``O``, ``E``, ``S`` or the sentence start, or
at any tag whose type differs from the previous tag's; it ends after ``E`` or ``S``, and before a
``B``, ``S``, ``O``, a type change or the sentence end. With ``strict=True`` (seqeval's
``mode="strict"``) only well-formed spans count: ``B-X`` followed by any number of ``I-X`` (BIO), or ``S-X``, or
``B-X I-X... E-X`` (BIOES); the rest is ignored. :func:`count_invalid_transitions` counts the
ill-formed places instead of repairing them.

A span is ``(type, start, end)`` with ``end`` exclusive (``tokens[start:end]``); the tests check spans
and scores against seqeval. Precision, recall and F1 count a predicted span as correct only if the
true sentence has a span with the same type, start and end.

One job, kept in one module: tags to spans and their scores, for entities and for segmentation, share
the decoding (about half of the lines are docstrings and examples).
"""

from __future__ import annotations

from llmbook.metrics.classification import Scores

__all__ = ["count_invalid_transitions", "extract_spans", "segment_words", "segmentation_scores", "segmentation_tags",
           "span_scores", "span_scores_by_type", "word_spans"]

SCHEMES = {"BIO": ("B", "I"), "BIOES": ("B", "I", "E", "S")}
SEGMENTATION_TAGS = ("B", "M", "E", "S")


def _parse(tags, scheme: str) -> list[tuple[str, str]]:
    if scheme not in SCHEMES:
        raise ValueError(f"scheme must be one of {sorted(SCHEMES)}, got {scheme!r}")
    if isinstance(tags, str):
        raise TypeError(f"tags must be a list of tag strings (one per token), got the string {tags!r}")
    parsed = []
    for position, tag in enumerate(tags):
        if tag == "O":
            parsed.append(("O", ""))
            continue
        prefix, _, kind = tag.partition("-") if isinstance(tag, str) else ("", "", "")
        if prefix not in SCHEMES[scheme]:
            raise ValueError(f"tag {tag!r} at position {position} is not a {scheme} tag: a tag is 'O' or one of "
                             f"{'/'.join(SCHEMES[scheme])} followed by '-' and the entity type (e.g. 'B-PER')")
        parsed.append((prefix, kind))
    return parsed


def _span_ends(previous: tuple[str, str], current: tuple[str, str]) -> bool:
    (previous_prefix, previous_type), (prefix, kind) = previous, current
    return (previous_prefix in ("E", "S") or (previous_prefix in ("B", "I") and prefix in ("B", "S", "O"))
            or (previous_prefix != "O" and previous_type != kind))


def _span_starts(previous: tuple[str, str], current: tuple[str, str]) -> bool:
    (previous_prefix, previous_type), (prefix, kind) = previous, current
    return (prefix in ("B", "S") or (prefix in ("I", "E") and previous_prefix in ("O", "E", "S"))
            or (prefix != "O" and previous_type != kind))


def _decode(parsed: list[tuple[str, str]]) -> list[tuple[str, int, int]]:
    spans, start, previous = [], None, ("O", "")
    for position, current in enumerate(parsed + [("O", "")]):  # the trailing O closes a span at the end
        if start is not None and _span_ends(previous, current):
            spans.append((previous[1], start, position))
            start = None
        if _span_starts(previous, current):
            start = position
        previous = current
    return spans


def _decode_strict(parsed: list[tuple[str, str]], scheme: str) -> list[tuple[str, int, int]]:
    spans, position = [], 0
    while position < len(parsed):
        prefix, kind = parsed[position]
        if prefix == "S":
            spans.append((kind, position, position + 1))
        if prefix != "B":
            position += 1
            continue
        end = position + 1
        while end < len(parsed) and parsed[end] == ("I", kind):
            end += 1
        if scheme == "BIO":
            spans.append((kind, position, end))
        elif end < len(parsed) and parsed[end] == ("E", kind):
            end += 1
            spans.append((kind, position, end))
        position = end
    return spans


def extract_spans(tags, scheme: str = "BIO", strict: bool = False) -> list[tuple[str, int, int]]:
    """The typed spans of one sentence's tags, decoded as ``conlleval`` does (module docstring).

    Args:
        tags: one tag per token, e.g. ``["B-PER", "I-PER", "O"]``.
        scheme: ``"BIO"`` (tags O, B-, I-) or ``"BIOES"`` (also E-, S-).
        strict: keep only well-formed spans (seqeval's strict mode) instead of reading every sequence.

    Returns:
        ``(type, start, end)`` triples in order, ``end`` exclusive.

    Raises:
        TypeError: if ``tags`` is a string.
        ValueError: for an unknown scheme or a tag outside it.

    >>> extract_spans(["B-PER", "I-PER", "O", "B-LOC", "I-LOC", "I-ORG"])
    [('PER', 0, 2), ('LOC', 3, 5), ('ORG', 5, 6)]
    >>> extract_spans(["O", "I-PER", "E-PER", "S-LOC"], scheme="BIOES")  # a span may start with I
    [('PER', 1, 3), ('LOC', 3, 4)]
    >>> extract_spans(["O", "I-PER", "E-PER", "S-LOC"], scheme="BIOES", strict=True)
    [('LOC', 3, 4)]
    """
    parsed = _parse(tags, scheme)
    return _decode_strict(parsed, scheme) if strict else _decode(parsed)


def _segmentation_parse(tags) -> list[tuple[str, str]]:
    if isinstance(tags, str):
        tags = list(tags)
    parsed = []
    for position, tag in enumerate(tags):
        if tag not in SEGMENTATION_TAGS:
            raise ValueError(f"tag {tag!r} at position {position} is not a segmentation tag: use B, M, E or S")
        parsed.append(({"M": "I"}.get(tag, tag), ""))  # M plays the part of BIOES's I
    return parsed


def word_spans(tags) -> list[tuple[int, int]]:
    """The ``(start, end)`` character ranges of the words that B/M/E/S tags mark (``end`` exclusive).

    A word starts at B or S, or at an M/E that follows E, S or the sentence start; it ends after E or
    S, and before B, S or the end: ``BM`` followed by ``S`` is the word ``BM`` then ``S``.

    Args:
        tags: one of ``"B" "M" "E" "S"`` per character (a list, or a string such as ``"BESBME"``).

    Returns:
        The word ranges in order, covering every character.

    Raises:
        ValueError: for a tag other than B, M, E, S.

    >>> word_spans("BESBME")
    [(0, 2), (2, 3), (3, 6)]
    """
    return [(start, end) for _, start, end in _decode(_segmentation_parse(tags))]


def segment_words(characters, tags) -> list[str]:
    """The words of ``characters`` as their B/M/E/S ``tags`` cut them (see :func:`word_spans`).

    Args:
        characters: the text, a string (or a list of characters or tokens).
        tags: one tag per character.

    Returns:
        The words, as strings, in order.

    Raises:
        ValueError: if the lengths differ or a tag is not B, M, E or S.

    >>> segment_words("我爱北京天安门", "SSBEBME")
    ['我', '爱', '北京', '天安门']
    """
    tags = list(tags)
    if len(characters) != len(tags):
        raise ValueError(f"{len(characters)} characters but {len(tags)} tags: pass one tag per character")
    return ["".join(characters[start:end]) for start, end in word_spans(tags)]


def segmentation_tags(words) -> str:
    """The B/M/E/S tags of a segmented sentence, one per character (the inverse of :func:`segment_words`).

    Args:
        words: the words, as strings, e.g. ``["我", "爱", "北京"]``.

    Returns:
        A string of tags, as long as the words joined.

    Raises:
        ValueError: if ``words`` is a string, or a word is empty or not a string.

    >>> segmentation_tags(["我", "爱", "天安门"])
    'SSBME'
    """
    if isinstance(words, str):
        raise ValueError(f"words must be a list of words, got the string {words!r}: split it first")
    tags = []
    for position, word in enumerate(words):
        if not isinstance(word, str) or word == "":
            raise ValueError(f"word {position} is {word!r}: every word must be a non-empty string")
        tags.append("S" if len(word) == 1 else "B" + "M" * (len(word) - 2) + "E")
    return "".join(tags)


def _sentence_pairs(y_true, y_pred) -> list[tuple]:
    for name, sentences in (("y_true", y_true), ("y_pred", y_pred)):
        if isinstance(sentences, str) or not all(isinstance(s, (list, tuple, str)) for s in sentences):
            raise TypeError(f"{name} must be a list of sentences, each a list of tags, e.g. [['B-PER', 'O']]")
    if len(y_true) != len(y_pred):
        raise ValueError(f"y_true has {len(y_true)} sentences but y_pred has {len(y_pred)}")
    if len(y_true) == 0:
        raise ValueError("y_true and y_pred are empty: pass at least one sentence")
    for i, (truth, predicted) in enumerate(zip(y_true, y_pred)):
        if len(truth) != len(predicted):
            raise ValueError(f"sentence {i} has {len(truth)} true tags but {len(predicted)} predicted ones")
    return list(zip(y_true, y_pred))


def _prf(correct: int, predicted: int, true: int) -> Scores:
    precision = correct / predicted if predicted else 0.0
    recall = correct / true if true else 0.0
    f1 = 2 * correct / (predicted + true) if predicted + true else 0.0
    return Scores(precision, recall, f1, true)


def _span_sets(pairs, decode) -> tuple[set, set]:
    true_spans, predicted_spans = set(), set()
    for sentence, (truth, predicted) in enumerate(pairs):
        true_spans.update((sentence, *span) for span in decode(truth))
        predicted_spans.update((sentence, *span) for span in decode(predicted))
    return true_spans, predicted_spans


def span_scores(y_true, y_pred, scheme: str = "BIO", strict: bool = False) -> Scores:
    """Entity precision, recall and F1 over all types (micro average, seqeval's default).

    Args:
        y_true: the true tags, a list of sentences, each a list of tags.
        y_pred: the predicted tags, the same shape.
        scheme: ``"BIO"`` or ``"BIOES"``.
        strict: count only well-formed spans, in both (seqeval's ``mode="strict"``).

    Returns:
        :class:`~llmbook.metrics.Scores` of floats; ``support`` is the number of true entities. A ratio
        with denominator 0 is 0.

    Raises:
        TypeError: if the inputs are not lists of sentences.
        ValueError: for different numbers or lengths of sentences, no sentence, or a tag outside the scheme.

    One of two true entities found, plus one wrong: P = 1/2, R = 1/2:

    >>> span_scores([["B-PER", "I-PER", "O", "B-LOC"]], [["B-PER", "I-PER", "B-LOC", "I-LOC"]])
    Scores(precision=0.5, recall=0.5, f1=0.5, support=2)
    """
    true_spans, predicted_spans = _span_sets(_sentence_pairs(y_true, y_pred),
                                             lambda tags: extract_spans(tags, scheme, strict))
    return _prf(len(true_spans & predicted_spans), len(predicted_spans), len(true_spans))


def span_scores_by_type(y_true, y_pred, scheme: str = "BIO", strict: bool = False) -> dict[str, Scores]:
    """Entity precision, recall and F1 of each entity type (a predicted span counts for its own type).

    Args:
        y_true, y_pred, scheme, strict: as in :func:`span_scores`.

    Returns:
        ``{type: Scores}`` for every type that occurs in either, sorted by type.

    Raises:
        TypeError, ValueError: as :func:`span_scores`.

    >>> span_scores_by_type([["B-PER", "O", "B-LOC"]], [["B-PER", "O", "B-PER"]])
    {'LOC': Scores(precision=0.0, recall=0.0, f1=0.0, support=1), 'PER': Scores(precision=0.5, recall=1.0, f1=0.6666666666666666, support=1)}
    """
    true_spans, predicted_spans = _span_sets(_sentence_pairs(y_true, y_pred),
                                             lambda tags: extract_spans(tags, scheme, strict))
    report = {}
    for kind in sorted({span[1] for span in true_spans | predicted_spans}):
        true_of_kind = {span for span in true_spans if span[1] == kind}
        predicted_of_kind = {span for span in predicted_spans if span[1] == kind}
        report[kind] = _prf(len(true_of_kind & predicted_of_kind), len(predicted_of_kind), len(true_of_kind))
    return report


def segmentation_scores(y_true, y_pred) -> Scores:
    """Word segmentation precision, recall and F1: a predicted word is correct if a true word has its range.

    Args:
        y_true: the true B/M/E/S tags, a list of sentences (each a list of tags or a string like "BES").
        y_pred: the predicted tags, the same shape.

    Returns:
        :class:`~llmbook.metrics.Scores` of floats; ``support`` is the number of true words.

    Raises:
        TypeError, ValueError: as :func:`span_scores`, for tags other than B, M, E, S.

    True words 北京|天安门, predicted 北|京|天安门: 1 of 3 predicted words is right, 1 of 2 true ones
    is found, F1 = 2 * 1 / (3 + 2):

    >>> segmentation_scores(["BEBME"], ["SSBME"])
    Scores(precision=0.3333333333333333, recall=0.5, f1=0.4, support=2)

    From word lists, through :func:`segmentation_tags`:

    >>> segmentation_scores([segmentation_tags(["北京", "天安门"])], [segmentation_tags(["北", "京", "天安门"])]).f1
    0.4
    """
    true_words, predicted_words = _span_sets(_sentence_pairs(y_true, y_pred), word_spans)
    return _prf(len(true_words & predicted_words), len(predicted_words), len(true_words))


def count_invalid_transitions(tags, scheme: str = "BIO") -> int:
    """How many places of one tag sequence break its scheme's grammar.

    - ``"BIO"``: an ``I-X`` must follow ``B-X`` or ``I-X``; each ``I-X`` after ``O``, after the sentence
      start or after a tag of another type counts once.
    - ``"BIOES"``: after ``B-X`` or ``I-X`` only ``I-X`` or ``E-X`` may come (anything else, the end
      included, is one invalid transition); after ``O``, ``E-*``, ``S-*`` or the start, an ``I`` or ``E``
      is invalid.
    - ``"BMES"`` (segmentation): after B or M only M or E; after E, S or the start, M or E is invalid
      (and so is the end after B or M).

    Args:
        tags: one tag per token (for ``"BMES"`` also a string like ``"BMES"``).
        scheme: ``"BIO"``, ``"BIOES"`` or ``"BMES"``.

    Returns:
        The number of invalid transitions (0 for a well-formed sequence).

    Raises:
        ValueError: for an unknown scheme or a tag outside it.

    >>> count_invalid_transitions(["O", "I-PER", "B-PER", "I-LOC", "I-LOC"])  # O->I-PER, B-PER->I-LOC
    2
    >>> count_invalid_transitions("SMEBS", scheme="BMES")  # S->M, B->S
    2
    """
    if scheme == "BMES":
        parsed = _segmentation_parse(tags)
    elif scheme in SCHEMES:
        parsed = _parse(tags, scheme)
    else:
        raise ValueError(f"scheme must be one of {sorted(SCHEMES) + ['BMES']}, got {scheme!r}")
    invalid, previous = 0, ("O", "")
    for prefix, kind in parsed + ([] if scheme == "BIO" else [("END", "")]):
        inside = previous[0] in ("B", "I")
        if scheme == "BIO":
            invalid += prefix == "I" and not (inside and previous[1] == kind)
        elif inside:
            invalid += not (prefix in ("I", "E") and kind == previous[1])
        else:
            invalid += prefix in ("I", "E")
        previous = (prefix, kind)
    return invalid
