#!/usr/bin/env bash
# make bench: the checkpoint conversion benchmark; prints JSON lines on stdout.
# The 2.2 GB test checkpoint is generated once into bench-data/ (git-ignored).
set -euo pipefail
bin=${1:-.build/release}
cd "$(dirname "$0")/.."
"$bin/eah-bench" bench-data "$bin"
