"""llmbook.models.recurrent and llmbook.layers.dropout: recurrent language models, truncated BPTT, dropout masks."""

import keras
import numpy as np
import pytest

from llmbook.layers.dropout import LockedDropout, NaiveDropout
from llmbook.metrics import perplexity
from llmbook.models.recurrent import RecurrentLanguageModel, TruncatedBPTT, bptt_batches, gradient_norms_per_step
from tests._backend import to_numpy


def tiny(**options):
    settings = dict(vocab_size=11, embedding_dim=6, hidden_dim=8, seed=0)
    settings.update(options)
    return RecurrentLanguageModel(**settings)


@pytest.mark.parametrize("cell,count", [("lstm", 2), ("gru", 1), ("simple", 1)])
def test_shapes_and_state_structure(cell, count):
    model = tiny(cell=cell, num_layers=2)
    ids = np.random.default_rng(0).integers(0, 11, (3, 5))
    logits, states = model(ids, return_states=True)
    assert tuple(logits.shape) == (3, 5, 11)
    assert len(states) == 2 and all(len(layer) == count for layer in states)
    assert all(tuple(s.shape) == (3, 8) for layer in states for s in layer)


@pytest.mark.parametrize("cell", ["lstm", "gru", "simple"])
@pytest.mark.parametrize("tie", [False, True])
def test_carried_states_equal_one_pass(cell, tie):
    model = tiny(cell=cell, num_layers=2, tie_weights=tie)
    ids = np.random.default_rng(1).integers(0, 11, (4, 12))
    whole = to_numpy(model(ids))
    first, states = model(ids[:, :5], return_states=True)
    second = model(ids[:, 5:], states=states)
    np.testing.assert_allclose(np.concatenate([to_numpy(first), to_numpy(second)], axis=1), whole, atol=1e-5)
    fresh = to_numpy(model(ids[:, 5:]))
    # the states matter: starting the second window from zeros gives other logits
    assert np.abs(fresh - whole[:, 5:]).max() > 0.05 * np.abs(whole[:, 5:]).max()


def test_bptt_batches_are_contiguous_streams():
    ids = np.arange(103)
    windows = list(bptt_batches(ids, batch_size=4, window=7))
    length = (103 - 1) // 4
    assert [x.shape[1] for x, _ in windows] == [7] * 3 + [length - 21]
    for (x, y), (x_next, _) in zip(windows, windows[1:]):
        np.testing.assert_array_equal(x_next[:, 0], y[:, -1])  # window k+1 continues window k
    stream_x = np.concatenate([x for x, _ in windows], axis=1)
    stream_y = np.concatenate([y for _, y in windows], axis=1)
    for b in range(4):
        np.testing.assert_array_equal(stream_x[b], ids[b * length:(b + 1) * length])
        np.testing.assert_array_equal(stream_y[b], ids[b * length + 1:(b + 1) * length + 1])
    assert all(x.shape[1] == 7 for x, _ in bptt_batches(ids, 4, 7, drop_last=True))


def test_stream_losses_equal_one_pass_per_stream():
    model = tiny()
    ids = np.random.default_rng(2).integers(0, 11, 61)
    trainer = TruncatedBPTT(model, keras.optimizers.SGD(0.1))
    losses = trainer.token_losses(ids, batch_size=3, window=4)
    x = ids[:60].reshape(3, 20)
    y = ids[1:61].reshape(3, 20)
    logits = to_numpy(model(x))
    shifted = logits - logits.max(-1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))
    expected = -np.take_along_axis(log_probs, y[..., None], axis=-1)[..., 0].ravel()
    np.testing.assert_allclose(losses, expected, rtol=1e-4, atol=1e-5)
    assert perplexity(losses) == pytest.approx(np.exp(expected.mean()), rel=1e-4)


def test_reset_returns_to_zero_states():
    model = tiny()
    trainer = TruncatedBPTT(model, keras.optimizers.SGD(0.0))
    ids = np.random.default_rng(3).integers(0, 11, (2, 6))
    trainer.train_window(ids, ids)
    carried = [to_numpy(s) for s in trainer.states[0]]
    assert np.abs(carried[0]).max() > 0
    trainer.reset()
    assert trainer.states is None
    trainer.train_window(ids, ids)  # the learning rate is 0: the same window from zeros gives the same states
    np.testing.assert_allclose(to_numpy(trainer.states[0][0]), carried[0], atol=1e-6)
    with pytest.raises(ValueError, match="reset"):
        trainer.train_window(ids[:1], ids[:1])


def test_locked_mask_is_constant_over_time_and_naive_is_not():
    x = np.ones((256, 50, 32), dtype="float32")
    locked = to_numpy(LockedDropout(0.5, seed=1)(x, training=True))
    naive = to_numpy(NaiveDropout(0.5, seed=1)(x, training=True))
    assert (locked == locked[:, :1, :]).all()
    assert not (naive == naive[:, :1, :]).all()
    for y, draws in ((locked, 256 * 32), (naive, 256 * 50 * 32)):
        assert set(np.unique(y)) == {0.0, 2.0}  # inverted scaling: kept units are x / (1 - rate)
        # expected value preserved: the mean of `draws` independent values of standard deviation 1
        assert abs(y.mean() - 1.0) < 4 / np.sqrt(draws)
    for layer in (LockedDropout(0.5), NaiveDropout(0.5)):
        np.testing.assert_array_equal(to_numpy(layer(x)), x)
        np.testing.assert_array_equal(to_numpy(layer(x, training=False)), x)


