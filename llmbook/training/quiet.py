"""Silence what a library writes straight to the process's standard error (file descriptor 2).

TensorFlow 2.21 prints oneDNN and CPU-feature notices through absl at import time, before
``TF_CPP_MIN_LOG_LEVEL`` is read, and straight to file descriptor 2, so ``contextlib.redirect_stderr``
does not catch them. In a Jupyter kernel they land in the stored outputs of an executed chapter, which
strict nbval then reports as a difference. Import TensorFlow inside :func:`silenced_stderr` instead:

>>> from llmbook.training.quiet import silenced_stderr
>>> with silenced_stderr():
...     import tensorflow as tf  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from typing import Iterator


@contextlib.contextmanager
def silenced_stderr() -> Iterator[None]:
    """Send file descriptor 2 (and ``sys.stderr``) to the null device inside the ``with`` block.

    Exceptions still propagate normally; only text written to standard error is dropped. Where the
    process has no usable file descriptor 2, only ``sys.stderr`` is redirected.
    """
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:
        saved = None
    with open(os.devnull, "w") as devnull:
        if saved is not None:
            os.dup2(devnull.fileno(), 2)
        try:
            with contextlib.redirect_stderr(devnull):
                yield
        finally:
            sys.stderr.flush()
            if saved is not None:
                os.dup2(saved, 2)
                os.close(saved)
            _restore_logging_streams(devnull)


def _restore_logging_streams(devnull) -> None:
    """Point logging handlers made inside the block (TensorFlow makes its own on import) back at the
    real ``sys.stderr``: otherwise they would keep the null device, closed after the block, and every
    later warning would end in "Logging error ... I/O operation on closed file"."""
    loggers = [logging.getLogger()] + [logger for logger in logging.Logger.manager.loggerDict.values()
                                       if isinstance(logger, logging.Logger)]
    for logger in loggers:
        for handler in logger.handlers:
            if isinstance(handler, logging.StreamHandler) and handler.stream is devnull:
                handler.setStream(sys.stderr)


def quiet_tensorflow(level: int = 1) -> None:
    """Import TensorFlow without its start-up notices, and silence its C++ and Python logging.

    TensorFlow 2.21 writes oneDNN and CPU-feature notices through absl at import time straight to
    file descriptor 2, whatever ``TF_CPP_MIN_LOG_LEVEL`` says; in an executed chapter they would be
    stored as output. So this function imports TensorFlow inside :func:`silenced_stderr` (once; later
    imports of TensorFlow or Keras print nothing), sets the C++ log level for what comes after, and
    sets TensorFlow's Python logger to ERROR.

    Args:
        level: 0 shows everything, 1 hides INFO, 2 hides WARNING, 3 hides ERROR too.

    Raises:
        ValueError: if ``level`` is not 0, 1, 2 or 3.
    """
    if level not in (0, 1, 2, 3):
        raise ValueError(f"level must be 0, 1, 2 or 3 (TF_CPP_MIN_LOG_LEVEL), got {level!r}")
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = str(level)
    logging.getLogger("absl").setLevel(logging.ERROR)
    with silenced_stderr():
        import tensorflow
    tensorflow.get_logger().setLevel(logging.ERROR)
