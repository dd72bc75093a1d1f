#!/usr/bin/env bash
# Benchmarks of skiff's layers, in one run on this machine:
#   1. `skiff commit` of a VM whose overlay holds 10 MiB of changes, on a
#      4 GiB image and on a 100 MiB image (targets: within 1.2x of each
#      other, under 2 s), next to the bare `qemu-img convert -B` it wraps;
#   2. push of a child image (a 10 MiB layer) of an already pushed 1 GiB
#      base to the real docker-registry: bytes the registry's storage grew
#      by over the new layer (target: <= 1.05), next to skopeo copying the
#      same child (from `skiff save`) to the same registry;
#   3. the store's size after 10 chained commits each changing 10 MiB of a
#      1 GiB base, over base + 10 x 10 MiB (target: <= 1.1), next to the
#      same chain built by hand with qemu-img;
#   4. `skiff save` and `skiff load` of a 1 GiB image against `skopeo copy`
#      from oci: to oci-archive: and back, in the same run.
# The VMs never boot: the changes are written into their overlays with
# qemu-io while they are stopped, as a guest would leave them.
# Prints a markdown table on stdout (progress on stderr).  Exits 0 when the
# benchmark ran, whatever the numbers; 2 when it could not run.  Targets are
# reported, never asserted.
#
#   tests/bench/layers.sh              # the full run (~5 min, ~12 GiB)
#   SK_BENCH_BIG_MIB=256 SK_BENCH_BASE_MIB=128 SK_BENCH_CHANGE_MIB=2 tests/bench/layers.sh
#
# Knobs (environment): SKIFF (binary), SK_BENCH_TMPDIR (parent of the work
# dir, default /var/tmp), SK_BENCH_BIG_MIB (4096), SK_BENCH_SMALL_MIB (100),
# SK_BENCH_BASE_MIB (1024, the push, chain and save/load base),
# SK_BENCH_CHANGE_MIB (10), SK_BENCH_CHAIN (10 commits), SK_BENCH_RUNS (3),
# SK_BENCH_TSV (also write key<TAB>value results to this file).

set -u -o pipefail

SRCDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SKIFF=${SKIFF:-$SRCDIR/skiff}
BIG_MIB=${SK_BENCH_BIG_MIB:-4096}
SMALL_MIB=${SK_BENCH_SMALL_MIB:-100}
BASE_MIB=${SK_BENCH_BASE_MIB:-1024}
CHANGE_MIB=${SK_BENCH_CHANGE_MIB:-10}
CHAIN=${SK_BENCH_CHAIN:-10}
RUNS=${SK_BENCH_RUNS:-3}
TSV=${SK_BENCH_TSV:-}
export TMPDIR=${SK_BENCH_TMPDIR:-/var/tmp}
SKOPEO_CACHE=/var/lib/containers/cache/blob-info-cache-v1.boltdb

die() {
	echo "layers.sh: could not run: $*" >&2
	exit 2
}
say() { echo "layers.sh: $*" >&2; }

for cmd in docker-registry skopeo qemu-img qemu-io python3 awk; do
	command -v "$cmd" >/dev/null 2>&1 || die "'$cmd' is not installed (make deps)"
done
[ -x "$SKIFF" ] || die "no skiff binary at $SKIFF (make)"
need_mib=$((BIG_MIB * 2 + SMALL_MIB * 2 + BASE_MIB * 8 + 1024))
avail_mib=$(($(df -Pk "$TMPDIR" | awk 'NR == 2 { print $4 }') / 1024))
[ "$avail_mib" -ge "$need_mib" ] || die "'$TMPDIR' has $avail_mib MiB free, the benchmark needs about $need_mib MiB"

# lib.sh: the registry helpers, a private $TMP (under $TMPDIR) removed at
# exit, and every server stopped by PID.
. "$SRCDIR/tests/e2e/lib.sh"
W=$TMP
ROOT=$W/root
sk() { "$SKIFF" --root "$ROOT" "$@"; }

