#!/usr/bin/env bash
# `make test-neon`: cross-compiles Sources/CEAHKernels and tools/kernel-check for aarch64 Linux
# (clang --target=aarch64-linux-gnu, the compiler SwiftPM uses for the C target, with Debian's
# cross sysroot from gcc-aarch64-linux-gnu) and runs kernel-check under qemu-aarch64: with
# `-cpu max` (dotprod: the neon and neon-dotprod tables) and `-cpu cortex-a57` (no dotprod: the
# neon table alone, which must not touch dotprod instructions), at -O2 and -O0 (release and
# debug builds), then checks the dispatcher's choice with and without EAH_ISA.
# `tools/setup-system.sh --arm64-cross` installs the packages (make test-neon runs it).
set -euo pipefail
cd "$(dirname "$0")/.."
CC=${CC:-clang}
QEMU=${QEMU:-qemu-aarch64}
out=.build/kernel-check-aarch64
mkdir -p "$out"
for tool in "$CC" "$QEMU" aarch64-linux-gnu-ld; do
    command -v "$tool" >/dev/null || { echo "test-neon: $tool not found; run tools/setup-system.sh --arm64-cross (make test-neon does)" >&2; exit 1; }
done
sources=(Sources/CEAHKernels/*.c tools/kernel-check/kernel_check.c)
for opt in O2 O0; do
    "$CC" --target=aarch64-linux-gnu -"$opt" -std=c11 -Wall -Wextra -Werror=implicit-function-declaration \
        -ISources/CEAHKernels -ISources/CEAHKernels/include -static -pthread \
        "${sources[@]}" -lm -o "$out/kernel-check-$opt"
done
run() {  # run CPU EXPECTED-ACTIVE EXPECTED-RUNNABLE BINARY [ARGS...]
    local cpu=$1 active=$2 runnable=$3 binary=$4; shift 4
    echo "== qemu-aarch64 -cpu $cpu ${EAH_ISA:+EAH_ISA=$EAH_ISA }$(basename "$binary") $*"
    "$QEMU" -cpu "$cpu" "$binary" --expect-active "$active" --expect-runnable "$runnable" "$@"
}
for opt in O2 O0; do
    run max neon-dotprod portable,neon,neon-dotprod "$out/kernel-check-$opt"
    run cortex-a57 neon portable,neon "$out/kernel-check-$opt"
done
EAH_ISA=neon run max neon portable,neon,neon-dotprod "$out/kernel-check-O2" --dispatch-only
EAH_ISA=portable run max portable portable,neon,neon-dotprod "$out/kernel-check-O2" --dispatch-only
EAH_ISA=neon-dotprod run cortex-a57 neon portable,neon "$out/kernel-check-O2" --dispatch-only
EAH_ISA=avx2 run neoverse-n1 neon-dotprod portable,neon,neon-dotprod "$out/kernel-check-O2" --dispatch-only
echo "test-neon: passed"
