"""Turning text into tokens."""

from llmbook.text.bpe import ByteLevelBPE, pre_tokenize
from llmbook.text.vocabulary import Vocabulary
from llmbook.text.wordpiece import WordPieceTokenizer, basic_tokenize, load_vocab
from llmbook.text.words import lines_as_text, simple_word_tokenize, tokenize_lines

__all__ = ["ByteLevelBPE", "Vocabulary", "WordPieceTokenizer", "basic_tokenize", "load_vocab", "pre_tokenize",
           "simple_word_tokenize", "tokenize_lines", "lines_as_text"]
