"""Book maintenance: find the chapter pairs, check them, execute them, run strict nbval, check the HTML.

Usage (from the repository root, inside the virtual environment):

    python tools/chapters.py check              # every book/**/*.md notebook has an .ipynb with the same cells
    python tools/chapters.py execute [md ...]   # .md -> .ipynb, execute, store outputs (all chapters by default)
    python tools/chapters.py sync md ...        # prose or code-layout edit: copy the .md's cells, keep the stored outputs
    python tools/chapters.py nbval [md ...]     # strict pytest --nbval, kernels capped, without network where the OS allows
    python tools/chapters.py lint [md ...]      # stored outputs follow llmbook.book's digits convention, and
                                                # no code-cell line is longer than CODE_LINE_LIMIT
    python tools/chapters.py check-html         # an HTML page exists for every entry of _toc.yml

The `.md` file is the source of truth: `execute` rewrites the cells of the `.ipynb` from it.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
BOOK = ROOT / "book"
SANITIZER = ROOT / "tools" / "nbval_sanitize.cfg"
CELL_TIMEOUT_S = 600
# The characters of monospace text that fit in a code cell's <pre> of the built site without horizontal
# scrolling, in Chromium at the 1280x900 viewport of tests/site/test_site.py (sphinx-book-theme, 14 px
# DejaVu Sans Mono at 8.43 px a character): 77 in a plain cell's 684 px box less 2 x 16 px padding, 75 in
# the 666 px box of a cell tagged hide-cell; the narrower one is the limit. The site test checks the
# rendering itself; this limit lets `lint` catch an over-long line without building the site.
CODE_LINE_LIMIT = 75


def chapter_sources() -> list[Path]:
    """Every MyST markdown file under book/ that is a Jupytext notebook (it has a jupytext header)."""
    sources = []
    for md in sorted(BOOK.rglob("*.md")):
        if "_build" in md.parts or ".ipynb_checkpoints" in md.parts:
            continue
        head = md.read_text(encoding="utf-8")[:600]
        if head.startswith("---") and "jupytext:" in head:
            sources.append(md)
    return sources


def _rel(path: Path) -> Path:
    try:
        return path.resolve().relative_to(ROOT)
    except ValueError:
        return path


def _cells(notebook) -> list[tuple[str, str]]:
    return [(cell.cell_type, cell.source.strip()) for cell in notebook.cells]


def pair_problems(md: Path) -> list[str]:
    """What is wrong with one pair, as sentences that say the fix; empty when the pair is in sync."""
    import jupytext

    ipynb = md.with_suffix(".ipynb")
    rel = _rel(md)
    if not ipynb.exists():
        return [f"{rel}: no paired {ipynb.name}; run: python tools/chapters.py execute {rel}"]
    problems = []
    from_md, from_ipynb = jupytext.read(md), jupytext.read(ipynb)
    if _cells(from_md) != _cells(from_ipynb):
        md_cells, nb_cells = _cells(from_md), _cells(from_ipynb)
        first = next(
            (i for i, (a, b) in enumerate(zip(md_cells, nb_cells)) if a != b),
            min(len(md_cells), len(nb_cells)),
        )
        problems.append(
            f"{rel} and {ipynb.name} differ (first at cell {first}; {len(md_cells)} vs {len(nb_cells)} cells); "
            f"run: python tools/chapters.py execute {rel}"
        )
    code = [c for c in from_ipynb.cells if c.cell_type == "code"]
    if code and not any(c.get("outputs") for c in code):
        problems.append(f"{_rel(ipynb)} has no stored outputs; run: python tools/chapters.py execute {rel}")
    unexecuted = [i for i, c in enumerate(code) if c.get("execution_count") is None and c.source.strip()]
    if unexecuted:
        problems.append(f"{_rel(ipynb)}: code cells {unexecuted[:5]} were never executed")
    return problems


def check_pairs() -> int:
    sources = chapter_sources()
    if not sources:
        print("check: no chapters found under book/", file=sys.stderr)
        return 1
    problems = [p for md in sources for p in pair_problems(md)]
    for p in problems:
        print("check:", p, file=sys.stderr)
    print(f"check: {len(sources)} chapter pairs, {len(problems)} problems")
    return 1 if problems else 0


def execute_chapter(md: Path, store: bool = True) -> float:
    """Write md's cells into its .ipynb, execute it in the chapter's folder, store outputs; return seconds."""
    import jupytext
    import nbformat
    from nbclient import NotebookClient

    ipynb = md.with_suffix(".ipynb")
    notebook = jupytext.read(md)
    if ipynb.exists():  # keep the notebook-level metadata (kernelspec, jupytext pairing) of the stored file
        stored = nbformat.read(ipynb, as_version=4)
        notebook.metadata = {**stored.metadata, **notebook.metadata}
    notebook.metadata.setdefault("kernelspec", {"display_name": "Python 3", "language": "python", "name": "python3"})
    client = NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT_S,
        kernel_name="python3",
        resources={"metadata": {"path": str(md.parent)}},
    )
    start = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - start
    drop_native_logs(notebook)
    if store:
        jupytext.write(notebook, ipynb, fmt="ipynb")
    return seconds


# absl/TensorFlow's C++ log lines ("E0000 00:00:1796350435.932238    7724 util.cc:131] oneDNN supports ..."):
# which of them appear depends on the CPU (an op without a oneDNN kernel for its instruction set), and
# strict nbval never sees them (it sends the kernel's stderr to devnull), so a stored one fails it
NATIVE_LOG_LINE = re.compile(r"^[IWEF]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ [\w.]+:\d+\] .*(?:\n|$)", re.MULTILINE)


def drop_native_logs(notebook) -> int:
    """Remove absl/TensorFlow C++ log lines from the stderr outputs of ``notebook``'s code cells, in place.

    A stderr output left empty is removed; other outputs are kept as they are. Returns the lines removed."""
    removed = 0
    for cell in notebook.cells:
        if cell.get("cell_type") != "code":
            continue
        kept = []
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and output.get("name") == "stderr":
                text = output["text"] if isinstance(output["text"], str) else "".join(output["text"])
                cleaned, count = NATIVE_LOG_LINE.subn("", text)
                removed += count
                if not cleaned:
                    continue
                output["text"] = cleaned
            kept.append(output)
        cell["outputs"] = kept
    return removed


def _program(source: str) -> str | None:
    """The code of a cell as the interpreter sees it (``ast.dump`` after IPython's magics are turned into
    calls), or None where it does not parse."""
    import ast

    from IPython.core.inputtransformer2 import TransformerManager

    try:
        return ast.dump(ast.parse(TransformerManager().transform_cell(source)))
    except SyntaxError:
        return None


def same_program(old: str, new: str) -> bool:
    """Whether two code-cell sources differ only in layout: the same syntax tree (comments and line breaks
    may move; implicitly concatenated string literals count as the literal they make) and the same first
    line where it is a magic or a ``# NBVAL_`` marker, which must stay first."""
    old, new = old.strip(), new.strip()
    if old == new:
        return True
    first = lambda text: text.split("\n", 1)[0]
    if old.startswith(("%", "!", "# NBVAL")) or new.startswith(("%", "!", "# NBVAL")):
        if first(old) != first(new):
            return False
    tree = _program(old)
    return tree is not None and tree == _program(new)


