"""Shared test set-up: the Keras backend under test is the one KERAS_BACKEND names (TensorFlow by default).

CI runs the whole suite on TensorFlow and the backend subset (``make backends``: layers, models,
generation, BERT, word vectors) on JAX and PyTorch. A test that needs TensorFlow itself (an XLA program,
``tf.function`` tracing counts) is marked ``tensorflow_only`` and skipped elsewhere with its reason.
"""

import os

import pytest


def keras_backend() -> str:
    return os.environ.get("KERAS_BACKEND", "tensorflow")


def pytest_report_header(config):
    return f"Keras backend: {keras_backend()}"


def pytest_configure(config):
    config.addinivalue_line("markers", "tensorflow_only(reason): needs TensorFlow itself; skipped on other backends")


def pytest_collection_modifyitems(config, items):
    if keras_backend() == "tensorflow":
        return
    for item in items:
        marker = item.get_closest_marker("tensorflow_only")
        if marker is not None:
            reason = marker.kwargs.get("reason") or (marker.args[0] if marker.args else "needs TensorFlow")
            item.add_marker(pytest.mark.skip(reason=f"{keras_backend()} backend: {reason}"))


@pytest.fixture(scope="session")
def smollm2_bpe():
    """SmolLM2-135M-Instruct's tokenizer read by llmbook from the packaged GGUF (skipped where it is absent)."""
    from llmbook.data import DataPackageMissingError
    from llmbook.data.pretrained import smollm2_gguf_path
    from llmbook.text.bpe import ByteLevelBPE

    try:
        path = smollm2_gguf_path()
    except DataPackageMissingError as missing:
        pytest.skip(str(missing))
    return ByteLevelBPE.from_gguf(path)
