# Two entry points for a fresh machine: `make demo` (install, then grade the
# embedded example submissions) and `make test` (install everything, then run
# the whole suite). `.ci/run` calls `make test`.
PYTHON ?= python3
PIP ?= $(PYTHON) -m pip

.PHONY: demo test system-deps

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

# The demo builds its example submissions from assignments/source, so it needs
# this checkout (an editable install). It uses the project's local CIFAR-10
# archive when present, else $$CNNKIT_DATA or the cache filled by `cnnkit data`.
LOCAL_CIFAR := $(wildcard ../shared/datasets/cifar-10-python.tar.xz)

demo: system-deps
	$(PIP) install -q -e ".[grader]"
	cnnkit demo runs/demo $(if $(LOCAL_CIFAR),--data $(LOCAL_CIFAR))

test: system-deps
	$(PIP) install -q -e ".[dev,bench]"
	$(PYTHON) -m pytest
