#!/usr/bin/env bash
# Benchmarks of skiff's local store, in one run on this machine:
#   1. importing a fully allocated qcow2 (2 GiB) compared, in the same run,
#      with `openssl dgst -sha256`, `cp`, `cp` + fsync and `ostree commit`
#      into a fresh bare-user repository;
#   2. `skiff images` and `skiff inspect NAME` with 200 images stored;
#   3. the store's size for 10 names of one identical 1 GiB base disk plus
#      10 small distinct disks (dedup of an identical base, not child layers).
# Prints a markdown table on stdout (progress on stderr).  Exits 0 when the
# benchmark ran, whatever the numbers; 2 when it could not run.  Targets are
# reported, never asserted.
#
#   tests/bench/store.sh                 # the full run (~5-10 min, ~14 GiB)
#   SK_BENCH_IMPORT_MIB=64 SK_BENCH_IMAGES=20 tests/bench/store.sh
#
# Knobs (environment): SKIFF (binary, default ./skiff of this tree),
# SK_BENCH_TMPDIR (parent of the private work dir, default /var/tmp),
# SK_BENCH_IMPORT_MIB (2048), SK_BENCH_RUNS (3, warm runs per tool),
# SK_BENCH_COLD_RUNS (1; 0 skips the cold-cache column), SK_BENCH_IMAGES
# (200), SK_BENCH_REPEAT (20, runs of images/inspect), SK_BENCH_BASE_MIB
# (1024), SK_BENCH_SHARED (10 names of the base), SK_BENCH_SMALL_MIB (10),
# SK_BENCH_SMALL (10 small disks), SK_BENCH_TSV (also write key<TAB>value
# results to this file, for tests/bench/smoke-store.sh).
#
# Timing: `date +%s%N` around the command alone.  Warm runs read the input
# once first and `sync` so no earlier run's writeback is charged to the next
# (ostree and skiff end with syncfs); cold runs drop the page cache
# (/proc/sys/vm/drop_caches, root only) instead of warming.  Runs of the
# tools are interleaved so background load spreads over all of them.

set -u -o pipefail

SRCDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SKIFF=${SKIFF:-$SRCDIR/skiff}
IMPORT_MIB=${SK_BENCH_IMPORT_MIB:-2048}
RUNS=${SK_BENCH_RUNS:-3}
COLD_RUNS=${SK_BENCH_COLD_RUNS:-1}
N_IMAGES=${SK_BENCH_IMAGES:-200}
REPEAT=${SK_BENCH_REPEAT:-20}
BASE_MIB=${SK_BENCH_BASE_MIB:-1024}
SHARED=${SK_BENCH_SHARED:-10}
SMALL_MIB=${SK_BENCH_SMALL_MIB:-10}
N_SMALL=${SK_BENCH_SMALL:-10}
TSV=${SK_BENCH_TSV:-}
PARENT=${SK_BENCH_TMPDIR:-/var/tmp}
DROP=/proc/sys/vm/drop_caches

die() {
	echo "store.sh: could not run: $*" >&2
	exit 2
}
say() { echo "store.sh: $*" >&2; }

W=
cleanup() {
	[ -n "$W" ] && [ -d "$W" ] && rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- helpers

# Prints the median of the numbers on stdin.
median() {
	sort -g | awk '{ a[NR] = $1 } END { if (NR == 0) exit 1;
		if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

# calc EXPR: floating point arithmetic through awk.
calc() { awk "BEGIN { printf \"%.6g\", $1 }"; }
fmt() { awk -v v="$1" -v f="$2" 'BEGIN { printf f, v }'; }

# record KEY VALUE: keeps a result for the table and the TSV file.
declare -A R
record() {
	R[$1]=$2
	[ -n "$TSV" ] && printf '%s\t%s\n' "$1" "$2" >>"$TSV"
	return 0
}

# elapsed_ns CMD...: runs CMD (output discarded) and prints its wall time.
elapsed_ns() {
	local s e
	s=$(date +%s%N)
	"$@" >/dev/null 2>"$W/last.err" || {
		cat "$W/last.err" >&2
		return 1
	}
	e=$(date +%s%N)
	echo $((e - s))
}

# mixed_raw PATH MIB: raw data in 64 MiB stripes: half random, a quarter a
# repeated text pattern, a quarter zeros.
mixed_raw() {
	local path=$1 mib=$2 i n
	n=$(((mib + 63) / 64))
	for ((i = 0; i < n; i++)); do
		case $((i % 4)) in
		0 | 2) head -c 64M /dev/urandom ;;
		1) yes "skiff bench stripe $i 0123456789abcdef" | head -c 64M ;;
		3) head -c 64M /dev/zero ;;
		esac
	done | head -c "$((mib * 1048576))" >"$path"
}

