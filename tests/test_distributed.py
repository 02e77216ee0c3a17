"""llmbook.training.distributed: data-parallel training equals one device; TF_CONFIG is checked.

The multi-device runs happen in subprocesses: TensorFlow's logical devices and JAX's host device
count can only be chosen before the framework starts, and this process has started it already.
"""

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from llmbook.training.distributed import (
    compare_in_subprocess,
    configure_cpu_devices,
    make_tf_config,
    scaled_learning_rate,
    train_losses,
    validate_tf_config,
    with_dense_gradients,
)

# A float32 loss near 3 moves in steps of 2**-22 ~ 2.4e-7 when the order of its sums changes; the
# measured gaps below are 0 to 5e-7. 1e-5 allows some 40 such steps and is 20 x below the gap that
# Keras's plain AdamW shows under MirroredStrategy.
TOLERANCE = 1e-5
GPT_CONFIG = dict(vocab_size=20, max_length=8, num_layers=1, num_heads=2, hidden_dim=8)


def _windows(steps=4, global_batch=8, length=8, vocab=20, seed=0):
    data = np.random.default_rng(seed).integers(0, vocab, (steps * global_batch, length + 1))
    data = data.astype("int32")
    return data[:, :-1], data[:, 1:]


def _compare(backend, **options):
    x, y = _windows()
    return compare_in_subprocess(x, y, model="llmbook.models:GPT", model_config=GPT_CONFIG,
                                 backend=backend, devices=2, global_batch=8, steps=4,
                                 learning_rate=1e-2, **options)


def test_mirrored_strategy_with_dense_gradients_equals_one_device():
    result = _compare("tensorflow", dense_gradients=True)
    assert result["devices"] == ["/device:CPU:0", "/device:CPU:1"]
    assert result["single"].shape == (4,)
    np.testing.assert_allclose(result["parallel"], result["single"], rtol=0, atol=TOLERANCE)


def test_plain_adam_under_mirrored_strategy_differs_from_one_device():
    """Keras 3.15 / TF 2.21 behaviour that with_dense_gradients repairs. If this fails, Keras now
    adds repeated IndexedSlices rows before squaring them, and the repair is no longer needed."""
    result = _compare("tensorflow", dense_gradients=False)
    assert result["parallel"][0] == pytest.approx(result["single"][0], abs=TOLERANCE)  # same start
    assert np.abs(result["parallel"] - result["single"]).max() > 10 * TOLERANCE


def test_jax_data_parallel_equals_one_device():
    pytest.importorskip("jax")
    result = _compare("jax")
    assert len(result["devices"]) == 2
    np.testing.assert_allclose(result["parallel"], result["single"], rtol=0, atol=TOLERANCE)


