"""What the decoder and encoder backbones (and :class:`~llmbook.models.architectures.TransformerSpec`) share:
the checks of a Transformer's shape, the norms and blocks built from its options, and the output head.

>>> check_transformer_shape(hidden_dim=64, num_heads=4, num_kv_heads=2, head_dim=None, positions="rope",
...                         norm="rms", mlp="swiglu")
16
"""

from __future__ import annotations

from keras import ops

from llmbook.layers import LayerNorm, RMSNorm, TransformerBlock
from llmbook.layers.transformer import MLPS, NORMS, POSITIONS
from llmbook.validation import positive_int, positive_number, unit_rate


def check_transformer_shape(*, hidden_dim: int, num_heads: int, num_kv_heads: int | None, head_dim: int | None,
                            positions: str, norm: str, mlp: str, width_name: str = "hidden_dim") -> int:
    """Check that the options name known parts and that the heads fit the width.

    Args:
        hidden_dim: the model width.
        num_heads: query heads.
        num_kv_heads: key/value heads (None: ``num_heads``); must divide ``num_heads``.
        head_dim: size per head (None: ``hidden_dim // num_heads``, which must then divide exactly).
        positions: one of :data:`llmbook.layers.transformer.POSITIONS`.
        norm: one of :data:`llmbook.layers.transformer.NORMS`.
        mlp: one of :data:`llmbook.layers.transformer.MLPS`.
        width_name: how the width is called in the messages (``TransformerSpec`` calls it ``dim``).

    Returns:
        The size per head.

    Raises:
        ValueError: for an unknown option, a non-positive size, heads that do not divide, or an odd head
            size with rotary positions.
    """
    for name, value, allowed in (("positions", positions, POSITIONS), ("norm", norm, NORMS), ("mlp", mlp, MLPS)):
        if value not in allowed:
            raise ValueError(f"unknown {name} {value!r}; choose one of {', '.join(allowed)}")
    positive_int(width_name, hidden_dim)
    positive_int("num_heads", num_heads)
    if num_kv_heads is not None:
        positive_int("num_kv_heads", num_kv_heads)
        if num_heads % num_kv_heads:
            raise ValueError(f"num_kv_heads={num_kv_heads} must divide num_heads={num_heads}")
    if head_dim is None:
        if hidden_dim % num_heads:
            raise ValueError(f"{width_name}={hidden_dim} is not divisible by num_heads={num_heads}; pass head_dim")
        head_dim = hidden_dim // num_heads
    positive_int("head_dim", head_dim)
    if positions == "rope" and head_dim % 2:
        raise ValueError(f"rotary positions need an even head_dim, got {head_dim}")
    return int(head_dim)


