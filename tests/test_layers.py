"""llmbook.layers against brute-force numpy, mask invariances, RoPE properties and .keras round trips."""

import os
import subprocess
import sys

import keras
import numpy as np
import pytest
from keras import ops

from llmbook.layers import (
    GELUMLP, LayerNorm, MultiHeadAttention, PositionEmbedding, RMSNorm, RotaryEmbedding,
    SinusoidalPositionEmbedding, SwiGLUMLP, TransformerBlock, apply_rotary_embedding, causal_mask,
    padding_mask, scaled_dot_product_attention,
)
from tests._backend import to_numpy  # noqa: E402

RNG = np.random.default_rng(0)


def rand(*shape):
    return RNG.normal(size=shape).astype("float32")


def brute_attention(q, k, v, mask=None):
    """One query at a time, with explicit loops and a hand-written softmax."""
    out = np.zeros(q.shape[:-1] + (v.shape[-1],))
    for index in np.ndindex(q.shape[:-2]):
        for i in range(q.shape[-2]):
            scores = np.array([q[index][i] @ k[index][j] / np.sqrt(q.shape[-1]) for j in range(k.shape[-2])])
            if mask is not None:
                scores = np.where(mask[index][i] if mask.ndim > 2 else mask[i], scores, -np.inf)
            weights = np.exp(scores - scores.max())
            weights /= weights.sum()
            out[index][i] = weights @ v[index]
    return out


def test_attention_matches_brute_force_with_and_without_causal_mask():
    q, k, v = rand(2, 3, 4, 8), rand(2, 3, 6, 8), rand(2, 3, 6, 5)
    np.testing.assert_allclose(ops.convert_to_numpy(scaled_dot_product_attention(q, k, v)),
                               brute_attention(q, k, v), atol=1e-5)
    q4, k4, v4 = rand(2, 4, 8), rand(2, 4, 8), rand(2, 4, 8)
    causal = np.tril(np.ones((4, 4), bool))
    np.testing.assert_allclose(ops.convert_to_numpy(scaled_dot_product_attention(q4, k4, v4, causal=True)),
                               brute_attention(q4, k4, v4, causal), atol=1e-5)


def test_attention_weights_are_probabilities_and_fully_masked_rows_are_finite():
    q, k, v = rand(1, 3, 4), rand(1, 5, 4), rand(1, 5, 2)
    mask = np.ones((1, 3, 5), bool)
    mask[0, 1] = False                                      # query 1 may see nothing
    out, weights = scaled_dot_product_attention(q, k, v, mask=mask, return_weights=True)
    weights = ops.convert_to_numpy(weights)
    np.testing.assert_allclose(weights.sum(-1), 1.0, atol=1e-6)
    assert np.isfinite(ops.convert_to_numpy(out)).all()
    np.testing.assert_allclose(weights[0, 1], np.full(5, 0.2), atol=1e-6)


def test_attention_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="query depth"):
        scaled_dot_product_attention(rand(1, 2, 4), rand(1, 2, 3), rand(1, 2, 3))
    with pytest.raises(ValueError, match="key length"):
        scaled_dot_product_attention(rand(1, 2, 4), rand(1, 3, 4), rand(1, 2, 4))


def test_causal_and_padding_masks():
    np.testing.assert_array_equal(ops.convert_to_numpy(causal_mask(3)), np.tril(np.ones((3, 3), bool)))
    expected = np.array([[True, True, True, False], [True, True, True, True]])
    np.testing.assert_array_equal(ops.convert_to_numpy(causal_mask(2, 4, offset=2)), expected)
    np.testing.assert_array_equal(ops.convert_to_numpy(padding_mask(np.array([[5, 6, 0]]), pad_id=0)),
                                  [[True, True, False]])


def numpy_mha(layer, x, causal, num_kv_heads):
    """Multi-head attention from the layer's weights: per-head brute force, K/V heads repeated for GQA."""
    def dense(sub, h):
        kernel, bias = [ops.convert_to_numpy(w) for w in sub.weights]
        return h @ kernel + bias
    d = layer.head_dim
    q, k, v = dense(layer.query, x), dense(layer.key, x), dense(layer.value, x)
    group = layer.num_heads // num_kv_heads
    heads = []
    mask = np.tril(np.ones((x.shape[1], x.shape[1]), bool)) if causal else None
    for h in range(layer.num_heads):
        g = h // group
        heads.append(brute_attention(q[..., h * d:(h + 1) * d], k[..., g * d:(g + 1) * d],
                                     v[..., g * d:(g + 1) * d], mask))
    return dense(layer.output_projection, np.concatenate(heads, -1))


