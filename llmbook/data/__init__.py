"""Offline corpora, one loader per corpus, and a checked download path for optional data.

Every loader reads files that ship inside a pip package, says its source and licence in its
docstring, returns a small typed object, and raises :class:`DataPackageMissingError` with the exact
install command when its package is missing.

>>> from llmbook import data
>>> data.available()[:4]
['chinese-sentiment', 'ding-sentences', 'english-sentences', 'enwiki-sample']
>>> corpus = data.load("shakespeare")      # doctest: +SKIP
"""

from __future__ import annotations

import difflib
from typing import Any, Callable

from llmbook.data._common import DataPackageMissingError, Split, TextCorpus, split_indices
from llmbook.data.chinese import LabelledTexts, TaggedCorpus, load_chinese_sentiment, load_peoples_daily
from llmbook.data.ding import ParallelCorpus, SentencePair, load_ding_sentences, load_ding_words
from llmbook.data.download import ChecksumError, fetch
from llmbook.data.english_sentiment import SentimentLexicon, load_pang_lee_polarity, load_sentiment_lexicon
from llmbook.data.english_words import load_english_sentences
from llmbook.data.gensim_data import (
    AnalogyQuestion,
    AnalogySet,
    SimilarityPair,
    SimilaritySet,
    load_analogies,
    load_lee,
    load_simlex999,
    load_wordsim353,
)
from llmbook.data.poems import Poem, PoemCorpus, load_tang_poems
from llmbook.data.shakespeare import load_shakespeare, shakespeare_character_texts, shakespeare_token_lines
from llmbook.data.wiki import load_enwiki_sample

LOADERS: dict[str, Callable[..., Any]] = {
    "chinese-sentiment": load_chinese_sentiment,
    "ding-sentences": load_ding_sentences,
    "english-sentences": load_english_sentences,
    "enwiki-sample": load_enwiki_sample,
    "google-analogies": load_analogies,
    "lee": load_lee,
    "pang-lee-polarity": load_pang_lee_polarity,
    "peoples-daily": load_peoples_daily,
    "sentiment-lexicon": load_sentiment_lexicon,
    "shakespeare": load_shakespeare,
    "simlex999": load_simlex999,
    "tang-poems": load_tang_poems,
    "wordsim353": load_wordsim353,
}


def available() -> list[str]:
    """The corpus names :func:`load` accepts, sorted."""
    return sorted(LOADERS)


def load(name: str, **options: Any) -> Any:
    """Load a corpus by name; ``options`` go to its loader (e.g. ``load("lee", part="test")``).

    Raises:
        KeyError: for an unknown name; the message lists the known names and the closest match.
    """
    if name not in LOADERS:
        close = difflib.get_close_matches(str(name), LOADERS, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise KeyError(f"unknown corpus {name!r}.{hint} Known corpora: {', '.join(available())}")
    return LOADERS[name](**options)


__all__ = [
    "AnalogyQuestion", "AnalogySet", "ChecksumError", "DataPackageMissingError", "LabelledTexts", "ParallelCorpus",
    "SentencePair",
    "SentimentLexicon",
    "SimilarityPair",
    "SimilaritySet", "Split", "TaggedCorpus", "TextCorpus", "available", "fetch", "load", "load_analogies",
    "load_chinese_sentiment", "load_ding_sentences", "load_ding_words", "load_english_sentences",
    "load_enwiki_sample", "load_lee", "load_pang_lee_polarity", "load_peoples_daily",
    "load_sentiment_lexicon",
    "load_shakespeare", "load_simlex999",
    "load_wordsim353", "split_indices",
]
__all__ += ["Poem", "PoemCorpus", "load_tang_poems", "shakespeare_character_texts", "shakespeare_token_lines"]
