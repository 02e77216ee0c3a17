"""The decoder backbone and its GPT and Llama configurations: shapes, causality, padding, KV cache, variable
paths, .keras round trips, bad input."""

import keras
import numpy as np
import pytest

from llmbook.models import GPT, LlamaDecoder, TransformerDecoder
from tests._backend import to_numpy  # noqa: E402


def small_models():
    return {
        "gpt-learned": lambda: GPT(vocab_size=30, max_length=16, num_layers=2, num_heads=2, hidden_dim=8),
        "gpt-sinusoidal": lambda: GPT(vocab_size=30, max_length=16, num_layers=1, num_heads=2, hidden_dim=8,
                                      positions="sinusoidal", tie_embeddings=False),
        "gpt-rope": lambda: GPT(vocab_size=30, max_length=16, num_layers=1, num_heads=2, hidden_dim=8, positions="rope"),
        "llama": lambda: LlamaDecoder(vocab_size=30, num_layers=2, hidden_dim=16, num_heads=4, num_kv_heads=2,
                                      intermediate_dim=24, rope_theta=500.0, max_length=16),
        "post-ln-sinusoidal": lambda: TransformerDecoder(vocab_size=30, num_layers=2, num_heads=2, hidden_dim=8,
                                                         positions="sinusoidal", norm_first=False,
                                                         embedding_norm=True, mlp="gelu", max_length=16),
        "no-positions-gqa": lambda: TransformerDecoder(vocab_size=30, num_layers=1, num_heads=4, num_kv_heads=1,
                                                       hidden_dim=16, head_dim=6, positions="none",
                                                       tie_embeddings=True, max_length=16),
    }


IDS = np.random.default_rng(0).integers(0, 30, size=(2, 10)).astype("int32")


@pytest.mark.parametrize("name", list(small_models()))
def test_future_tokens_do_not_change_past_logits(name):
    model = small_models()[name]()
    changed = IDS.copy()
    changed[:, 6:] = (changed[:, 6:] + 7) % 30
    a, b = to_numpy(model(IDS)), to_numpy(model(changed))
    assert a.shape == (2, 10, 30)
    np.testing.assert_allclose(a[:, :6], b[:, :6], atol=1e-6)
    assert np.abs(a[:, 6:] - b[:, 6:]).max() > 1e-4


@pytest.mark.parametrize("name", list(small_models()))
def test_cached_logits_equal_the_full_forward_pass_at_every_step(name):
    model = small_models()[name]()
    full = to_numpy(model(IDS))
    cache = model.init_cache(2, 12)
    logits, cache = model.call_with_cache(IDS[:, :3], cache, 0)
    np.testing.assert_allclose(to_numpy(logits), full[:, :3], atol=1e-5)
    for t in range(3, 10):
        logits, cache = model.call_with_cache(IDS[:, t:t + 1], cache, t)
        np.testing.assert_allclose(to_numpy(logits), full[:, t:t + 1], atol=1e-5)


def test_right_padding_does_not_change_real_positions():
    model = small_models()["gpt-learned"]()
    mask = np.ones((2, 10), bool)
    mask[0, 7:] = False
    padded = IDS.copy()
    padded[0, 7:] = 0
    a = to_numpy(model(IDS, attention_mask=mask))
    b = to_numpy(model(padded, attention_mask=mask))
    np.testing.assert_allclose(a[0, :7], b[0, :7], atol=1e-6)


@pytest.mark.parametrize("name", list(small_models()))
def test_keras_save_load_round_trip_in_safe_mode(tmp_path, name):
    model = small_models()[name]()
    expected = to_numpy(model(IDS))
    path = tmp_path / f"{name}.keras"
    model.save(path)
    loaded = keras.models.load_model(path, safe_mode=True)
    assert type(loaded) is type(model)
    np.testing.assert_allclose(to_numpy(loaded(IDS)), expected, atol=1e-6)


