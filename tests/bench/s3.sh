#!/usr/bin/env bash
# Benchmark of skiff's S3 transport against Debian's AWS CLI, in one run, on
# the same throwaway radosgw (tests/e2e/s3.sh) on 127.0.0.1:
#   1. upload: `skiff push` of a single-layer image (SK_BENCH_MIB of 4 MiB
#      stripes, random and zero by turns) to a fresh prefix vs
#      `/usr/bin/aws s3 cp` of the same layer file to a fresh key
#      (target: skiff at least 2x aws's throughput): skiff with
#      --compression none (the same bytes as aws) and as it pushes by
#      default (zstd: it compresses, then sends fewer bytes);
#   2. download: `skiff pull` into a fresh store vs `aws s3 cp` of the
#      layer object to a fresh file (target: at least 2x): skiff pulls the
#      uncompressed image (the same bytes as aws) and the zstd one (fewer
#      bytes, then decompressed);
#   3. a second push of the unchanged image: blob bytes uploaded (skiff's
#      own count, and radosgw's access log: PUTs of blob keys) (target: 0);
#   4. the CPU time the client (bash's `time`) and the servers (radosgw,
#      the OSD, the monitor: /proc/PID/stat) used during each of those:
#      they share the 2 cores, so their sum over 2 bounds the wall time.
# Throughput is the layer's bytes over the command's wall time.  Prints a
# markdown table on stdout (progress on stderr).  Exits 0 when the
# benchmark ran, whatever the numbers; 2 when it could not run.  Targets are
# reported, never asserted.
#
#   tests/bench/s3.sh                          # 1 GiB, 3 runs (median)
#   SK_BENCH_MIB=96 SK_BENCH_RUNS=1 tests/bench/s3.sh
#
# Knobs (environment): SKIFF (binary, default ./skiff of this tree),
# SK_BENCH_TMPDIR (parent of the work dir, default /var/tmp), SK_BENCH_MIB
# (1024), SK_BENCH_RUNS (3), SK_BENCH_WARMUP (1: untimed rounds first),
# SK_BENCH_TSV (also write key<TAB>value lines).
# Runs of the two tools are interleaved; `sync` before each timed command.

set -u -o pipefail

SRCDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export SKIFF=${SKIFF:-$SRCDIR/skiff}
MIB=${SK_BENCH_MIB:-1024}
RUNS=${SK_BENCH_RUNS:-3}
TSV=${SK_BENCH_TSV:-}
export TMPDIR=${SK_BENCH_TMPDIR:-/var/tmp}

die() {
	echo "s3.sh: could not run: $*" >&2
	exit 2
}
say() { echo "s3.sh: $*" >&2; }

for cmd in radosgw ceph-mon ceph-osd radosgw-admin monmaptool /usr/bin/aws qemu-img python3; do
	command -v "$cmd" >/dev/null 2>&1 || die "'$cmd' is not installed (make deps)"
done
[ -x "$SKIFF" ] || die "no skiff binary at $SKIFF (make)"

. "$SRCDIR/tests/e2e/lib.sh"
. "$SRCDIR/tests/e2e/s3.sh"
W=$TMP

. "$SRCDIR/tests/bench/lib-bench.sh"

say "starting radosgw in $W"
s3_start >/dev/null || die "radosgw did not start"
BENCH_SERVER_PIDS="$S3_RGW_PID $S3_OSD_PID $S3_MON_PID"
aws_s3 mb s3://bench >/dev/null || die "creating the bucket"
# radosgw makes its multipart pool on the first multipart upload (~2 s):
# a warm-up upload, not timed, so neither tool pays for it.
head -c 16M /dev/zero >"$W/warm" && aws_s3 cp --only-show-errors "$W/warm" s3://bench/warm >/dev/null ||
	die "warm-up upload"
rm -f "$W/warm"

