"""Turning text into tokens."""

from llmbook.text.wordpiece import WordPieceTokenizer, basic_tokenize, load_vocab
from llmbook.text.words import simple_word_tokenize

__all__ = ["WordPieceTokenizer", "basic_tokenize", "load_vocab", "simple_word_tokenize"]
