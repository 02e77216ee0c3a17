"""llmbook: the Keras 3 implementations behind *LLM Application Guide: Least-to-Most*.

Importing the package first quiets TensorFlow's C++ logging (it must happen before TensorFlow is
imported) and selects the TensorFlow backend for Keras unless another one was chosen.
Subpackages are imported on demand, so ``import llmbook.data`` does not import TensorFlow.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

__version__ = "0.1.0"