say "making a $MIB MiB single-layer image"
python3 - "$W/one.raw" "$MIB" <<'PY' || die "writing the disk data"
import os, sys
path, mib = sys.argv[1], int(sys.argv[2])
stripe = 4 if mib >= 8 else 1
with open(path, "wb") as f:
    for i in range(mib // stripe):
        f.write(os.urandom(stripe << 20) if i % 2 == 0 else bytes(stripe << 20))
PY
qemu-img convert -S 0 -O qcow2 "$W/one.raw" "$W/one.qcow2" || die "qemu-img convert"
rm -f "$W/one.raw"
"$SKIFF" --root "$W/src" import -q "$W/one.qcow2" localhost/bench/one:1 >/dev/null || die "import"
BYTES=$(stat -c %s "$W/one.qcow2")

# skiff_push RUN [--compression none]: to run RUN's prefix (zstd) or
# RUN's prefix "none" (uncompressed)
skiff_push() {
	local run=$1 name=zstd
	shift
	[ $# -gt 0 ] && name=none
	"$SKIFF" --root "$W/src" push -q "$@" localhost/bench/one:1 "s3://bench/run$run/$name:1"
}
# (the previous run's store and file are removed before the timing starts)
skiff_pull() { "$SKIFF" --root "$W/dst" pull -q "s3://bench/run$1/$2:1"; }
aws_up() { /usr/bin/aws --endpoint-url "$S3_ENDPOINT" s3 cp --only-show-errors "$W/one.qcow2" "s3://bench/aws$1/blob"; }
aws_down() { /usr/bin/aws --endpoint-url "$S3_ENDPOINT" s3 cp --only-show-errors "s3://bench/aws$1/blob" "$W/down.bin"; }

for ((run = BENCH_FIRST_RUN; run <= RUNS; run++)); do
	BENCH_RUN=$run
	say "$(round_name)"
	timed "$W/skiff-push" skiff_push "$run" --compression none
	timed "$W/aws-up" aws_up "$run"
	timed "$W/skiff-pushz" skiff_push "$run"
	rm -rf "$W/dst"
	timed "$W/skiff-pull" skiff_pull "$run" none
	rm -f "$W/down.bin"
	timed "$W/aws-down" aws_down "$run"
	rm -rf "$W/dst"
	timed "$W/skiff-pullz" skiff_pull "$run" zstd
	cmp -s "$W/down.bin" "$W/one.qcow2" || die "aws downloaded different bytes"
	rm -rf "$W/dst" "$W/down.bin"
	# Keep the OSD's sparse file small: earlier runs' objects go.
	if [ "$run" -lt "$RUNS" ]; then
		aws_s3 rm --only-show-errors --recursive "s3://bench/aws$run/" >/dev/null
		aws_s3 rm --only-show-errors --recursive "s3://bench/run$run/" >/dev/null
	fi
done

say "second push of the unchanged image"
puts_before=$(grep '"skiff/' "$S3_RGW_LOG" | grep -c "\"PUT /bench/run$RUNS/zstd/blobs/")
"$SKIFF" --root "$W/src" push localhost/bench/one:1 "s3://bench/run$RUNS/zstd:1" >/dev/null 2>"$W/repush.err" ||
	die "second push failed: $(cat "$W/repush.err")"
puts_after=$(grep '"skiff/' "$S3_RGW_LOG" | grep -c "\"PUT /bench/run$RUNS/zstd/blobs/")
repush_bytes=$(sed -n 's/^[0-9]* blobs uploaded (\(.*\)), .*/\1/p' "$W/repush.err")
repush_puts=$((puts_after - puts_before))

mibps() { awk -v b="$BYTES" -v t="$1" 'BEGIN { printf "%.0f", b / 1048576 / t }'; }
sp=$(median <"$W/skiff-push")
au=$(median <"$W/aws-up")
sl=$(median <"$W/skiff-pull")
ad=$(median <"$W/aws-down")
spz=$(median <"$W/skiff-pushz")
slz=$(median <"$W/skiff-pullz")
ZBYTES=$(aws_s3 ls --recursive "s3://bench/run$RUNS/zstd/blobs/" | sort -k3 -n | tail -1 | awk '{ print $3 }')
zmib=$(awk -v b="$ZBYTES" 'BEGIN { printf "%.0f", b / 1048576 }')
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b / a }'; }
record upload_skiff_mibps "$(mibps "$sp")"
record upload_aws_mibps "$(mibps "$au")"
record download_skiff_mibps "$(mibps "$sl")"
record download_aws_mibps "$(mibps "$ad")"
record upload_ratio "$(ratio "$sp" "$au")"
record download_ratio "$(ratio "$sl" "$ad")"
record upload_zstd_ratio "$(ratio "$spz" "$au")"
record download_zstd_ratio "$(ratio "$slz" "$ad")"
record repush_blob_puts "$repush_puts"
record repush_bytes "$repush_bytes"

size_mib=$(awk -v b="$BYTES" 'BEGIN { printf "%.0f", b / 1048576 }')
echo "S3 transport, radosgw on 127.0.0.1, $size_mib MiB layer, median of $RUNS runs$(warmup_note) ($(nproc) cores)"
echo
echo "| measurement | skiff | aws s3 cp | skiff / aws | target |"
echo "|---|---|---|---|---|"
echo "| upload, the same bytes (push --compression none vs cp up) | ${sp} s, $(mibps "$sp") MiB/s | ${au} s, $(mibps "$au") MiB/s | $(ratio "$sp" "$au")x | >= 2x |"
echo "| upload, skiff's default (push: zstd, $zmib MiB sent, vs cp up of the layer) | ${spz} s, $(mibps "$spz") MiB/s | ${au} s, $(mibps "$au") MiB/s | $(ratio "$spz" "$au")x | >= 2x |"
echo "| download, the same bytes (pull of the uncompressed image vs cp down) | ${sl} s, $(mibps "$sl") MiB/s | ${ad} s, $(mibps "$ad") MiB/s | $(ratio "$sl" "$ad")x | >= 2x |"
echo "| download, skiff's default (pull of the zstd image, $zmib MiB fetched and decompressed, vs cp down of the layer) | ${slz} s, $(mibps "$slz") MiB/s | ${ad} s, $(mibps "$ad") MiB/s | $(ratio "$slz" "$ad")x | >= 2x |"
# cpu NAME: "client + servers s" of the runs in $W/NAME
cpu() { echo "$(median <"$W/$1.cpu") + $(median <"$W/$1.srv") s"; }
echo "| CPU time, the client's + radosgw's, the OSD's and the monitor's: upload, the same bytes | $(cpu skiff-push) | $(cpu aws-up) | | |"
echo "| CPU time: upload, skiff's default (zstd) | $(cpu skiff-pushz) | | | |"
echo "| CPU time: download, the same bytes | $(cpu skiff-pull) | $(cpu aws-down) | | |"
echo "| CPU time: download, skiff's default (zstd) | $(cpu skiff-pullz) | | | |"
for f in skiff-push aws-up skiff-pushz skiff-pull aws-down skiff-pullz; do
	record "$f.cpu.s" "$(median <"$W/$f.cpu")"
	record "$f.server_cpu.s" "$(median <"$W/$f.srv")"
done
echo "| re-push of the unchanged image | ${repush_bytes} uploaded, ${repush_puts} blob PUTs | | | 0 |"
echo
echo "Throughput is the uncompressed layer's bytes over the wall time.  skiff pull includes verifying the digest and writing the layer into the store; aws s3 cp only writes the file."
echo
echo "Every run, in seconds:"
runs_line upload "$W/skiff-push" "$W/skiff-pushz" "$W/aws-up"
runs_line download "$W/skiff-pull" "$W/skiff-pullz" "$W/aws-down"
