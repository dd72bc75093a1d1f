#!/usr/bin/env bash
# Benchmarks of skiff's registry transport against skopeo, in one run, on
# the real docker-registry on 127.0.0.1:
#   1. `skiff pull` vs `skopeo copy docker://... oci:DIR` of a single-layer
#      image (SK_BENCH_MIB of 4 MiB stripes, random and zero by turns) and
#      of a 3-layer chain of the same total size, both with uncompressed
#      layers, and of the single-layer image as `skiff push` sends it by
#      default (zstd): a fresh store and a fresh oci: directory each run,
#      skopeo's blob-info cache removed before each of its runs (target:
#      skiff at least 2x skopeo's throughput);
#   2. `skiff push` vs `skopeo copy oci:DIR docker://...` of both images
#      (stored uncompressed) to a fresh, empty registry each run (target:
#      at least 1.5x): skiff as it pushes by default (zstd: it compresses
#      and sends fewer bytes) and with --compression none (the same bytes
#      as skopeo, which sends the layout's layers as they are);
#   3. a second push of the same image: the layer bytes uploaded, counted by
#      tests/e2e/lying-proxy.js in front of the registry (target: 0);
#   4. a pull whose connection drops at 60 % of the layer: the layer bytes
#      the registry sent in all, over the layer's size (target: <= 1.1);
#   5. the CPU time the client (bash's `time`) and the registry itself
#      (/proc/PID/stat) used during each pull and push: they share the 2
#      cores, so their sum over 2 bounds the wall time; during a push the
#      registry's part is most of the work, which bounds any client's gain.
# Prints a markdown table on stdout (progress on stderr).  Exits 0 when the
# benchmark ran, whatever the numbers; 2 when it could not run.  Targets are
# reported, never asserted.
#
#   tests/bench/registry.sh                       # 1 GiB images, 3 runs
#   SK_BENCH_MIB=64 SK_BENCH_RUNS=1 tests/bench/registry.sh
#
# Knobs (environment): SKIFF (binary, default ./skiff of this tree),
# SK_BENCH_TMPDIR (parent of the private work dir, default /var/tmp),
# SK_BENCH_MIB (1024), SK_BENCH_RUNS (3; the median is reported),
# SK_BENCH_WARMUP (1: rounds run first and not recorded, tests/bench/
# lib-bench.sh), SK_BENCH_TSV (also write key<TAB>value results to this file).
#
# Timing: `date +%s%N` around the command alone; `sync` before each run so
# no earlier run's writeback is charged to the next.  Runs of the two tools
# are interleaved so background load spreads over both.

set -u -o pipefail

SRCDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export SKIFF=${SKIFF:-$SRCDIR/skiff}
MIB=${SK_BENCH_MIB:-1024}
RUNS=${SK_BENCH_RUNS:-3}
TSV=${SK_BENCH_TSV:-}
export TMPDIR=${SK_BENCH_TMPDIR:-/var/tmp}
# skopeo (as root) keeps what it learnt about blobs here: a warm cache lets
# it skip or mount blobs, so each of its runs starts without it.
SKOPEO_CACHE=/var/lib/containers/cache/blob-info-cache-v1.boltdb

die() {
	echo "registry.sh: could not run: $*" >&2
	exit 2
}
say() { echo "registry.sh: $*" >&2; }

for cmd in docker-registry skopeo node curl qemu-img qemu-io python3 ostree; do
	command -v "$cmd" >/dev/null 2>&1 || die "'$cmd' is not installed (make deps)"
done
[ -x "$SKIFF" ] || die "no skiff binary at $SKIFF (make)"

# lib.sh: the registry and proxy helpers, a private $TMP, and cleanup of
# every server by PID and of $TMP at exit.
. "$SRCDIR/tests/e2e/lib.sh"
. "$SRCDIR/tests/e2e/images.sh"
W=$TMP

. "$SRCDIR/tests/bench/lib-bench.sh"

# timed_reg FILE PID CMD...: timed, with the CPU time the registry PID used
# meanwhile in FILE.srv (during a push the registry's part is most of the
# work: it bounds what any client can gain).
timed_reg() {
	local file=$1
	BENCH_SERVER_PIDS=$2
	shift 2
	timed "$file" "$@"
	BENCH_SERVER_PIDS=
}

# ---------------------------------------------------------------- images

