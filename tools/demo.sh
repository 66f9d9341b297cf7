#!/usr/bin/env bash
# make demo: the main job on the bundled demo model, with the release build.
#  1. calibrate the model on its calibration images and write an EAH bundle (+ heatmap);
#  2. answer "Describe the image." for a held-out image without and with EAH;
#  3. show what the bundle's manifest says.
# Outputs go to demo-out/ (git-ignored); rerunning replaces them.
set -euo pipefail
bin=${1:-.build/release}
cd "$(dirname "$0")/.."
out=demo-out
mkdir -p "$out"
# Each command is echoed quoted (copy-pastable as is); bold only on a terminal without NO_COLOR.
if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold='' plain=''; fi
step() { printf '\n%s$' "$bold"; printf ' %q' "$@"; printf '%s\n' "$plain"; "$@"; }

if [ -d models/demo-llava ]; then
    model=models/demo-llava
    data=data/demo/calibration.jsonl
    # The first image by name, without a pipe: under pipefail `ls | head` fails when head
    # exits first and ls dies of SIGPIPE (make's Error 141).
    images=(data/demo/eval/*.png)
    image=${images[0]}
    layers=0-1
else
    # Until the demo model is committed: the tiny random model of the end-to-end tests.
    model=Tests/Fixtures/e2e/tiny-llava-hf
    data=$out/calibration.jsonl
    : > "$data"
    for picture in Tests/Fixtures/e2e/*.jpg Tests/Fixtures/e2e/*.png; do
        printf '{"image": "%s", "prompt": "Describe the image."}\n' "$(realpath "$picture")" >> "$data"
    done
    image=Tests/Fixtures/e2e/rgb_37x53_420.jpg
    layers=0-1
fi

step "$bin/eah-convert" "$model" --data "$data" --layers "$layers" --beta 0.05 -o "$out/bundle" --force
printf '\nHeatmap of the calibration (layers x heads): %s/bundle/calibration.svg\n' "$out"
printf '\nWithout EAH:\n'
step "$bin/eah-run" "$out/bundle" --no-eah --image "$image" --prompt "Describe the image." --max-tokens 40
printf '\nWith EAH:\n'
step "$bin/eah-run" "$out/bundle" --image "$image" --prompt "Describe the image." --max-tokens 40
step "$bin/eah-convert" inspect "$out/bundle"
printf '\nServe the bundle over the OpenAI API (http://127.0.0.1:8080/v1, with "eah": false per request to compare):\n'
printf '  %s\n' "$bin/eah-run $out/bundle --serve"
