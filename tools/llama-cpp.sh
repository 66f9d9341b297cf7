#!/usr/bin/env bash
# Builds llama.cpp's command-line tools once from the source that the llama-cpp-python sdist on
# PyPI vendors, and caches the build outside the repository. Idempotent: a finished build is
# reused. Prints the folder holding the binaries (llama-tokenize, llama-gguf, llama-bench,
# llama-mtmd-cli, llama-simple, llama-quantize) on stdout; progress goes to stderr.
#
#   tools/llama-cpp.sh [TARGET...]      # default: every tool the tests and benchmarks use
#
# EAH_LLAMA_CPP_CACHE (default ~/.cache/eah) holds the sdist and the build.
set -euo pipefail
version=0.3.36
cache=${EAH_LLAMA_CPP_CACHE:-$HOME/.cache/eah}
root="$cache/llama-cpp-python-$version"
build="$root/build"
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(llama-tokenize llama-gguf llama-bench llama-mtmd-cli llama-simple llama-quantize)

run() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
if ! command -v cmake >/dev/null 2>&1; then
    echo "installing Debian packages: cmake" >&2
    export DEBIAN_FRONTEND=noninteractive
    run apt-get update -qq
    run apt-get install -y -qq --no-install-recommends cmake >&2
fi

if [ ! -f "$root/.extracted" ]; then
    mkdir -p "$cache"
    download=$(mktemp -d "$cache/.download-XXXXXX")
    trap 'rm -rf "$download"' EXIT
    echo "downloading the llama-cpp-python $version source distribution" >&2
    python3 -m pip download -q --no-deps --no-binary :all: -d "$download" "llama-cpp-python==$version" >&2
    rm -rf "$root.partial" && mkdir -p "$root.partial"
    tar -xzf "$download"/llama_cpp_python-$version.tar.gz -C "$root.partial" --strip-components=1
    rm -rf "$root" && mv "$root.partial" "$root"
    touch "$root/.extracted"
fi

missing=()
for target in "${targets[@]}"; do [ -x "$build/bin/$target" ] || missing+=("$target"); done
if [ ${#missing[@]} -gt 0 ]; then
    echo "building llama.cpp (${missing[*]}) in $build" >&2
    # GGML_NATIVE: tuned for this CPU, as a user building llama.cpp here would get it.
    cmake -S "$root/vendor/llama.cpp" -B "$build" -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON \
        -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_SERVER=OFF >&2
    cmake --build "$build" -j "$(nproc)" --target "${missing[@]}" >&2
fi
echo "$build/bin"
