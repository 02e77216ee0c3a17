"""llmbook.book: the convention for the numbers a chapter stores."""

import math

import numpy as np
import pytest

from llmbook.book import DEFAULT_DIGITS, MAX_DIGITS, Bound, bound, fmt, glue, rounded


@pytest.mark.parametrize(
    "value, digits, expected",
    [
        (0.8624563395285896, 4, 0.8625),
        (0.8624559666446889, 4, 0.8625),  # the same quantity on another CPU (measured): same stored value
        (4460.635749535245, 5, 4460.6),
        (0.00010332465171813965, 2, 0.0001),
        (np.float32(2.004481077194214), 3, 2.0),
        (np.float64(-0.48551228184281503), 3, -0.486),
        (np.array(1.5e-7), 2, 1.5e-7),
    ],
)
def test_rounded_keeps_the_chosen_significant_digits(value, digits, expected):
    result = rounded(value, digits)
    assert type(result) is float and result == expected


def test_rounded_keeps_exact_counts_and_booleans():
    assert rounded(1121447) == 1121447 and type(rounded(np.int64(7))) is int
    assert rounded(True) is True


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), np.float32("nan")])
def test_rounded_refuses_non_finite_values(bad):
    with pytest.raises(ValueError, match="non-finite"):
        rounded(bad)


@pytest.mark.parametrize("digits", [0, MAX_DIGITS + 1, 2.0, True, "4"])
def test_rounded_refuses_digits_outside_the_convention(digits):
    with pytest.raises(ValueError, match="digits must be an integer from 1 to"):
        rounded(0.5, digits)


def test_rounded_refuses_what_is_not_a_number():
    with pytest.raises(TypeError, match="expected a real number"):
        rounded("0.5")
    with pytest.raises(TypeError, match="expected a real number"):
        rounded(np.zeros(3))


@pytest.mark.parametrize(
    "value, digits, text",
    [(185.2345, 4, "185.2"), (0.5, 3, "0.500"), (0.000187512, 2, "0.00019"), (12345678.0, 3, "1.23e+07"),
     (2.5e-7, 2, "2.5e-07"), (0.0, 4, "0"), (42, 4, "42"), (-0.151344, 2, "-0.15")],
)
def test_fmt_prints_the_significant_digits(value, digits, text):
    assert fmt(value, digits) == text


def test_fmt_default_digits():
    assert fmt(math.pi) == "3.142" and DEFAULT_DIGITS == 4


def test_bound_states_the_limit_and_checks_it():
    stored = bound(1.2e-7, 1e-6)
    assert isinstance(stored, Bound) and isinstance(stored, str)
    assert stored == "< 1e-6" and f"max error {stored}" == "max error < 1e-6"
    assert stored.value == 1.2e-7 and stored.limit == 1e-6
    # The same quantity measured on another CPU (1.5e-07) is stored identically.
    assert bound(np.float32(1.5e-7), 1e-6) == stored
    assert bound(3e-4, 5e-4) == "< 5e-4"


def test_bound_refuses_a_false_bound():
    with pytest.raises(ValueError, match="not below the stated bound 1e-06"):
        bound(2e-6, 1e-6)


@pytest.mark.parametrize("limit", [0, -1e-6, 1.5e-6, float("inf")])
def test_bound_refuses_limits_that_are_not_one_digit(limit):
    with pytest.raises(ValueError, match="limit must be a positive number with one significant digit"):
        bound(1e-9, limit)


@pytest.mark.parametrize("value", [float("nan"), -1e-9])
def test_bound_refuses_bad_magnitudes(value):
    with pytest.raises(ValueError, match="finite and non-negative"):
        bound(value, 1e-6)


def test_glue_stores_the_rounded_value(monkeypatch):
    stored = {}
    import myst_nb

    monkeypatch.setattr(myst_nb, "glue", lambda name, value, display: stored.update({name: (value, display)}))
    assert glue("loss", np.float32(2.004481077194214), digits=3) == 2.0
    assert glue("count", np.int64(19484)) == 19484
    assert glue("error", bound(1.2e-7, 1e-6)) == "< 1e-6"
    assert glue("word", "the") == "the"
    assert stored == {"loss": (2.0, False), "count": (19484, False), "error": ("< 1e-6", False),
                      "word": ("the", False)}
    assert type(stored["error"][0]) is str  # a plain str, so myst-nb stores "'< 1e-6'" like any string
    with pytest.raises(ValueError, match="non-empty string"):
        glue("", 1.0)
    with pytest.raises(ValueError, match="non-finite"):
        glue("loss", float("nan"))


def test_stored_glue_reads_another_chapters_notebook(tmp_path, monkeypatch):
    import json

    from llmbook.book import stored_glue

    output = {"output_type": "display_data", "metadata": {"scrapbook": {"name": "ppl", "mime_prefix": "x/"}},
              "data": {"x/text/plain": "'13840'"}}
    notebook = {"cells": [{"cell_type": "code", "outputs": [output]}]}
    (tmp_path / "book" / "chapters").mkdir(parents=True)
    (tmp_path / "book" / "chapters" / "09-gpt.ipynb").write_text(json.dumps(notebook))
    monkeypatch.chdir(tmp_path)
    assert stored_glue("09-gpt", "ppl") == 13840.0
    with pytest.raises(KeyError, match="execute that chapter"):
        stored_glue("09-gpt", "missing")
    with pytest.raises(FileNotFoundError, match="no stored notebook 10-real-llm.ipynb"):
        stored_glue("10-real-llm", "ppl")
