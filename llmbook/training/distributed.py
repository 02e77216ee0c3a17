"""Data parallelism: the same training step on several devices, checked against one device.

Data parallelism copies the model to every device (a *replica*), gives each replica its slice of
the global batch, and sums the replicas' gradients (an all-reduce) before one identical update on
every copy. With the loss averaged over the global batch, that update is the one a single device
would make on the whole batch, up to the order of the floating-point additions. This module
measures exactly that:

* :func:`configure_cpu_devices` splits the CPU into logical devices for TensorFlow, so that
  ``tf.distribute.MirroredStrategy`` has two replicas on one machine;
* :func:`train_losses` trains a freshly built model for some steps, on one device or under a
  ``tf.distribute`` strategy or a ``keras.distribution`` distribution, and returns the loss of
  every step;
* :func:`compare_in_subprocess` runs both trainings in a fresh Python process (the only way to
  choose the device count, or the JAX backend, after TensorFlow or Keras has started);
* :func:`with_dense_gradients` works around a Keras 3.15 / TensorFlow 2.21 mismatch: under
  ``MirroredStrategy`` the all-reduced gradient of an embedding is a ``tf.IndexedSlices`` whose
  rows repeat once per replica, and Adam squares the rows before they are summed;
* :func:`make_tf_config` and :func:`validate_tf_config` write and check the ``TF_CONFIG`` cluster
  spec that ``tf.distribute.MultiWorkerMirroredStrategy`` reads on every worker;
* :func:`scaled_learning_rate` is the linear scaling rule of Goyal et al. (2017).

>>> config = make_tf_config(["10.0.0.1:12345", "10.0.0.2:12345"], index=1)
>>> config["task"]
{'type': 'worker', 'index': 1}
>>> scaled_learning_rate(0.1, base_batch=256, global_batch=1024)
0.4
"""

from __future__ import annotations

import json
import math
import numbers
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np

from llmbook.training.quiet import silenced_stderr
from llmbook.validation import positive_int

__all__ = [
    "DenseGradients",
    "compare_in_subprocess",
    "configure_cpu_devices",
    "make_tf_config",
    "scaled_learning_rate",
    "train_losses",
    "validate_tf_config",
    "with_dense_gradients",
]

#: The task types TensorFlow's cluster resolver knows.
TASK_TYPES = ("chief", "worker", "ps", "evaluator")


def configure_cpu_devices(count: int) -> list[str]:
    """Split the first physical CPU into ``count`` logical TensorFlow devices; return their names.

    It must run before TensorFlow initializes its devices (before the first tensor, model or
    ``tf.config.list_logical_devices`` call); importing TensorFlow does not initialize them, and
    neither does :func:`llmbook.book.setup_chapter`. Calling it again with the same count is
    harmless.

    Raises:
        ValueError: if ``count`` is not a positive integer.
        RuntimeError: if TensorFlow has already initialized a different device configuration
            (restart the process and call this first).
    """
    count = positive_int("count", count)
    with silenced_stderr():
        import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(count)])
    except RuntimeError as error:
        existing = tf.config.list_logical_devices("CPU")
        if len(existing) != count:
            raise RuntimeError(
                f"TensorFlow already initialized {len(existing)} logical CPU device(s), so {count} "
                "cannot be configured any more: call configure_cpu_devices() before any TensorFlow "
                "operation (restart the kernel or process)") from error
    return [device.name for device in tf.config.list_logical_devices("CPU")]


class DenseGradients:
    """Optimizer mixin: turn ``tf.IndexedSlices`` gradients into dense tensors before the update.

    Under ``tf.distribute.MirroredStrategy`` (Keras 3.15.1, TensorFlow 2.21) the all-reduced
    gradient of a lookup table (an embedding) is a ``tf.IndexedSlices`` that lists every row once
    per replica. Keras's Adam squares that gradient row by row before the repeated rows are added,
    so its second moment holds ``g1**2 + g2**2`` instead of ``(g1 + g2)**2`` and the update differs
    from one device's. A dense gradient has no repeated rows. Use :func:`with_dense_gradients`.
    """

    def apply(self, grads, trainable_variables=None):
        """``keras.optimizers.Optimizer.apply`` with every ``tf.IndexedSlices`` made dense."""
        import tensorflow as tf

        grads = [tf.convert_to_tensor(g) if isinstance(g, tf.IndexedSlices) else g for g in grads]
        return super().apply(grads, trainable_variables)


