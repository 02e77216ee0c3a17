"""Language models, from counting to Transformers."""

from llmbook.models.ngram import BOS, EOS, UNK, NGramLanguageModel

__all__ = ["BOS", "EOS", "UNK", "NGramLanguageModel"]

# Keras models load lazily, so that ``from llmbook.models import NGramLanguageModel`` does not import TensorFlow.
_LAZY = {"TransformerDecoder": "llmbook.models.decoder", "TransformerEncoder": "llmbook.models.encoder",
         "GPT": "llmbook.models.gpt", "LlamaDecoder": "llmbook.models.llama",
         "BertEncoder": "llmbook.models.bert", "BertPretrainer": "llmbook.models.bert",
         "BertClassifier": "llmbook.models.bert", "SentenceEncoder": "llmbook.models.bert",
         "TransformerSpec": "llmbook.models.architectures", "build_transformer": "llmbook.models.architectures",
         "Seq2SeqTransformer": "llmbook.models.seq2seq", "greedy_translate": "llmbook.models.seq2seq",
         "RecurrentLanguageModel": "llmbook.models.recurrent", "TruncatedBPTT": "llmbook.models.recurrent",
         "bptt_batches": "llmbook.models.recurrent", "gradient_norms_per_step": "llmbook.models.recurrent",
         "MultiTaskTagger": "llmbook.models.tagger", "FeedForwardLM": "llmbook.models.feedforward",
         "BagOfNgramsClassifier": "llmbook.models.classifier", "NgramVocabulary": "llmbook.models.classifier"}
__all__ += list(_LAZY)


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'llmbook.models' has no attribute {name!r}")
