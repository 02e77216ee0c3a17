"""BERT (Devlin et al., 2019): an encoder-only Transformer, its pre-training heads, pooling and fine-tuning.

BERT is a stack of *post-LN* Transformer encoder blocks (``norm(x + sublayer(x))``) with bidirectional
self-attention: every token sees every other non-padding token. There is no decoder and no causal mask.
The input embedding is the sum of a token, a learned absolute position and a segment (sentence A/B)
embedding, followed by LayerNorm and dropout.

- :class:`BertEncoder` (:mod:`.encoder`): BERT's setting of :class:`~llmbook.models.encoder.TransformerEncoder`:
  token ids -> one contextual vector per token (plus a ``pooler``, tanh(W h_CLS + b)).
- :func:`pool` / :class:`BertPooling` (:mod:`.pooling`): CLS or mean pooling of the token vectors.
- :class:`MaskedLMHead`, :class:`BertPretrainer`, :class:`BertClassifier` (:mod:`.heads`): the MLM head
  (dense + GELU + LayerNorm, then logits against the *tied* token-embedding table), pre-training with MLM
  and next-sentence prediction, and fine-tuning for classification.
- :class:`SentenceEncoder` (:mod:`.sentence`): texts -> sentence embeddings.

Inputs are dicts of ``token_ids`` (int ``(batch, length)``), optionally ``segment_ids`` (default all 0)
and ``padding_mask`` (bool, True on real tokens; default ``token_ids != pad_id``), as produced by
:class:`llmbook.text.WordPieceTokenizer`.
"""

from llmbook.models.bert.encoder import BERT_OPTIONS, BertEncoder
from llmbook.models.bert.heads import BertClassifier, BertPretrainer, MaskedLMHead
from llmbook.models.bert.pooling import POOLINGS, BertPooling, pool
from llmbook.models.bert.sentence import SentenceEncoder

__all__ = ["BERT_OPTIONS", "POOLINGS", "BertClassifier", "BertEncoder", "BertPooling", "BertPretrainer",
           "MaskedLMHead", "SentenceEncoder", "pool"]