@pytest.mark.parametrize("num_kv_heads", [4, 2, 1])
def test_multi_head_and_grouped_query_attention_match_brute_force(num_kv_heads):
    x = rand(2, 5, 16)
    layer = MultiHeadAttention(num_heads=4, num_kv_heads=num_kv_heads, causal=True)
    out = ops.convert_to_numpy(layer(x))
    assert layer.key.kernel.shape == (16, 4 * num_kv_heads)
    np.testing.assert_allclose(out, numpy_mha(layer, x, True, num_kv_heads), atol=1e-4)


def test_multi_head_attention_matches_keras_multi_head_attention():
    x = rand(2, 5, 12)
    ours = MultiHeadAttention(num_heads=3)
    ours(x)
    reference = keras.layers.MultiHeadAttention(num_heads=3, key_dim=4)
    reference(x, x)
    for name, sub in [("query", ours.query), ("key", ours.key), ("value", ours.value)]:
        ref = getattr(reference, f"_{name}_dense")
        ref.kernel.assign(ops.reshape(sub.kernel, (12, 3, 4)))
        ref.bias.assign(ops.reshape(sub.bias, (3, 4)))
    reference._output_dense.kernel.assign(ops.reshape(ours.output_projection.kernel, (3, 4, 12)))
    reference._output_dense.bias.assign(ours.output_projection.bias)
    np.testing.assert_allclose(ops.convert_to_numpy(ours(x)), ops.convert_to_numpy(reference(x, x)), atol=1e-5)


def test_future_tokens_do_not_change_past_outputs():
    block = TransformerBlock(num_heads=2, intermediate_dim=16, causal=True, rope_theta=10000.0)
    x = rand(1, 6, 8)
    changed = x.copy()
    changed[:, 4:] = rand(1, 2, 8)
    a, b = ops.convert_to_numpy(block(x)), ops.convert_to_numpy(block(changed))
    np.testing.assert_allclose(a[:, :4], b[:, :4], atol=1e-6)
    assert np.abs(a[:, 4:] - b[:, 4:]).max() > 1e-3          # ... while the future positions do change


def test_padded_keys_do_not_change_real_outputs():
    layer = MultiHeadAttention(num_heads=2)
    x = rand(2, 5, 8)
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], bool)
    changed = x.copy()
    changed[0, 3:] = rand(2, 8)
    a = ops.convert_to_numpy(layer(x, attention_mask=mask))
    b = ops.convert_to_numpy(layer(changed, attention_mask=mask))
    np.testing.assert_allclose(a[0, :3], b[0, :3], atol=1e-6)
    np.testing.assert_allclose(a[1], b[1], atol=1e-6)


def test_cross_attention_block_uses_the_context_mask():
    block = TransformerBlock(num_heads=2, intermediate_dim=16, causal=True, cross_attention=True, context_dim=6)
    x, context = rand(1, 3, 8), rand(1, 4, 6)
    mask = np.array([[1, 1, 0, 0]], bool)
    changed = context.copy()
    changed[:, 2:] = rand(1, 2, 6)
    a = ops.convert_to_numpy(block(x, context=context, context_mask=mask))
    b = ops.convert_to_numpy(block(x, context=changed, context_mask=mask))
    np.testing.assert_allclose(a, b, atol=1e-6)
    with pytest.raises(ValueError, match="context must be given"):
        block(x)


@pytest.mark.parametrize("norm_first", [True, False])
def test_block_is_the_documented_composition(norm_first):
    block = TransformerBlock(num_heads=2, intermediate_dim=16, norm_first=norm_first, causal=True)
    x = rand(2, 4, 8)
    out = ops.convert_to_numpy(block(x))
    attention = lambda h: ops.convert_to_numpy(block.attention(h))  # noqa: E731
    mlp = lambda h: ops.convert_to_numpy(block.mlp(h))  # noqa: E731
    n1 = lambda h: ops.convert_to_numpy(block.attention_norm(h))  # noqa: E731
    n2 = lambda h: ops.convert_to_numpy(block.mlp_norm(h))  # noqa: E731
    if norm_first:
        h = x + attention(n1(x))
        expected = h + mlp(n2(h))
    else:
        h = n1(x + attention(x))
        expected = n2(h + mlp(h))
    np.testing.assert_allclose(out, expected, atol=1e-5)


