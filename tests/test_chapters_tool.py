"""tools/chapters.py, the CI gate for chapter pairs: it must fail on every kind of drift it claims to catch."""

import importlib.util
from pathlib import Path

import jupytext
import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("chapters", ROOT / "tools" / "chapters.py")
chapters = importlib.util.module_from_spec(spec)
spec.loader.exec_module(chapters)

SOURCE = """---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---

# A chapter

```{code-cell} ipython3
print(1 + 1)
```
"""


def write_pair(folder: Path, executed: bool = True) -> Path:
    md = folder / "x.md"
    md.write_text(SOURCE, encoding="utf-8")
    notebook = jupytext.read(md)
    if executed:
        code = notebook.cells[1]
        code.execution_count = 1
        code.outputs = [nbformat.v4.new_output("stream", name="stdout", text="2\n")]
    jupytext.write(notebook, md.with_suffix(".ipynb"), fmt="ipynb")
    return md


def test_pair_in_sync_has_no_problems(tmp_path):
    assert chapters.pair_problems(write_pair(tmp_path)) == []


def test_missing_notebook(tmp_path):
    md = write_pair(tmp_path)
    md.with_suffix(".ipynb").unlink()
    assert "no paired x.ipynb" in chapters.pair_problems(md)[0]


def test_edited_source_is_caught(tmp_path):
    md = write_pair(tmp_path)
    md.write_text(SOURCE.replace("1 + 1", "1 + 2"), encoding="utf-8")
    problems = chapters.pair_problems(md)
    assert len(problems) == 1 and "differ (first at cell 1" in problems[0] and "execute" in problems[0]


def test_unexecuted_notebook_is_caught(tmp_path):
    problems = chapters.pair_problems(write_pair(tmp_path, executed=False))
    assert any("no stored outputs" in p for p in problems) and any("never executed" in p for p in problems)


def test_sync_copies_prose_but_refuses_changed_code(tmp_path):
    md = write_pair(tmp_path)
    md.write_text(SOURCE.replace("# A chapter", "# A better chapter"), encoding="utf-8")
    chapters.sync_prose(md)
    notebook = nbformat.read(md.with_suffix(".ipynb"), as_version=4)
    assert notebook.cells[0].source == "# A better chapter" and notebook.cells[1].outputs[0].text == "2\n"
    assert chapters.pair_problems(md) == []
    md.write_text(SOURCE.replace("1 + 1", "1 + 2"), encoding="utf-8")
    with pytest.raises(SystemExit, match="code cells of x.md changed"):
        chapters.sync_prose(md)


def test_sync_copies_reformatted_code_with_the_same_syntax_tree(tmp_path):
    md = write_pair(tmp_path)
    md.write_text(SOURCE.replace("print(1 + 1)", "print(\n    1\n    + 1  # two\n)"), encoding="utf-8")
    chapters.sync_prose(md)
    code = nbformat.read(md.with_suffix(".ipynb"), as_version=4).cells[1]
    assert code.source == "print(\n    1\n    + 1  # two\n)" and code.outputs[0].text == "2\n"
    assert chapters.pair_problems(md) == []


def test_same_program_compares_syntax_trees_and_keeps_markers_first():
    assert chapters.same_program('print(f"a {x} b")', 'print(\n    f"a {x} "\n    "b"\n)')
    assert not chapters.same_program('print("a {x} b")', 'print("a " f"{x} b")')
    assert not chapters.same_program("f(a, b)", "f(b, a)")
    assert not chapters.same_program("# NBVAL_IGNORE_OUTPUT\nf(a)", "f(\n    a\n)  # NBVAL_IGNORE_OUTPUT")
    assert chapters.same_program("%time f(a, b)", "%time f(a, b)")
    assert not chapters.same_program("f(a,", "f(\n    a,")  # neither parses: not provably the same


def test_long_code_lines_names_chapter_cell_and_line(tmp_path):
    md = write_pair(tmp_path)
    assert chapters.long_code_lines(md) == []
    long_call = "print(" + " + ".join(["1"] * 40) + ")"
    md.write_text(SOURCE.replace("print(1 + 1)", "x = 1\n" + long_call), encoding="utf-8")
    problems = chapters.long_code_lines(md)
    assert len(problems) == 1
    assert f"x.md: cell 1, line 2 has {len(long_call)} characters" in problems[0]
    assert f"the {chapters.CODE_LINE_LIMIT} that fit" in problems[0]
    assert chapters.long_code_lines(md, limit=200) == []


def test_every_chapter_code_line_fits_the_site():
    problems = [p for md in chapters.chapter_sources() for p in chapters.long_code_lines(md)]
    assert problems == [], "\n".join(problems[:20])


def test_every_chapter_is_in_the_table_of_contents():
    listed = set(chapters.toc_files())
    for md in chapters.chapter_sources():
        assert str(md.relative_to(ROOT).with_suffix("")) in listed, f"{md} is not in _toc.yml"


def test_mathjax_must_come_from_the_built_site(tmp_path):
    page = tmp_path / "book" / "page.html"
    page.parent.mkdir()
    (tmp_path / "_static" / "mathjax").mkdir(parents=True)
    (tmp_path / "_static" / "mathjax" / "tex-chtml.js").write_text("// mathjax")
    page.write_text('<script defer="defer" src="../_static/mathjax/tex-chtml.js"></script>')
    assert chapters.mathjax_problems(tmp_path) == []
    page.write_text('<script src="https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-mml-chtml.js"></script>')
    assert "loads MathJax from https://" in chapters.mathjax_problems(tmp_path)[0]
    page.write_text('<script src="../_static/mathjax/tex-svg.js"></script>')
    assert "not in the build" in chapters.mathjax_problems(tmp_path)[0]


def test_native_log_lines_are_dropped_and_nothing_else():
    notebook = nbformat.v4.new_notebook()
    log = ("E0000 00:00:1796350435.932238    7724 util.cc:131] oneDNN supports DT_BOOL only on platforms "
           "with AVX-512. Falling back to the default Eigen-based implementation if present.\n")
    notebook.cells = [nbformat.v4.new_code_cell("x"), nbformat.v4.new_code_cell("y")]
    notebook.cells[0].outputs = [nbformat.v4.new_output("stream", name="stdout", text="before\n"),
                                 nbformat.v4.new_output("stream", name="stderr", text=log),
                                 nbformat.v4.new_output("stream", name="stdout", text="after\n")]
    warning = "UserWarning: a real warning\n"
    notebook.cells[1].outputs = [nbformat.v4.new_output("stream", name="stderr", text=log + warning),
                                 nbformat.v4.new_output("stream", name="stdout", text=log)]
    assert chapters.drop_native_logs(notebook) == 2
    assert [o["text"] for o in notebook.cells[0].outputs] == ["before\n", "after\n"]
    # a real warning stays; stdout is never touched
    assert [(o["name"], o["text"]) for o in notebook.cells[1].outputs] == [("stderr", warning), ("stdout", log)]