# full_qcow2 PATH MIB: a qcow2 whose every cluster is allocated (-S 0 keeps
# the zero stripes as data), so the file is really MIB on disk.
full_qcow2() {
	mixed_raw "$W/gen.raw" "$2" || return 1
	qemu-img convert -f raw -O qcow2 -S 0 "$W/gen.raw" "$1" || return 1
	rm -f "$W/gen.raw"
}

# small_qcow2 PATH MIB N: a qcow2 of MIB fully written, distinct for each N.
small_qcow2() {
	qemu-img create -q -f qcow2 "$1" "$2M" &&
		qemu-io -f qcow2 -c "write -P $(($3 % 256)) 0 $2M" -c "write -P $(($3 / 256 + 1)) 0 512" "$1" >/dev/null
}

# ---------------------------------------------------------------- setup

check_env() {
	local c
	for c in qemu-img qemu-io openssl ostree awk; do
		command -v "$c" >/dev/null 2>&1 || die "'$c' is not installed (make deps)"
	done
	[ -x "$SKIFF" ] || die "no skiff binary at '$SKIFF' (run make)"
	[ -d "$PARENT" ] || die "'$PARENT' does not exist"
	local need_mib avail_kib
	need_mib=$((IMPORT_MIB * 5 + BASE_MIB * 2 + N_SMALL * SMALL_MIB * 2 + N_IMAGES * 3 + 512))
	avail_kib=$(df -Pk "$PARENT" | awk 'NR == 2 { print $4 }')
	[ "$((avail_kib / 1024))" -ge "$need_mib" ] ||
		die "'$PARENT' has $((avail_kib / 1024)) MiB free, the benchmark needs about $need_mib MiB"
	if [ "$COLD_RUNS" -gt 0 ] && ! [ -w "$DROP" ]; then
		say "cannot drop the page cache (not root): no cold-cache column"
		COLD_RUNS=0
	fi
}

describe_host() {
	local fs cpu
	fs=$(df -PT "$W" | awk 'NR == 2 { print $2 " on " $1 " (" $7 ")" }')
	cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
	echo "- host: $(nproc) CPUs ($cpu), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo) RAM," \
		"load average at start $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "- work dir: $W, $fs; inputs, stores and copies all on it"
	echo "- $("$SKIFF" --version 2>/dev/null | head -1), $(ostree --version | awk '/Version/ { print "ostree " $2 }' | tr -d "'"),"\
		"$(openssl version | cut -d' ' -f1-2), $(qemu-img --version | head -1 | cut -d' ' -f1-3)"
}

# ---------------------------------------------------------------- 1. import

DISK=
# prep_TOOL (untimed) and run_TOOL (timed) for each compared tool.
prep_openssl() { :; }
run_openssl() { openssl dgst -sha256 "$DISK"; }
prep_cp() { rm -f "$W/copy"; }
run_cp() { cp "$DISK" "$W/copy"; }
prep_cpsync() { rm -f "$W/copy"; }
run_cpsync() { cp "$DISK" "$W/copy" && sync "$W/copy"; }
prep_ostree() { rm -rf "$W/ostree" && ostree --repo="$W/ostree" init --mode=bare-user; }
run_ostree() { ostree --repo="$W/ostree" commit -b bench --tree=dir="$W/ostree-in"; }
prep_skiff() { rm -rf "$W/store-import" && "$SKIFF" --root "$W/store-import" images; }
run_skiff() { "$SKIFF" --root "$W/store-import" import -q "$DISK" bench:import; }

TOOLS=(openssl cp cpsync ostree skiff)

# one_run TOOL warm|cold: prints the run's nanoseconds.
one_run() {
	"prep_$1" >/dev/null || return 1
	sync
	if [ "$2" = cold ]; then
		echo 3 >"$DROP" || return 1
	else
		cat "$DISK" >/dev/null
	fi
	elapsed_ns "run_$1"
}

