#!/usr/bin/env bash
# Runs the libFuzzer targets of eah-fuzz (built by `make fuzz-build` with -sanitize=fuzzer,address).
# Usage: tools/fuzz.sh BINARY SECONDS [TARGET...]   (no TARGET: every target in turn)
# Each target starts from its committed seeds (Tests/Fuzz/corpus/T) plus what earlier runs found
# (.build/fuzz-corpus/T, git-ignored), with its dictionary; crashes go to .build/fuzz-crashes/T/.
# Prints one line per target: executions, coverage (edges), features, corpus size, result.
# Exits 1 if any target found a crash, leak, timeout or out-of-memory input.
set -uo pipefail
binary=$1 seconds=$2
shift 2
targets=("$@")
[ ${#targets[@]} -eq 0 ] && mapfile -t targets < <("$binary" --list | cut -f1)
status=0
for target in "${targets[@]}"; do
    corpus=.build/fuzz-corpus/$target crashes=.build/fuzz-crashes/$target log=.build/fuzz-logs/$target.log
    mkdir -p "$corpus" "$crashes" "$(dirname "$log")"
    EAH_FUZZ_TARGET=$target ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1 nice -n 10 "$binary" \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=1024 -max_len=65536 \
        -dict=Tests/Fuzz/dictionaries/$target.dict -artifact_prefix="$crashes/" -print_final_stats=1 \
        "$corpus" "Tests/Fuzz/corpus/$target" > "$log" 2>&1
    result=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    last=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<< "$last")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<< "$last")
    units=$(sed -n 's/.* corp: \([0-9]*\)\/.*/\1/p' <<< "$last")
    if [ "$result" -eq 0 ]; then verdict=ok; else verdict="FOUND (exit $result, see $log and $crashes)"; status=1; fi
    printf '%-18s execs %10s  cov %6s  ft %6s  corpus %5s  %s\n' "$target" "${runs:-?}" "${cov:-?}" "${ft:-?}" "${units:-?}" "$verdict"
done
exit $status
