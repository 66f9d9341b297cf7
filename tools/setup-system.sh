#!/usr/bin/env bash
# Installs the Debian packages the build needs, only those missing (idempotent, quiet when
# everything is present). Runs apt-get as root, through sudo when not root.
set -euo pipefail
packages=(zlib1g-dev pkg-config libprotobuf-c-dev protobuf-c-compiler libjpeg62-turbo-dev libpng-dev curl python3-venv
          librsvg2-bin)  # rsvg-convert: the heatmap rendering test
missing=()
for package in "${packages[@]}"; do
    [[ "$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null)" == *"install ok installed"* ]] || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing Debian packages: ${missing[*]}" >&2
run() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
export DEBIAN_FRONTEND=noninteractive
run apt-get update -qq
run apt-get install -y -qq --no-install-recommends "${missing[@]}"
