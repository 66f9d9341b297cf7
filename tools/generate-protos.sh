#!/usr/bin/env bash
# Regenerates the committed protobuf-c code of schemas/*.proto (needs protoc-c from Debian's
# protobuf-c-compiler; tools/setup-system.sh installs it). Each schema goes to its own C target:
#   schemas/sentencepiece_model.proto -> Sources/CSentencePieceProto
#   schemas/eah_manifest.proto        -> Sources/CEAHManifest
# The generated .c includes its header by the bare name; SwiftPM puts include/ on the path
# (tools/eah-manifest-dump.c is compiled with -I Sources/CEAHManifest/include).
set -euo pipefail
cd "$(dirname "$0")/.."

generate() {
    local proto=$1 out=$2
    local base
    base=$(basename "$proto" .proto)
    mkdir -p "$out/include"
    protoc-c --proto_path=schemas --c_out="$out" "schemas/$proto"
    mv "$out/$base.pb-c.h" "$out/include/$base.pb-c.h"
    echo "generated $out/$base.pb-c.c and $out/include/$base.pb-c.h ($(protoc-c --version | sed -n 1p))"
}

generate sentencepiece_model.proto Sources/CSentencePieceProto
generate eah_manifest.proto Sources/CEAHManifest
