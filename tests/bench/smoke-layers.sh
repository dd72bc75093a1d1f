#!/usr/bin/env bash
# Smoke test of tests/bench/layers.sh for `make check-slow`: the benchmark
# runs at small sizes (256/64 MiB images, a 128 MiB base, 2 MiB changes, a
# chain of 3) in well under a minute and every measurement comes out as a
# number.  The table is printed as TAP diagnostics; performance targets are
# NOT asserted here.
. "$(dirname "$0")/../e2e/lib.sh"

require_cmd docker-registry skopeo qemu-img qemu-io python3

BENCH=$SK_E2E_LIB_DIR/../bench/layers.sh
TSV=$TMP/results.tsv
. "$(dirname "$0")/lib-smoke.sh"

KEYS=(
	commit.big.s commit.big.convert.s commit.small.s commit.small.convert.s commit.ratio.big-small
	push.layer.bytes push.skiff.bytes push.skiff.ratio push.skopeo.bytes push.skopeo.ratio
	chain.store.bytes chain.hand.bytes chain.ideal.bytes chain.ratio chain.ratio.hand
	save.skiff.s load.skiff.s save.skopeo.s load.skopeo.s save.ratio load.ratio
)
plan $((3 + ${#KEYS[@]}))

start=$(date +%s)
run env SKIFF="$SKIFF" SK_BENCH_TMPDIR="$TMP" SK_BENCH_TSV="$TSV" SK_BENCH_BIG_MIB=256 SK_BENCH_SMALL_MIB=64 \
	SK_BENCH_BASE_MIB=128 SK_BENCH_CHANGE_MIB=2 SK_BENCH_CHAIN=3 SK_BENCH_RUNS=1 "$BENCH"
elapsed=$(($(date +%s) - start))
if [ "$RC" -eq 0 ]; then
	ok "layers.sh ran (${elapsed} s)"
else
	not_ok "layers.sh ran" "exit status: $RC" "stderr:" "$(_sk_tail "$ERR")"
fi
diag "$OUT"
# shellcheck disable=SC2016 # the backquotes are literal table text
like "$OUT" '`skiff commit`, 2 MiB changed, 256 MiB image \(median of 1\) \| [0-9.e-]+ s \|' "the table has the commit row"
for key in "${KEYS[@]}"; do
	is_number "$key"
done
left=$(find "$TMP" -mindepth 1 -maxdepth 1 -name "skiff-e2e.*")
is "$left" "" "layers.sh removed its work dir"
[ -n "$left" ] && diag "$(find "$left" | head)"
done_testing
