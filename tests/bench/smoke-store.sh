#!/usr/bin/env bash
# Smoke test of tests/bench/store.sh for `make check-slow`: the benchmark
# runs at small sizes (64 MiB import, 20 images, 64 MiB base) in well under
# 30 s and every measurement comes out as a number.  The table is printed as
# TAP diagnostics; performance targets are NOT asserted here.
. "$(dirname "$0")/../e2e/lib.sh"

require_cmd qemu-img qemu-io openssl ostree

BENCH=$SK_E2E_LIB_DIR/../bench/store.sh
TSV=$TMP/results.tsv
. "$(dirname "$0")/lib-smoke.sh"

KEYS=(
	import.bytes
	import.openssl.warm.s import.cp.warm.s import.cpsync.warm.s import.ostree.warm.s import.skiff.warm.s
	import.ratio.ostree-skiff import.ratio.skiff-cpsync import.ratio.skiff-cp
	list.images.ms list.inspect.ms
	dedup.store.bytes dedup.ref.bytes dedup.ratio
)
plan $((4 + ${#KEYS[@]}))

start=$(date +%s)
run env SKIFF="$SKIFF" SK_BENCH_TMPDIR="$TMP" SK_BENCH_TSV="$TSV" \
	SK_BENCH_IMPORT_MIB=64 SK_BENCH_RUNS=3 SK_BENCH_COLD_RUNS=0 \
	SK_BENCH_IMAGES=20 SK_BENCH_REPEAT=5 \
	SK_BENCH_BASE_MIB=64 SK_BENCH_SHARED=3 SK_BENCH_SMALL_MIB=1 SK_BENCH_SMALL=3 \
	"$BENCH"
elapsed=$(($(date +%s) - start))
if [ "$RC" -eq 0 ]; then
	ok "store.sh ran (${elapsed} s)"
else
	not_ok "store.sh ran" "exit status: $RC" "stderr:" "$(_sk_tail "$ERR")"
fi
diag "$OUT"
# shellcheck disable=SC2016 # the backquotes are literal table text
like "$OUT" '`skiff import`, fresh store \| [0-9.]+ s \| [0-9]+ \|' "the table has the skiff import row"
is "$(awk -F'\t' '$1 == "list.images" { print $2 }' "$TSV")" 20 "the list benchmark saw 20 images"
for key in "${KEYS[@]}"; do
	is_number "$key"
done
# store.sh removes its own work dir: nothing of it is left in $TMP.
is "$(find "$TMP" -maxdepth 1 -name 'skiff-bench.*' | wc -l)" 0 "store.sh removed its work dir"
done_testing