def test_train_losses_returns_each_step_not_a_running_mean():
    import keras

    from llmbook.models import GPT

    x, y = _windows(steps=3)
    losses = train_losses(lambda: GPT(**GPT_CONFIG), lambda: keras.optimizers.SGD(0.5), x, y,
                          global_batch=8, steps=3)
    keras.utils.set_random_seed(0)
    model = GPT(**GPT_CONFIG)
    model.build((None, 8))
    model.compile(optimizer=keras.optimizers.SGD(0.5),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    by_hand = [model.train_on_batch(x[k * 8:(k + 1) * 8], y[k * 8:(k + 1) * 8]) for k in range(3)]
    np.testing.assert_allclose(losses, by_hand, rtol=0, atol=TOLERANCE)
    assert losses[-1] < losses[0]


def test_train_losses_refuses_bad_input():
    x, y = _windows(steps=2)
    build, optimizer = (lambda: None), (lambda: None)
    with pytest.raises(ValueError, match="same shape"):
        train_losses(build, optimizer, x, y[:, :-1], global_batch=8, steps=2)
    with pytest.raises(ValueError, match="need 24 examples"):
        train_losses(build, optimizer, x, y, global_batch=8, steps=3)
    with pytest.raises(ValueError, match="global_batch must be a positive integer"):
        train_losses(build, optimizer, x, y, global_batch=0, steps=2)
    with pytest.raises(TypeError, match="strategy must be None"):
        train_losses(build, optimizer, x, y, global_batch=8, steps=2, strategy=object())


def test_configure_cpu_devices_after_start_says_to_restart():
    code = textwrap.dedent("""
        from llmbook.training.distributed import configure_cpu_devices
        print(configure_cpu_devices(2))
        import tensorflow as tf
        tf.constant(1.0)
        print(configure_cpu_devices(2))  # the same count again: harmless
        try:
            configure_cpu_devices(3)
        except RuntimeError as error:
            print("refused:", error)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**__import__("os").environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    lines = out.stdout.strip().splitlines()
    assert lines[0] == lines[1] == "['/device:CPU:0', '/device:CPU:1']"
    assert lines[2].startswith("refused: TensorFlow already initialized 2 logical CPU device(s)")
    assert "before any TensorFlow operation" in lines[2]


def test_configure_cpu_devices_refuses_a_bad_count():
    with pytest.raises(ValueError, match="count must be a positive integer"):
        configure_cpu_devices(0)


def test_compare_in_subprocess_refuses_bad_input():
    x, y = _windows()
    with pytest.raises(ValueError, match="backend must be 'tensorflow' or 'jax'"):
        compare_in_subprocess(x, y, model="llmbook.models:GPT", model_config={}, backend="torch",
                              global_batch=8, steps=1)
    with pytest.raises(ValueError, match="'module:name'"):
        compare_in_subprocess(x, y, model="GPT", model_config={}, global_batch=8, steps=1)


def test_with_dense_gradients_keeps_the_class_and_config():
    import keras

    optimizer = keras.optimizers.AdamW(3e-3, weight_decay=0.05)
    dense = with_dense_gradients(optimizer)
    assert type(dense).__name__ == "DenseAdamW" and isinstance(dense, keras.optimizers.AdamW)
    assert dense.get_config() == optimizer.get_config()
    assert type(with_dense_gradients(dense)) is type(dense)
    with pytest.raises(TypeError, match="keras.optimizers.Optimizer"):
        with_dense_gradients("adam")


@pytest.mark.tensorflow_only(reason="tf.IndexedSlices are TensorFlow's")
def test_dense_gradients_add_repeated_rows_before_adam_squares_them():
    import keras
    import tensorflow as tf

    def one_step(optimizer):
        variable = keras.Variable(np.zeros((1, 1), "float32"))
        optimizer.build([variable])
        rows = tf.IndexedSlices(tf.constant([[1.0], [3.0]]), tf.constant([0, 0]), tf.constant([1, 1]))
        optimizer.apply([rows], [variable])
        return float(optimizer._velocities[0].numpy()[0, 0])

    plain = one_step(keras.optimizers.Adam(0.1))
    dense = one_step(with_dense_gradients(keras.optimizers.Adam(0.1)))
    assert dense == pytest.approx(0.001 * 16)  # (1 - beta_2) * (1 + 3)**2
    assert plain == pytest.approx(0.001 * 10)  # (1 - beta_2) * (1**2 + 3**2): the rows squared first


def test_tf_config_for_two_workers():
    configs = [make_tf_config(["10.0.0.1:2222", "10.0.0.2:2222"], index=i) for i in range(2)]
    assert configs[0]["cluster"] == configs[1]["cluster"] == {"worker": ["10.0.0.1:2222", "10.0.0.2:2222"]}
    assert [c["task"] for c in configs] == [{"type": "worker", "index": 0}, {"type": "worker", "index": 1}]
    assert validate_tf_config(json.dumps(configs[1])) == configs[1]
    chief = make_tf_config(["w:1"], index=0, task_type="chief", chief="c:1")
    assert chief["cluster"] == {"chief": ["c:1"], "worker": ["w:1"]}


@pytest.mark.parametrize("config, message", [
    ("{not json", "not valid JSON"),
    ([], "must be a JSON object"),
    ({"cluster": {"worker": ["a:1"]}}, "has no 'task'"),
    ({"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": 0}, "tsk": 1}, "unknown keys"),
    ({"cluster": {}, "task": {"type": "worker", "index": 0}}, "non-empty object"),
    ({"cluster": {"gpu": ["a:1"]}, "task": {"type": "gpu", "index": 0}}, "unknown task type 'gpu'"),
    ({"cluster": {"worker": []}, "task": {"type": "worker", "index": 0}}, "non-empty list"),
    ({"cluster": {"worker": ["a"]}, "task": {"type": "worker", "index": 0}}, "must be 'host:port'"),
    ({"cluster": {"worker": [":1"]}, "task": {"type": "worker", "index": 0}}, "no host"),
    ({"cluster": {"worker": ["a:99999"]}, "task": {"type": "worker", "index": 0}}, "port must be a number"),
    ({"cluster": {"worker": ["a:1", "a:1"]}, "task": {"type": "worker", "index": 0}}, "appears twice"),
    ({"cluster": {"chief": ["a:1", "b:1"]}, "task": {"type": "chief", "index": 0}}, "at most one 'chief'"),
    ({"cluster": {"worker": ["a:1"]}, "task": {"type": "ps", "index": 0}}, "not in the cluster"),
    ({"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": 1}}, "must be 0 to 0"),
    ({"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": True}}, "out of range"),
    ({"cluster": {"worker": ["a:1"]}, "task": {"type": "worker"}}, "must be {'type'"),
])
def test_malformed_tf_config_is_refused_with_the_reason(config, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace("{", r"\{")):
        validate_tf_config(config)


def test_make_tf_config_refuses_one_string():
    with pytest.raises(ValueError, match="list of 'host:port' strings"):
        make_tf_config("a:1", index=0)


def test_linear_scaling_rule():
    assert scaled_learning_rate(0.1, base_batch=256, global_batch=8192) == pytest.approx(3.2)
    assert scaled_learning_rate(1e-3, base_batch=32, global_batch=32) == 1e-3
    for bad in (0, -1.0, float("nan"), True):
        with pytest.raises(ValueError, match="base_learning_rate must be a positive number"):
            scaled_learning_rate(bad, base_batch=1, global_batch=1)
    with pytest.raises(ValueError, match="global_batch must be a positive integer"):
        scaled_learning_rate(0.1, base_batch=1, global_batch=2.5)
