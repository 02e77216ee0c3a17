"""llmbook.models.tagger: the multi-task tagger (shared encoder, one head per task) and its masked loss."""

import keras
import numpy as np
import pytest

from llmbook.models.tagger import UNLABELLED, MultiTaskTagger, masked_sparse_crossentropy
from tests._backend import to_numpy


def tiny(**options):
    settings = dict(vocab_size=13, tasks={"seg": 4, "pos": 5}, embedding_dim=6, hidden_dim=8, seed=0)
    settings.update(options)
    return MultiTaskTagger(**settings)


@pytest.mark.parametrize("encoder", ["conv", "bilstm"])
def test_outputs_per_task_and_padding_changes_nothing(encoder):
    model = tiny(encoder=encoder)
    ids = np.random.default_rng(0).integers(1, 13, (2, 6)).astype("int32")
    outputs = model(ids)
    assert list(outputs) == ["seg", "pos"]
    assert tuple(outputs["seg"].shape) == (2, 6, 4) and tuple(outputs["pos"].shape) == (2, 6, 5)
    padded = np.concatenate([ids, np.zeros((2, 3), "int32")], axis=1)
    for name in ("seg", "pos"):
        np.testing.assert_allclose(to_numpy(model(padded)[name])[:, :6], to_numpy(outputs[name]), atol=1e-5)


def test_masked_loss_is_the_mean_over_labelled_positions():
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(2, 4, 3)).astype("float32")
    labels = np.array([[0, 2, UNLABELLED, 1], [UNLABELLED, UNLABELLED, 1, 0]])
    log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    keep = labels >= 0
    expected = -np.mean([log_probs[b, t, labels[b, t]] for b, t in zip(*np.nonzero(keep))])
    assert float(to_numpy(masked_sparse_crossentropy(labels, logits))) == pytest.approx(expected, rel=1e-5)
    assert float(to_numpy(masked_sparse_crossentropy(labels.astype("float32"), logits))) == pytest.approx(
        expected, rel=1e-5)
    nothing = np.full((2, 4), UNLABELLED)
    assert float(to_numpy(masked_sparse_crossentropy(nothing, logits))) == 0.0


def test_task_parameter_count_equals_the_single_task_model():
    ids = np.ones((1, 3), "int32")
    multi, single = tiny(), tiny(tasks={"pos": 5})
    multi(ids), single(ids)
    assert multi.task_parameter_count("pos") == single.count_params()
    assert multi.count_params() == single.count_params() + 8 * 4 + 4
    with pytest.raises(KeyError, match="no task 'ner'"):
        multi.task_parameter_count("ner")
    with pytest.raises(ValueError, match="not built"):
        tiny().task_parameter_count("seg")


def test_unlabelled_task_gets_no_update_and_reinitialize_equals_a_new_model():
    rng = np.random.default_rng(2)
    ids = rng.integers(1, 13, (8, 5)).astype("int32")
    seg = rng.integers(0, 4, (8, 5))
    pos = np.full((8, 5), UNLABELLED)

    def trained(model):
        model.compile(optimizer=keras.optimizers.Adam(0.01),
                      loss={"seg": masked_sparse_crossentropy, "pos": masked_sparse_crossentropy})
        model(ids)
        return model

    first = trained(tiny(seed=3))
    head = to_numpy(first.heads["pos"].kernel).copy()
    first.fit(ids, {"seg": seg, "pos": pos}, batch_size=4, epochs=2, shuffle=False, verbose=0)
    np.testing.assert_array_equal(to_numpy(first.heads["pos"].kernel), head)  # no label, no gradient

    reused = trained(tiny(seed=0))
    reused.fit(ids, {"seg": seg, "pos": rng.integers(0, 5, (8, 5))}, batch_size=4, epochs=1, verbose=0)
    reused.reinitialize(3)
    fresh = tiny(seed=3)
    fresh(ids)
    for got, want in zip(reused.get_weights(), fresh.get_weights()):
        np.testing.assert_array_equal(got, want)
    reused.fit(ids, {"seg": seg, "pos": pos}, batch_size=4, epochs=2, shuffle=False, verbose=0)
    for got, want in zip(reused.get_weights(), first.get_weights()):
        np.testing.assert_allclose(got, want, atol=1e-6)


def test_config_round_trip():
    model = tiny(encoder="bilstm", num_layers=1, dropout=0.1)
    clone = MultiTaskTagger.from_config(model.get_config())
    assert clone.get_config() == model.get_config()


@pytest.mark.parametrize("options,message", [
    (dict(tasks={}), "non-empty dict"),
    (dict(tasks=["seg"]), "non-empty dict"),
    (dict(tasks={"seg": 0}), "tasks\\['seg'\\]"),
    (dict(tasks={"": 3}), "non-empty strings"),
    (dict(encoder="gru"), "encoder must be one of"),
    (dict(vocab_size=0), "vocab_size"),
    (dict(dropout=1.5), "dropout"),
])
def test_bad_arguments(options, message):
    with pytest.raises(ValueError, match=message):
        tiny(**options)


def test_reinitialize_needs_a_built_model():
    with pytest.raises(ValueError, match="not built"):
        tiny().reinitialize(1)