def with_dense_gradients(optimizer):
    """A copy of the Keras ``optimizer`` (same class and config) that applies dense gradients.

    See :class:`DenseGradients`. Build it inside the strategy's scope, like the optimizer itself.

    >>> import keras
    >>> type(with_dense_gradients(keras.optimizers.AdamW(1e-3))).__name__
    'DenseAdamW'

    Raises:
        TypeError: if ``optimizer`` is not a ``keras.optimizers.Optimizer``.
    """
    import keras

    if not isinstance(optimizer, keras.optimizers.Optimizer):
        raise TypeError(f"expected a keras.optimizers.Optimizer, got {type(optimizer).__name__}")
    cls = type(optimizer)
    if issubclass(cls, DenseGradients):
        return cls.from_config(optimizer.get_config())
    dense_cls = type(f"Dense{cls.__name__}", (DenseGradients, cls), {})
    return dense_cls.from_config(optimizer.get_config())


def _replicas(strategy) -> int:
    if strategy is None:
        return 1
    if hasattr(strategy, "num_replicas_in_sync"):  # tf.distribute.Strategy
        return int(strategy.num_replicas_in_sync)
    mesh = getattr(strategy, "device_mesh", None)  # keras.distribution.DataParallel
    if mesh is not None:
        return int(np.prod(mesh.shape))
    raise TypeError(
        "strategy must be None, a tf.distribute.Strategy or a keras.distribution.Distribution, "
        f"got {type(strategy).__name__}")


def train_losses(build_model: Callable, make_optimizer: Callable, x, y, *, global_batch: int,
                 steps: int, strategy=None, seed: int = 0) -> np.ndarray:
    """Train a fresh model for ``steps`` steps of ``global_batch`` examples; return each step's loss.

    The examples are taken in order, batch ``k`` being ``x[k * global_batch:(k + 1) *
    global_batch]``; with a strategy every replica gets ``global_batch / replicas`` of them. The
    loss is sparse categorical cross-entropy on logits, averaged over the global batch.

    Args:
        build_model: no-argument callable returning an unbuilt or built Keras model that maps
            integer ``x`` to logits (called inside the strategy's scope).
        make_optimizer: no-argument callable returning a fresh Keras optimizer (same).
        x, y: integer arrays ``(examples, length)``: inputs and next-token targets.
        global_batch: examples per step, over all replicas.
        steps: training steps (each is one Keras epoch of one batch, so the history holds
            every step's loss, not a running mean).
        strategy: None (one device), a ``tf.distribute.Strategy`` (TensorFlow backend) or a
            ``keras.distribution.Distribution`` such as ``DataParallel`` (JAX backend).
        seed: passed to ``keras.utils.set_random_seed`` before the model is built.

    Returns:
        float64 array of ``steps`` losses.

    Raises:
        ValueError: if ``x`` and ``y`` differ in shape, there are fewer than ``steps *
            global_batch`` examples, or ``global_batch`` is not divisible by the replicas.
        TypeError: for a strategy of another kind.
    """
    import keras

    global_batch = positive_int("global_batch", global_batch)
    steps = positive_int("steps", steps)
    x, y = np.asarray(x), np.asarray(y)
    if x.shape != y.shape or x.ndim != 2:
        raise ValueError(f"x and y must be 2-D arrays of the same shape, got {x.shape} and {y.shape}")
    if len(x) < steps * global_batch:
        raise ValueError(f"{steps} steps of {global_batch} need {steps * global_batch} examples, "
                         f"got {len(x)}: pass more data or fewer steps")
    replicas = _replicas(strategy)
    if global_batch % replicas:
        raise ValueError(f"global_batch {global_batch} is not divisible by the {replicas} replicas: "
                         "every replica must get the same number of examples")
    x, y = x[:steps * global_batch], y[:steps * global_batch]
    keras.utils.set_random_seed(seed)
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    on_tensorflow = keras.backend.backend() == "tensorflow"
    scope = strategy.scope() if strategy is not None else _null_scope()
    with scope:
        model = build_model()
        if not model.built:
            model.build((None, x.shape[1]))
        model.compile(optimizer=make_optimizer(), loss=loss)
        if on_tensorflow and strategy is not None:
            # Keras 3.15 builds the compiled loss under a tf.distribute strategy from a batch
            # averaged over replicas, which turns integer token ids into floats; building the
            # loss on a real batch first skips that step.
            model.compute_loss(x=None, y=y[:2], y_pred=model(x[:2]))
        if on_tensorflow:
            import tensorflow as tf

            data = tf.data.Dataset.from_tensor_slices((x, y)).batch(global_batch)
            with silenced_stderr():  # tf.data's C++ notice about generator datasets
                history = model.fit(data, steps_per_epoch=1, epochs=steps, shuffle=False,
                                    verbose=0)
        else:
            history = model.fit(x, y, batch_size=global_batch, steps_per_epoch=1, epochs=steps,
                                shuffle=False, verbose=0)
    return np.asarray(history.history["loss"], dtype="float64")


