"""llmbook: the Keras 3 implementations behind *LLM Application Guide: Least-to-Most*.

Importing the package changes nothing in the process: no environment variable, no warnings filter, no
logging level. Subpackages are imported on demand, so ``import llmbook.data`` does not import
TensorFlow. A chapter (or any notebook that wants the book's quiet, reproducible set-up) calls
:func:`llmbook.book.setup_chapter` explicitly; :mod:`llmbook.book` also holds the convention for the
numbers a chapter stores.
"""

__version__ = "0.1.0"
