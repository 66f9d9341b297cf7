#!/usr/bin/env bash
# Writes the fuzzers' seed corpora (Tests/Fuzz/corpus/<target>/) from the committed test
# fixtures: small, valid (and a few invalid) inputs of each format, so coverage starts past the
# magic numbers. Idempotent; needs python3 only to pull data.pkl out of the .pt fixtures.
# Usage: tools/make-fuzz-seeds.sh [MANIFEST.pb]  (a bundle's manifest for the manifest target)
set -euo pipefail
cd "$(dirname "$0")/.."
fixtures=Tests/Fixtures
corpus=Tests/Fuzz/corpus
seed() { mkdir -p "$corpus/$1"; cp "$2" "$corpus/$1/${3:-$(basename "$2")}"; }

seed safetensors $fixtures/safetensors/all_dtypes.safetensors
seed safetensors $fixtures/safetensors/with_metadata.safetensors
seed safetensors $fixtures/safetensors/sharded/model-00001-of-00002.safetensors
seed shard-index $fixtures/safetensors/sharded/model.safetensors.index.json
seed shard-index $fixtures/torch/sharded/pytorch_model.bin.index.json
for name in all_types.gguf all_types_v2.gguf writer_expected_align64.gguf; do seed gguf $fixtures/gguf/$name; done
seed gguf $fixtures/tokenizer/tokenizer.gguf
for name in dtypes views legacy big_endian nested_state_dict parameter malicious_os_system malicious_legacy torchscript; do
    seed pytorch $fixtures/torch/$name.pt
done
for name in dtypes views nested_state_dict bad_crc; do seed zip $fixtures/torch/$name.pt $name.zip; done
python3 - "$fixtures/torch" "$corpus/pickle" <<'PY'
import pathlib, sys, zipfile
source, target = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
target.mkdir(parents=True, exist_ok=True)
for name in ["dtypes", "views", "nested_model", "parameter", "malicious_eval", "malicious_nested"]:
    with zipfile.ZipFile(source / f"{name}.pt") as archive:
        pickle = next(entry for entry in archive.namelist() if entry.endswith("/data.pkl"))
        (target / f"{name}.pkl").write_bytes(archive.read(pickle))
(target / "legacy.pkl").write_bytes((source / "legacy.pt").read_bytes()[:600])
PY
if [ $# -ge 1 ]; then seed manifest "$1" static.pb; fi
seed tokenizer-model $fixtures/tokenizer/tokenizer.model
for name in custom-rule-keep-whitespace user-control; do seed tokenizer-model $fixtures/tokenizer-spm-variants/$name.model; done
seed tokenizer-json $fixtures/tokenizer-added/internvl.json
seed tokenizer-json $fixtures/tokenizer/tokenizer.json
seed tokenizer-json $fixtures/tokenizer/tokenizer-metaspace.json
for name in $fixtures/templates/*.jinja; do seed chat-template "$name"; done
for name in rgb_1x1.png rgb_1x1.jpg gray_interlaced_5x3.png palette_trns_square_16x16.png bilevel_23x17.png exif6_45x31.jpg \
            rgb_64x64_progressive.jpg gray16_29x31.png cmyk_45x31.jpg rgb_trns_19x13.png; do
    seed image $fixtures/images/valid/$name
done
for name in truncated_idat.png truncated_progressive.jpg; do seed image $fixtures/images/invalid/$name; done
seed config $fixtures/e2e/tiny-llava-hf/config.json
seed config $fixtures/llava/m2-mha-gelu-full-tied/hf-legacy-safetensors/config.json m2-config.json
seed config $fixtures/images/configs/llava/preprocessor_config.json
seed config $fixtures/images/configs/odd/preprocessor_config.json odd_preprocessor_config.json
mkdir -p "$corpus/calibration-jsonl"
printf '{"image": "a.jpg", "prompt": "Describe the image."}\n\n{"image": "/abs/b.png", "prompt": "What is this?"}\n' > "$corpus/calibration-jsonl/two.jsonl"
printf '{"image": "x.png", "prompt": "\\u00e9\\ud83d\\ude42"}\n' > "$corpus/calibration-jsonl/escapes.jsonl"
seed json $fixtures/safetensors/sharded/model.safetensors.index.json index.json
seed json $fixtures/templates/models/tokenizer_config/tokenizer_config.json
seed json $fixtures/e2e/tiny-llava-hf/processor_config.json
# Request bodies as the server tests send them (Tests/EAHServerTests), one with a PNG data URL.
mkdir -p "$corpus/chat-request"
printf '%s' '{"model": "m", "stream": true, "stream_options": {"include_usage": true}, "temperature": 0.5, "top_p": 0.9, "max_tokens": 12, "seed": 7, "stop": ["\n", "END"], "eah": false, "n": 1, "messages": [{"role": "developer", "content": "Be brief."}, {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0K"}}, {"type": "text", "text": "What is it?"}]}, {"role": "assistant", "content": "A star."}, {"role": "user", "content": [{"type": "text", "text": "Colour?"}, {"type": "text", "text": "Size?"}]}]}' > "$corpus/chat-request/full.json"
printf '%s' '{"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "file:///tmp/a.png"}}]}], "max_completion_tokens": 3, "stop": "x"}' > "$corpus/chat-request/file-url.json"
printf '%s' '{"stream": true, "max_tokens": 200, "temperature": 1.5, "messages": [{"role": "system", "content": "<image> USER: </s>"}, {"role": "user", "content": "Tell me about rings.\n\nEND"}], "stop": ["\n\n", "END", "ring", "s."]}' > "$corpus/chat-request/stop.json"
printf '{"model": "bundle", "max_tokens": 20, "seed": 5, "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,%s"}}, {"type": "text", "text": "Hi"}]}]}' \
    "$(base64 -w0 $fixtures/images/valid/rgb_1x1.png)" > "$corpus/chat-request/png-data-url.json"
printf '%s' '{"messages": [' > "$corpus/chat-request/truncated.json"
echo "seeds in $corpus: $(find "$corpus" -type f | wc -l) files, $(du -sh "$corpus" | cut -f1)"