class _null_scope:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _import_object(spec: str):
    module, _, name = spec.partition(":")
    if not module or not name:
        raise ValueError(f"model must be 'module:name', e.g. 'llmbook.models:GPT', got {spec!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


def compare_in_subprocess(x, y, *, model: str, model_config: Mapping, backend: str = "tensorflow",
                          devices: int = 2, global_batch: int, steps: int, learning_rate: float = 1e-3,
                          dense_gradients: bool = False, seed: int = 0, timeout: float = 600) -> dict:
    """Train one device and ``devices`` data-parallel replicas in a fresh process; return both losses.

    The child process sets the device count before its framework starts: on TensorFlow,
    :func:`configure_cpu_devices` and ``tf.distribute.MirroredStrategy``; on JAX,
    ``XLA_FLAGS=--xla_force_host_platform_device_count`` and ``keras.distribution.DataParallel``.
    Both runs use AdamW at ``learning_rate`` (made dense with :func:`with_dense_gradients` if
    asked) and :func:`train_losses`.

    Args:
        x, y: integer arrays, as for :func:`train_losses`.
        model: the model class or factory as ``'module:name'`` (``'llmbook.models:GPT'``).
        model_config: keyword arguments for it (JSON-serializable).
        backend: ``'tensorflow'`` or ``'jax'``.
        devices: how many CPU devices the data-parallel run uses.
        global_batch, steps, seed: as for :func:`train_losses`.
        timeout: seconds before the child is stopped.

    Returns:
        ``{"single": array, "parallel": array, "devices": [names]}``.

    Raises:
        ValueError: for an unknown backend or a malformed ``model`` spec.
        RuntimeError: if the child process fails (its standard error is in the message).
    """
    if backend not in ("tensorflow", "jax"):
        raise ValueError(f"backend must be 'tensorflow' or 'jax', got {backend!r}")
    devices = positive_int("devices", devices)
    if ":" not in model:
        raise ValueError(f"model must be 'module:name', e.g. 'llmbook.models:GPT', got {model!r}")
    spec = dict(model=model, model_config=dict(model_config), backend=backend, devices=devices,
                global_batch=positive_int("global_batch", global_batch), steps=positive_int("steps", steps),
                learning_rate=float(learning_rate), dense_gradients=bool(dense_gradients), seed=int(seed))
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="2")
    if backend == "jax":
        flags = env.get("XLA_FLAGS", "")
        env["XLA_FLAGS"] = f"{flags} --xla_force_host_platform_device_count={devices}".strip()
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    with tempfile.TemporaryDirectory() as folder:
        np.savez(Path(folder) / "data.npz", x=np.asarray(x), y=np.asarray(y))
        (Path(folder) / "spec.json").write_text(json.dumps(spec))
        child = f"from llmbook.training.distributed import _child; _child({folder!r})"
        done = subprocess.run([sys.executable, "-c", child], env=env, capture_output=True, text=True,
                              timeout=timeout)
        if done.returncode != 0:
            raise RuntimeError(f"the {backend} data-parallel run failed:\n{done.stderr[-3000:]}")
        if not (Path(folder) / "result.json").exists():
            raise RuntimeError(f"the {backend} child process wrote no result:\n{done.stderr[-3000:]}")
        result = json.loads((Path(folder) / "result.json").read_text())
    return {"single": np.asarray(result["single"]), "parallel": np.asarray(result["parallel"]),
            "devices": result["devices"]}


