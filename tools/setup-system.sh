#!/usr/bin/env bash
# Installs the Debian packages the build needs, only those missing (idempotent, quiet when
# everything is present). Runs apt-get as root, through sudo when not root.
# `--arm64-cross` installs only the aarch64 cross toolchain and user-mode QEMU that
# `make test-neon` needs (~100 MB, opt-in: the default set stays lean for CI).
set -euo pipefail
packages=(zlib1g-dev pkg-config libprotobuf-c-dev protobuf-c-compiler libjpeg62-turbo-dev libpng-dev curl python3-venv
          librsvg2-bin)  # rsvg-convert: the heatmap rendering test
if [ "${1:-}" = "--arm64-cross" ]; then
    packages=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user)
elif [ $# -gt 0 ]; then
    echo "usage: tools/setup-system.sh [--arm64-cross]" >&2
    exit 2
fi
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
