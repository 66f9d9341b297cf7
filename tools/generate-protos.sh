#!/usr/bin/env bash
# Regenerates the committed protobuf-c code of schemas/*.proto (needs protoc-c from Debian's
# protobuf-c-compiler; tools/setup-system.sh installs it). Output: Sources/CSentencePieceProto.
set -euo pipefail
cd "$(dirname "$0")/.."
out=Sources/CSentencePieceProto
mkdir -p "$out/include"
protoc-c --proto_path=schemas --c_out="$out" schemas/sentencepiece_model.proto
mv "$out/sentencepiece_model.pb-c.h" "$out/include/sentencepiece_model.pb-c.h"
# The generated .c includes its header by the bare name; SwiftPM puts include/ on the path.
echo "generated $out/sentencepiece_model.pb-c.c and $out/include/sentencepiece_model.pb-c.h ($(protoc-c --version | head -1))"
