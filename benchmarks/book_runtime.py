"""How long the book takes to execute: seconds per chapter and in total, outputs not stored.

    .venv/bin/python benchmarks/book_runtime.py [book/chapters/NN-name.md ...]

Each chapter runs in a fresh kernel, as under nbval, so the figures include kernel start-up and imports
(TensorFlow alone takes several seconds). The target is under 15 minutes for the whole book on 2 cores.
The machine should be otherwise idle: on a shared 2-core machine, any other process inflates the figures.
"""

from __future__ import annotations

import importlib.util
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("chapters", ROOT / "tools" / "chapters.py")
chapters = importlib.util.module_from_spec(spec)
spec.loader.exec_module(chapters)

TARGET_S = 15 * 60


def main(argv: list[str]) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
    sources = [Path(p).resolve().with_suffix(".md") for p in argv] or chapters.chapter_sources()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{platform.python_implementation()} {platform.python_version()} on {platform.machine()}, "
          f"{os.cpu_count()} CPUs, 1-minute load average before the run: {load:.2f}")
    rows, start = [], time.perf_counter()
    for md in sources:
        seconds = chapters.execute_chapter(md, store=False)
        rows.append((md.relative_to(ROOT), seconds))
        print(f"{seconds:8.1f} s  {md.relative_to(ROOT)}", flush=True)
    total = time.perf_counter() - start
    print(f"{total:8.1f} s  total for {len(rows)} chapters ({total / 60:.1f} min; target < {TARGET_S // 60} min)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
