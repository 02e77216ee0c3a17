"""Transformer building blocks written with ``keras.ops`` only (they run on every Keras 3 backend).

Every layer has ``get_config`` and is registered as ``llmbook>Name`` for ``.keras`` saving.
"""

from llmbook.layers.attention import MultiHeadAttention, causal_mask, padding_mask, scaled_dot_product_attention
from llmbook.layers.crf import CRF
from llmbook.layers.dropout import LockedDropout, NaiveDropout
from llmbook.layers.mlp import GELUMLP, SwiGLUMLP
from llmbook.layers.normalization import LayerNorm, RMSNorm
from llmbook.layers.positional import (
    PositionEmbedding,
    RotaryEmbedding,
    SinusoidalPositionEmbedding,
    apply_rotary_embedding,
    rotary_angles,
)
from llmbook.layers.transformer import TransformerBlock

__all__ = [
    "CRF", "GELUMLP", "LayerNorm", "LockedDropout", "NaiveDropout", "MultiHeadAttention", "PositionEmbedding", "RMSNorm", "RotaryEmbedding",
    "SinusoidalPositionEmbedding", "SwiGLUMLP", "TransformerBlock", "apply_rotary_embedding", "causal_mask",
    "padding_mask", "rotary_angles", "scaled_dot_product_attention",
]
