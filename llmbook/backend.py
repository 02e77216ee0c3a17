"""One way to compile a function for the current Keras backend, used by every model that compiles one.

Decoding, word2vec, GloVe and the sentence encoder each need a compiled function; they all get it here,
so that a backend is handled (or declined) in one place:

* **TensorFlow**: ``tf.function``, with XLA (``jit_compile=True``) unless ``xla=False``.
* **JAX**: ``jax.jit`` only for a *pure* function, one that takes all its state as arguments. A function
  that reads or assigns Keras variables (a model's forward pass, a training step) is returned as is:
  ``jax.jit`` would freeze the variables' values at trace time (a later training step would be
  invisible to it) and drop the assignments. It then runs eagerly: correct, slower.
* **PyTorch** and anything else: the function as is (eager).

>>> import keras
>>> double = compile_function(lambda x: x * 2, jit=False)
>>> double(3)
6
"""

from __future__ import annotations

from typing import Callable

__all__ = ["compile_function", "repeat_step"]


def compile_function(function: Callable, jit: bool = True, *, xla: bool = True, autograph: bool = True,
                     reduce_retracing: bool = False, pure: bool = False) -> Callable:
    """``function`` compiled for the current Keras backend, or ``function`` itself.

    Args:
        function: the Python function to compile.
        jit: False returns ``function`` unchanged (eager), whatever the backend.
        xla: TensorFlow only: compile the graph with XLA (True) or run it as a plain graph (False).
        autograph: TensorFlow only: False traces the Python code as written, right for functions that
            already use ``keras.ops`` control flow (it skips AutoGraph's source rewriting).
        reduce_retracing: TensorFlow only: trace one graph for inputs of varying shape.
        pure: the function reads no Keras variable (all state comes in as arguments); only then is it
            jitted on JAX (see above). TensorFlow's graphs read variables live, so it does not matter there.
    """
    if not jit:
        return function
    import keras

    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return tf.function(function, jit_compile=xla, autograph=autograph, reduce_retracing=reduce_retracing)
    if backend == "jax" and pure:
        import jax

        return jax.jit(function)
    return function


def repeat_step(step: Callable, batches: tuple, *constants):
    """``sum_i step(batches[0][i], batches[1][i], ..., *constants)``: many training steps in one call.

    ``batches`` are arrays stacked on a first axis (one entry per step); ``constants`` are passed to
    every step. On TensorFlow and PyTorch it is a ``keras.ops.fori_loop`` (inside a compiled function, one
    loop on the device, with no per-step call overhead). On JAX it is a Python loop: JAX traces a
    ``fori_loop`` body, and a step that assigns Keras variables would leak its updates from the trace.
    """
    import keras
    from keras import ops

    batches = tuple(ops.convert_to_tensor(b) for b in batches)  # once for all steps; a no-op in a TF graph

    def body(i, total):
        return total + step(*(b[i] for b in batches), *constants)

    count = ops.shape(batches[0])[0]
    if keras.backend.backend() == "jax":
        return sum((body(i, 0.0) for i in range(int(count))), ops.zeros((), "float32"))
    return ops.fori_loop(0, count, body, ops.zeros((), "float32"))
