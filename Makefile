# The two commands of the README:
#   make book   set up, execute every chapter, build the static site into _build/html
#   make test   set up, then run every check CI runs
VENV ?= .venv
PY := $(VENV)/bin/python
export TF_CPP_MIN_LOG_LEVEL := 1
export PYTHONHASHSEED := 0
export HF_HUB_OFFLINE := 1

.PHONY: setup test lint unit backends install-check pairs nbval html site book execute benchmark

setup:
	bash tools/setup.sh

# Every check, in the order that fails fastest, each stage's wall time printed after it. The unit tests
# and the backend tests run side by side (make -j2, each one's output kept together): both are mostly
# single-threaded Python (small models, eager loops). Side by side on 2 cores, the unit suite and the JAX
# run ended after 468 s and 473 s (this target prints each stage's time, which shows what the overlap saves).
# The chapters run one at a time, so that nbval's seconds per chapter mean something.
STAGES := lint unit+backends install-check pairs nbval html site
test: setup
	@for stage in $(STAGES); do \
	  start=$$(date +%s); \
	  if [ $$stage = unit+backends ]; then $(MAKE) --no-print-directory -j2 -O unit backends || exit 1; \
	  else $(MAKE) --no-print-directory $$stage || exit 1; fi; \
	  echo "make test: $$stage took $$(( $$(date +%s) - start )) s"; \
	done

# Code lint (ruff), then the stored outputs against llmbook.book's digits convention.
lint:
	$(VENV)/bin/ruff check llmbook tools tests benchmarks
	$(PY) tools/chapters.py lint

# The unit tests and every docstring example of the package.
unit:
	$(PY) -m pytest -q tests llmbook --doctest-modules --ignore=tests/site

# The layer, model, generation, BERT and word-vector tests on the other Keras backends (the book itself
# runs on TensorFlow). A test that needs TensorFlow itself is skipped there with its reason.
BACKEND_TESTS := tests/test_layers.py tests/test_gpt.py tests/test_generation.py tests/test_bert.py \
	tests/test_embeddings_models.py tests/test_training_modes.py \
	tests/test_crf.py tests/test_encoder.py tests/test_feedforward_lm.py
# Also on torch only: on JAX they pass but take minutes (seq2seq + beam search 512 s, recurrent 385 s,
# batched generation 181 s, measured on a loaded machine; JAX compiles every new shape of an eager call),
# which CI's time budget does not have room for. On torch these five files take 53 s (the whole torch run 106 s).
TORCH_TESTS := tests/test_seq2seq.py tests/test_beam_search.py tests/test_recurrent.py tests/test_tagger.py \
	tests/test_batch_generation.py
backends:
	KERAS_BACKEND=jax $(PY) -m pytest -q -rs $(BACKEND_TESTS)
	KERAS_BACKEND=torch $(PY) -m pytest -q -rs $(BACKEND_TESTS) $(TORCH_TESTS)

# pip install . into a clean venv, then import every module of the installed package.
install-check:
	bash tools/check_install.sh

pairs:
	$(PY) tools/chapters.py check

# Strict nbval: every stored output must be reproduced; tools/nbval_sanitize.cfg only masks timings and addresses.
# The stored outputs come from `make execute` with this CPU's best kernels; nbval re-executes them with the
# instruction set capped one level lower (tools/chapters.py kernel_cap), as another reader's CPU would.
# Where the kernel allows it, the chapters run without a network, as proof the book needs none.
nbval:
	$(PY) tools/chapters.py nbval

html:
	rm -rf _build/html
	$(VENV)/bin/jupyter-book build -W -n --keep-going .
	$(PY) tools/chapters.py check-html

# The built site in a real browser (Debian's Chromium, driven by Playwright): every page loads without a
# JavaScript error or a request off the machine, formulas typeset, images load, links and anchors resolve,
# search finds the chapter, download buttons give the notebook. Needs `make html` first.
site:
	$(PY) -m pytest -q tests/site

# Re-execute every chapter and store the fresh outputs in its .ipynb (what an author does after an edit).
execute:
	$(PY) tools/chapters.py execute

book: setup
	$(MAKE) execute html
	@echo "The book is in _build/html/index.html"

benchmark:
	$(PY) benchmarks/book_runtime.py