def sync_prose(md: Path) -> None:
    """Copy md's cells into its .ipynb without executing, keeping the stored outputs.

    Allowed when every code cell is the same program as the stored one (`same_program`: prose edits, or
    code reformatted without changing its syntax tree); the reformatted source is copied too.

    Raises:
        SystemExit: if a code cell's program (or the number or order of code cells) differs.
    """
    import jupytext
    import nbformat

    ipynb = md.with_suffix(".ipynb")
    stored = nbformat.read(ipynb, as_version=4)
    source = jupytext.read(md)
    code = lambda nb: [c for c in nb.cells if c.cell_type == "code"]
    old, new = code(stored), code(source)
    if len(old) != len(new) or not all(same_program(a.source, b.source) for a, b in zip(old, new)):
        raise SystemExit(f"sync: code cells of {md.name} changed; run: python tools/chapters.py execute {md}")
    for executed, edited in zip(old, new):
        executed.source = edited.source
    executed = iter(old)
    source.cells = [next(executed) if c.cell_type == "code" else c for c in source.cells]
    source.metadata = {**stored.metadata, **source.metadata}
    jupytext.write(source, ipynb, fmt="ipynb")


def long_code_lines(md: Path, limit: int = CODE_LINE_LIMIT) -> list[str]:
    """Every code-cell line of a chapter source longer than ``limit`` characters, as sentences that name
    the chapter, the cell (counted from 0 over all cells, as jupytext reads them) and the line (from 1)."""
    import jupytext

    problems = []
    for index, cell in enumerate(jupytext.read(md).cells):
        if cell.cell_type != "code":
            continue
        for number, line in enumerate(cell.source.splitlines(), 1):
            if len(line) > limit:
                problems.append(
                    f"{_rel(md)}: cell {index}, line {number} has {len(line)} characters, more than the "
                    f"{limit} that fit a code cell of the site without scrolling; break it: {line.strip()[:60]}"
                )
    return problems


