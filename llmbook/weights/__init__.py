"""Loading real checkpoints into llmbook's models, with explicit name maps and shape checks."""

from llmbook.weights.safetensors_bert import (
    CheckpointMismatchError,
    encoder_config,
    load_bert_weights,
    load_minilm,
    minilm_path,
    read_safetensors,
)

__all__ = ["CheckpointMismatchError", "encoder_config", "load_bert_weights", "load_minilm", "minilm_path",
           "read_safetensors"]
