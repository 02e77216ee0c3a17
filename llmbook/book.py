"""What a chapter stores, and how: the book's convention for outputs that reproduce on any CPU.

A chapter's stored outputs are compared, character for character, with a fresh execution on the
reader's machine (strict nbval). Floating-point results do not survive that at full precision: XLA,
oneDNN and BLAS choose their kernels by instruction set, so the last digits of a loss, a correlation
or a float64 matrix product differ between an AVX-512 server, an AVX2 laptop and an ARM Mac. The
convention is therefore:

* **Every stored float is rounded** to a number of significant digits chosen for that quantity
  (:func:`rounded`, :func:`glue`, :func:`fmt`): :data:`DEFAULT_DIGITS` unless the chapter says
  otherwise, never more than :data:`MAX_DIGITS`. Exact counts (integers) are stored as they are.
* **Round-off magnitudes are stored as bounds** (:func:`bound`): a parity error of ``1.2e-07`` on one
  CPU is ``1.5e-07`` on another, but it is ``< 1e-06`` on both.
* Everything else a chapter prints follows the same rule; ``tools/chapters.py lint`` checks the stored
  notebooks for it, and CI re-executes every chapter with other CPU kernels than the ones that stored
  the outputs (``tools/chapters.py nbval``).

A chapter starts with :func:`setup_chapter`, the explicit replacement for what importing the package
used to do as a side effect.

>>> rounded(0.8624563395285896)
0.8625
>>> rounded(4460.62, digits=5)
4460.6
>>> rounded(1121447)
1121447
>>> fmt(0.15134473, 3)
'0.151'
>>> str(bound(1.2e-07, 1e-06))
'< 1e-6'
"""

from __future__ import annotations

import math
import numbers
import os
import warnings

__all__ = [
    "DEFAULT_DIGITS",
    "MAX_DIGITS",
    "Bound",
    "bound",
    "fmt",
    "glue",
    "glue_values",
    "rounded",
    "setup_chapter",
    "stored_glue",
]

#: Significant digits of a stored float unless a chapter chooses otherwise for that quantity.
DEFAULT_DIGITS = 4
#: No stored float carries more significant digits than this (float32 holds about 7).
MAX_DIGITS = 6


def _check_digits(digits) -> int:
    if isinstance(digits, bool) or not isinstance(digits, numbers.Integral) or not 1 <= digits <= MAX_DIGITS:
        raise ValueError(
            f"digits must be an integer from 1 to {MAX_DIGITS} (the book's maximum for a stored float), "
            f"got {digits!r}"
        )
    return int(digits)


def rounded(value, digits: int = DEFAULT_DIGITS):
    """``value`` rounded to ``digits`` significant digits, as a plain Python number.

    Args:
        value: a real number (Python, NumPy or a 0-d array). Integers (and NumPy integers) are exact
            counts and come back unchanged, as ``int``; booleans come back as ``bool``.
        digits: significant digits to keep, 1 to :data:`MAX_DIGITS`.

    Returns:
        ``int`` for an integer input, else a ``float`` whose shortest repr has at most ``digits``
        significant digits.

    Raises:
        TypeError: if ``value`` is not a real number.
        ValueError: if ``value`` is NaN or infinite (a stored NaN hides a failed computation), or
            ``digits`` is out of range.
    """
    digits = _check_digits(digits)
    if hasattr(value, "item") and getattr(value, "shape", ()) == ():
        value = value.item()  # NumPy scalar or 0-d array -> Python scalar
    if isinstance(value, bool):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if not isinstance(value, numbers.Real):
        raise TypeError(f"expected a real number, got {type(value).__name__}: {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"cannot store {value!r}: a non-finite result means the computation failed")
    return float(f"{value:.{digits - 1}e}")


def fmt(value, digits: int = DEFAULT_DIGITS, *, positional: bool = False) -> str:
    """``value`` as text with ``digits`` significant digits, for ``print``.

    Unlike ``f"{value:.4g}"`` it never switches to exponent notation for numbers between 1e-5 and
    1e6, and it keeps trailing zeros that are significant (``fmt(0.5, 3) == '0.500'``). With
    ``positional=True`` it never uses exponent notation: for small probabilities, which are not
    round-off magnitudes and should not read like one.

    >>> fmt(185.2345)
    '185.2'
    >>> fmt(0.000187512, 2)
    '0.00019'
    >>> fmt(12345678.0, 3)
    '1.23e+07'
    >>> fmt(1.0001e-05, 3), fmt(1.0001e-05, 3, positional=True)
    ('1.00e-05', '0.0000100')

    Raises:
        TypeError, ValueError: as :func:`rounded`.
    """
    value = rounded(value, digits)
    if isinstance(value, (bool, int)):
        return str(value)
    if value == 0:
        return "0"
    exponent = math.floor(math.log10(abs(value)))
    if positional or -5 < exponent < 6:
        return f"{value:.{max(digits - 1 - exponent, 0)}f}"
    return f"{value:.{digits - 1}e}"


class Bound(str):
    """The text ``'< limit'`` for a quantity known only to be smaller than ``limit``.

    It is a ``str`` so that ``print``, f-strings and ``glue`` store exactly that text. ``value`` keeps
    the measured number for code that needs it (never print it).
    """

    def __new__(cls, value: float, limit: float):
        self = super().__new__(cls, f"< {limit:.0e}".replace("e-0", "e-").replace("e+0", "e"))
        self.value = value
        self.limit = limit
        return self


def bound(value, limit: float) -> Bound:
    """Check that a round-off magnitude is below ``limit`` and return ``'< limit'`` to store.

    Use it for parity errors, gradient-check errors and other magnitudes near floating-point
    round-off, whose digits depend on the CPU's kernels. The check is what the chapter claims, so it
    raises rather than store a false bound.

    >>> str(bound(3.1e-05, 1e-4))
    '< 1e-4'

    Args:
        value: the measured magnitude (non-negative, finite).
        limit: the bound to state, a positive number with one significant digit (1e-6, 5e-3, ...).

    Raises:
        ValueError: if ``value`` is not below ``limit`` (the stated bound would be false), is
            negative or not finite, or ``limit`` is not a positive one-digit number.
    """
    if hasattr(value, "item") and getattr(value, "shape", ()) == ():
        value = value.item()
    value = float(value)
    limit = float(limit)
    if not (limit > 0 and math.isfinite(limit)) or float(f"{limit:.0e}") != limit:
        raise ValueError(f"limit must be a positive number with one significant digit (e.g. 1e-6), got {limit!r}")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"a magnitude must be finite and non-negative, got {value!r}")
    if not value < limit:
        raise ValueError(
            f"measured {value:.2e}, which is not below the stated bound {limit:.0e}: "
            "raise the bound, or find out why the error is this large"
        )
    return Bound(value, limit)


