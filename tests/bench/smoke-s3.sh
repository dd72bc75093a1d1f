#!/usr/bin/env bash
# Smoke test of tests/bench/s3.sh for `make check-slow`: the benchmark runs
# with a 96 MiB image (above the multipart threshold), once after a warm-up
# round, and every measurement comes out as a number.  The table is printed
# as TAP diagnostics.  Timing targets are NOT asserted here; the one that is
# not a timing is: a second push uploads no blob (no blob PUT, 0 B).
. "$(dirname "$0")/../e2e/lib.sh"

require_cmd radosgw ceph-mon ceph-osd radosgw-admin monmaptool /usr/bin/aws qemu-img python3

BENCH=$SK_E2E_LIB_DIR/../bench/s3.sh
TSV=$TMP/results.tsv
. "$(dirname "$0")/lib-smoke.sh"

run env SK_BENCH_MIB=96 SK_BENCH_RUNS=1 SK_BENCH_TMPDIR="$TMP" SK_BENCH_TSV="$TSV" bash "$BENCH"
is "$RC" 0 "the benchmark runs"
[ "$RC" = 0 ] || diag "$ERR"
diag "$OUT"
like "$OUT" '- download: skiff-pull: [0-9.]+ ; skiff-pullz: [0-9.]+ ; aws-down: [0-9.]+' "every run's time is listed"
like "$OUT" 'median of 1 runs, after 1 warm-up round' "the heading counts the warm-up round"
for key in upload_skiff_mibps upload_aws_mibps download_skiff_mibps download_aws_mibps upload_ratio download_ratio \
	upload_zstd_ratio download_zstd_ratio; do
	is_number "$key"
done
for f in skiff-push aws-up skiff-pushz skiff-pull aws-down skiff-pullz; do
	is_cpu "$f.cpu.s"
	is_cpu "$f.server_cpu.s"
done
is "$(value repush_blob_puts)" 0 "a second push PUTs no blob"
is "$(value repush_bytes)" "0 B" "a second push uploads 0 blob bytes"

done_testing
