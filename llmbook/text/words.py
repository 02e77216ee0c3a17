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


def lines_as_text(lines) -> str:
    """Tokenized lines written as one string: each line's tokens joined by spaces and ended by a newline.

    The string starts with a newline too (the first line's context). Since no token may hold a space or a
    newline, the string and the lines determine each other, so a character model's probability of the
    string is that of the token sequence, ends of lines included.

    Args:
        lines: a sequence of lines, each a sequence of token strings (as :func:`tokenize_lines` returns).

    Returns:
        ``"\\n" + "".join(" ".join(tokens) + "\\n" for tokens in lines)``.

    Raises:
        ValueError: if a line is a string rather than a list of tokens, or a token is empty or holds a
            space or a newline (the text could not be split back into the same tokens).
    """
    parts = ["\n"]
    for number, tokens in enumerate(lines):
        if isinstance(tokens, str):
            raise ValueError(f"line {number} is a string; pass lists of tokens (tokenize_lines gives them)")
        for token in tokens:
            if not isinstance(token, str) or not token or " " in token or "\n" in token:
                raise ValueError(f"line {number} has the token {token!r}: tokens must be non-empty strings "
                                 "without spaces or newlines, or the text would not split back into them")
        parts.append(" ".join(tokens) + "\n")
    return "".join(parts)
