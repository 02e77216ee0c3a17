"""llmbook: the Keras 3 implementations behind *LLM Application Guide: Least-to-Most*.

Importing the package first quiets TensorFlow's C++ logging (it must happen before TensorFlow is
imported) and selects the TensorFlow backend for Keras unless another one was chosen.
Subpackages are imported on demand, so ``import llmbook.data`` does not import TensorFlow.

Progress bars are off by default (``TQDM_DISABLE=1``) and tqdm's notebook warning is silenced: both
would print timing-dependent text to stderr, which an executed chapter must not store.
"""

import os
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TQDM_DISABLE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
warnings.filterwarnings("ignore", message="IProgress not found")

__version__ = "0.1.0"