def _child(folder: str) -> None:
    """The child process of :func:`compare_in_subprocess`."""
    folder = Path(folder)
    spec = json.loads((folder / "spec.json").read_text())
    arrays = np.load(folder / "data.npz")
    if spec["backend"] == "tensorflow":
        names = configure_cpu_devices(spec["devices"])
        import tensorflow as tf

        strategy = tf.distribute.MirroredStrategy(names)
    else:
        import jax
        import keras

        strategy = keras.distribution.DataParallel(devices=jax.devices()[:spec["devices"]])
        names = [str(device) for device in jax.devices()[:spec["devices"]]]
    import keras

    factory = _import_object(spec["model"])

    def make_optimizer():
        optimizer = keras.optimizers.AdamW(spec["learning_rate"])
        return with_dense_gradients(optimizer) if spec["dense_gradients"] else optimizer

    common = dict(global_batch=spec["global_batch"], steps=spec["steps"], seed=spec["seed"])
    single = train_losses(lambda: factory(**spec["model_config"]), make_optimizer, arrays["x"],
                          arrays["y"], **common)
    parallel = train_losses(lambda: factory(**spec["model_config"]), make_optimizer, arrays["x"],
                            arrays["y"], strategy=strategy, **common)
    (folder / "result.json").write_text(json.dumps(
        {"single": single.tolist(), "parallel": parallel.tolist(), "devices": names}))


def _address(task_type: str, index: int, address) -> None:
    where = f"cluster[{task_type!r}][{index}]"
    if not isinstance(address, str) or address.count(":") != 1:
        raise ValueError(f"{where} must be 'host:port', got {address!r}")
    host, port = address.split(":")
    if not host:
        raise ValueError(f"{where} = {address!r} has no host before the ':'")
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError(f"{where} = {address!r}: the port must be a number from 1 to 65535")