declare -A R
record() {
	R[$1]=$2
	[ -n "$TSV" ] && printf '%s\t%s\n' "$1" "$2" >>"$TSV"
	return 0
}
calc() { awk "BEGIN { printf \"%.4g\", $1 }"; }
median() { sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
# seconds CMD...: runs CMD (output discarded) and prints its wall time in s.
seconds() {
	local s e
	sync
	s=$(date +%s%N)
	"$@" >/dev/null 2>"$W/last.err" || {
		cat "$W/last.err" >&2
		die "'$*' failed"
	}
	e=$(date +%s%N)
	calc "($e - $s) / 1e9"
	echo
}

# full_image NAME MIB: a qcow2 of MIB fully written (random data), imported.
full_image() {
	qemu-img create -q -f qcow2 "$W/$1.qcow2" "$2M" || return 1
	head -c "$(($2 << 20))" /dev/urandom >"$W/$1.raw" &&
		qemu-img convert -n -f raw -O qcow2 "$W/$1.raw" "$W/$1.qcow2" && rm -f "$W/$1.raw" &&
		sk import -q "$W/$1.qcow2" "$1" >/dev/null && rm -f "$W/$1.qcow2"
}
# change FILE SEED: writes CHANGE_MIB of data in 1 MiB pieces spread over
# the first 64 MiB of FILE's disk (pattern SEED), through qemu-io.
change() {
	local args=() i
	for ((i = 0; i < CHANGE_MIB; i++)); do
		args+=(-c "write -P $((($2 + i) % 255 + 1)) $(((i * 6 + $2 % 5) % 64))M 1M")
	done
	qemu-io -f qcow2 "${args[@]}" "$1" >/dev/null
}
vm_overlay() { echo "$ROOT/vms/$(sk inspect --type vm "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')/overlay.qcow2"; }
layer_path() { # layer_path IMAGE: the top layer's file
	echo "$ROOT/layers/$(sk inspect "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Config"]["rootfs"]["diff_ids"][-1][7:])').qcow2"
}

# ---------------------------------------------------------------- 1. commit

say "making the ${BIG_MIB} MiB and ${SMALL_MIB} MiB images"
full_image big "$BIG_MIB" || die "making the big image"
full_image small "$SMALL_MIB" || die "making the small image"
for img in big small; do
	: >"$W/commit.$img"
	: >"$W/convert.$img"
	for ((run = 1; run <= RUNS; run++)); do
		say "commit on $img, run $run of $RUNS"
		sk create --name "c-$img-$run" "$img" >/dev/null || die "create"
		ov=$(vm_overlay "c-$img-$run")
		change "$ov" "$run"
		seconds sk commit "c-$img-$run" "$img-child:$run" >>"$W/commit.$img"
		# the peer: the bare conversion commit wraps, on the same overlay
		mkdir -p "$W/peer" && ln -sf "$(layer_path "$img")" "$W/peer/$(basename "$(layer_path "$img")")"
		seconds qemu-img convert -U -f qcow2 -O qcow2 -B "$(basename "$(layer_path "$img")")" -F qcow2 "$ov" \
			"$W/peer/out.qcow2" >>"$W/convert.$img"
		rm -rf "$W/peer"
		sk rm "c-$img-$run" >/dev/null
	done
	record "commit.$img.s" "$(median <"$W/commit.$img")"
	record "commit.$img.convert.s" "$(median <"$W/convert.$img")"
done
record commit.ratio.big-small "$(calc "${R[commit.big.s]} / ${R[commit.small.s]}")"
sk rmi big small >/dev/null 2>&1
for ((run = 1; run <= RUNS; run++)); do sk rmi "big-child:$run" "small-child:$run" >/dev/null 2>&1; done
sk prune >/dev/null

# ---------------------------------------------------------------- 2. push of a child

say "making the ${BASE_MIB} MiB base and a child"
full_image base "$BASE_MIB" || die "making the base"
sk create --name pc base >/dev/null && change "$(vm_overlay pc)" 7 && sk commit -q pc child >/dev/null || die "child"
sk rm pc >/dev/null
CHILD_LAYER=$(stat -c %s "$(layer_path child)")
record push.layer.bytes "$CHILD_LAYER"
registry_start >/dev/null || die "docker-registry did not start"
reg_bytes() { du -sb "$REGISTRY_DIR" | cut -f1; }
sk push -q --tls-verify=false base "$REGISTRY_ADDR/b/vm:base" >/dev/null || die "pushing the base"
before=$(reg_bytes)
sk push --tls-verify=false child "$REGISTRY_ADDR/b/vm:child" >/dev/null 2>"$W/push.err" || die "pushing the child"
record push.skiff.bytes $(($(reg_bytes) - before))
record push.skiff.ratio "$(calc "${R[push.skiff.bytes]} / $CHILD_LAYER")"
stop_server "$REGISTRY_PID"
rm -rf "$REGISTRY_DIR"
# skopeo, on a fresh registry: the base, then the child, from skiff's layouts
for img in base child; do
	sk save "$img" -o "$W/$img.tar" && mkdir -p "$W/$img-oci" && tar -xf "$W/$img.tar" -C "$W/$img-oci" &&
		rm -f "$W/$img.tar" || die "saving $img"
done
registry_start >/dev/null || die "docker-registry did not start"
rm -f "$SKOPEO_CACHE"
skopeo copy -q --dest-tls-verify=false "oci:$W/base-oci:docker.io/library/base:latest" \
	"docker://$REGISTRY_ADDR/s/vm:base" >/dev/null || die "skopeo pushing the base"
before=$(reg_bytes)
skopeo copy -q --dest-tls-verify=false "oci:$W/child-oci:docker.io/library/child:latest" \
	"docker://$REGISTRY_ADDR/s/vm:child" >/dev/null || die "skopeo pushing the child"
record push.skopeo.bytes $(($(reg_bytes) - before))
record push.skopeo.ratio "$(calc "${R[push.skopeo.bytes]} / $CHILD_LAYER")"
rm -rf "$W/child-oci" "$W/base-oci"
stop_server "$REGISTRY_PID"
rm -rf "$REGISTRY_DIR"

# ---------------------------------------------------------------- 3. a chain of commits

say "$CHAIN chained commits of $CHANGE_MIB MiB each"
repo_bytes() { du -sb "$ROOT/repo" | cut -f1; }
sk rmi child >/dev/null && sk prune >/dev/null
base_store=$(repo_bytes)
prev=base
mkdir -p "$W/hand"
hand_prev=$(layer_path base)
ln -s "$hand_prev" "$W/hand/0.qcow2"
for ((i = 1; i <= CHAIN; i++)); do
	sk create --name "g$i" "$prev" >/dev/null || die "create g$i"
	change "$(vm_overlay "g$i")" $((i * 11))
	sk commit -q "g$i" "gen:$i" >/dev/null || die "commit g$i"
	sk rm "g$i" >/dev/null
	# the same chain by hand: an overlay, the same writes, qemu-img convert -B
	(cd "$W/hand" && qemu-img create -q -f qcow2 -b "$((i - 1)).qcow2" -F qcow2 "ov$i.qcow2" &&
		change "ov$i.qcow2" $((i * 11)) &&
		qemu-img convert -f qcow2 -O qcow2 -B "$((i - 1)).qcow2" -F qcow2 "ov$i.qcow2" "$i.qcow2" && rm "ov$i.qcow2") ||
		die "hand chain $i"
	prev=gen:$i
done
chain_store=$(($(repo_bytes) - base_store))
hand=$(du -cb "$W"/hand/[1-9]*.qcow2 | tail -1 | cut -f1)
ideal=$((CHAIN * CHANGE_MIB << 20))
record chain.store.bytes "$chain_store"
record chain.hand.bytes "$hand"
record chain.ideal.bytes "$ideal"
record chain.ratio "$(calc "$chain_store / $ideal")"
record chain.ratio.hand "$(calc "$chain_store / $hand")"
rm -rf "$W/hand"
for ((i = 1; i <= CHAIN; i++)); do sk rmi "gen:$i" >/dev/null; done
sk prune >/dev/null

# ---------------------------------------------------------------- 4. save and load

: >"$W/save.skiff"; : >"$W/load.skiff"; : >"$W/save.skopeo"; : >"$W/load.skopeo"
sk save base -o "$W/ref.tar" && mkdir -p "$W/ref-oci" && tar -xf "$W/ref.tar" -C "$W/ref-oci" && rm -f "$W/ref.tar"
for ((run = 1; run <= RUNS; run++)); do
	say "save and load, run $run of $RUNS"
	rm -f "$W/s.tar"
	seconds sk save base -o "$W/s.tar" >>"$W/save.skiff"
	rm -rf "$W/root2"
	seconds "$SKIFF" --root "$W/root2" load -q -i "$W/s.tar" >>"$W/load.skiff"
	rm -rf "$W/root2" "$W/k.tar" "$SKOPEO_CACHE"
	seconds skopeo copy -q "oci:$W/ref-oci:docker.io/library/base:latest" "oci-archive:$W/k.tar" >>"$W/save.skopeo"
	rm -rf "$W/k-oci" "$SKOPEO_CACHE"
	seconds skopeo copy -q "oci-archive:$W/s.tar" "oci:$W/k-oci:x" >>"$W/load.skopeo"
	rm -rf "$W/k-oci" "$W/k.tar" "$W/s.tar"
done
for k in save.skiff load.skiff save.skopeo load.skopeo; do record "$k.s" "$(median <"$W/$k")"; done
record save.ratio "$(calc "${R[save.skiff.s]} / ${R[save.skopeo.s]}")"
record load.ratio "$(calc "${R[load.skiff.s]} / ${R[load.skopeo.s]}")"

# ---------------------------------------------------------------- table

mib() { calc "$1 / 1048576"; }
cat <<TABLE
| benchmark | skiff | peer | ratio | target |
|---|---|---|---|---|
| \`skiff commit\`, $CHANGE_MIB MiB changed, ${BIG_MIB} MiB image (median of $RUNS) | ${R[commit.big.s]} s | qemu-img convert -B: ${R[commit.big.convert.s]} s | | < 2 s |
| \`skiff commit\`, $CHANGE_MIB MiB changed, ${SMALL_MIB} MiB image (median of $RUNS) | ${R[commit.small.s]} s | qemu-img convert -B: ${R[commit.small.convert.s]} s | big/small ${R[commit.ratio.big-small]} | <= 1.2x, < 2 s |
| push of a child ($(mib "$CHILD_LAYER") MiB layer) of a pushed ${BASE_MIB} MiB base: registry growth | $(mib "${R[push.skiff.bytes]}") MiB | skopeo: $(mib "${R[push.skopeo.bytes]}") MiB | skiff/layer ${R[push.skiff.ratio]}, skopeo/layer ${R[push.skopeo.ratio]} | <= 1.05 |
| store growth, $CHAIN chained commits of $CHANGE_MIB MiB on ${BASE_MIB} MiB | $(mib "$chain_store") MiB | qemu-img by hand: $(mib "$hand") MiB | over changes ${R[chain.ratio]}, over hand ${R[chain.ratio.hand]} | <= 1.1 |
| \`skiff save\` of ${BASE_MIB} MiB vs skopeo oci: -> oci-archive: (median of $RUNS) | ${R[save.skiff.s]} s | ${R[save.skopeo.s]} s | ${R[save.ratio]} | |
| \`skiff load\` of ${BASE_MIB} MiB vs skopeo oci-archive: -> oci: (median of $RUNS) | ${R[load.skiff.s]} s | ${R[load.skopeo.s]} s | ${R[load.ratio]} | |
TABLE
