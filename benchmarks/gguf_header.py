"""Reading SmolLM2's GGUF header (metadata, 49k-token vocabulary, tensor infos): llmbook.gguf_format against
the ``gguf`` package's ``GGUFReader``, on the same file, interleaved, in one run.

``ByteLevelBPE.from_gguf`` and ``load_smollm2`` read the header with :func:`llmbook.gguf_format.read_gguf_file`;
``tests/test_gguf_cache.py`` checks that it finds the same metadata and tensors as ``GGUFReader``. This
measures what that costs. Each figure is the median of --repeats runs, alternating A B A B ...

Usage: .venv/bin/python benchmarks/gguf_header.py [--repeats 5]
The machine is shared: absolute figures are noisy, the ratio less so.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import gguf

from llmbook.data.pretrained import smollm2_gguf_path
from llmbook.gguf_format import read_gguf_file


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    path = smollm2_gguf_path()
    times = {"llmbook.gguf_format": [], "gguf.GGUFReader": []}
    readers = {"llmbook.gguf_format": lambda: read_gguf_file(path), "gguf.GGUFReader": lambda: gguf.GGUFReader(str(path))}
    load_before = os.getloadavg()[0]
    for _ in range(args.repeats):
        for name, read in readers.items():
            start = time.perf_counter()
            read()
            times[name].append(time.perf_counter() - start)
    medians = {name: statistics.median(values) for name, values in times.items()}
    print(f"{path.name}, median of {args.repeats}, load average {load_before:.2f} -> {os.getloadavg()[0]:.2f}")
    for name, seconds in medians.items():
        print(f"  {name:22s} {seconds:7.3f} s")
    print(f"  ratio (GGUFReader / llmbook) {medians['gguf.GGUFReader'] / medians['llmbook.gguf_format']:.0f}x")


if __name__ == "__main__":
    main()