# runs CACHE COUNT: COUNT interleaved rounds of every tool; records medians.
runs() {
	local cache=$1 count=$2 round tool ns
	local -A times
	for ((round = 1; round <= count; round++)); do
		for tool in "${TOOLS[@]}"; do
			ns=$(one_run "$tool" "$cache") || die "$tool failed ($cache run $round)"
			times[$tool]+="$ns "
			say "import $cache run $round: $tool $(calc "$ns / 1e9") s"
		done
	done
	for tool in "${TOOLS[@]}"; do
		record "import.$tool.$cache.s" "$(echo "${times[$tool]}" | tr ' ' '\n' | grep . | median |
			awk '{ printf "%.3f", $1 / 1e9 }')"
	done
}

bench_import() {
	DISK=$W/import.qcow2
	say "making a ${IMPORT_MIB} MiB fully allocated qcow2"
	full_qcow2 "$DISK" "$IMPORT_MIB" || die "making the import disk"
	{ mkdir -p "$W/ostree-in" && ln "$DISK" "$W/ostree-in/disk.qcow2"; } || die "linking the ostree input"
	record import.bytes "$(stat -c %s "$DISK")"
	runs warm "$RUNS"
	if [ "$COLD_RUNS" -gt 0 ]; then
		runs cold "$COLD_RUNS"
	fi
	rm -rf "$W/copy" "$W/ostree" "$W/ostree-in" "$W/store-import" "$DISK"
	sync
}

# ---------------------------------------------------------------- 2. list

# time_ms CMD...: median wall time of REPEAT runs of CMD, in ms.
time_ms() {
	local i ns all=
	"$@" >/dev/null 2>&1 || return 1
	for ((i = 0; i < REPEAT; i++)); do
		ns=$(elapsed_ns "$@") || return 1
		all+="$ns "
	done
	echo "$all" | tr ' ' '\n' | grep . | median | awk '{ printf "%.2f", $1 / 1e6 }'
}

bench_list() {
	local root=$W/store-list i ms
	say "importing $N_IMAGES distinct 1 MiB disks"
	mkdir -p "$W/list"
	for ((i = 1; i <= N_IMAGES; i++)); do
		small_qcow2 "$W/list/d.qcow2" 1 "$i" || die "making list disk $i"
		"$SKIFF" --root "$root" import -q "$W/list/d.qcow2" "bench/list:$i" || die "importing list disk $i"
	done
	local count
	count=$("$SKIFF" --root "$root" images -q | wc -l)
	[ "$count" -eq "$N_IMAGES" ] || die "the store lists $count images, expected $N_IMAGES"
	record list.images "$count"
	ms=$(time_ms "$SKIFF" --root "$root" images) || die "skiff images failed"
	record list.images.ms "$ms"
	ms=$(time_ms "$SKIFF" --root "$root" inspect "bench/list:$(((N_IMAGES + 1) / 2))") || die "skiff inspect failed"
	record list.inspect.ms "$ms"
	rm -rf "$root" "$W/list"
}

# ---------------------------------------------------------------- 3. dedup