def glue(name: str, value, digits: int = DEFAULT_DIGITS):
    """Store ``value`` under ``name`` for the prose (``{glue:text}`name```), rounded by the convention.

    Floats are rounded to ``digits`` significant digits (:func:`rounded`); integers, booleans,
    strings and :class:`Bound` objects are stored as they are. The value stored is returned, so a
    chapter can assert on exactly what the reader sees. Never end a cell with a ``glue`` call: the
    returned value would be displayed and stored as an output (a trailing ``;`` does not stop nbval
    from seeing it). For a whole number that is exact (an accuracy of 61 %, a count), glue ``int(x)``.

    Raises:
        TypeError: if ``value`` is not a number or a string.
        ValueError: as :func:`rounded`, or if ``name`` is empty.
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"name must be a non-empty string, got {name!r}")
    if not isinstance(value, str):
        value = rounded(value, digits)
    from myst_nb import glue as myst_glue

    myst_glue(name, str(value) if isinstance(value, Bound) else value, display=False)
    return value


def glue_values(notebook) -> dict:
    """The values a notebook's ``glue`` calls stored: name -> their ``text/plain`` form.

    Returns an empty dict for a notebook without outputs or a missing file.
    """
    import json
    from pathlib import Path

    path = Path(notebook)
    if not path.is_file():
        return {}
    cells = json.loads(path.read_text(encoding="utf-8")).get("cells", [])
    values = {}
    for cell in cells:
        for output in cell.get("outputs", []):
            record = output.get("metadata", {}).get("scrapbook")
            if record and "name" in record:
                prefix = record.get("mime_prefix", "")
                value = output.get("data", {}).get(prefix + "text/plain")
                if value is not None:
                    values[record["name"]] = "".join(value) if isinstance(value, list) else str(value)
    return values


def stored_glue(chapter: str, name: str) -> float:
    """A number another chapter glued, read from that chapter's stored ``.ipynb`` (not re-computed).

    Args:
        chapter: the chapter's file name without suffix, e.g. ``"09-gpt"``; it is looked for in the
            working directory (a chapter executing) and in ``book/chapters`` (the repository root).
        name: the glue name.

    Raises:
        FileNotFoundError: if neither place has ``<chapter>.ipynb``.
        KeyError: if the notebook stores no glue record ``name`` (execute that chapter first).
    """
    from pathlib import Path

    candidates = [Path(f"{chapter}.ipynb"), Path("book") / "chapters" / f"{chapter}.ipynb"]
    notebook = next((path for path in candidates if path.is_file()), None)
    if notebook is None:
        raise FileNotFoundError(f"no stored notebook {chapter}.ipynb in the working directory or book/chapters; "
                                "run from the repository root or the chapters' folder")
    values = glue_values(notebook)
    if name not in values:
        raise KeyError(f"{notebook} stores no glue record {name!r}; execute that chapter first")
    return float(values[name].strip("'\""))


def setup_chapter(*, tensorflow: bool = True, backend: str = "tensorflow") -> None:
    """What every chapter's first cell calls: quiet, seeded-friendly, progress-bar-free execution.

    Importing ``llmbook`` changes nothing in the process; a chapter asks for this explicitly. It

    * chooses the Keras backend (``KERAS_BACKEND``) unless the environment already chose one;
    * turns progress bars off (``TQDM_DISABLE``, ``HF_HUB_DISABLE_PROGRESS_BARS``): their timings and
      carriage returns would be stored as output;
    * silences tqdm's "IProgress not found" notebook warning;
    * with ``tensorflow=True``, imports TensorFlow without its start-up notices
      (:func:`llmbook.training.quiet_tensorflow`).

    Raises:
        RuntimeError: if Keras was already imported with another backend than the one asked for
            (the backend is fixed at Keras's first import: restart the kernel).
    """
    import sys

    os.environ.setdefault("KERAS_BACKEND", backend)
    keras = sys.modules.get("keras")
    if keras is not None and hasattr(keras, "backend") and keras.backend.backend() != os.environ["KERAS_BACKEND"]:
        raise RuntimeError(
            f"Keras was imported with the {keras.backend.backend()!r} backend before setup_chapter(); "
            "restart the kernel and call setup_chapter() first"
        )
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
    os.environ.setdefault("TQDM_DISABLE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    warnings.filterwarnings("ignore", message="IProgress not found")
    if tensorflow and os.environ["KERAS_BACKEND"] == "tensorflow":
        from llmbook.training import quiet_tensorflow

        quiet_tensorflow()
