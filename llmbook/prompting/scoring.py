"""Answer extraction and exact-match scoring.

A reply to a few-shot prompt says more than its answer: a chain of thought ends ``So, "think, machine"
outputs "ke".``, a standard reply is ``"ke"``. :func:`extract_answer` takes the answer out of the reply,
:func:`normalize_answer` makes two spellings of one answer equal (case, surrounding quotes, a final full
stop, runs of spaces), and :func:`exact_match` compares a prediction with the gold answer after both are
normalized, as the least-to-most paper scores its tasks (an answer is right only if all of it is).

>>> extract_answer('The last letter of "think" is "k". So, "think" outputs "k".')
'k'
>>> exact_match(' "KE". ', "ke")
True
>>> exact_match_accuracy(["ke", "keg", "x"], ["ke", "keg", "kg"])
0.6666666666666666
"""

from __future__ import annotations

import re
from typing import Sequence

_OUTPUTS = re.compile(r'outputs\s+"([^"]*)"')
_ANSWER_IS = re.compile(r"answer is\s*:?[ \t]*", re.IGNORECASE)
_ONE_QUOTED = re.compile(r'\s*"([^"]*)"\s*\.?\s*$')
_QUOTES = "\"'\u201c\u201d\u2018\u2019`"


def _check_text(name: str, value) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, got {type(value).__name__} {value!r}")
    return value


def extract_answer(reply: str) -> str:
    """The answer in a model's reply.

    In order: the quoted text after the last ``outputs`` (``So, "x" outputs "answer".``, the exemplars'
    format); else the rest of the line after the last ``answer is``; else the whole reply (without its quotes if it
    is one quoted text, as a standard reply ``"ke"`` is). Nothing else is normalized here (see
    :func:`normalize_answer`).

    Args:
        reply: the model's reply.

    Returns:
        The answer text, stripped of surrounding white space.

    Raises:
        TypeError: if ``reply`` is not a string.
    """
    reply = _check_text("reply", reply)
    found = _OUTPUTS.findall(reply)
    if found:
        return found[-1].strip()
    said = list(_ANSWER_IS.finditer(reply))
    if said:
        return reply[said[-1].end():].split("\n", 1)[0].strip()
    whole = _ONE_QUOTED.match(reply)
    return whole.group(1).strip() if whole else reply.strip()


def normalize_answer(answer: str) -> str:
    """``answer`` in the form exact match compares: case-folded, runs of white space made one space,
    without surrounding quotes or a final full stop.

    Args:
        answer: an answer text.

    Returns:
        The normalized text.

    Raises:
        TypeError: if ``answer`` is not a string.

    >>> normalize_answer('  "I_WALK   I_LOOK".')
    'i_walk i_look'
    """
    text = " ".join(_check_text("answer", answer).split())
    while True:
        before = text
        text = text.rstrip(".").strip()
        if len(text) >= 2 and text[0] in _QUOTES and text[-1] in _QUOTES:
            text = text[1:-1].strip()
        if text == before:
            return text.casefold()


def exact_match(prediction: str, gold: str) -> bool:
    """Whether ``prediction`` equals ``gold`` after :func:`normalize_answer` (no partial credit).

    Args:
        prediction: the extracted answer (see :func:`extract_answer`).
        gold: the right answer.

    Returns:
        True or False.

    Raises:
        TypeError: if either is not a string.
    """
    return normalize_answer(prediction) == normalize_answer(gold)


def exact_match_accuracy(predictions: Sequence[str], golds: Sequence[str]) -> float:
    """The fraction of ``predictions`` that :func:`exact_match` their ``golds``.

    Args:
        predictions: extracted answers.
        golds: the right answers, in the same order.

    Returns:
        A float in [0, 1].

    Raises:
        ValueError: if the sequences are empty or of different lengths.
        TypeError: if an item is not a string.
    """
    predictions, golds = list(predictions), list(golds)
    if not predictions:
        raise ValueError("no predictions to score: give at least one")
    if len(predictions) != len(golds):
        raise ValueError(f"{len(predictions)} predictions but {len(golds)} gold answers: give one gold answer "
                         "per prediction")
    return sum(exact_match(p, g) for p, g in zip(predictions, golds)) / len(predictions)
