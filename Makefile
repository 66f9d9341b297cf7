# eah: every target installs what it needs first (tools/setup-system.sh is idempotent).
SWIFT ?= swift
RELEASE_BIN = .build/release
VENV = .venv
PYTHON = $(VENV)/bin/python

.PHONY: setup build release test demo bench bench-venv fixtures tools-venv clean fuzz fuzz-build fuzz-ci

setup:
	@tools/setup-system.sh

build: setup
	$(SWIFT) build

release: setup
	$(SWIFT) build -c release

test: setup
	$(SWIFT) test
	$(MAKE) fuzz-ci

# Coverage-guided fuzzing (libFuzzer through -sanitize=fuzzer, with AddressSanitizer) of every
# parser: `make fuzz [TARGET=gguf] [SECONDS=60]` runs one target or each in turn (see
# tools/fuzz.sh and README "Reliability"). The build lives apart from the ordinary one; lld links
# it (gold fails on the sanitizer runtimes).
FUZZ_BUILD = .build/fuzz
FUZZ_BIN = $(FUZZ_BUILD)/release/eah-fuzz
SECONDS ?= 60
TARGET ?=
# CI: every target briefly on each submission (14 targets × 4 s).
FUZZ_CI_SECONDS ?= 4

fuzz-build: setup
	$(SWIFT) build -c release --build-path $(FUZZ_BUILD) --product eah-fuzz \
		-Xswiftc -sanitize=fuzzer,address -Xswiftc -DEAH_FUZZING -Xswiftc -use-ld=lld

fuzz: fuzz-build
	@tools/fuzz.sh $(FUZZ_BIN) $(SECONDS) $(TARGET)

fuzz-ci: fuzz-build
	@tools/fuzz.sh $(FUZZ_BIN) $(FUZZ_CI_SECONDS)

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
FIXTURE_SCRIPTS = safetensors torch gguf convert matmul tokenizer image template llava eah e2e

fixtures: tools-venv
	@for name in $(FIXTURE_SCRIPTS); do echo "tools/make_$${name}_fixtures.py"; $(PYTHON) tools/make_$${name}_fixtures.py || exit 1; done

clean:
	rm -rf .build bench-data $(BENCH_VENV)
