#!/usr/bin/env bash
# Smoke test of tests/bench/registry.sh for `make check-slow`: the benchmark
# runs with 32 MiB images, once after a warm-up round, in about a minute, and every
# measurement comes out as a number.  The table is printed as TAP
# diagnostics.  Timing targets are NOT asserted here; the two that are not
# timings are: a second push uploads no layer bytes, and a pull through a
# connection dropped at 60 % fetches at most 1.1x the layer.
. "$(dirname "$0")/../e2e/lib.sh"

require_cmd docker-registry skopeo node curl qemu-img qemu-io python3 ostree

BENCH=$SK_E2E_LIB_DIR/../bench/registry.sh
TSV=$TMP/results.tsv
. "$(dirname "$0")/lib-smoke.sh"

KEYS=()
for dir in pull push; do
	for img in one three; do
		KEYS+=("$dir.$img.skiff.s" "$dir.$img.skopeo.s" "$dir.$img.ratio")
	done
done
KEYS+=(pull.onez.skiff.s pull.onez.skopeo.s pull.onez.ratio push.one.none.s push.one.none.ratio push.three.none.s)
KEYS+=(push.first.up.bytes resume.ratio)
CPU_KEYS=()
for f in pull.one pull.three pull.onez push.one push.three; do
	CPU_KEYS+=("$f.skiff.cpu.s" "$f.skopeo.cpu.s" "$f.skiff.registry_cpu.s" "$f.skopeo.registry_cpu.s")
done

plan $((11 + ${#KEYS[@]} + ${#CPU_KEYS[@]}))
start=$(date +%s)
run env SKIFF="$SKIFF" SK_BENCH_TMPDIR="$TMP" SK_BENCH_TSV="$TSV" SK_BENCH_MIB=32 SK_BENCH_RUNS=1 "$BENCH"
elapsed=$(($(date +%s) - start))
if [ "$RC" -eq 0 ]; then
	ok "registry.sh ran (${elapsed} s)"
else
	not_ok "registry.sh ran" "exit status: $RC" "stderr:" "$(_sk_tail "$ERR")"
fi
diag "$OUT"
like "$OUT" '\| pull, single layer \(uncompressed blob\) \| [0-9.]+ s \([0-9]+ MiB/s\) \| [0-9.]+ s' "the table has the single-layer pull row"
like "$OUT" '\| push, 3 layers \(skiff: zstd by default; skopeo: uncompressed\) \| [0-9.]+ s' "the table has the 3-layer push row"
like "$OUT" '\| push, single layer, skiff --compression none \(both send the uncompressed layer\) \| [0-9.]+ s' \
	"the table has the uncompressed single-layer push row"
like "$OUT" '- push\.one: push\.one\.skiff: [0-9.]+ ; push\.one\.skopeo: [0-9.]+ ; push\.one\.none: [0-9.]+' \
	"every run's time is listed"
like "$OUT" 'median of 1, after 1 warm-up round' "the heading counts the warm-up round"
run env SKIFF="$SKIFF" SK_BENCH_TMPDIR="$TMP" SK_BENCH_WARMUP=some "$BENCH"
is "$RC" 2 "an invalid SK_BENCH_WARMUP exits 2"
like "$ERR" 'SK_BENCH_WARMUP must be a number of rounds' "and says why"
for key in "${KEYS[@]}"; do
	is_number "$key"
done
for key in "${CPU_KEYS[@]}"; do
	is_cpu "$key"
done
is "$(value push.second.up.bytes)" 0 "a second push uploads no layer bytes"
is "$(value resume.drops)" 1 "the proxy dropped the connection once"
awk -v r="$(value resume.ratio)" 'BEGIN { exit !(r <= 1.1) }' && ok "the resumed pull fetched at most 1.1x the layer" ||
	not_ok "the resumed pull fetched at most 1.1x the layer" "ratio: $(value resume.ratio)"
done_testing
