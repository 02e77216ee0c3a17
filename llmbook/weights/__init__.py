"""Loading real checkpoints into llmbook's models, with explicit weight maps and shape checks, all or nothing.

Both loaders follow :mod:`llmbook.weights.loading`: a weight map (variable path -> checkpoint tensor and
transform), one report of missing / unexpected / mis-shaped / unusable tensors, one error type
(:class:`WeightLoadError`), and no variable assigned unless every tensor fits.

- safetensors, BERT (all-MiniLM-L6-v2): :func:`load_minilm`, :func:`load_bert_weights`;
- GGUF, Llama-style decoders (SmolLM2-135M-Instruct): :func:`load_smollm2`, :func:`load_llama`,
  :func:`load_llama_weights`.
"""

from llmbook.weights.gguf import (
    GGUFError,
    llama_config,
    llama_name_map,
    load_llama,
    load_llama_weights,
    load_smollm2,
    read_chat_template,
    read_gguf,
)
from llmbook.weights.loading import Source, WeightLoadError, mismatch_report
from llmbook.weights.safetensors_bert import (
    CheckpointMismatchError,
    bert_name_map,
    encoder_config,
    load_bert_weights,
    load_minilm,
    read_safetensors,
)

__all__ = ["CheckpointMismatchError", "GGUFError", "Source", "WeightLoadError", "bert_name_map", "encoder_config",
           "llama_config", "llama_name_map", "load_bert_weights", "load_llama", "load_llama_weights", "load_minilm",
           "load_smollm2", "mismatch_report", "read_chat_template", "read_gguf", "read_safetensors"]