@pytest.mark.parametrize("kind", ["locked", "naive"])
def test_model_dropout_only_in_training(kind):
    model = tiny(dropout=kind, input_rate=0.3, output_rate=0.3, recurrent_rate=0.3)
    ids = np.random.default_rng(4).integers(0, 11, (2, 6))
    np.testing.assert_array_equal(to_numpy(model(ids)), to_numpy(model(ids)))
    assert np.abs(to_numpy(model(ids, training=True)) - to_numpy(model(ids))).max() > 1e-4


def test_char_lstm_learns_a_periodic_string():
    keras.utils.set_random_seed(0)
    text = "hello world " * 150
    vocabulary = sorted(set(text))
    ids = np.array([vocabulary.index(c) for c in text])
    model = RecurrentLanguageModel(len(vocabulary), embedding_dim=16, hidden_dim=32, seed=0)
    trainer = TruncatedBPTT(model, keras.optimizers.Adam(1e-2, global_clipnorm=1.0))
    first = trainer.train_stream(ids, batch_size=4, window=25)
    for _ in range(5):
        last = trainer.train_stream(ids, batch_size=4, window=25)
    assert first[0] > 1.5
    assert np.mean(last[-3:]) < 0.05
    assert perplexity(trainer.token_losses(ids, 4, 25)) < 1.1


def test_gradient_norms_per_step():
    model = tiny(hidden_dim=16)
    rng = np.random.default_rng(5)
    ids, targets = rng.integers(0, 11, (4, 20)), rng.integers(0, 11, (4, 20))
    norms = gradient_norms_per_step(model, ids, targets)
    assert norms.shape == (20,) and np.isfinite(norms).all() and (norms > 0).all()
    assert norms[-1] > 10 * norms[0]  # an untrained LSTM: the gradient shrinks with the distance from the loss
    mean_norms = gradient_norms_per_step(model, ids, targets, loss="mean")
    assert mean_norms.shape == (20,) and not np.allclose(mean_norms, norms)


def test_tied_weights_share_the_embedding():
    untied = tiny(embedding_dim=8)
    tied = tiny(embedding_dim=8, tie_weights=True)
    projected = tiny(embedding_dim=6, tie_weights=True)
    ids = np.zeros((1, 3), dtype="int32")
    for model in (untied, tied, projected):
        model(ids)
    assert untied.count_params() - tied.count_params() == 8 * 11
    assert projected.projection is not None and tied.projection is None


def test_get_config_round_trip(tmp_path):
    model = tiny(cell="gru", num_layers=2, dropout="locked", input_rate=0.2, hidden_rate=0.1, tie_weights=True)
    ids = np.random.default_rng(6).integers(0, 11, (2, 4))
    expected = to_numpy(model(ids))
    clone = RecurrentLanguageModel.from_config(model.get_config())
    assert clone.get_config() == model.get_config()
    path = tmp_path / "rnn.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(to_numpy(loaded(ids)), expected, atol=1e-6)


@pytest.mark.parametrize("options,message", [
    (dict(cell="rnn"), "cell must be"),
    (dict(dropout="variational"), "dropout must be"),
    (dict(dropout="locked", input_rate=1.0), "input_rate must be a rate"),
    (dict(recurrent_rate=-0.1), "recurrent_rate must be a rate"),
    (dict(input_rate=0.2), "need dropout="),
    (dict(num_layers=0), "num_layers must be a positive integer"),
])
def test_bad_model_options_raise(options, message):
    with pytest.raises(ValueError, match=message):
        tiny(**options)


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="window must be a positive integer"):
        bptt_batches(np.arange(10), 2, 0)
    with pytest.raises(ValueError, match="cannot fill"):
        bptt_batches(np.arange(3), 4, 2)
    with pytest.raises(ValueError, match="1-D"):
        bptt_batches(np.zeros((2, 5), dtype=int), 2, 2)
    with pytest.raises(ValueError, match="rate must be a rate"):
        LockedDropout(1.0)
    with pytest.raises(ValueError, match="loss must be"):
        gradient_norms_per_step(tiny(), np.zeros((1, 3), int), np.zeros((1, 3), int), loss="first")


def test_simple_rnn_is_a_tanh_recurrence():
    model = tiny(cell="simple")
    ids = np.random.default_rng(7).integers(0, 11, (2, 4))
    logits = to_numpy(model(ids))
    layer = model.recurrent_layers[0]
    kernel, recurrent, bias = (to_numpy(w) for w in layer.weights)
    embedded = to_numpy(model.embedding(ids))
    h = np.zeros((2, 8))
    for t in range(4):
        h = np.tanh(embedded[:, t] @ kernel + h @ recurrent + bias)
    head_kernel, head_bias = (to_numpy(w) for w in model.head.weights)
    np.testing.assert_allclose(logits[:, -1], h @ head_kernel + head_bias, atol=1e-5)