def set_stack_options(model, *, vocab_size, hidden_dim, num_layers, num_heads, intermediate_dim, max_length,
                      num_kv_heads, head_dim, positions, norm, mlp, use_bias, lm_head_bias, norm_first, lm_head,
                      tie_embeddings, rope_theta, norm_epsilon, dropout, initializer_range) -> None:
    """Check the options that both backbones take and set them, normalized, as attributes of ``model``.

    ``intermediate_dim=None`` becomes ``4 * hidden_dim``, ``num_kv_heads=None`` becomes ``num_heads``,
    ``head_dim=None`` becomes ``hidden_dim // num_heads`` and ``lm_head_bias=None`` follows ``use_bias``.
    The head switch is stored as ``model.lm_head_enabled`` (``model.lm_head`` is the layer).

    Raises:
        ValueError: for non-positive sizes, heads that do not fit the width, an unknown option, a dropout
            rate outside ``[0, 1)``, or a tied head without a head.
    """
    model.vocab_size, model.hidden_dim = positive_int("vocab_size", vocab_size), positive_int("hidden_dim", hidden_dim)
    model.num_layers, model.num_heads = positive_int("num_layers", num_layers), positive_int("num_heads", num_heads)
    model.intermediate_dim = positive_int("intermediate_dim", 4 * model.hidden_dim if intermediate_dim is None
                                          else intermediate_dim)
    model.max_length = positive_int("max_length", max_length)
    model.head_dim = check_transformer_shape(hidden_dim=model.hidden_dim, num_heads=model.num_heads,
                                             num_kv_heads=num_kv_heads, head_dim=head_dim, positions=positions,
                                             norm=norm, mlp=mlp)
    model.num_kv_heads = model.num_heads if num_kv_heads is None else int(num_kv_heads)
    if tie_embeddings and not lm_head:
        raise ValueError("tie_embeddings needs lm_head=True (it is the head that is tied)")
    model.positions, model.norm, model.mlp, model.use_bias = positions, norm, mlp, bool(use_bias)
    model.lm_head_bias = model.use_bias if lm_head_bias is None else bool(lm_head_bias)
    model.norm_first, model.lm_head_enabled, model.tie_embeddings = bool(norm_first), bool(lm_head), bool(tie_embeddings)
    model.rope_theta, model.norm_epsilon = float(rope_theta), float(norm_epsilon)
    model.dropout = unit_rate("dropout", dropout)
    model.initializer_range = positive_number("initializer_range", initializer_range)


def make_norm(kind: str, epsilon: float, name: str):
    """A :class:`~llmbook.layers.LayerNorm` (``kind="layer"``) or :class:`~llmbook.layers.RMSNorm` (``"rms"``).

    Raises:
        ValueError: for another kind.
    """
    if kind not in NORMS:
        raise ValueError(f"unknown norm {kind!r}; choose one of {', '.join(NORMS)}")
    return (LayerNorm if kind == "layer" else RMSNorm)(epsilon=epsilon, name=name)


def make_blocks(count: int, *, causal: bool, num_heads: int, intermediate_dim: int, head_dim: int | None,
                num_kv_heads: int | None, norm_first: bool, norm: str, mlp: str, positions: str, rope_theta: float,
                use_bias: bool, norm_epsilon: float, dropout: float, cross_attention: bool = False,
                prefix: str = "") -> list:
    """``count`` :class:`~llmbook.layers.TransformerBlock` named ``{prefix}block_{i}``.

    RoPE (base ``rope_theta``) is applied in self-attention exactly when ``positions == "rope"``. The other
    arguments are the block's.

    Returns:
        A list of unbuilt blocks.
    """
    return [
        TransformerBlock(num_heads=num_heads, intermediate_dim=intermediate_dim, head_dim=head_dim,
                         num_kv_heads=num_kv_heads, norm_first=norm_first, norm=norm, mlp=mlp, causal=causal,
                         rope_theta=rope_theta if positions == "rope" else None, use_bias=use_bias,
                         norm_epsilon=norm_epsilon, dropout=dropout, cross_attention=cross_attention,
                         name=f"{prefix}block_{i}")
        for i in range(count)
    ]


def output_head(x, *, final_norm, lm_head, tied_embedding=None, logits_at=None):
    """A stack's output: the final norm, then the language-model head.

    The head is ``lm_head`` (a Dense layer) when there is one, else the transposed table of
    ``tied_embedding`` (tied input and output embeddings), else nothing: ``x`` is returned as hidden
    states. With ``logits_at`` (a scalar position), only that position is kept, before the norm, which
    skips the (length x vocab) output product for all the others.

    Returns:
        ``(batch, length, vocab_size)`` logits (``length`` 1 with ``logits_at``), or hidden states.
    """
    if logits_at is not None:
        x = ops.take(x, ops.reshape(ops.cast(logits_at, "int32"), (1,)), axis=1)
    if final_norm is not None:
        x = final_norm(x)
    if lm_head is not None:
        return lm_head(x)
    if tied_embedding is not None:
        return ops.matmul(x, ops.transpose(ops.cast(tied_embedding.embeddings, x.dtype)))
    return x
