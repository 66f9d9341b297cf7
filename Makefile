# eah: every target installs what it needs first (tools/setup-system.sh is idempotent).
SWIFT ?= swift
RELEASE_BIN = .build/release
VENV = .venv
PYTHON = $(VENV)/bin/python

.PHONY: setup build release test demo bench bench-venv fixtures tools-venv clean

setup:
	@tools/setup-system.sh

build: setup
	$(SWIFT) build

release: setup
	$(SWIFT) build -c release

test: setup
	$(SWIFT) test

demo: release
	@tools/demo.sh $(RELEASE_BIN)

bench: release bench-venv
	@tools/bench.sh $(RELEASE_BIN) $(BENCH_PYTHON)

# numpy (OpenBLAS) for the matrix-product reference figures of `make bench` (no torch).
BENCH_VENV = .venv-bench
BENCH_PYTHON = $(BENCH_VENV)/bin/python

bench-venv: $(BENCH_VENV)/.installed

$(BENCH_VENV)/.installed: tools/bench-requirements.txt
	python3 -m venv $(BENCH_VENV)
	$(BENCH_PYTHON) -m pip install -q -r tools/bench-requirements.txt
	touch $@

# Python reference libraries for regenerating fixtures (not needed to build or test).
tools-venv: $(VENV)/.installed

$(VENV)/.installed: tools/requirements.txt
	python3 -m venv $(VENV)
	$(PYTHON) -m pip install -q -r tools/requirements.txt
	touch $@

# Regenerates every committed fixture with the pinned reference libraries. Order matters:
# the e2e fixture reads the tokenizer and template fixtures, the EAH one the LLaVA models.
FIXTURE_SCRIPTS = safetensors torch gguf convert matmul kernel tokenizer image template llava eah e2e

fixtures: tools-venv
	@for name in $(FIXTURE_SCRIPTS); do echo "tools/make_$${name}_fixtures.py"; $(PYTHON) tools/make_$${name}_fixtures.py || exit 1; done

clean:
	rm -rf .build bench-data $(BENCH_VENV)
