"""Baselines for German->English translation that a reader would try before training a model.

- :func:`copy_translate`: the output is the source. German and English share names, numbers and
  many cognates, so copying scores above zero; any model must beat it.
- :func:`word_by_word`: every German word replaced by one English translation from a lexicon (the
  Ding dictionary's word entries, :func:`llmbook.data.ding.load_ding_words`), in German word order.

>>> word_by_word("Heute gehen wir.", {"heute": "today", "gehen": "go", "wir": "we"})
'Today go we.'
"""

from __future__ import annotations

import re
from typing import Mapping

_TOKEN = re.compile(r"[^\W_]+(?:[-'’][^\W_]+)*|\S")
_NO_SPACE_BEFORE = set(".,!?;:%)]}»“’…")
_NO_SPACE_AFTER = set("([{„«‚")


def tokenize(sentence: str) -> list[str]:
    """Words (letters and digits, with inner ``-`` or apostrophes) and single punctuation marks.

    >>> tokenize("Wer's glaubt, wird selig!")
    ["Wer's", 'glaubt', ',', 'wird', 'selig', '!']
    """
    return _TOKEN.findall(sentence)


def detokenize(tokens: list[str]) -> str:
    """Join tokens with spaces, except before closing marks (``. , ! ? ; : %`` and closing brackets or
    quotes) and after opening ones.

    >>> detokenize(["Ja", ",", "gut", "!"])
    'Ja, gut!'
    """
    text = ""
    for token in tokens:
        if text and token not in _NO_SPACE_BEFORE and text[-1] not in _NO_SPACE_AFTER:
            text += " "
        text += token
    return text


def _look_up(phrase: str, lexicon: Mapping[str, str]) -> str | None:
    for form in (phrase, phrase[:1].lower() + phrase[1:], phrase.lower(), phrase[:1].upper() + phrase[1:].lower()):
        if form in lexicon:
            return lexicon[form]
    return None


def word_by_word(german_sentence: str, lexicon: Mapping[str, str], max_phrase_words: int = 1) -> str:
    """Translate word by word with a lexicon, keeping the German word order.

    The sentence is split by :func:`tokenize`. From left to right, the longest run of up to
    ``max_phrase_words`` words that the lexicon holds is replaced by its translation; a word (or phrase)
    is looked up as it is written, then with its first letter lower-cased (``Heute Abend`` at the start
    of a sentence -> ``heute Abend``), then all lower-cased, then capitalised (``haus`` -> ``Haus``). A word the lexicon lacks (an inflected form, a name, a number)
    is kept as it is. Punctuation marks are never looked up: they are kept in place and re-attached by
    :func:`detokenize` (no space before ``.``, ``,``, ``!``, ``?``). If the sentence starts with an
    upper-case letter, so does the translation.

    Args:
        german_sentence: the source text.
        lexicon: German word or phrase -> English, e.g. from :func:`llmbook.data.ding.load_ding_words`.
        max_phrase_words: the longest German phrase looked up as one (use ``load_ding_words(max_words=n)``
            for a lexicon with phrases of up to ``n`` words).

    Returns:
        The English text.

    Raises:
        TypeError: if ``german_sentence`` is not a string or ``lexicon`` not a mapping.
        ValueError: if ``max_phrase_words`` is not a positive integer.
    """
    if not isinstance(german_sentence, str):
        raise TypeError(f"german_sentence must be a string, got {type(german_sentence).__name__}")
    if not isinstance(lexicon, Mapping):
        raise TypeError(f"lexicon must be a mapping from German to English, got {type(lexicon).__name__}; "
                        "load one with llmbook.data.load_ding_words()")
    if isinstance(max_phrase_words, bool) or not isinstance(max_phrase_words, int) or max_phrase_words < 1:
        raise ValueError(f"max_phrase_words must be a positive integer, got {max_phrase_words!r}")
    tokens = tokenize(german_sentence)
    output, i = [], 0
    while i < len(tokens):
        if not tokens[i][0].isalnum():
            output.append(tokens[i])
            i += 1
            continue
        for n in range(max_phrase_words, 0, -1):
            words = tokens[i:i + n]
            if len(words) < n or not all(w[0].isalnum() for w in words):
                continue
            english = _look_up(" ".join(words), lexicon)
            if english is not None:
                output.append(english)
                i += n
                break
        else:
            output.append(tokens[i])
            i += 1
    text = detokenize(output)
    if german_sentence[:1].isupper() and text:
        text = text[0].upper() + text[1:]
    return text


def copy_translate(german_sentence: str) -> str:
    """The copy baseline: the translation is the source sentence, unchanged.

    Raises:
        TypeError: if ``german_sentence`` is not a string.
    """
    if not isinstance(german_sentence, str):
        raise TypeError(f"german_sentence must be a string, got {type(german_sentence).__name__}")
    return german_sentence
