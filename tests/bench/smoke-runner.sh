#!/usr/bin/env bash
# Smoke test of tests/bench/runner.sh for `make check-slow`: the runner
# benchmark at small sizes (16 and 64 MiB images, 3 runs to qemu's exec,
# one traced run, 3 boots of the tiny guest under skiff and under a
# hand-written qemu, no warm-up) runs through, every measurement comes out
# as a number, and nothing is left behind (work dir, VMs, qemu processes).
# The table is printed as TAP diagnostics; performance targets are NOT
# asserted here.
. "$(dirname "$0")/../e2e/lib.sh"
. "$(dirname "$0")/../e2e/guest.sh"

require_cmd qemu-img qemu-io qemu-system-x86_64 ssh-keygen genisoimage strace python3
guest_build

BENCH=$SK_E2E_LIB_DIR/../bench/runner.sh
TSV=$TMP/results.tsv
. "$(dirname "$0")/lib-smoke.sh"

KEYS=(
	image.small.virtual.bytes image.large.virtual.bytes image.large.file.bytes
	exec.small.median.ms exec.small.p90.ms exec.large.median.ms exec.large.p90.ms exec.ratio exec.standin.ms
	trace.total.ms step.skiff-version.ms step.monitor.ms
	boot.skiff.median.s boot.manual.median.s boot.manualprep.median.s boot.ratio
)
plan $((10 + ${#KEYS[@]}))

start=$(date +%s)
run env SKIFF="$SKIFF" SK_BENCH_TMPDIR="$TMP" SK_BENCH_TSV="$TSV" SKIFF_TINY_GUEST="$GUEST_DIR" \
	SK_BENCH_SMALL_MIB=16 SK_BENCH_LARGE_MIB=64 SK_BENCH_EXEC_RUNS=3 \
	SK_BENCH_TRACE=always SK_BENCH_TRACE_RUNS=1 SK_BENCH_BOOT_RUNS=3 SK_BENCH_BOOT_WARMUP=0 \
	"$BENCH"
elapsed=$(($(date +%s) - start))
if [ "$RC" -eq 0 ]; then
	ok "runner.sh ran (${elapsed} s)"
else
	not_ok "runner.sh ran" "exit status: $RC" "stderr:" "$(_sk_tail "$ERR")"
fi
diag "$OUT"
# shellcheck disable=SC2016 # the backquotes are literal table text
like "$OUT" '`skiff run -d --accel tcg` → qemu exec, 16\.0 MiB image .*\| [0-9.]+ ms \| [0-9.]+ ms \|' \
	"the table has the 16 MiB row"
is "$(awk -F'\t' '$1 == "image.large.virtual.bytes" { print $2 }' "$TSV")" $((64 << 20)) \
	"the large image is 64 MiB"
steps=$(awk -F'\t' '$1 == "trace.steps" { print $2 }' "$TSV")
# Steps that overlap (the overlay and the keys are made side by side) are
# merged into one row, so the count varies; the breakdown must still split
# the run into its main phases.
[ "${steps:-0}" -ge 6 ] && ok "the trace split the run into $steps steps" || not_ok "the trace split the run" "steps: ${steps:-none}"
like "$OUT" '\| `skiff-monitor` process start[^|]*\| [0-9.]+ \|' "the breakdown has the monitor's start"
is "$(awk -F'\t' '$1 == "boot.skiff.runs.s" { print NF == 2 ? split($2, a, " ") : 0 }' "$TSV")" 3 \
	"3 boots under skiff"
for key in "${KEYS[@]}"; do
	is_number "$key"
done
# runner.sh cleans up: no work dir, no VM, no qemu of its own left.
is "$(find "$TMP" -maxdepth 1 -name 'skiff-bench-runner.*' | wc -l)" 0 "runner.sh removed its work dir"
left=0
for f in /proc/[0-9]*/cmdline; do
	tr '\0' ' ' <"$f" 2>/dev/null | grep -q "$TMP/skiff-bench-runner" && left=$((left + 1))
done
is "$left" 0 "no process of runner.sh is left"
# An unusable setting is refused before anything runs.
run env SKIFF="$SKIFF" SK_BENCH_TMPDIR="$TMP" SK_BENCH_TRACE=sometimes "$BENCH"
is "$RC" 2 "an invalid SK_BENCH_TRACE exits 2"
like "$ERR" 'SK_BENCH_TRACE must be auto, always or never' "and says why"
done_testing