def test_gpt_trains_on_a_repeating_sequence():
    from llmbook.training import set_seed
    set_seed(0, keras=True)
    model = GPT(vocab_size=8, max_length=16, num_layers=1, num_heads=2, hidden_dim=16)
    sequence = np.tile(np.arange(8), 4)[None].repeat(256, 0).astype("int32")
    x, y = sequence[:, :16], sequence[:, 1:17]
    model.compile(optimizer=keras.optimizers.Adam(1e-2),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    untrained = model.evaluate(x, y, verbose=0)
    history = model.fit(x, y, epochs=5, batch_size=16, verbose=0)
    assert abs(untrained - np.log(8)) < 0.5          # a fresh model is close to uniform over 8 tokens
    assert history.history["loss"][-1] < 0.1


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="divisible by num_heads"):
        GPT(vocab_size=10, max_length=8, num_heads=3, hidden_dim=8)
    with pytest.raises(ValueError, match="unknown positions"):
        GPT(vocab_size=10, max_length=8, hidden_dim=8, num_heads=2, positions="alibi")
    with pytest.raises(ValueError, match="vocab_size must be a positive integer"):
        GPT(vocab_size=0, max_length=8)
    with pytest.raises(ValueError, match="must divide"):
        LlamaDecoder(vocab_size=10, num_layers=1, hidden_dim=16, num_heads=4, num_kv_heads=3, intermediate_dim=8)
    model = small_models()["gpt-learned"]()
    with pytest.raises(ValueError, match="shape \\(batch, length\\)"):
        model(np.zeros(5, "int32"))
    with pytest.raises(ValueError, match="must be integers"):
        model(np.zeros((1, 5), "float32"))
    with pytest.raises(ValueError, match="exceeds the model's 16 learned positions"):
        model.init_cache(1, 32)


@pytest.mark.parametrize("name", ["llama", "gpt-rope"])
def test_left_padded_row_with_a_cache_mask_gives_the_unpadded_logits(name):
    # RoPE scores depend on relative positions only, so a row shifted right by its left padding, with the
    # padding slots masked out of every block, must give the logits of the same tokens run alone.
    model = small_models()[name]()
    long_row, short_row = IDS[0, :7], IDS[1, :4]
    pad = 7 - len(short_row)
    batch = np.stack([long_row, np.concatenate([np.zeros(pad, "int32"), short_row])])
    mask = np.ones((2, 9), bool)
    mask[1, :pad] = False
    logits, cache = model.call_with_cache(batch, model.init_cache(2, 9), 0, attention_mask=mask)
    logits = to_numpy(logits)
    np.testing.assert_allclose(logits[0], to_numpy(model(long_row[None]))[0], atol=1e-5)
    np.testing.assert_allclose(logits[1, pad:], to_numpy(model(short_row[None]))[0], atol=1e-4)
    # One decoding step reads the masked cache: each row continues as if it were alone.
    step = np.array([[3], [5]], "int32")
    logits, _ = model.call_with_cache(step, cache, 7, attention_mask=mask)
    alone = [np.append(long_row, 3)[None], np.append(short_row, 5)[None]]
    for row in range(2):
        np.testing.assert_allclose(to_numpy(logits)[row, 0], to_numpy(model(alone[row]))[0, -1], atol=1e-4)
    # Without the mask the padded row reads its padding: the check above would fail.
    unmasked, _ = model.call_with_cache(batch, model.init_cache(2, 9), 0)
    assert np.abs(to_numpy(unmasked)[1, pad:] - to_numpy(model(short_row[None]))[0]).max() > 1e-3


def test_cache_attention_mask_of_the_wrong_shape_is_refused():
    model = small_models()["llama"]()
    with pytest.raises(ValueError, match="attention_mask must have shape \\(batch, cache_length\\)"):
        model.call_with_cache(IDS[:, :3], model.init_cache(2, 12), 0, attention_mask=np.ones((2, 3), bool))


# --- the configurations keep the variables the weight loaders map ------------------------------------------

def _paths(model):
    return [v.path.split("/", 1)[1] for v in model.weights]