def test_kv_cache_in_a_block_equals_the_full_pass():
    block = TransformerBlock(num_heads=4, num_kv_heads=2, intermediate_dim=32, norm="rms", mlp="swiglu",
                             causal=True, rope_theta=10000.0, use_bias=False)
    x = rand(2, 7, 16)
    full = ops.convert_to_numpy(block(x))
    cache = (np.zeros((2, 2, 10, 4), "float32"),) * 2            # (batch, kv_heads, slots, head_dim)
    out, cache = block(x[:, :4], cache=cache, cache_index=0)
    np.testing.assert_allclose(ops.convert_to_numpy(out), full[:, :4], atol=1e-5)
    for t in range(4, 7):
        out, cache = block(x[:, t:t + 1], cache=cache, cache_index=t)
        np.testing.assert_allclose(ops.convert_to_numpy(out), full[:, t:t + 1], atol=1e-5)


def repeated_kv_attention(layer, x, mask):
    """GQA the plain way: each key/value head repeated for its group of query heads (np.repeat), then
    ordinary multi-head attention; ``mask`` (batch, queries, keys). Returns the output and the weights."""
    def dense(sub, h):
        return h @ ops.convert_to_numpy(sub.kernel)
    (b, t, _), h, g, d = x.shape, layer.num_heads, layer.num_kv_heads, layer.head_dim
    heads = lambda y, n: y.reshape(b, t, n, d).transpose(0, 2, 1, 3)  # noqa: E731
    q = heads(dense(layer.query, x), h)
    k = np.repeat(heads(dense(layer.key, x), g), h // g, axis=1)
    v = np.repeat(heads(dense(layer.value, x), g), h // g, axis=1)
    scores = np.where(mask[:, None], q @ k.transpose(0, 1, 3, 2) / np.sqrt(d), -np.inf)
    with np.errstate(invalid="ignore"):   # a query that may see no key (left padding) gets NaN weights here
        weights = np.exp(scores - scores.max(-1, keepdims=True))
        weights /= weights.sum(-1, keepdims=True)
    out = (weights @ v).transpose(0, 2, 1, 3).reshape(b, t, h * d)
    return dense(layer.output_projection, out), weights


@pytest.mark.parametrize("num_kv_heads", [6, 2, 1])
def test_grouped_attention_with_a_padded_cache_matches_repeated_key_value_heads(num_kv_heads):
    layer = MultiHeadAttention(num_heads=6, num_kv_heads=num_kv_heads, head_dim=4, causal=True, use_bias=False)
    x, slots = rand(2, 7, 12), 9
    padding = np.ones((2, slots), bool)
    padding[1, :2] = False                                   # row 1 is left-padded by two slots
    visible = np.tril(np.ones((7, 7), bool))[None] & padding[:, None, :7]
    layer.build(x.shape)
    expected, expected_weights = repeated_kv_attention(layer, x, visible)
    cache = (np.zeros((2, num_kv_heads, slots, 4), "float32"),) * 2
    out, cache = layer(x[:, :4], attention_mask=padding, cache=cache, cache_index=0)
    out = ops.convert_to_numpy(out)
    np.testing.assert_allclose(out[0], expected[0, :4], atol=1e-5)
    np.testing.assert_allclose(out[1, 2:], expected[1, 2:4], atol=1e-5)   # queries on padding see nothing
    for t in range(4, 7):                                    # decoding steps: one query per row
        out, cache, weights = layer(x[:, t:t + 1], attention_mask=padding, cache=cache, cache_index=t,
                                    return_weights=True)
        np.testing.assert_allclose(ops.convert_to_numpy(out), expected[:, t:t + 1], atol=1e-5)
        weights = ops.convert_to_numpy(weights)
        assert weights.shape == (2, 6, 1, slots)
        np.testing.assert_allclose(weights[..., :7], expected_weights[:, :, t:t + 1], atol=1e-6)
        np.testing.assert_array_equal(weights[..., t + 1:], 0.0)        # unwritten slots get no weight
    keys = (x @ ops.convert_to_numpy(layer.key.kernel)).reshape(2, 7, num_kv_heads, 4).transpose(0, 2, 1, 3)
    np.testing.assert_allclose(ops.convert_to_numpy(cache[0])[:, :, :7], keys, atol=1e-5)  # heads first


def test_rope_preserves_norms_and_depends_only_on_relative_position():
    q, k = rand(1, 1, 1, 8), rand(1, 1, 1, 8)
    rotate = lambda x, p: ops.convert_to_numpy(apply_rotary_embedding(x, np.array([p]), 100.0))  # noqa: E731
    np.testing.assert_allclose(rotate(q, 0), q, atol=1e-6)                           # position 0: identity
    np.testing.assert_allclose(np.linalg.norm(rotate(q, 7)), np.linalg.norm(q), rtol=1e-5)
    dots = [float(np.sum(rotate(q, m) * rotate(k, m - 3))) for m in (3, 5, 11, 40)]
    np.testing.assert_allclose(dots, dots[0], rtol=1e-4)
    assert abs(float(np.sum(rotate(q, 5) * rotate(k, 1))) - dots[0]) > 1e-3         # a different offset differs


def test_rope_matches_complex_multiplication():
    x, theta, d = rand(1, 3, 2, 6), 10000.0, 6
    positions = np.array([0, 4, 9])
    z = x[..., : d // 2] + 1j * x[..., d // 2:]                  # rotate-half pairs i and i + d/2
    frequencies = theta ** (-np.arange(d // 2) * 2 / d)
    z = z * np.exp(1j * positions[None, :, None, None] * frequencies)
    expected = np.concatenate([z.real, z.imag], -1)
    np.testing.assert_allclose(ops.convert_to_numpy(RotaryEmbedding(theta)(x, positions=positions)), expected,
                               atol=1e-5)
    with pytest.raises(ValueError, match="even"):
        apply_rotary_embedding(rand(1, 2, 1, 5), np.arange(2))


def test_sinusoidal_and_learned_positions():
    x = np.zeros((2, 5, 6), "float32")
    pe = ops.convert_to_numpy(SinusoidalPositionEmbedding()(x))
    pos, i = np.arange(5)[:, None], np.arange(3)[None]
    expected = np.zeros((5, 6))
    expected[:, 0::2], expected[:, 1::2] = np.sin(pos / 10000 ** (2 * i / 6)), np.cos(pos / 10000 ** (2 * i / 6))
    np.testing.assert_allclose(pe[1], expected, atol=1e-5)
    shifted = ops.convert_to_numpy(SinusoidalPositionEmbedding()(x[:, :2], start_index=3))
    np.testing.assert_allclose(shifted[0], expected[3:5], atol=1e-5)
    learned = PositionEmbedding(8)
    table = ops.convert_to_numpy(learned(x))
    np.testing.assert_allclose(table[0], ops.convert_to_numpy(learned.embeddings)[:5])
    np.testing.assert_allclose(ops.convert_to_numpy(learned(x[:, :2], start_index=6))[0],
                               ops.convert_to_numpy(learned.embeddings)[6:8])
    with pytest.raises(ValueError, match="exceed max_length"):
        learned(x, start_index=5)
    with pytest.raises(ValueError, match="even"):
        SinusoidalPositionEmbedding()(np.zeros((1, 2, 3), "float32"))


def test_norms_match_numpy():
    x = rand(3, 4, 10) * 3 + 1
    layer_norm, rms_norm = LayerNorm(epsilon=1e-5), RMSNorm(epsilon=1e-6)
    layer_norm.build(x.shape)
    layer_norm.gamma.assign(rand(10))
    layer_norm.beta.assign(rand(10))
    rms_norm.build(x.shape)
    rms_norm.gamma.assign(rand(10))
    gamma, beta = ops.convert_to_numpy(layer_norm.gamma), ops.convert_to_numpy(layer_norm.beta)
    expected = (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-5) * gamma + beta
    np.testing.assert_allclose(ops.convert_to_numpy(layer_norm(x)), expected, atol=1e-5)
    expected = x / np.sqrt((x ** 2).mean(-1, keepdims=True) + 1e-6) * ops.convert_to_numpy(rms_norm.gamma)
    np.testing.assert_allclose(ops.convert_to_numpy(rms_norm(x)), expected, atol=1e-5)
    reference = keras.layers.LayerNormalization(epsilon=1e-5)
    reference.build(x.shape)
    reference.set_weights([gamma, beta])
    np.testing.assert_allclose(ops.convert_to_numpy(layer_norm(x)), ops.convert_to_numpy(reference(x)), atol=1e-5)
    with pytest.raises(ValueError, match="epsilon"):
        RMSNorm(epsilon=0)


def test_mlps_match_numpy():
    from math import erf
    x = rand(2, 3, 6)
    gelu, swiglu = GELUMLP(12), SwiGLUMLP(12)
    gelu(x), swiglu(x)
    w = lambda layer: [ops.convert_to_numpy(v) for v in layer.weights]  # noqa: E731
    (up_k, up_b), (down_k, down_b) = w(gelu.up), w(gelu.down)
    h = x @ up_k + up_b
    h = 0.5 * h * (1 + np.vectorize(erf)(h / np.sqrt(2)))
    np.testing.assert_allclose(ops.convert_to_numpy(gelu(x)), h @ down_k + down_b, atol=1e-5)
    (gate,), (up,), (down,) = w(swiglu.gate), w(swiglu.up), w(swiglu.down)
    g = x @ gate
    expected = ((g / (1 + np.exp(-g))) * (x @ up)) @ down
    np.testing.assert_allclose(ops.convert_to_numpy(swiglu(x)), expected, atol=1e-5)


def test_bad_configurations_raise_clear_errors():
    with pytest.raises(ValueError, match="must divide"):
        MultiHeadAttention(num_heads=4, num_kv_heads=3)
    with pytest.raises(ValueError, match="not divisible by num_heads"):
        MultiHeadAttention(num_heads=3)(rand(1, 2, 8))
    with pytest.raises(ValueError, match="unknown norm"):
        TransformerBlock(2, 8, norm="batch")
    with pytest.raises(ValueError, match="unknown mlp"):
        TransformerBlock(2, 8, mlp="relu")
    with pytest.raises(ValueError, match="intermediate_dim"):
        GELUMLP(0)


@pytest.mark.parametrize("make_layer", [
    lambda: MultiHeadAttention(num_heads=2, num_kv_heads=1, causal=True, rope_theta=500.0),
    lambda: TransformerBlock(num_heads=2, intermediate_dim=16, norm_first=False),
    lambda: TransformerBlock(num_heads=2, intermediate_dim=16, norm="rms", mlp="swiglu", num_kv_heads=1,
                             causal=True, rope_theta=10000.0, use_bias=False),
    lambda: LayerNorm(), lambda: RMSNorm(), lambda: GELUMLP(12, approximate=True), lambda: SwiGLUMLP(12),
    lambda: PositionEmbedding(6), lambda: SinusoidalPositionEmbedding(),
])
def test_keras_save_load_round_trip(tmp_path, make_layer):
    inputs = keras.Input((4, 8))
    model = keras.Model(inputs, make_layer()(inputs))
    x = rand(2, 4, 8)
    expected = ops.convert_to_numpy(model(x))
    path = tmp_path / "layer.keras"
    model.save(path)
    loaded = keras.models.load_model(path, safe_mode=True)
    np.testing.assert_allclose(ops.convert_to_numpy(loaded(x)), expected, atol=1e-6)


def test_layers_run_under_the_torch_backend():
    """The same code under another Keras backend (torch is installed for the parity tests)."""
    pytest.importorskip("torch")
    script = (
        "import numpy as np, keras; from llmbook.layers import TransformerBlock\n"
        "assert keras.backend.backend() == 'torch'\n"
        "b = TransformerBlock(4, 32, num_kv_heads=2, norm='rms', mlp='swiglu', causal=True, rope_theta=1e4)\n"
        "x = np.random.default_rng(0).normal(size=(2, 6, 16)).astype('float32')\n"
        "full = keras.ops.convert_to_numpy(b(x))\n"
        "c = (np.zeros((2, 2, 8, 4), 'float32'),) * 2\n"
        "out, c = b(x[:, :5], cache=c, cache_index=0)\n"
        "out, c = b(x[:, 5:], cache=c, cache_index=5)\n"
        "assert np.abs(keras.ops.convert_to_numpy(out) - full[:, 5:]).max() < 1e-5\n"
        "print('ok')\n"
    )
    env = {**os.environ, "KERAS_BACKEND": "torch"}
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0 and "ok" in result.stdout, result.stderr[-2000:]


def test_rms_norm_equals_keras_rms_normalization():
    """llmbook's RMSNorm against Keras's own layer with the same scale (an independent implementation)."""
    import keras

    from llmbook.layers import RMSNorm

    x = np.random.default_rng(3).normal(size=(2, 5, 8)).astype("float32") * 3.0
    ours = RMSNorm(epsilon=1e-5)
    theirs = keras.layers.RMSNormalization(epsilon=1e-5)
    ours.build(x.shape)
    theirs.build(x.shape)
    scale = np.random.default_rng(4).normal(size=(8,)).astype("float32")
    ours.gamma.assign(scale)
    theirs.scale.assign(scale)
    np.testing.assert_allclose(to_numpy(ours(x)), to_numpy(theirs(x)), rtol=1e-5, atol=1e-6)