# stripes FILE MIB: MIB MiB of 4 MiB stripes, random and zero by turns
# (1 MiB stripes below 8 MiB).
stripes() {
	python3 - "$1" "$2" <<'PY'
import os, sys
path, mib = sys.argv[1], int(sys.argv[2])
stripe = 4 if mib >= 8 else 1
with open(path, "wb") as f:
    for i in range(mib // stripe):
        f.write(os.urandom(stripe << 20) if i % 2 == 0 else bytes(stripe << 20))
PY
}

say "making a $MIB MiB single-layer image and a 3-layer chain in $W"
stripes "$W/one.raw" "$MIB" || die "writing the disk data"
# -S 0: zeros are written as data, so the layer is really $MIB MiB.
qemu-img convert -S 0 -O qcow2 "$W/one.raw" "$W/one.qcow2" || die "qemu-img convert"
rm -f "$W/one.raw"
src import -q "$W/one.qcow2" localhost/bench/one:1 >/dev/null || die "importing the single-layer image"

# The chain: a base of half the size, two layers of a quarter each (each
# written half random, half zero), made beside their parents' layer names.
mkdir -p "$W/chain"
stripes "$W/base.raw" $((MIB / 2)) || die "writing the base"
qemu-img convert -S 0 -O qcow2 "$W/base.raw" "$W/chain/base.qcow2" || die "qemu-img convert"
rm -f "$W/base.raw"
prev=base
copies=()
quarter=$((MIB / 4))
for name in mid top; do
	prev_hex=$(sha256sum "$W/chain/$prev.qcow2" | cut -d' ' -f1)
	cp "$W/chain/$prev.qcow2" "$W/chain/$prev_hex.qcow2"
	copies+=("$W/chain/$prev_hex.qcow2")
	qemu-img create -q -f qcow2 -b "$prev_hex.qcow2" -F qcow2 "$W/chain/$name.qcow2" "${MIB}M"
	head -c $((quarter / 2))M /dev/urandom >"$W/$name.rand"
	off=$([ $name = mid ] && echo 0 || echo $((MIB / 2)))
	qemu-io -f qcow2 -c "write -s $W/$name.rand ${off}M $((quarter / 2))M" \
		-c "write -P 0 $((off + quarter / 2))M $((quarter / 2))M" "$W/chain/$name.qcow2" >/dev/null ||
		die "writing layer $name"
	rm -f "$W/$name.rand"
	prev=$name
done
rm -f "${copies[@]}"
ARCH=$(uname -m | sed 's/x86_64/amd64/; s/aarch64/arm64/')
write_config "$W/three-config.json" "$W/chain/base.qcow2" "$W/chain/mid.qcow2" "$W/chain/top.qcow2"
write_manifest "$W/three" "$W/three-config.json" \
	"application/vnd.skiff.disk.qcow2.v1:$W/chain/base.qcow2:$W/chain/base.qcow2" \
	"application/vnd.skiff.disk.qcow2.v1:$W/chain/mid.qcow2:$W/chain/mid.qcow2" \
	"application/vnd.skiff.disk.qcow2.v1:$W/chain/top.qcow2:$W/chain/top.qcow2"
rm -rf "$W/chain"
ONE_BYTES=$(stat -c %s "$W/one.qcow2")
THREE_BYTES=$(python3 -c 'import json,sys; print(sum(l["size"] for l in json.load(open(sys.argv[1]))["layers"]))' \
	"$W/three/manifest.json")

registry_start >/dev/null || die "docker-registry did not start"
SRC_PID=$REGISTRY_PID
SRC_ADDR=$REGISTRY_ADDR
SRC_URL=$REGISTRY_URL
"$SKIFF" --root "$SRC" push -q --compression none --tls-verify=false localhost/bench/one:1 "$SRC_ADDR/bench/one:1" \
	>/dev/null || die "pushing the single-layer image"
"$SKIFF" --root "$SRC" push -q --tls-verify=false localhost/bench/one:1 "$SRC_ADDR/bench/onez:1" >/dev/null ||
	die "pushing the single-layer image compressed"
ONEZ_BYTES=$(curl -sS -H "Accept: application/vnd.oci.image.manifest.v1+json" "$SRC_URL/v2/bench/onez/manifests/1" |
	python3 -c 'import json,sys; print(sum(l["size"] for l in json.load(sys.stdin)["layers"] if "disk" in l["mediaType"]))') ||
	die "reading the compressed image's manifest"
REG_AUTH=()
publish "$W/three" bench/three 1 || die "publishing the 3-layer image"
rm -rf "$W/three" "$W/one.qcow2"
src rmi localhost/bench/one:1 >/dev/null 2>&1
src prune >/dev/null 2>&1

# ---------------------------------------------------------------- pull

for img in one three onez; do
	: >"$W/pull.$img.skiff"
	: >"$W/pull.$img.skopeo"
done
for ((run = BENCH_FIRST_RUN; run <= RUNS; run++)); do
	BENCH_RUN=$run
	for img in one three onez; do
		say "pull $img, $(round_name)"
		rm -rf "$W/pull-root"
		timed_reg "$W/pull.$img.skiff" "$SRC_PID" "$SKIFF" --root "$W/pull-root" pull -q --tls-verify=false \
			"$SRC_ADDR/bench/$img:1"
		rm -rf "$W/oci-$img" "$SKOPEO_CACHE"
		timed_reg "$W/pull.$img.skopeo" "$SRC_PID" skopeo copy -q --src-tls-verify=false "docker://$SRC_ADDR/bench/$img:1" \
			"oci:$W/oci-$img"
	done
done
# The store the pushes read from.
rm -rf "$W/pull-root" "$W/oci-onez"
for img in one three; do
	"$SKIFF" --root "$W/pull-root" pull -q --tls-verify=false "$SRC_ADDR/bench/$img:1" >/dev/null || die "pulling $img"
done

# ---------------------------------------------------------------- push

stop_server "$REGISTRY_PID" # the source registry is done with
for img in one three; do
	: >"$W/push.$img.skiff"
	: >"$W/push.$img.none"
	: >"$W/push.$img.skopeo"
done
# fresh_registry: an empty registry; the previous one stopped and removed.
PUSH_PID=
PUSH_DIR=
fresh_registry() {
	if [ -n "$PUSH_PID" ]; then
		stop_server "$PUSH_PID"
		rm -rf "$PUSH_DIR"
	fi
	registry_start >/dev/null || die "docker-registry did not start"
	PUSH_PID=$REGISTRY_PID
	PUSH_DIR=$REGISTRY_DIR
}
for ((run = BENCH_FIRST_RUN; run <= RUNS; run++)); do
	BENCH_RUN=$run
	for img in one three; do
		say "push $img, $(round_name)"
		fresh_registry
		timed_reg "$W/push.$img.skiff" "$PUSH_PID" "$SKIFF" --root "$W/pull-root" push -q --tls-verify=false \
			"$SRC_ADDR/bench/$img:1" "$REGISTRY_ADDR/fresh/$img:1"
		fresh_registry
		timed_reg "$W/push.$img.none" "$PUSH_PID" "$SKIFF" --root "$W/pull-root" push -q --compression none \
			--tls-verify=false "$SRC_ADDR/bench/$img:1" "$REGISTRY_ADDR/fresh/$img:1"
		fresh_registry
		rm -f "$SKOPEO_CACHE"
		timed_reg "$W/push.$img.skopeo" "$PUSH_PID" skopeo copy -q --dest-tls-verify=false "oci:$W/oci-$img" \
			"docker://$REGISTRY_ADDR/fresh/$img:1"
	done
done

# ---------------------------------------------------------------- second push

say "second push of the single-layer image through the counting proxy"
fresh_registry
proxy_start "$REGISTRY_URL" >/dev/null || die "the proxy did not start"
"$SKIFF" --root "$W/pull-root" push -q --tls-verify=false "$SRC_ADDR/bench/one:1" "$PROXY_ADDR/again/one:1" \
	>/dev/null || die "the first push through the proxy"
FIRST_UP=$(proxy_bytes /blobs/ up)
: >"$PROXY_LOG"
"$SKIFF" --root "$W/pull-root" push -q --tls-verify=false "$SRC_ADDR/bench/one:1" "$PROXY_ADDR/again/one:1" \
	>/dev/null || die "the second push through the proxy"
SECOND_UP=$(proxy_bytes /blobs/ up)

# ---------------------------------------------------------------- resumed pull

say "pull through a connection dropped at 60 %"
curl -sS -H "Accept: application/vnd.oci.image.manifest.v1+json" -o "$W/pushed.json" \
	"$REGISTRY_URL/v2/again/one/manifests/1" || die "reading the pushed manifest"
read -r LAYER LAYER_BYTES < <(python3 -c 'import json,sys; l=json.load(open(sys.argv[1]))["layers"][0]; print(l["digest"], l["size"])' \
	"$W/pushed.json") || die "no layer in the pushed manifest"
proxy_rules "{\"path\":\"/blobs/$LAYER\",\"method\":\"GET\",\"action\":\"drop\",\"percent\":60,\"times\":1}"
: >"$PROXY_LOG"
rm -rf "$W/resume-root"
"$SKIFF" --root "$W/resume-root" pull -q --tls-verify=false "$PROXY_ADDR/again/one:1" >/dev/null ||
	die "the pull through the dropped connection"
DROPS=$(grep -c '"end":"dropped"' "$PROXY_LOG")
FETCHED=$(proxy_bytes "/blobs/$LAYER")
rm -rf "$W/resume-root" "$W/pull-root" "$W"/oci-*

# ---------------------------------------------------------------- table

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
mibs() { awk -v bytes="$1" -v s="$2" 'BEGIN { printf "%.0f", bytes / 1048576 / s }'; }

echo "| benchmark ($MIB MiB images, median of $RUNS$(warmup_note)) | skiff | skopeo 1.9 | skiff vs skopeo | target |"
echo "|---|---|---|---|---|"
# row DIR IMG SKIFF-FILE LABEL: a table row of DIR (pull/push) of IMG,
# skiff's times in $W/SKIFF-FILE; throughput over the image's
# uncompressed layers (what a user gets), the blob bytes sent in LABEL.
row() {
	local dir=$1 img=$2 file=$3 label=$4 bytes=$ONE_BYTES sk so r target=2 verdict
	[ "$img" = three ] && bytes=$THREE_BYTES
	[ "$dir" = push ] && target=1.5
	sk=$(median <"$W/$file")
	so=$(median <"$W/$dir.$img.skopeo")
	r=$(ratio "$so" "$sk")
	verdict=$(awk -v r="$r" -v t="$target" 'BEGIN { print (r >= t) ? "met" : "missed" }')
	echo "| $dir, $label | ${sk} s ($(mibs "$bytes" "$sk") MiB/s) | ${so} s ($(mibs "$bytes" "$so") MiB/s) | ${r}x | >= ${target}x: $verdict |"
	record "$file.s" "$sk"
	record "${file%.skiff}.ratio" "$r"
	[ "${file##*.}" = skiff ] && record "$dir.$img.skopeo.s" "$so"
	return 0
}
zmib=$(awk -v b="$ONEZ_BYTES" 'BEGIN { printf "%.0f", b / 1048576 }')
row pull one pull.one.skiff "single layer (uncompressed blob)"
row pull three pull.three.skiff "3 layers (uncompressed blobs)"
row pull onez pull.onez.skiff "single layer as skiff pushes it (zstd blob, $zmib MiB; both tools fetch it, skiff also decompresses)"
row push one push.one.skiff "single layer (skiff: zstd by default, $zmib MiB sent; skopeo: the layout's uncompressed layer)"
row push one push.one.none "single layer, skiff --compression none (both send the uncompressed layer)"
row push three push.three.skiff "3 layers (skiff: zstd by default; skopeo: uncompressed)"
row push three push.three.none "3 layers, skiff --compression none"
for f in pull.one pull.three pull.onez push.one push.three; do
	dir=${f%%.*}
	img=${f#*.}
	label="single layer"
	[ $img = three ] && label="3 layers"
	[ $img = onez ] && label="single layer, zstd"
	sk=$(median <"$W/$f.skiff.srv")
	so=$(median <"$W/$f.skopeo.srv")
	skc=$(median <"$W/$f.skiff.cpu")
	soc=$(median <"$W/$f.skopeo.cpu")
	extra=
	[ $dir = push ] && extra=" (--compression none: $(median <"$W/$f.none.cpu") + $(median <"$W/$f.none.srv") s)"
	echo "| CPU time during the $dir, $label: the client's + the registry's | ${skc} + ${sk} s$extra | ${soc} + ${so} s | | |"
	record "$f.skiff.registry_cpu.s" "$sk"
	record "$f.skopeo.registry_cpu.s" "$so"
	record "$f.skiff.cpu.s" "$skc"
	record "$f.skopeo.cpu.s" "$soc"
done
verdict=$([ "$SECOND_UP" -eq 0 ] && echo met || echo missed)
echo "| second push of the same image: bytes uploaded to /blobs/ (first push: $FIRST_UP) | $SECOND_UP | | | 0: $verdict |"
resume=$(ratio "$FETCHED" "$LAYER_BYTES")
verdict=$(awk -v r="$resume" 'BEGIN { print (r <= 1.1) ? "met" : "missed" }')
echo "| pull with the connection dropped at 60 % ($DROPS drop): layer bytes sent / layer size | ${resume} | | | <= 1.1: $verdict |"
echo
echo "Every run, in seconds:"
for f in pull.one pull.three pull.onez push.one push.three; do
	files=("$W/$f.skiff" "$W/$f.skopeo")
	[ "${f%%.*}" = push ] && files+=("$W/$f.none")
	runs_line "$f" "${files[@]}"
done
record "push.second.up.bytes" "$SECOND_UP"
record "push.first.up.bytes" "$FIRST_UP"
record "resume.ratio" "$resume"
record "resume.drops" "$DROPS"
exit 0
