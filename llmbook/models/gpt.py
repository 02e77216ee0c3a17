"""GPT: a decoder-only Transformer language model (Radford et al., 2018; 2019).

A GPT reads token ids and predicts, at every position, a distribution over the next token. It is a
stack of *causal* (pre-LN) Transformer blocks: position ``t`` only sees positions ``0..t``, so one
forward pass over a sequence gives the next-token loss at every position at once. It is pre-trained
by next-token prediction on raw text; there is no masking of input tokens (that is BERT's objective).

:class:`GPT` is the :class:`~llmbook.models.decoder.TransformerDecoder` with GPT-2's settings: learned
positions, LayerNorm, tanh-approximated GELU, biases, an output head tied to the token embedding.

>>> import numpy as np
>>> model = GPT(vocab_size=50, max_length=16, num_layers=2, num_heads=2, hidden_dim=8, intermediate_dim=32)
>>> tuple(model(np.zeros((1, 5), "int32")).shape)
(1, 5, 50)
"""

from __future__ import annotations

import keras

from llmbook.layers.transformer import NORM_EPSILON
from llmbook.models.decoder import TransformerDecoder

#: The options GPT-2 fixes; any of them can still be overridden by keyword.
GPT2_OPTIONS = dict(norm="layer", mlp="gelu_approximate", use_bias=True, lm_head_bias=False)


@keras.saving.register_keras_serializable(package="llmbook")
class GPT(TransformerDecoder):
    """A GPT-2-style decoder: token + position embeddings, pre-LN blocks with GELU MLPs, final LayerNorm.

    Args:
        vocab_size: number of token ids.
        max_length: the longest sequence (size of the learned position table).
        num_layers, num_heads, hidden_dim, intermediate_dim: the Transformer's shape (``intermediate_dim``
            defaults to ``4 * hidden_dim``).
        dropout: dropout rate while training.
        positions: ``"learned"`` (GPT-2), ``"sinusoidal"``, ``"rope"`` or ``"none"``.
        tie_embeddings: the output head is the transposed token embedding (GPT-2: True).
        norm_epsilon: LayerNorm epsilon.
        **options: any other :class:`~llmbook.models.decoder.TransformerDecoder` argument (overrides
            :data:`GPT2_OPTIONS`), and Keras' ``name``.

    Call args:
        token_ids: integer ``(batch, length)``.
        attention_mask: optional boolean ``(batch, length)``; False for padding.

    Returns:
        Logits ``(batch, length, vocab_size)`` for the next token at each position.

    Raises:
        ValueError: for non-positive sizes, a ``hidden_dim`` not divisible by ``num_heads``, an unknown
            ``positions``, or token ids of the wrong shape or dtype.
    """

    def __init__(self, vocab_size: int, max_length: int, num_layers: int = 4, num_heads: int = 4,
                 hidden_dim: int = 128, intermediate_dim: int | None = None, dropout: float = 0.0,
                 positions: str = "learned", tie_embeddings: bool = True, norm_epsilon: float = NORM_EPSILON,
                 **options):
        super().__init__(vocab_size, hidden_dim=hidden_dim, num_layers=num_layers, num_heads=num_heads,
                         intermediate_dim=intermediate_dim, max_length=max_length,
                         dropout=dropout, positions=positions, tie_embeddings=tie_embeddings,
                         norm_epsilon=norm_epsilon, **{**GPT2_OPTIONS, **options})