def test_gpt_and_llama_variable_paths_are_the_ones_the_loaders_map():
    gpt = GPT(vocab_size=30, max_length=16, num_layers=1, num_heads=2, hidden_dim=8, tie_embeddings=False)
    gpt.build((None, None))
    gpt_block = [f"block_0/{name}" for name in (
        "attention/query/kernel", "attention/query/bias", "attention/key/kernel", "attention/key/bias",
        "attention/value/kernel", "attention/value/bias", "attention/output/kernel", "attention/output/bias",
        "attention_norm/gamma", "attention_norm/beta", "mlp/up/kernel", "mlp/up/bias", "mlp/down/kernel",
        "mlp/down/bias", "mlp_norm/gamma", "mlp_norm/beta")]
    # Keras lists weights in the order the layers were assigned: the head before the positions.
    assert _paths(gpt) == ["token_embedding/embeddings", "lm_head/kernel", "position_embedding/embeddings",
                           *gpt_block, "final_norm/gamma", "final_norm/beta"]
    llama = LlamaDecoder(vocab_size=30, num_layers=1, hidden_dim=16, num_heads=4, num_kv_heads=2, intermediate_dim=24)
    llama.build((None, None))
    assert _paths(llama) == ["token_embedding/embeddings", *[f"block_0/{name}" for name in (
        "attention/query/kernel", "attention/key/kernel", "attention/value/kernel", "attention/output/kernel",
        "attention_norm/gamma", "mlp/gate/kernel", "mlp/up/kernel", "mlp/down/kernel", "mlp_norm/gamma")],
        "final_norm/gamma"]


@pytest.mark.parametrize("name, explicit", [
    ("gpt-sinusoidal", lambda: TransformerDecoder(vocab_size=30, num_layers=1, num_heads=2, hidden_dim=8,
                                                  max_length=16, positions="sinusoidal", norm="layer",
                                                  mlp="gelu_approximate", lm_head_bias=False)),
    ("llama", lambda: TransformerDecoder(vocab_size=30, num_layers=2, hidden_dim=16, num_heads=4, num_kv_heads=2,
                                         intermediate_dim=24, positions="rope", rope_theta=500.0, norm="rms",
                                         mlp="swiglu", use_bias=False, tie_embeddings=True, max_length=16)),
])
def test_a_configuration_is_the_backbone_with_its_options_spelled_out(name, explicit):
    # GPT and LlamaDecoder only set defaults: the backbone with those options written out has the same
    # variables and, on the same weights (copied by path), the same logits.
    configured, spelled_out = small_models()[name](), explicit()
    configured(IDS), spelled_out(IDS)
    values = dict(zip(_paths(configured), (to_numpy(v) for v in configured.weights)))
    assert _paths(spelled_out) == list(values)
    for path, variable in zip(_paths(spelled_out), spelled_out.weights):
        variable.assign(values[path])
    np.testing.assert_allclose(to_numpy(spelled_out(IDS)), to_numpy(configured(IDS)), atol=1e-6)


@pytest.mark.parametrize("name", list(small_models()))
def test_get_config_rebuilds_the_same_configuration(name):
    model = small_models()[name]()
    model.build((None, None))
    config = model.get_config()
    rebuilt = type(model).from_config(config)
    assert type(rebuilt) is type(model) and rebuilt.get_config() == config
    rebuilt.build((None, None))
    assert [(v.path.split("/", 1)[1], tuple(v.shape)) for v in rebuilt.weights] == \
           [(v.path.split("/", 1)[1], tuple(v.shape)) for v in model.weights]


def test_without_a_head_the_backbone_returns_hidden_states():
    model = TransformerDecoder(vocab_size=30, num_layers=1, num_heads=2, hidden_dim=8, lm_head=False, max_length=16)
    hidden = to_numpy(model(IDS))
    assert hidden.shape == (2, 10, 8)
    # The last stage is the final LayerNorm: every position has mean 0 and variance 1 (gamma 1, beta 0).
    np.testing.assert_allclose(hidden.mean(-1), 0.0, atol=1e-5)
    np.testing.assert_allclose(hidden.var(-1), 1.0, atol=1e-3)
    with pytest.raises(ValueError, match="tie_embeddings needs lm_head=True"):
        TransformerDecoder(vocab_size=30, lm_head=False, tie_embeddings=True)
