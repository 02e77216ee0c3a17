#!/usr/bin/env bash
# `pip install .` into a clean virtual environment, then import every module of the installed package
# from outside the repository: proof that pyproject.toml declares what llmbook imports.
# Usage: bash tools/check_install.sh   (versions constrained by requirements.txt, so pip reuses its cache)
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
where=$(mktemp -d)
trap 'rm -rf "$where"' EXIT
"$PYTHON" -m venv "$where/venv"
"$where/venv/bin/python" -m pip install -q --disable-pip-version-check . -c requirements.txt 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
cd "$where"
env -u KERAS_BACKEND -u PYTHONPATH "$where/venv/bin/python" - <<'PY'
import importlib
import pkgutil

import llmbook

assert "site-packages" in llmbook.__file__, f"imported {llmbook.__file__}, not the installed package"
names = sorted(m.name for m in pkgutil.walk_packages(llmbook.__path__, "llmbook."))
for name in names:
    importlib.import_module(name)
print(f"check-install: pip install . in a clean venv; {len(names)} modules of llmbook import")
PY
