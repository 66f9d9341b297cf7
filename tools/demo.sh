#!/usr/bin/env bash
# make demo: inspect and convert the bundled tiny checkpoints with the release build.
# Outputs go to demo-out/ (git-ignored); rerunning replaces them (--force).
set -euo pipefail
bin=${1:-.build/release}
cd "$(dirname "$0")/.."
out=demo-out
mkdir -p "$out"
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }

step "$bin/eah-convert" inspect Tests/Fixtures/convert/tiny-llava
step "$bin/eah-convert" convert Tests/Fixtures/convert/tiny-llava -o "$out/tiny-llava-bf16.safetensors" --dtype bf16 --force
step "$bin/eah-convert" convert Tests/Fixtures/convert/tiny-llama.safetensors -o "$out/tiny-llama-q4_0.gguf" --dtype q4_0 --force
step "$bin/eah-convert" inspect "$out/tiny-llama-q4_0.gguf"
printf '\nThe converted files are in %s/.\n' "$out"