bench_dedup() {
	local root=$W/store-dedup i ref_bytes store_bytes
	say "making a ${BASE_MIB} MiB base and $N_SMALL distinct ${SMALL_MIB} MiB disks"
	mkdir -p "$W/dedup"
	full_qcow2 "$W/dedup/base.qcow2" "$BASE_MIB" || die "making the base disk"
	for ((i = 1; i <= N_SMALL; i++)); do
		small_qcow2 "$W/dedup/small-$i.qcow2" "$SMALL_MIB" "$((1000 + i))" || die "making small disk $i"
	done
	# What the store has to hold at least: the bytes of each distinct file.
	ref_bytes=$(stat -c %s "$W"/dedup/*.qcow2 | awk '{ s += $1 } END { print s }')
	say "importing the base under $SHARED names and the $N_SMALL small disks"
	for ((i = 1; i <= SHARED; i++)); do
		"$SKIFF" --root "$root" import -q "$W/dedup/base.qcow2" "bench/base:$i" || die "importing the base ($i)"
	done
	for ((i = 1; i <= N_SMALL; i++)); do
		"$SKIFF" --root "$root" import -q "$W/dedup/small-$i.qcow2" "bench/small:$i" || die "importing small disk $i"
	done
	sync
	store_bytes=$(du -s -B1 "$root" | cut -f1)
	record dedup.names "$("$SKIFF" --root "$root" images | tail -n +2 | wc -l)"
	record dedup.images "$("$SKIFF" --root "$root" images -q --no-trunc | sort -u | wc -l)"
	record dedup.ref.bytes "$ref_bytes"
	record dedup.store.bytes "$store_bytes"
	rm -rf "$root" "$W/dedup"
}

# ---------------------------------------------------------------- table

mbs() { awk -v b="${R[import.bytes]}" -v s="${R[import.$1.$2.s]}" 'BEGIN { printf "%.0f", b / s / 1e6 }'; }

verdict() { if awk "BEGIN { exit !($1) }"; then echo met; else echo "**missed**"; fi; }

import_row() {
	local label=$1 tool=$2 cold="-" cold_mbs="-"
	if [ "$COLD_RUNS" -gt 0 ]; then
		cold="$(fmt "${R[import.$tool.cold.s]}" "%.2f") s"
		cold_mbs=$(mbs "$tool" cold)
	fi
	echo "| $label | $(fmt "${R[import.$tool.warm.s]}" "%.2f") s | $(mbs "$tool" warm) | $cold | $cold_mbs | $3 |"
}

# ratio_row LABEL NUM DEN OP LIMIT: warm time of NUM / warm time of DEN.
ratio_row() {
	local r
	r=$(calc "${R[import.$2.warm.s]} / ${R[import.$3.warm.s]}")
	record "import.ratio.$2-$3" "$r"
	echo "| $1 | $(fmt "$r" "%.2f")x | | | | $4 $5: $(verdict "$r $4 $5") |"
}

print_table() {
	local mib=$IMPORT_MIB cold_hdr="1 run"
	[ "$COLD_RUNS" -gt 1 ] && cold_hdr="median of $COLD_RUNS"
	echo "## skiff store benchmark"
	echo
	echo "$HOST"
	echo "- primary numbers are warm page cache (input read once before each run, then \`sync\`);" \
		"cold = page cache dropped before the run; MB = 10^6 bytes"
	echo
	echo "| Benchmark | Warm (median of $RUNS) | Warm MB/s | Cold ($cold_hdr) | Cold MB/s | Target |"
	echo "|---|---|---|---|---|---|"
	import_row "import $mib MiB qcow2: \`openssl dgst -sha256\` (hash only)" openssl "reference"
	import_row "import $mib MiB qcow2: \`cp\` (to page cache, no fsync)" cp "reference"
	import_row "import $mib MiB qcow2: \`cp\` + \`sync FILE\` (fsync)" cpsync "reference"
	import_row "import $mib MiB qcow2: \`ostree commit\`, fresh bare-user repo" ostree "reference"
	import_row "import $mib MiB qcow2: \`skiff import\`, fresh store" skiff "see ratios"
	ratio_row "ostree commit time / skiff import time" ostree skiff ">=" 1.5
	ratio_row "skiff import time / cp + fsync time" skiff cpsync "<=" 2
	ratio_row "skiff import time / cp (no fsync) time" skiff cp "<=" 2
	echo "| \`skiff images\`, ${R[list.images]} images (median of $REPEAT) | ${R[list.images.ms]} ms | | | |" \
		"< 15 ms: $(verdict "${R[list.images.ms]} < 15") |"
	echo "| \`skiff inspect NAME\`, ${R[list.images]} images (median of $REPEAT) | ${R[list.inspect.ms]} ms | | | |" \
		"< 15 ms: $(verdict "${R[list.inspect.ms]} < 15") |"
	local r
	r=$(calc "${R[dedup.store.bytes]} / ${R[dedup.ref.bytes]}")
	record dedup.ratio "$r"
	echo "| store size, DEDUP CASE (identical base, not child layers): $SHARED names of one $BASE_MIB MiB" \
		"base + $N_SMALL distinct $SMALL_MIB MiB disks (${R[dedup.names]} names, ${R[dedup.images]} distinct images);" \
		"\`du -s\` of the store / bytes of base + small disks |" \
		"$(fmt "$r" "%.4f")x ($(fmt "${R[dedup.store.bytes]}" "%.0f") / $(fmt "${R[dedup.ref.bytes]}" "%.0f") B) | | | |" \
		"<= 1.02: $(verdict "$r <= 1.02") |"
	echo
	echo "- load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
}

# ---------------------------------------------------------------- main

check_env
W=$(mktemp -d "$PARENT/skiff-bench.XXXXXX") || die "cannot create a work dir under '$PARENT'"
# A private copy: a rebuild of the tree during the run must not change it.
cp "$SKIFF" "$W/skiff" || die "copying '$SKIFF'"
SKIFF=$W/skiff
[ -n "$TSV" ] && : >"$TSV"
HOST=$(describe_host)
bench_import
bench_list
bench_dedup
print_table
