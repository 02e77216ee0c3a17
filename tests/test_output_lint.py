"""tools/output_lint.py and the portability check of tools/chapters.py: each must fail on what it claims to catch."""

import importlib.util
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


lint = _load("output_lint")
chapters = _load("chapters")


def notebook(tmp_path, outputs, markdown="Some prose.", source="x = 1"):
    """An executed notebook with one markdown cell and one code cell holding ``outputs``."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(markdown), nbformat.v4.new_code_cell(source)]
    nb.cells[1].outputs = [nbformat.from_dict(o) for o in outputs]
    nb.cells[1].execution_count = 1
    path = tmp_path / "chapter.ipynb"
    nbformat.write(nb, path)
    return path


def stream(text):
    return {"output_type": "stream", "name": "stdout", "text": text}


def glue_record(name, text):
    prefix = "application/papermill.record/"
    return {"output_type": "display_data", "data": {f"{prefix}text/plain": text},
            "metadata": {"scrapbook": {"mime_prefix": prefix, "name": name}}}


@pytest.mark.parametrize(
    "token, digits",
    [("0.001870", 4), ("4460.6", 5), ("1e-06", 1), ("100000.0", 1), ("-0.48551228184281503", 17),
     ("2.5e-07", 2), ("1121447", 7), ("1200", 2)],
)
def test_significant_digits(token, digits):
    assert lint.significant_digits(token) == digits


def test_a_full_precision_glue_record_is_reported(tmp_path):
    path = notebook(tmp_path, [glue_record("ce_encoder_whole", "0.8624563395285896")])
    problems = lint.notebook_problems(path)
    assert len(problems) == 1
    assert problems[0].cell == "Cell 0" and "16 significant digits (at most 6)" in problems[0].message


def test_a_full_precision_printed_float_is_reported_and_rounded_ones_pass(tmp_path):
    path = notebook(tmp_path, [stream("loss 2.004481077194214\nloss 2.004 after 100 steps, 19484 sentences\n")])
    messages = [p.message for p in lint.notebook_problems(path)]
    assert len(messages) == 1 and messages[0].startswith("2.004481077194214 has 16")


def test_a_round_off_magnitude_printed_as_digits_is_reported_and_a_bound_passes(tmp_path):
    path = notebook(tmp_path, [stream("max |by hand - llmbook| = 1.2e-07\n")])
    (problem,) = lint.notebook_problems(path)
    assert "round-off magnitude" in problem.message and "1.2e-07" in problem.message
    ok = notebook(tmp_path, [stream("max |by hand - llmbook| < 1e-6\nlearning rate 3e-05\nbelow 1.0e-05\n")])
    assert lint.notebook_problems(ok) == []


def test_versions_addresses_and_integers_are_not_numbers_to_round(tmp_path):
    path = notebook(tmp_path, [stream("keras 3.15.1 on 127.0.0.1, 1121447 tokens, model_v2.12345678\n"
                                      "alphabet: ',.0123456789:;' and x = .1234567\n")])
    (problem,) = lint.notebook_problems(path)  # the string of characters is not a number; .1234567 is
    assert problem.message.startswith(".1234567 has 7")


def test_prose_showing_more_digits_than_stored_is_reported(tmp_path):
    path = notebook(tmp_path, [glue_record("ppl", "4461.0"), glue_record("loss", "2.004")],
                    markdown="Perplexity {glue:text}`ppl:.1f`, loss {glue:text}`loss:.3f`.")
    (problem,) = lint.notebook_problems(path)
    assert problem.cell == "markdown cell 0" and "shows ppl as 4461.0" in problem.message


def test_timing_cells_are_skipped(tmp_path):
    path = notebook(tmp_path, [stream("took 1.23456789 s\n")], source="# NBVAL_IGNORE_OUTPUT\nprint(t)")
    assert lint.notebook_problems(path) == []


def test_the_command_fails_on_a_violation_and_passes_when_clean(tmp_path, capsys):
    bad = notebook(tmp_path, [stream("0.8624563395285896\n")])
    assert lint.main([str(bad)]) == 1
    clean = notebook(tmp_path, [stream("0.8625\n")])
    assert lint.main([str(clean)]) == 0
    assert "1 notebooks, 0 problems" in capsys.readouterr().out


def test_every_stored_chapter_follows_the_convention():
    problems = [p for path in sorted((ROOT / "book").rglob("*.ipynb")) if "_build" not in path.parts
                for p in lint.notebook_problems(path)]
    assert problems == [], "\n".join(map(str, problems[:20]))


# --- the portability check -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "flags, xla, onednn",
    [({"avx512f", "avx2", "sse4_2"}, "AVX2", "AVX2"), ({"avx2", "sse4_2"}, "AVX", "AVX"),
     ({"sse4_2"}, "SSE4_2", "SSE41")],
)
def test_kernel_cap_is_one_level_below_the_cpu(flags, xla, onednn, monkeypatch):
    monkeypatch.setenv("XLA_FLAGS", "--xla_cpu_max_isa=AVX512 --xla_dump_to=/tmp/x")
    cap = chapters.kernel_cap(flags)
    assert cap["XLA_FLAGS"] == f"--xla_dump_to=/tmp/x --xla_cpu_max_isa={xla}"
    assert cap["ONEDNN_MAX_CPU_ISA"] == onednn
    assert not any(key.startswith("OPENBLAS") for key in cap)  # must never be changed in tests or CI


def test_no_cap_where_the_flags_are_unknown():
    assert chapters.kernel_cap({"neon", "asimd"}) == {}


def test_nbval_seconds_are_summed_per_notebook(tmp_path):
    report = tmp_path / "r.xml"
    report.write_text(
        '<testsuites><testsuite>'
        '<testcase classname="book.chapters.01-background" name="Cell 0" file="book/chapters/01-background.ipynb" time="1.5"/>'
        '<testcase classname="book.chapters.01-background" name="Cell 1" file="book/chapters/01-background.ipynb" time="2.0"/>'
        '<testcase classname="book.chapters.02-text" name="Cell 0" file="book/chapters/02-text.ipynb" time="4.0"/>'
        '</testsuite></testsuites>'
    )
    assert chapters.nbval_seconds(report) == {"01-background.ipynb": 3.5, "02-text.ipynb": 4.0}


# The chapter this check runs on: small and fast (about 10 s), with trained and computed metrics.
STRICTNESS_CHAPTER = ROOT / "book" / "chapters" / "05-neural-network-math.ipynb"


def test_a_meaningful_change_to_one_stored_metric_fails_strict_nbval(tmp_path):
    """Take a stored chapter, change one reported number by a meaningful amount (2 % of its value, as an
    accuracy of 0.778 read as 0.760), and run the same nbval as CI: exactly that cell must fail, and
    every other cell must still reproduce, under the kernel cap. This shows that neither the sanitizer
    nor the rounding convention hides a real difference."""
    nb = json.loads(STRICTNESS_CHAPTER.read_text(encoding="utf-8"))
    code = [cell for cell in nb["cells"] if cell["cell_type"] == "code"]
    target = None
    for index, cell in enumerate(code):
        for output in cell.get("outputs", []):
            scrap = output.get("metadata", {}).get("scrapbook")
            key = f"{scrap['mime_prefix']}text/plain" if scrap else None
            if key and re.fullmatch(r"0\.\d{2,4}", output["data"].get(key, "")) and float(output["data"][key]) > 0.1:
                target = (index, output, key)
                break
        if target:
            break
    assert target, f"no glued metric between 0.1 and 1 in {STRICTNESS_CHAPTER.name}"
    index, output, key = target
    stored = output["data"][key]
    changed = f"{float(stored) * 0.98:.{len(stored) - 2}f}"
    assert changed != stored
    output["data"][key] = changed
    copy = tmp_path / STRICTNESS_CHAPTER.name
    copy.write_text(json.dumps(nb), encoding="utf-8")
    for extra in STRICTNESS_CHAPTER.parent.iterdir():  # anything the chapter reads beside itself
        if extra.is_dir() and not extra.name.startswith((".", "_")):
            shutil.copytree(extra, tmp_path / extra.name)
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "chapters.py"), "nbval", str(copy)],
                            capture_output=True, text=True, cwd=ROOT, timeout=600)
    summary = result.stdout + result.stderr
    assert result.returncode != 0, summary[-3000:]
    assert "kernels capped" in summary or not chapters.kernel_cap()
    failed = re.findall(r"FAILED \S+::Cell (\d+)", summary)
    assert failed == [str(index)], summary[-3000:]
    assert re.search(r"\b1 failed, \d+ passed", summary), summary[-3000:]
