"""llmbook.text.simple_word_tokenize, tokenize_lines and lines_as_text."""

import pytest

from llmbook.text import lines_as_text, simple_word_tokenize, tokenize_lines


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


def test_lines_as_text_writes_and_splits_back():
    lines = [["to", "be", ","], ["or"], ["not", "!"]]
    text = lines_as_text(lines)
    assert text == "\nto be ,\nor\nnot !\n"
    assert [line.split(" ") for line in text[1:-1].split("\n")] == lines
    assert lines_as_text([]) == "\n"


def test_lines_as_text_rejects_what_would_not_split_back():
    with pytest.raises(ValueError, match="line 0 is a string"):
        lines_as_text(["to be"])
    with pytest.raises(ValueError, match="line 1 has the token 'a b'"):
        lines_as_text([["x"], ["a b"]])
    with pytest.raises(ValueError, match="has the token ''"):
        lines_as_text([[""]])
    with pytest.raises(ValueError, match="without spaces or newlines"):
        lines_as_text([["a\nb"]])
