"""Language models, from counting to Transformers."""

from llmbook.models.ngram import BOS, EOS, UNK, NGramLanguageModel

__all__ = ["BOS", "EOS", "UNK", "NGramLanguageModel"]
