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
or SwiGLU MLPs, grouped-query attention, biases on or off, and an output head tied to the input
embedding. A decoder-only spec is built as the decoder backbone
(:class:`~llmbook.models.decoder.TransformerDecoder`, the class behind ``GPT`` and ``LlamaDecoder``), an
encoder-only one as the encoder backbone (:class:`~llmbook.models.encoder.TransformerEncoder`, behind
``BertEncoder``; it also builds BERT's token-type embeddings and ``[CLS]`` pooler), and an
encoder-decoder as the package's encoder-decoder (:class:`~llmbook.models.seq2seq.Seq2SeqTransformer`, the
model of the translation chapter, without a padding mask), whose decoder blocks cross-attend to the
encoder's output. The spec's defaults are the backbones' defaults.

>>> spec = TransformerSpec("decoder-only", vocab_size=256, dim=32, num_layers=2, num_heads=4,
...                        intermediate_dim=64, max_length=64)
>>> spec.total_parameters
35840
>>> build_transformer(spec).count_params()
35840
"""

from __future__ import annotations

from dataclasses import dataclass, fields


from llmbook.layers.transformer import NORM_EPSILON, ROPE_THETA
from llmbook.models.backbone import check_transformer_shape
from llmbook.models.decoder import TransformerDecoder
from llmbook.models.encoder import TransformerEncoder
from llmbook.models.seq2seq import Seq2SeqTransformer
from llmbook.validation import non_negative_int, positive_int

KINDS = ("encoder-only", "decoder-only", "encoder-decoder")


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
        token_types: rows of a segment-embedding table (BERT: 2; encoder-only models).
        pooler: BERT's ``d x d`` ``[CLS]`` pooler (encoder-only models).
        lm_head: a ``d -> vocab_size`` output layer (the logits); False gives hidden states.
        tie_embeddings: the output layer reuses the embedding matrix (GPT-2, Llama-style small models;
            single-stack models).
        rope_theta: the RoPE base, with ``positions="rope"`` (no parameters).
        norm_epsilon: epsilon of every norm (no parameters).
        initializer_range: standard deviation of the initial embedding tables and output head of a
            single-stack model (not a parameter count; GPT-2 and BERT: 0.02).

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
    rope_theta: float = ROPE_THETA
    norm_epsilon: float = NORM_EPSILON
    initializer_range: float = 0.02

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"unknown kind {self.kind!r}; choose one of {', '.join(KINDS)}")
        check_transformer_shape(hidden_dim=self.dim, num_heads=self.num_heads, num_kv_heads=self.num_kv_heads,
                                 head_dim=self.head_dim, positions=self.positions, norm=self.norm, mlp=self.mlp,
                                 width_name="dim")
        for name in ("vocab_size", "num_layers", "intermediate_dim", "max_length"):
            positive_int(name, getattr(self, name))
        if self.decoder_layers is not None:
            if self.kind != "encoder-decoder":
                raise ValueError(f"decoder_layers is only for an encoder-decoder, not a {self.kind} model")
            positive_int("decoder_layers", self.decoder_layers)
        non_negative_int("token_types", self.token_types)
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
def _backbone_arguments(spec: TransformerSpec) -> dict:
    """The backbone arguments that a spec's fields set (every one: no default is chosen here)."""
    return dict(vocab_size=spec.vocab_size, hidden_dim=spec.dim, num_layers=spec.num_layers, num_heads=spec.num_heads,
                intermediate_dim=spec.intermediate_dim, max_length=spec.max_length, num_kv_heads=spec.num_kv_heads,
                head_dim=spec.head_dim, positions=spec.positions, norm=spec.norm, mlp=spec.mlp,
                use_bias=spec.use_bias, norm_first=spec.norm_first, embedding_norm=spec.embedding_norm,
                lm_head=spec.lm_head, tie_embeddings=spec.tie_embeddings, rope_theta=spec.rope_theta,
                norm_epsilon=spec.norm_epsilon, initializer_range=spec.initializer_range)


def _refuse(spec: TransformerSpec, parts) -> None:
    unsupported = [name for name in parts if getattr(spec, name)]
    if unsupported:
        raise ValueError(f"a {spec.kind} model here has no {', '.join(unsupported)}; set them to 0/False "
                         "(token types and the pooler belong to encoder-only models; the tied head to single stacks)")


def _encoder_decoder(spec: TransformerSpec, name: str):
    """The package's one encoder-decoder, :class:`~llmbook.models.seq2seq.Seq2SeqTransformer`, as ``spec`` says."""
    model = Seq2SeqTransformer(spec.vocab_size, hidden_dim=spec.dim, num_layers=spec.num_layers,
                               decoder_layers=spec.resolved_decoder_layers, num_heads=spec.num_heads,
                               intermediate_dim=spec.intermediate_dim, max_length=spec.max_length,
                               num_kv_heads=spec.num_kv_heads, head_dim=spec.head_dim, positions=spec.positions,
                               norm=spec.norm, mlp=spec.mlp, use_bias=spec.use_bias, norm_first=spec.norm_first,
                               embedding_norm=spec.embedding_norm, lm_head=spec.lm_head,
                               rope_theta=spec.rope_theta, norm_epsilon=spec.norm_epsilon,
                               initializer_range=spec.initializer_range, pad_id=None, name=name)
    model.build()
    return model


def build_transformer(spec: TransformerSpec, name: str | None = None):
    """The Keras model that ``spec`` describes, built from :mod:`llmbook.layers`.

    - decoder-only: a :class:`~llmbook.models.decoder.TransformerDecoder` (with the KV cache of ``GPT``);
    - encoder-only: a :class:`~llmbook.models.encoder.TransformerEncoder` without implicit padding mask
      (``pad_id=None``: every position of the input is a real token unless a ``padding_mask`` is passed);
    - encoder-decoder: a :class:`~llmbook.models.seq2seq.Seq2SeqTransformer` over ``[source_ids, target_ids]``
      whose source and target share one embedding table, without padding mask (``pad_id=None``); it has
      the seq2seq model's ``encode``/``init_cache``/``call_with_cache`` for decoding.

    Inputs are int token ids ``(batch, length)``. The output is ``(batch, length, vocab_size)`` logits, or
    ``(batch, length, dim)`` hidden states when ``lm_head`` is False (for an encoder-decoder, at the target
    positions). The model is built: ``count_params()`` equals ``spec.total_parameters``.

    Raises:
        ValueError: for parts the kind does not have here: ``token_types`` or ``pooler`` outside an
            encoder-only model, ``tie_embeddings`` on an encoder-decoder.
    """
    name = name or spec.kind.replace("-", "_")
    if spec.kind == "decoder-only":
        _refuse(spec, ("token_types", "pooler"))
        model = TransformerDecoder(**_backbone_arguments(spec), name=name)
        model.build((None, None))
        return model
    if spec.kind == "encoder-only":
        return TransformerEncoder(**_backbone_arguments(spec), num_segments=spec.token_types, pooler=spec.pooler,
                                   name=name)
    _refuse(spec, ("token_types", "pooler", "tie_embeddings"))
    return _encoder_decoder(spec, name)