def validate_tf_config(config) -> dict:
    """Check a ``TF_CONFIG`` (a dict or its JSON text) and return it as a dict.

    ``TF_CONFIG`` has a ``cluster`` (task type -> list of ``'host:port'`` addresses, the same on
    every machine) and a ``task`` (this machine's ``type`` and ``index`` in that list).

    Raises:
        ValueError: if the JSON is malformed; ``cluster`` or ``task`` is missing or has other keys;
            a task type is unknown; a list is empty; an address is not ``host:port`` or appears
            twice; there is more than one chief; or the task's type or index is not in the cluster.
    """
    if isinstance(config, str):
        try:
            config = json.loads(config)
        except json.JSONDecodeError as error:
            raise ValueError(f"TF_CONFIG is not valid JSON: {error}") from error
    if not isinstance(config, Mapping):
        raise ValueError(f"TF_CONFIG must be a JSON object, got {type(config).__name__}")
    if set(config) - {"cluster", "task", "environment", "rpc_layer"}:
        raise ValueError(f"TF_CONFIG has unknown keys {sorted(set(config) - {'cluster', 'task', 'environment', 'rpc_layer'})}:"
                         " expected 'cluster' and 'task'")
    for key in ("cluster", "task"):
        if key not in config:
            raise ValueError(f"TF_CONFIG has no {key!r}: it needs both 'cluster' and 'task'")
    cluster, task = config["cluster"], config["task"]
    if not isinstance(cluster, Mapping) or not cluster:
        raise ValueError("TF_CONFIG['cluster'] must be a non-empty object of task type -> addresses")
    seen: dict[str, str] = {}
    for task_type, addresses in cluster.items():
        if task_type not in TASK_TYPES:
            raise ValueError(f"unknown task type {task_type!r} in the cluster: use one of {TASK_TYPES}")
        if not isinstance(addresses, list) or not addresses:
            raise ValueError(f"cluster[{task_type!r}] must be a non-empty list of 'host:port' addresses")
        for index, address in enumerate(addresses):
            _address(task_type, index, address)
            if address in seen:
                raise ValueError(f"address {address!r} appears twice ({seen[address]} and "
                                 f"{task_type}[{index}]): every task needs its own host:port")
            seen[address] = f"{task_type}[{index}]"
    if len(cluster.get("chief", [])) > 1:
        raise ValueError("a cluster has at most one 'chief'; make the others 'worker'")
    if not isinstance(task, Mapping) or set(task) != {"type", "index"}:
        raise ValueError(f"TF_CONFIG['task'] must be {{'type': ..., 'index': ...}}, got {task!r}")
    if task["type"] not in cluster:
        raise ValueError(f"task type {task['type']!r} is not in the cluster (it has {sorted(cluster)})")
    index = task["index"]
    if isinstance(index, bool) or not isinstance(index, numbers.Integral) or not (
            0 <= index < len(cluster[task["type"]])):
        raise ValueError(f"task index {index!r} is out of range: cluster[{task['type']!r}] has "
                         f"{len(cluster[task['type']])} address(es), so it must be 0 to "
                         f"{len(cluster[task['type']]) - 1}")
    return dict(config)


def make_tf_config(workers: Sequence[str], index: int, *, task_type: str = "worker",
                   chief: str | None = None) -> dict:
    """The ``TF_CONFIG`` of one machine in a cluster of ``workers`` (and optionally a ``chief``).

    Every machine gets the same ``cluster``; only ``task`` differs. Put ``json.dumps(config)`` in the
    ``TF_CONFIG`` environment variable of that machine's process (this function sets nothing) before
    creating ``tf.distribute.MultiWorkerMirroredStrategy``. Without a chief, worker 0 acts as chief
    (writes checkpoints and summaries).

    Raises:
        ValueError: as :func:`validate_tf_config`, and if ``workers`` is a single string.
    """
    if isinstance(workers, str):
        raise ValueError("workers must be a list of 'host:port' strings, not one string")
    cluster = {"worker": list(workers)}
    if chief is not None:
        cluster = {"chief": [chief], **cluster}
    return validate_tf_config({"cluster": cluster, "task": {"type": task_type, "index": index}})


def scaled_learning_rate(base_learning_rate: float, *, base_batch: int, global_batch: int) -> float:
    """The linear scaling rule (Goyal et al., 2017): the learning rate grows with the global batch.

    ``base_learning_rate`` was tuned for ``base_batch`` examples per step; with ``global_batch``
    (per-replica batch times replicas) it becomes ``base_learning_rate * global_batch /
    base_batch``. Goyal et al. pair it with a gradual warm-up over the first epochs.

    Raises:
        ValueError: if the learning rate is not a positive finite number, or a batch is not a
            positive integer.
    """
    if isinstance(base_learning_rate, bool) or not isinstance(base_learning_rate, numbers.Real) or not (
            math.isfinite(base_learning_rate) and base_learning_rate > 0):
        raise ValueError(f"base_learning_rate must be a positive number, got {base_learning_rate!r}")
    base_batch = positive_int("base_batch", base_batch)
    global_batch = positive_int("global_batch", global_batch)
    return float(base_learning_rate) * global_batch / base_batch
