"""A small, dependency-free word tokenizer for English running text."""

from __future__ import annotations

import re

_WORD_OR_PUNCTUATION = re.compile(r"[a-z]+(?:'[a-z]+)*|[0-9]+|[.,;:!?]", re.IGNORECASE)


def simple_word_tokenize(text: str, lowercase: bool = True) -> list[str]:
    """Split English text into words (with inner apostrophes: ``"o'er"``), numbers and ``. , ; : ! ?``.

    Other symbols (quotes, brackets, dashes) are dropped. A leading or trailing apostrophe is not kept
    (``'tis`` becomes ``tis``), which loses little for counting models.

    >>> simple_word_tokenize("To be, or not to be: that is the question.")
    ['to', 'be', ',', 'or', 'not', 'to', 'be', ':', 'that', 'is', 'the', 'question', '.']

    Raises:
        TypeError: if ``text`` is not a string.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    tokens = _WORD_OR_PUNCTUATION.findall(text)
    return [t.lower() for t in tokens] if lowercase else tokens


def tokenize_lines(lines, lowercase: bool = True) -> list[list[str]]:
    """:func:`simple_word_tokenize` on each line, dropping lines with no tokens: the sentences that the
    n-gram chapters (and the GPT chapter, to score the same text) count and score.

    >>> tokenize_lines(["To be, or not", "--", "that is"])
    [['to', 'be', ',', 'or', 'not'], ['that', 'is']]
    """
    return [tokens for tokens in (simple_word_tokenize(line, lowercase) for line in lines) if tokens]
