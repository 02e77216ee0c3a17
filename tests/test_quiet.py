"""llmbook.training.quiet: text written to file descriptor 2 inside the block is dropped, and only there."""

import os
import subprocess
import sys
import textwrap

import pytest

from llmbook.training.quiet import silenced_stderr


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, check=True)


def test_file_descriptor_2_is_silenced_inside_and_restored_after():
    result = _run("""
        import os, sys
        from llmbook.training.quiet import silenced_stderr
        os.write(2, b"before\\n")
        with silenced_stderr():
            os.write(2, b"hidden-fd\\n")
            print("hidden-python", file=sys.stderr)
        os.write(2, b"after\\n")
        print("stdout is untouched")
    """)
    assert result.stderr.splitlines() == ["before", "after"]
    assert result.stdout.strip() == "stdout is untouched"


def test_exceptions_propagate_and_stderr_is_restored():
    before = os.fstat(2).st_ino
    with pytest.raises(ZeroDivisionError):
        with silenced_stderr():
            1 / 0
    assert os.fstat(2).st_ino == before


def test_a_logging_handler_made_inside_the_block_writes_to_stderr_after_it():
    # TensorFlow creates its logger's StreamHandler on import: it must not keep the (closed) null device.
    result = _run("""
        import logging, sys
        from llmbook.training.quiet import silenced_stderr
        with silenced_stderr():
            logger = logging.getLogger("made_inside")
            logger.addHandler(logging.StreamHandler())
            logger.warning("hidden")
        logger.warning("shown after the block")
    """)
    assert result.stderr.splitlines() == ["shown after the block"]
