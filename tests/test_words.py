"""llmbook.text.simple_word_tokenize and tokenize_lines."""

import pytest

from llmbook.text import simple_word_tokenize, tokenize_lines


def test_words_punctuation_and_apostrophes():
    assert simple_word_tokenize("O'er the hill, 'tis 1600!") == ["o'er", "the", "hill", ",", "tis", "1600", "!"]
    assert simple_word_tokenize("Hamlet -- [Exit.]", lowercase=False) == ["Hamlet", "Exit", "."]
    assert simple_word_tokenize("") == [] and simple_word_tokenize("  \n--") == []


def test_rejects_non_strings():
    with pytest.raises(TypeError, match="text must be a str, got list"):
        simple_word_tokenize(["not", "a", "string"])


def test_tokenize_lines_drops_lines_without_tokens_and_keeps_the_order():
    lines = ["To be, or not", "--", "", "That IS"]
    assert tokenize_lines(lines) == [["to", "be", ",", "or", "not"], ["that", "is"]]
    assert tokenize_lines(lines, lowercase=False)[1] == ["That", "IS"]
    with pytest.raises(TypeError, match="text must be a str"):
        tokenize_lines([["not", "a", "string"]])