def _network_free_prefix() -> list[str]:
    """A command prefix that runs without any network but loopback, or [] where the OS does not allow it."""
    unshare = shutil.which("unshare")
    ip = shutil.which("ip")
    if os.environ.get("LLMBOOK_ALLOW_NETWORK") or not unshare or not ip:
        return []
    for flags in (["-n"], ["-rn"]):
        probe = subprocess.run([unshare, *flags, ip, "link", "set", "lo", "up"], capture_output=True)
        if probe.returncode == 0:
            return [unshare, *flags, "sh", "-c", f'{ip} link set lo up && exec "$@"', "offline"]
    return []


def cpu_flags() -> set[str]:
    """The instruction-set flags of this CPU as Linux reports them (empty where /proc/cpuinfo is absent)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


def kernel_cap(flags: set[str] | None = None) -> dict[str, str]:
    """Environment variables that make XLA, oneDNN, MKL and PyTorch pick other kernels than this CPU's best.

    The stored outputs are executed with the CPU's best kernels (``execute``); nbval re-executes with
    the instruction set capped one level below (AVX-512 -> AVX2, AVX2 -> AVX, below that -> SSE4.2),
    which changes summation orders the way another reader's CPU does. A chapter that stored a digit
    that depends on the kernels then fails on this machine, not only on the reader's. OpenBLAS (NumPy)
    is not capped: its core-type variables are not to be changed in tests; rounding guards it.
    Returns {} where no cap applies (not x86-64 Linux), so nbval then runs with native kernels.
    """
    flags = cpu_flags() if flags is None else flags
    if "avx512f" in flags:
        xla, onednn, mkl, aten = "AVX2", "AVX2", "AVX2", "avx2"
    elif "avx2" in flags:
        xla, onednn, mkl, aten = "AVX", "AVX", "AVX", "default"
    elif "sse4_2" in flags:
        xla, onednn, mkl, aten = "SSE4_2", "SSE41", "SSE4_2", "default"
    else:
        return {}
    xla_flags = " ".join(f for f in os.environ.get("XLA_FLAGS", "").split() if not f.startswith("--xla_cpu_max_isa"))
    return {
        "XLA_FLAGS": f"{xla_flags} --xla_cpu_max_isa={xla}".strip(),
        "ONEDNN_MAX_CPU_ISA": onednn,
        "MKL_ENABLE_INSTRUCTIONS": mkl,
        "ATEN_CPU_CAPABILITY": aten,
    }


def nbval_seconds(junit_xml: Path) -> dict[str, float]:
    """Seconds per notebook from a pytest JUnit report, in the order the notebooks ran."""
    import xml.etree.ElementTree as ET

    seconds: dict[str, float] = {}
    for case in ET.parse(junit_xml).getroot().iter("testcase"):
        name = case.get("file") or case.get("classname", "")
        name = Path(name.replace(".ipynb", "").replace(".", "/") + ".ipynb").name if not name.endswith(".ipynb") else Path(name).name
        seconds[name] = seconds.get(name, 0.0) + float(case.get("time", 0.0))
    return seconds


def run_nbval(paths: list[str]) -> int:
    """Strict nbval over the chapters, with the kernels capped (see kernel_cap), then a time table.

    ``LLMBOOK_NBVAL_NATIVE=1`` runs with this CPU's own kernels instead.
    """
    import tempfile

    targets = paths or [str(md.with_suffix(".ipynb").relative_to(ROOT)) for md in chapter_sources()]
    targets = [str(Path(t).with_suffix(".ipynb")) for t in targets]
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "nbval.xml"
        command = [
            sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--nbval", "--nbval-current-env",
            f"--nbval-sanitize-with={SANITIZER}", f"--nbval-cell-timeout={CELL_TIMEOUT_S}",
            f"--junitxml={report}", "-o", "junit_family=xunit1", "-q", *targets,
        ]
        prefix = _network_free_prefix()
        cap = {} if os.environ.get("LLMBOOK_NBVAL_NATIVE") else kernel_cap()
        print("nbval:", "without network (unshare)" if prefix else "with network (unshare unavailable)", flush=True)
        if cap:
            print("nbval: kernels capped below this CPU's, as another reader's CPU would run them:",
                  " ".join(f"{k}={v!r}" for k, v in cap.items()), flush=True)
        else:
            print("nbval: kernels not capped (LLMBOOK_NBVAL_NATIVE set, or not x86-64 Linux)", flush=True)
        returncode = subprocess.run(prefix + command, cwd=ROOT, env={**os.environ, **cap}).returncode
        if report.exists():
            table = nbval_seconds(report)
            print("nbval: seconds per chapter (limit 120 s on 2 cores)")
            for name, seconds in table.items():
                print(f"  {name:<40} {seconds:7.1f}{'  OVER 120 s' if seconds > 120 else ''}")
            print(f"  {'total':<40} {sum(table.values()):7.1f}", flush=True)
    return returncode


def toc_files() -> list[str]:
    import yaml

    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    files = [toc["root"]]

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                files.append(node["file"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk({k: v for k, v in toc.items() if k != "root"})
    return files


def check_html() -> int:
    html = ROOT / "_build" / "html"
    missing = [f for f in toc_files() if not (html / f"{Path(f).with_suffix('')}.html").exists()]
    for f in missing:
        print(f"check-html: no page for {f} in _build/html", file=sys.stderr)
    print(f"check-html: {len(toc_files()) - len(missing)} of {len(toc_files())} pages built")
    return 1 if missing or mathjax_problems(html) else 0


def mathjax_problems(html: Path) -> list[str]:
    """Every page must load MathJax from the site itself (formulas must render offline), and the file
    it names must be there."""
    problems = []
    for page in sorted(html.rglob("*.html")):
        text = page.read_text(encoding="utf-8")
        for source in re.findall(r'<script[^>]*src="([^"]*mathjax[^"]*)"', text, flags=re.IGNORECASE):
            if "://" in source or source.startswith("//"):
                problems.append(f"{page.relative_to(html)} loads MathJax from {source}")
            elif not (page.parent / source).resolve().exists():
                problems.append(f"{page.relative_to(html)} loads {source}, which is not in the build")
    for problem in problems:
        print(f"check-html: {problem}", file=sys.stderr)
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["check", "execute", "sync", "nbval", "lint", "check-html"])
    parser.add_argument("paths", nargs="*", help="chapter .md files (default: all)")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
    if args.command == "check":
        return check_pairs()
    if args.command == "nbval":
        return run_nbval(args.paths)
    if args.command == "check-html":
        return check_html()
    if args.command == "lint":
        import output_lint

        notebooks = [str(Path(p).with_suffix(".ipynb")) for p in args.paths]
        outputs = output_lint.main(notebooks)
        mds = [Path(p).resolve().with_suffix(".md") for p in args.paths] or chapter_sources()
        long_lines = [problem for md in mds for problem in long_code_lines(md)]
        for problem in long_lines:
            print(f"lint: {problem}", file=sys.stderr)
        print(f"lint: {len(mds)} chapter sources, {len(long_lines)} code lines over {CODE_LINE_LIMIT} characters")
        return 1 if outputs or long_lines else 0
    sources = [Path(p).resolve().with_suffix(".md") for p in args.paths] or chapter_sources()
    if args.command == "sync":
        for md in sources:
            sync_prose(md)
            print(f"sync: {md.relative_to(ROOT)}")
        return 0
    total = 0.0
    for md in sources:
        seconds = execute_chapter(md)
        total += seconds
        print(f"execute: {md.relative_to(ROOT)} {seconds:.1f} s", flush=True)
    print(f"execute: {len(sources)} chapters in {total:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
