"""llmbook.text.simple_word_tokenize."""

import pytest

from llmbook.text import simple_word_tokenize


def test_words_punctuation_and_apostrophes():
    assert simple_word_tokenize("O'er the hill, 'tis 1600!") == ["o'er", "the", "hill", ",", "tis", "1600", "!"]
    assert simple_word_tokenize("Hamlet -- [Exit.]", lowercase=False) == ["Hamlet", "Exit", "."]
    assert simple_word_tokenize("") == [] and simple_word_tokenize("  \n--") == []


def test_rejects_non_strings():
    with pytest.raises(TypeError, match="text must be a str, got list"):
        simple_word_tokenize(["not", "a", "string"])
