"""llmbook.models.seq2seq: cached decoding equals teacher forcing, padding and causality are respected,
a tiny model learns to reverse sequences, bad inputs are refused, and the config round-trips."""

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from llmbook.models.architectures import TransformerSpec  # noqa: E402
from llmbook.models.seq2seq import Seq2SeqTransformer, greedy_translate  # noqa: E402

PAD, BOS, EOS = 0, 1, 2
_np = keras.ops.convert_to_numpy  # torch: detaches tensors that require grad
VARIANTS = [
    {},
    dict(positions="sinusoidal", norm_first=False, embedding_norm=True, shared_embeddings=False,
         target_vocab_size=23),
    dict(positions="rope", norm="rms", mlp="swiglu", use_bias=False, num_kv_heads=1, tie_embeddings=True),
    dict(positions="none", decoder_layers=3),
]
ids = lambda e: ",".join(f"{k}={v}" for k, v in e.items()) or "default"  # noqa: E731


def _model(seed=0, **extra):
    keras.utils.set_random_seed(seed)
    options = dict(hidden_dim=16, num_layers=2, num_heads=4, intermediate_dim=32, max_length=12,
                   initializer_range=0.5)
    return Seq2SeqTransformer(31, **{**options, **extra})


def _batch(model, rng, batch=3, source_length=7, target_length=6):
    source = rng.integers(3, model.source_vocab_size, size=(batch, source_length)).astype("int32")
    target = rng.integers(3, model.target_vocab_size, size=(batch, target_length)).astype("int32")
    return source, target


