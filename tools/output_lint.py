"""Static lint of the stored outputs: every number a chapter stores must follow `llmbook.book`'s convention.

A stored output is compared with a fresh execution on the reader's CPU, so it may only carry digits
that reproduce there. This lint reads the executed notebooks (no kernel) and reports:

* a float with more than ``llmbook.book.MAX_DIGITS`` significant digits, in a glue record or in
  printed text (``0.8624563395285896``: a full-precision repr);
* a glue record whose float has more significant digits than the prose then shows is fine, but the
  prose showing *more* digits than were stored (``{glue:text}`ppl:.2f``` of a value stored as
  ``4461``) invents digits: reported too;
* a round-off magnitude printed as digits (``1.2e-07``, ``4.0e-06``) instead of a bound (``< 1e-6``):
  a number in exponent notation with two or more significant digits and an exponent of -4 or
  below, not preceded by ``<`` or ``≤``.

Outputs of cells marked ``NBVAL_IGNORE_OUTPUT`` (timings) are skipped: nbval does not compare them.

Usage: ``python tools/output_lint.py [notebook.ipynb ...]`` (every chapter by default); exit code 1
when anything is reported.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from llmbook.book import MAX_DIGITS  # noqa: E402

# A decimal number that is not part of a version string, an address or an identifier.
NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d+\.\d*|(?<![,'\"])\.\d+|\d+)(?:[eE][-+]?\d+)?(?![\w.]*\d)(?!\w)")
BOUND_MARK = re.compile(r"(?:<|≤|<=|below|under)\s*$")
GLUE_ROLE = re.compile(r"\{glue:text\}`([^`:]+)(?::([^`]*))?`")
SMALL_EXPONENT = -4


@dataclass(frozen=True)
class Problem:
    notebook: str
    cell: str  # "Cell N" as nbval counts (code cells from 0), or "markdown cell N" (every cell from 0)
    message: str

    def __str__(self) -> str:
        return f"{self.notebook}: {self.cell}: {self.message}"


def significant_digits(token: str, *, written: bool = False) -> int:
    """Significant digits of a decimal number token: '0.001870' -> 4, '4460.6' -> 5, '1e-06' -> 1.

    A stored repr of a whole float ('100000.0', '4461.0') has only the digits before the point;
    with ``written=True`` (text formatted for the reader, where '.0' was asked for) the zero counts.
    So an exact whole number glued as a float (61.0) and shown with ``.1f`` is reported: glue
    ``int(x)`` for exact whole numbers, which the prose may then show with any number of decimals.
    """
    mantissa = re.split(r"[eE]", token.lstrip("+-"))[0]
    if mantissa.endswith(".0") and not written:  # Python's repr of a whole float (100000.0): no digits
        mantissa = mantissa[:-2]
    digits = mantissa.replace(".", "").lstrip("0")
    if "." not in mantissa:  # a whole number: trailing zeros are not significant
        digits = digits.rstrip("0")
    return len(digits)


def _is_float_token(token: str) -> bool:
    return "." in token or "e" in token.lower()


def text_problems(text: str) -> list[str]:
    """What in one stored text breaks the convention, as messages."""
    problems = []
    for match in NUMBER.finditer(text):
        token = match.group(0)
        if not _is_float_token(token):
            continue  # integers are exact counts
        digits = significant_digits(token)
        if digits > MAX_DIGITS:
            problems.append(
                f"{token} has {digits} significant digits (at most {MAX_DIGITS}): round it with llmbook.book"
            )
            continue
        exponent = re.search(r"[eE]([-+]?\d+)$", token)
        if exponent and int(exponent.group(1)) <= SMALL_EXPONENT and digits >= 2:
            before = text[max(0, match.start() - 8): match.start()]
            if not BOUND_MARK.search(before):
                problems.append(
                    f"{token} looks like a round-off magnitude printed as digits: store a bound "
                    "(llmbook.book.bound, '< 1e-6')"
                )
    return problems


def _ignored(cell) -> bool:
    source = "".join(cell.get("source", ""))
    return source.lstrip().startswith("# NBVAL_IGNORE_OUTPUT") or "nbval-ignore-output" in cell.get(
        "metadata", {}
    ).get("tags", [])


def _texts(output) -> list[str]:
    if output.get("output_type") == "stream":
        return ["".join(output.get("text", ""))]
    if output.get("output_type") in ("execute_result", "display_data"):
        return ["".join(value) for key, value in output.get("data", {}).items() if key.endswith("text/plain")]
    return []


def glue_records(notebook: dict) -> dict[str, str]:
    """name -> stored text/plain of every glue record in an executed notebook."""
    records = {}
    for cell in notebook.get("cells", []):
        for output in cell.get("outputs", []):
            scrap = output.get("metadata", {}).get("scrapbook")
            plain = output.get("data", {}).get(f"{scrap.get('mime_prefix', '')}text/plain") if scrap else None
            if plain is not None:
                records[scrap["name"]] = "".join(plain)
    return records


def prose_problems(notebook: dict, name: str) -> list[Problem]:
    """Glue roles in the markdown that display more significant digits than the record stored."""
    records = glue_records(notebook)
    problems = []
    for index, cell in enumerate(notebook.get("cells", [])):
        if cell.get("cell_type") != "markdown":
            continue
        for role in GLUE_ROLE.finditer("".join(cell.get("source", ""))):
            key, spec = role.group(1), role.group(2)
            stored = records.get(key)
            if stored is None or not spec:
                continue
            try:
                value = float(stored)
            except ValueError:
                continue
            if not _is_float_token(stored):
                continue
            shown = format(value, spec)
            shown_token = NUMBER.search(shown.replace(",", ""))
            if shown_token and significant_digits(shown_token.group(0), written=True) > significant_digits(stored):
                problems.append(Problem(
                    name, f"markdown cell {index}",
                    f"the prose shows {key} as {shown}, more digits than the {stored} stored: "
                    f"store more digits (llmbook.book.glue(..., digits=)) or show fewer",
                ))
    return problems


def notebook_problems(path: Path) -> list[Problem]:
    notebook = json.loads(Path(path).read_text(encoding="utf-8"))
    name = str(path)
    problems = []
    code_cells = [cell for cell in notebook.get("cells", []) if cell.get("cell_type") == "code"]
    for index, cell in enumerate(code_cells):
        if _ignored(cell):
            continue
        for output in cell.get("outputs", []):
            for text in _texts(output):
                problems.extend(Problem(name, f"Cell {index}", message) for message in text_problems(text))
    problems.extend(prose_problems(notebook, name))
    return problems


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    paths = [Path(a) for a in args] or sorted((ROOT / "book").rglob("*.ipynb"))
    paths = [p for p in paths if "_build" not in p.parts and ".ipynb_checkpoints" not in p.parts]
    problems = [p for path in paths for p in notebook_problems(path)]
    for problem in problems:
        print(f"lint: {problem}", file=sys.stderr)
    print(f"lint: {len(paths)} notebooks, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
