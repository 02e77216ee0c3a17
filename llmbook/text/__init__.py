"""Turning text into tokens."""

from llmbook.text.words import simple_word_tokenize

__all__ = ["simple_word_tokenize"]