@pytest.mark.parametrize("extra", VARIANTS, ids=ids)
def test_cached_steps_equal_teacher_forcing(extra):
    model = _model(**extra)
    source, target = _batch(model, np.random.default_rng(0))
    full = _np(model([source, target]))
    assert full.shape == (3, 6, model.target_vocab_size)
    context, context_mask = model.encode(source)
    cache = model.init_cache(3, 8)
    for step in range(target.shape[1]):
        logits, cache = model.call_with_cache(target[:, step:step + 1], cache, step, context, context_mask)
        np.testing.assert_allclose(_np(logits)[:, 0], full[:, step], rtol=1e-4, atol=1e-5)
    # a chunk of several tokens at once (a prefill), then one more step
    cache = model.init_cache(3, 8)
    logits, cache = model.call_with_cache(target[:, :4], cache, 0, context, context_mask)
    np.testing.assert_allclose(_np(logits), full[:, :4], rtol=1e-4, atol=1e-5)
    last, _ = model.call_with_cache(target[:, 4:6], cache, 4, context, context_mask, logits_at=1)
    np.testing.assert_allclose(_np(last)[:, 0], full[:, 5], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("extra", VARIANTS, ids=ids)
def test_padding_does_not_change_real_positions(extra):
    model = _model(**extra)
    rng = np.random.default_rng(1)
    source, target = _batch(model, rng, source_length=5, target_length=4)
    base = _np(model([source, target]))
    padded_source = np.concatenate([source, np.full((3, 4), PAD, "int32")], axis=1)
    padded_target = np.concatenate([target, np.full((3, 3), PAD, "int32")], axis=1)
    padded = _np(model([padded_source, padded_target]))
    np.testing.assert_allclose(padded[:, :4], base, rtol=1e-4, atol=1e-5)
    # one row padded, the others not: each row is its own
    mixed_source = padded_source.copy()
    mixed_source[1] = rng.integers(3, model.source_vocab_size, size=9)
    mixed = _np(model([mixed_source, target]))
    np.testing.assert_allclose(mixed[[0, 2]], base[[0, 2]], rtol=1e-4, atol=1e-5)
    assert np.abs(mixed[1] - base[1]).max() > 1e-3  # real tokens where padding was: the row changes
    # the encoder's mask says where the padding is
    _, context_mask = model.encode(padded_source)
    assert np.array_equal(_np(context_mask), padded_source != PAD)


def test_without_pad_id_padding_is_attended():
    model = _model(pad_id=None)
    source, target = _batch(model, np.random.default_rng(2), source_length=5, target_length=4)
    padded_source = np.concatenate([source, np.zeros((3, 3), "int32")], axis=1)
    difference = np.abs(_np(model([padded_source, target])) - _np(model([source, target]))).max()
    assert difference > 1e-3


@pytest.mark.parametrize("extra", VARIANTS, ids=ids)
def test_causal_and_source_dependence(extra):
    model = _model(**extra)
    source, target = _batch(model, np.random.default_rng(3))
    base = _np(model([source, target]))
    for position in range(target.shape[1]):
        changed = target.copy()
        changed[:, position] = 3 + (changed[:, position] - 3 + 1) % (model.target_vocab_size - 3)
        difference = np.abs(_np(model([source, changed])) - base).max(axis=(0, 2))
        assert np.all(difference[:position] < 1e-6), (position, difference)
        assert np.all(difference[position:] > 1e-6), (position, difference)
    changed_source = source.copy()
    changed_source[:, -1] = 3 + (changed_source[:, -1] - 3 + 1) % (model.source_vocab_size - 3)
    assert np.all(np.abs(_np(model([changed_source, target])) - base).max(axis=(0, 2)) > 1e-6)


def _reversal_data(count, rng, vocab=13, longest=6):
    source = np.full((count, longest), PAD, "int32")
    target_in = np.full((count, longest + 1), PAD, "int32")
    target_out = np.full((count, longest + 1), PAD, "int32")
    for row in range(count):
        length = rng.integers(2, longest + 1)
        tokens = rng.integers(3, vocab, size=length)
        source[row, :length] = tokens
        target_in[row, 0], target_in[row, 1:length + 1] = BOS, tokens[::-1]
        target_out[row, :length], target_out[row, length] = tokens[::-1], EOS
    return source, target_in, target_out


def test_tiny_model_learns_to_reverse():
    source, target_in, target_out = _reversal_data(2048, np.random.default_rng(0))
    keras.utils.set_random_seed(0)
    model = Seq2SeqTransformer(13, hidden_dim=32, num_layers=1, num_heads=2, intermediate_dim=64, max_length=8)
    model.compile(optimizer=keras.optimizers.Adam(3e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), jit_compile=False)
    model.fit((source, target_in), target_out, batch_size=64, epochs=20, verbose=0)
    test_source, _, test_out = _reversal_data(300, np.random.default_rng(1))
    output = greedy_translate(model, test_source, max_length=7, bos_id=BOS, eos_id=EOS)
    assert output.dtype == np.int32 and output.shape[0] == 300 and output.shape[1] <= 7
    filled = np.full(test_out.shape, PAD, "int32")
    filled[:, :output.shape[1]] = output
    exact = np.mean(np.all(filled == test_out, axis=1))
    assert exact >= 0.95, exact


def test_greedy_translate_stops_and_pads():
    model = _model()
    source, _ = _batch(model, np.random.default_rng(4))
    output = greedy_translate(model, source, max_length=9, bos_id=BOS, eos_id=EOS)
    assert output.shape == (3, 9) or (output == EOS).any(axis=1).all()
    # brute force: re-run the whole prefix without a cache at every step
    expected = np.full((3, 9), PAD, "int32")
    prefix = np.full((3, 1), BOS, "int32")
    done = np.zeros(3, bool)
    for step in range(9):
        choice = _np(model([source, prefix]))[:, -1].argmax(-1).astype("int32")
        expected[:, step] = np.where(done, PAD, choice)
        done |= choice == EOS
        if done.all():
            expected = expected[:, :step + 1]
            break
        prefix = np.concatenate([prefix, choice[:, None]], axis=1)
    np.testing.assert_array_equal(output, expected)
    for row in output:
        ends = np.flatnonzero(row == EOS)
        if ends.size:
            assert np.all(row[ends[0] + 1:] == PAD)


def test_bad_inputs_are_refused():
    model = _model()
    source, target = _batch(model, np.random.default_rng(5))
    with pytest.raises(ValueError, match=r"\[source_ids, target_ids\]"):
        model(source)
    with pytest.raises(ValueError, match=r"shape \(batch, length\)"):
        model([source[0], target])
    with pytest.raises(ValueError, match="outside"):
        model([source, target + 31])
    with pytest.raises(ValueError, match="outside"):
        model([source - 5, target])
    with pytest.raises(ValueError, match="integer"):
        model([source.astype("float32"), target])
    with pytest.raises(ValueError, match="same batch"):
        model([source[:2], target])
    with pytest.raises(ValueError, match="learned positions"):
        model([np.ones((1, 13), "int32"), target[:1]])
    context, context_mask = model.encode(source)
    cache = model.init_cache(3, 4)
    with pytest.raises(ValueError, match="do not fit in a cache of 4"):
        model.call_with_cache(target[:, :2], cache, 3, context, context_mask)
    with pytest.raises(ValueError, match="learned positions"):
        model.init_cache(3, 13)
    with pytest.raises(ValueError, match="context must be"):
        model.call_with_cache(target[:, :1], cache, 0, context[:2], context_mask[:2])
    with pytest.raises(ValueError, match="decoder has 2 blocks"):
        model.call_with_cache(target[:, :1], cache[:1], 0, context, context_mask)
    with pytest.raises(ValueError, match="shared_embeddings=False"):
        Seq2SeqTransformer(31, target_vocab_size=20)
    with pytest.raises(ValueError, match="pad_id"):
        Seq2SeqTransformer(31, pad_id=31)
    with pytest.raises(ValueError, match="not divisible by num_heads"):
        Seq2SeqTransformer(31, hidden_dim=30, num_heads=4)
    with pytest.raises(ValueError, match="max_length"):
        greedy_translate(model, source, max_length=0, bos_id=BOS, eos_id=EOS)


@pytest.mark.parametrize("extra", VARIANTS, ids=ids)
def test_config_round_trip_and_save(extra, tmp_path):
    model = _model(**extra)
    source, target = _batch(model, np.random.default_rng(6))
    expected = _np(model([source, target]))
    clone = Seq2SeqTransformer.from_config(model.get_config())
    assert clone.get_config() == model.get_config()
    clone.build()
    clone.set_weights(model.get_weights())
    np.testing.assert_allclose(_np(clone([source, target])), expected, rtol=1e-5, atol=1e-6)
    path = tmp_path / "seq2seq.keras"
    model.save(path)
    restored = keras.models.load_model(path)
    np.testing.assert_allclose(_np(restored([source, target])), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("extra", [{}, dict(positions="rope", norm="rms", mlp="swiglu", use_bias=False,
                                           num_kv_heads=2, decoder_layers=3),
                                   dict(norm_first=False, embedding_norm=True, lm_head=False)], ids=ids)
def test_parameters_match_the_spec_formula(extra):
    spec = TransformerSpec("encoder-decoder", vocab_size=31, dim=16, num_layers=2, num_heads=4, intermediate_dim=32,
                           max_length=12, **extra)
    model = _model(**extra)
    model.build()
    assert model.count_params() == spec.total_parameters
    separate = _model(shared_embeddings=False, target_vocab_size=20)
    separate.build()
    shared = _model()
    shared.build()
    # a second (20 x 16) table, and a head of 20 rather than 31 outputs (16 weights and a bias each)
    assert separate.count_params() - shared.count_params() == 20 * 16 + (20 - 31) * (16 + 1)


@pytest.mark.parametrize("extra", VARIANTS, ids=ids)
def test_cross_attention_weights(extra):
    model = _model(pad_id=PAD, **extra)
    rng = np.random.default_rng(5)
    source, target = _batch(model, rng, source_length=6, target_length=5)
    source[0, 4:] = PAD  # row 0 has 4 real source tokens
    maps = model.cross_attention_weights(source, target)
    assert len(maps) == model.decoder_layers
    for weights in maps:
        assert weights.shape == (3, model.num_heads, 5, 6)
        np.testing.assert_allclose(weights.sum(axis=-1), 1.0, rtol=1e-5)
        assert np.all(weights[0, :, :, 4:] == 0.0) and np.all(weights[0, :, :, :4] > 0.0)
        assert np.all(weights[1:] > 0.0)
    # padding more does not move the weights on the real source positions
    padded = np.concatenate([source, np.full((3, 2), PAD, "int32")], axis=1)
    for weights, more in zip(maps, model.cross_attention_weights(padded, target)):
        np.testing.assert_allclose(more[..., :6], weights, rtol=1e-4, atol=1e-6)
        assert np.all(more[..., 6:] == 0.0)
    # the query the weights were computed from is the block's own: rebuilding the first block's output from
    # it and the cross-attention sub-layer gives what the block computes
    context, context_mask = model.encode(source)
    x = model._embed(target, model.target_embedding, model.decoder_positions, model.decoder_embedding_norm, 0)
    block, mask = model.decoder_blocks[0], model._mask(target)
    if block.norm_first:
        h = x + block.attention(block.attention_norm(x), attention_mask=mask)
        h = h + block.cross_attention(block.cross_attention_norm(h), context=context, attention_mask=context_mask)
        rebuilt = h + block.mlp(block.mlp_norm(h))
    else:
        h = block.attention_norm(x + block.attention(x, attention_mask=mask))
        h = block.cross_attention_norm(h + block.cross_attention(h, context=context, attention_mask=context_mask))
        rebuilt = block.mlp_norm(h + block.mlp(h))
    expected = block(x, attention_mask=mask, context=context, context_mask=context_mask)
    np.testing.assert_allclose(_np(rebuilt), _np(expected), rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="same batch size"):
        model.cross_attention_weights(source, target[:2])
