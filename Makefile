# Entry points for a checkout: `make demo` (install, then grade the embedded example
# submissions) and `make test` (install with the test dependencies, run the whole suite;
# `.ci/run` calls it). `make bench` adds PyTorch and runs the benchmarks; `make pythons`
# checks the wheel on every supported Python.
PYTHON ?= python3
PIP ?= $(PYTHON) -m pip

.PHONY: demo test bench pythons system-deps

# bubblewrap isolates student code; chromium drives the widget browser test.
# Installed with apt when running as root and missing; otherwise a note is printed.
system-deps:
	@missing=""; \
	command -v bwrap >/dev/null || missing="$$missing bubblewrap"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  else \
	    echo "note: install$$missing (e.g. sudo apt-get install$$missing) for full isolation and the browser test"; \
	  fi; \
	fi

# The demo uses the project's local CIFAR-10 archive when present, else $$CNNKIT_DATA
# or the cache filled by `cnnkit data`.
LOCAL_CIFAR := $(wildcard ../shared/datasets/cifar-10-python.tar.xz)

demo: system-deps
	$(PIP) install -q -e ".[grader]"
	cnnkit demo runs/demo $(if $(LOCAL_CIFAR),--data $(LOCAL_CIFAR))

# No PyTorch here: the tests that need it are skipped, with the reason.
test: system-deps
	$(PIP) install -q -e ".[dev]"
	$(PYTHON) -m pytest

# PyTorch (the bench extra), its tests, then the layer benchmark beside PyTorch.
bench:
	$(PIP) install -q -e ".[dev,bench]"
	$(PYTHON) -m pytest tests/reference/test_bench.py tests/benchmarks -q
	cnnkit bench --json runs/bench.json

# Build the wheel and run `cnnkit demo` from it in a fresh venv for each Python below.
PYTHONS ?= 3.10.13 3.11.7 3.12.1 3.13.0
pythons:
	.ci/pythons $(PYTHONS)
