"""Character tagging tasks on People's Daily: word segmentation (B/M/E/S) and named entities (BIO).

Chapters 14 (CRFs) and 15 (multi-task learning) and ``benchmarks/crf.py`` prepare their data here, so the
same corpus gives the same pieces and the same split everywhere:

- :meth:`llmbook.data.chinese.TaggedCorpus.block_split` splits by document: blocks of consecutive lines, dealt
  with a seed (the corpus has no article ids).
- :func:`cut` cuts a line's ``(word, tag)`` pairs after punctuation marks (``，。！？；`` for clauses,
  ``。！？；`` for sentences), and optionally at a word boundary before a piece would pass ``max_chars``.
- :func:`character_tags` gives a piece's characters, its B/M/E/S segmentation tags and its BIO entity tags
  (``nr`` PER, ``ns`` LOC, ``nt`` ORG; adjacent ``nr`` words are one person, as the corpus writes a surname
  and a given name as two words: 江/nr 泽民/nr).
"""

from __future__ import annotations

from typing import Iterable, Sequence

from llmbook.data.chinese import word_entity_labels
from llmbook.metrics.spans import segmentation_tags
from llmbook.validation import positive_int

__all__ = ["CLAUSE_ENDS", "SENTENCE_ENDS", "character_tags", "cut"]

CLAUSE_ENDS = frozenset("，。！？；")
SENTENCE_ENDS = frozenset("。！？；")

Pairs = Sequence[tuple[str, str]]


def cut(pairs: Pairs, ends: Iterable[str] = CLAUSE_ENDS,
        max_chars: int | None = None) -> list[tuple[tuple[str, str], ...]]:
    """Cut a line of ``(word, tag)`` pairs into pieces.

    A piece ends after every word that is one of ``ends``. With ``max_chars``, a piece also ends before a
    word that would make it longer than ``max_chars`` characters, so a piece passes ``max_chars`` only when
    a single word does (callers that need a hard limit drop those). Words are never split.

    Args:
        pairs: ``(word, tag)`` pairs, e.g. a sentence of :func:`llmbook.data.load_peoples_daily`.
        ends: the words after which a piece ends.
        max_chars: the longest piece (in characters) built from more than one word; None for no limit.

    Returns:
        The pieces, in order, as tuples of pairs; joined they give ``pairs`` back.

    Raises:
        ValueError: if ``max_chars`` is not a positive integer, or ``pairs`` holds no ``(word, tag)`` pairs.

    >>> [len(p) for p in cut([("我", "r"), ("，", "w"), ("你", "r"), ("。", "w")])]
    [2, 2]
    """
    if max_chars is not None:
        max_chars = positive_int("max_chars", max_chars)
    ends = frozenset(ends)
    pieces, current, length = [], [], 0
    for pair in pairs:
        if not (isinstance(pair, (tuple, list)) and len(pair) == 2 and isinstance(pair[0], str)):
            raise ValueError(f"pairs must be (word, tag) pairs, got {pair!r}")
        if current and max_chars is not None and length + len(pair[0]) > max_chars:
            pieces.append(tuple(current))
            current, length = [], 0
        current.append(tuple(pair))
        length += len(pair[0])
        if pair[0] in ends:
            pieces.append(tuple(current))
            current, length = [], 0
    return pieces + ([tuple(current)] if current else [])


def character_tags(pairs: Pairs) -> tuple[str, list[str], list[str]]:
    """``(characters, segmentation tags, entity tags)`` of a piece of ``(word, tag)`` pairs, one tag per character.

    Segmentation tags are B/M/E/S (:func:`llmbook.metrics.segmentation_tags`). Entity tags are BIO over
    characters: ``B-PER`` is a person's first character, ``I-PER`` the others, ``O`` outside any entity.
    Adjacent ``nr`` words form one person; every ``ns`` or ``nt`` word is an entity of its own. The piece
    is tagged on its own: a piece that starts with an ``nr`` word starts a person.

    Raises:
        ValueError: if a word is empty or not a string.

    >>> character_tags([("江", "nr"), ("泽民", "nr"), ("说", "v")])
    ('江泽民说', ['S', 'B', 'E', 'S'], ['B-PER', 'I-PER', 'I-PER', 'O'])
    """
    words = [word for word, _ in pairs]
    entities = []
    for word, label in zip(words, word_entity_labels([tag for _, tag in pairs])):
        inside = "O" if label == "O" else "I-" + label[2:]
        entities += [label] + [inside] * (len(word) - 1)
    return "".join(words), list(segmentation_tags(words)), entities
