"""The three Transformer families as one description: encoder-only (BERT), decoder-only (GPT) and
encoder-decoder (the original Transformer, T5). A :class:`TransformerSpec` says what a model is made of;
:meth:`TransformerSpec.parameter_breakdown` counts its parameters with a closed formula, and
:func:`build_transformer` builds it as a Keras model from :mod:`llmbook.layers`, so the two can be
checked against each other.

- **encoder-only**: ``token ids -> embedding (+ positions) -> N blocks with bidirectional self-attention
  -> one vector per token`` (and, for pre-training, a head that predicts masked tokens).
- **decoder-only**: the same with *causal* self-attention (token ``t`` sees only tokens ``<= t``), and a
  head that predicts the next token.
- **encoder-decoder**: an encoder over the source, and a causal decoder over the target whose blocks
  also *cross-attend* to the encoder's output. Source and target share one embedding table here (as in
  the original Transformer and T5).

The formula and the builder cover learned, sinusoidal or rotary positions, LayerNorm or RMSNorm, GELU
or SwiGLU MLPs, grouped-query attention and biases on or off. The formula also counts three things the
builder does not build (it refuses them with an error): BERT's token-type embeddings and ``[CLS]``
pooler, and an output head tied to the input embedding.

>>> spec = TransformerSpec("decoder-only", vocab_size=256, dim=32, num_layers=2, num_heads=4,
...                        intermediate_dim=64, max_length=64)
>>> spec.total_parameters
35840
>>> build_transformer(spec).count_params()  # doctest: +SKIP
35840
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from llmbook.validation import positive_int

KINDS = ("encoder-only", "decoder-only", "encoder-decoder")
POSITIONS = ("learned", "sinusoidal", "rope", "none")
NORMS = ("layer", "rms")
MLPS = ("gelu", "gelu_approximate", "swiglu")


def _positive(name: str, value) -> None:
    positive_int(name, value)


@dataclass(frozen=True)
class TransformerSpec:
    """What a Transformer language model is made of.

    Args:
        kind: ``"encoder-only"``, ``"decoder-only"`` or ``"encoder-decoder"``.
        vocab_size: number of token ids (shared by source and target in an encoder-decoder).
        dim: model width ``d``.
        num_layers: number of blocks (the encoder's, for an encoder-decoder).
        num_heads: query heads per attention layer.
        intermediate_dim: MLP hidden width ``f``.
        decoder_layers: decoder blocks of an encoder-decoder (default ``num_layers``).
        num_kv_heads: key/value heads (grouped-query attention); default ``num_heads``.
        head_dim: size per head; default ``dim // num_heads``.
        positions: ``"learned"`` (a ``max_length x d`` table), ``"sinusoidal"`` or ``"rope"`` (no
            parameters), or ``"none"``.
        max_length: rows of the learned position table (and the longest input the model accepts).
        norm: ``"layer"`` (scale and shift, ``2d``) or ``"rms"`` (scale only, ``d``).
        mlp: ``"gelu"``, ``"gelu_approximate"`` (``2df`` weights) or ``"swiglu"`` (``3df``).
        use_bias: biases in the attention and MLP projections and the output head.
        norm_first: pre-LN (True; adds one final norm per stack) or post-LN (False).
        embedding_norm: a norm right after the embeddings (BERT).
        token_types: rows of a segment-embedding table (BERT: 2); counted only.
        pooler: BERT's ``d x d`` ``[CLS]`` pooler; counted only.
        lm_head: a ``d -> vocab_size`` output layer (the logits); False gives hidden states.
        tie_embeddings: the output layer reuses the embedding matrix (GPT-2, Llama-style small models);
            counted only.

    Raises:
        ValueError: for an unknown kind/positions/norm/mlp, a non-positive size, heads that do not
            divide, or ``decoder_layers`` on a model that has no decoder.
    """

    kind: str
    vocab_size: int
    dim: int
    num_layers: int
    num_heads: int
    intermediate_dim: int
    decoder_layers: int | None = None
    num_kv_heads: int | None = None
    head_dim: int | None = None
    positions: str = "learned"
    max_length: int = 512
    norm: str = "layer"
    mlp: str = "gelu"
    use_bias: bool = True
    norm_first: bool = True
    embedding_norm: bool = False
    token_types: int = 0
    pooler: bool = False
    lm_head: bool = True
    tie_embeddings: bool = False

    def __post_init__(self):
        for name, allowed in (("kind", KINDS), ("positions", POSITIONS), ("norm", NORMS), ("mlp", MLPS)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"unknown {name} {getattr(self, name)!r}; choose one of {', '.join(allowed)}")
        for name in ("vocab_size", "dim", "num_layers", "num_heads", "intermediate_dim", "max_length"):
            _positive(name, getattr(self, name))
        if self.decoder_layers is not None:
            if self.kind != "encoder-decoder":
                raise ValueError(f"decoder_layers is only for an encoder-decoder, not a {self.kind} model")
            _positive("decoder_layers", self.decoder_layers)
        if self.head_dim is None and self.dim % self.num_heads:
            raise ValueError(f"dim={self.dim} is not divisible by num_heads={self.num_heads}; pass head_dim")
        if self.head_dim is not None:
            _positive("head_dim", self.head_dim)
        if self.num_kv_heads is not None:
            _positive("num_kv_heads", self.num_kv_heads)
            if self.num_heads % self.num_kv_heads:
                raise ValueError(f"num_kv_heads={self.num_kv_heads} must divide num_heads={self.num_heads}")
        if self.positions == "rope" and self.resolved_head_dim % 2:
            raise ValueError(f"rotary positions need an even head_dim, got {self.resolved_head_dim}")
        if self.token_types < 0:
            raise ValueError(f"token_types must be >= 0, got {self.token_types}")
        if self.tie_embeddings and not self.lm_head:
            raise ValueError("tie_embeddings needs lm_head=True (it is the head that is tied)")

    @property
    def resolved_head_dim(self) -> int:
        return self.dim // self.num_heads if self.head_dim is None else self.head_dim

    @property
    def resolved_kv_heads(self) -> int:
        return self.num_heads if self.num_kv_heads is None else self.num_kv_heads

    @property
    def resolved_decoder_layers(self) -> int:
        if self.kind != "encoder-decoder":
            return 0
        return self.num_layers if self.decoder_layers is None else self.decoder_layers

    # --- the formula -------------------------------------------------------------------------------
    def norm_parameters(self) -> int:
        """A LayerNorm has a scale and a shift per feature (``2d``); an RMSNorm only a scale (``d``)."""
        return 2 * self.dim if self.norm == "layer" else self.dim

    def attention_parameters(self, kv_heads: int | None = None) -> int:
        """Q, K, V and output projections: ``d*h*k + 2*d*g*k + h*k*d`` weights (+ biases) for ``h`` query
        heads, ``g`` key/value heads of size ``k``; with ``h*k = d`` and ``g = h`` this is ``4d^2 + 4d``.

        ``kv_heads`` overrides ``g`` (cross-attention in :mod:`llmbook.layers` always uses ``g = h``)."""
        d, k = self.dim, self.resolved_head_dim
        g = self.resolved_kv_heads if kv_heads is None else kv_heads
        q_out, kv_out = self.num_heads * k, g * k
        weights = d * q_out + 2 * d * kv_out + q_out * d
        biases = q_out + 2 * kv_out + d if self.use_bias else 0
        return weights + biases

    def mlp_parameters(self) -> int:
        """GELU MLP: ``2df`` weights (+ ``f + d`` biases); SwiGLU: ``3df`` (+ ``2f + d``)."""
        d, f = self.dim, self.intermediate_dim
        if self.mlp == "swiglu":
            return 3 * d * f + ((2 * f + d) if self.use_bias else 0)
        return 2 * d * f + ((f + d) if self.use_bias else 0)

    def block_parameters(self, cross_attention: bool = False) -> int:
        """One block: self-attention and MLP with a norm each, plus cross-attention and its norm if asked.

        Cross-attention has ``num_heads`` key/value heads even when self-attention groups them (as
        ``llmbook.layers.TransformerBlock`` builds it)."""
        total = self.attention_parameters() + self.mlp_parameters() + 2 * self.norm_parameters()
        if cross_attention:
            total += self.attention_parameters(kv_heads=self.num_heads) + self.norm_parameters()
        return total

    def parameter_breakdown(self) -> dict[str, int]:
        """Parameters by part; the values sum to :attr:`total_parameters`.

        Keys: ``token_embedding``, ``position_embedding``, ``token_type_embedding``, ``embedding_norm``,
        ``encoder_blocks``, ``decoder_blocks``, ``final_norms``, ``pooler``, ``lm_head``. A part the
        model does not have counts 0.
        """
        d, vocab = self.dim, self.vocab_size
        stacks = 2 if self.kind == "encoder-decoder" else 1
        encoder_layers = self.num_layers if self.kind != "decoder-only" else 0
        decoder_layers = self.num_layers if self.kind == "decoder-only" else self.resolved_decoder_layers
        return {
            "token_embedding": vocab * d,
            "position_embedding": stacks * self.max_length * d if self.positions == "learned" else 0,
            "token_type_embedding": self.token_types * d,
            "embedding_norm": stacks * self.norm_parameters() if self.embedding_norm else 0,
            "encoder_blocks": encoder_layers * self.block_parameters(),
            "decoder_blocks": decoder_layers * self.block_parameters(cross_attention=self.kind == "encoder-decoder"),
            "final_norms": stacks * self.norm_parameters() if self.norm_first else 0,
            "pooler": d * d + d if self.pooler else 0,
            "lm_head": 0 if not self.lm_head or self.tie_embeddings else d * vocab + (vocab if self.use_bias else 0),
        }

    @property
    def total_parameters(self) -> int:
        """The sum of :meth:`parameter_breakdown`."""
        return sum(self.parameter_breakdown().values())

    def replace(self, **changes) -> "TransformerSpec":
        """A copy with some fields changed (validated again)."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        unknown = set(changes) - set(values)
        if unknown:
            raise ValueError(f"unknown field(s) {sorted(unknown)}; fields are {sorted(values)}")
        return TransformerSpec(**{**values, **changes})


# --- the builder ------------------------------------------------------------------------------------
def _embed(spec: TransformerSpec, token_embedding, ids, name: str):
    from llmbook.layers import LayerNorm, PositionEmbedding, RMSNorm, SinusoidalPositionEmbedding

    x = token_embedding(ids)
    if spec.positions == "learned":
        x = x + PositionEmbedding(spec.max_length, name=f"{name}_positions")(x)
    elif spec.positions == "sinusoidal":
        x = x + SinusoidalPositionEmbedding(name=f"{name}_positions")(x)
    if spec.embedding_norm:
        norm = LayerNorm if spec.norm == "layer" else RMSNorm
        x = norm(name=f"{name}_embedding_norm")(x)
    return x


def _stack(spec: TransformerSpec, x, layers: int, name: str, causal: bool, context=None):
    from llmbook.layers import LayerNorm, RMSNorm, TransformerBlock

    for i in range(layers):
        block = TransformerBlock(
            num_heads=spec.num_heads, intermediate_dim=spec.intermediate_dim, head_dim=spec.head_dim,
            num_kv_heads=spec.num_kv_heads, norm_first=spec.norm_first, norm=spec.norm, mlp=spec.mlp,
            causal=causal, rope_theta=10000.0 if spec.positions == "rope" else None, use_bias=spec.use_bias,
            cross_attention=context is not None, name=f"{name}_block_{i}",
        )
        x = block(x) if context is None else block(x, context=context)
    if spec.norm_first:
        norm = LayerNorm if spec.norm == "layer" else RMSNorm
        x = norm(name=f"{name}_final_norm")(x)
    return x


def build_transformer(spec: TransformerSpec, name: str | None = None):
    """The Keras functional model that ``spec`` describes, built from :mod:`llmbook.layers`.

    Inputs are int token ids ``(batch, length)``; an encoder-decoder takes ``[source_ids, target_ids]``.
    The output is ``(batch, length, vocab_size)`` logits, or ``(batch, length, dim)`` hidden states when
    ``lm_head`` is False (for an encoder-decoder, at the target positions). There is no padding mask:
    every position of the input is a real token.

    Raises:
        ValueError: if ``spec`` asks for parts that are counted but not built (``token_types``,
            ``pooler``, ``tie_embeddings``); the message says which to turn off.
    """
    import keras

    unsupported = [f for f, on in (("token_types", spec.token_types), ("pooler", spec.pooler),
                                   ("tie_embeddings", spec.tie_embeddings)) if on]
    if unsupported:
        raise ValueError(f"build_transformer does not build {', '.join(unsupported)} (they are only counted by "
                         "parameter_breakdown); set them to 0/False to build the model")
    name = name or spec.kind.replace("-", "_")
    token_embedding = keras.layers.Embedding(spec.vocab_size, spec.dim, name="token_embedding")
    head = keras.layers.Dense(spec.vocab_size, use_bias=spec.use_bias, name="lm_head") if spec.lm_head else None

    if spec.kind == "encoder-decoder":
        source = keras.Input((None,), dtype="int32", name="source_ids")
        target = keras.Input((None,), dtype="int32", name="target_ids")
        context = _stack(spec, _embed(spec, token_embedding, source, "encoder"), spec.num_layers, "encoder",
                         causal=False)
        x = _stack(spec, _embed(spec, token_embedding, target, "decoder"), spec.resolved_decoder_layers, "decoder",
                   causal=True, context=context)
        inputs = [source, target]
    else:
        ids = keras.Input((None,), dtype="int32", name="token_ids")
        stack_name = "encoder" if spec.kind == "encoder-only" else "decoder"
        x = _stack(spec, _embed(spec, token_embedding, ids, stack_name), spec.num_layers, stack_name,
                   causal=spec.kind == "decoder-only")
        inputs = ids
    outputs = head(x) if head is not None else x
    return keras.Model(inputs, outputs, name=name)
