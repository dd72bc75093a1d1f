#!/usr/bin/env bash
# Benchmarks of skiff's runner, in one run on this machine:
#   1. the time from invoking `skiff run -d --accel tcg IMAGE` to the moment
#      qemu is exec'd, for a 100 MiB and a 10 GiB image (fully allocated
#      qcow2 files, imported with `skiff import`), measured with a stand-in
#      qemu (SKIFF_QEMU) that records `date +%s%N` when it is exec'd and then
#      execs the real qemu-system-x86_64; 20 runs each, interleaved.  When
#      the median misses 30 ms, a few runs under `strace -f --seccomp-bpf`
#      show which step costs what, and the steps are timed once more
#      untraced;
#   2. booting the tiny test guest (tests/guest/out) to its ready line
#      ("skiff-guest: ready" on the serial console) with `skiff run -d`
#      against a hand-written qemu command line for the same guest (microvm,
#      PVH vmlinux, initrd, virtio-blk overlay and seed ISO, virtio-rng, user
#      networking, serial console to a file), 5 runs each, alternating.
# Prints a markdown table on stdout (progress on stderr).  Exits 0 when the
# benchmark ran, whatever the numbers; 2 when it could not run.  Targets are
# reported, never asserted.  Every VM it made is removed and every process
# it started is killed by its PID, also on failure and on INT/TERM.
#
#   tests/bench/runner.sh                        # the full run (~5 min, ~21 GiB)
#   SK_BENCH_LARGE_MIB=256 SK_BENCH_EXEC_RUNS=5 tests/bench/runner.sh
#
# Knobs (environment): SKIFF (binary, default ./skiff of this tree),
# SK_BENCH_TMPDIR (parent of the private work dir, default /var/tmp),
# SK_BENCH_SMALL_MIB (100), SK_BENCH_LARGE_MIB (10240), SK_BENCH_PREALLOC
# (how the images are allocated: full, falloc, metadata or off; default
# full when the disk has room, else metadata, said in the table),
# SK_BENCH_EXEC_RUNS (20), SK_BENCH_TRACE (auto: trace when the median
# misses 30 ms; always; never), SK_BENCH_TRACE_RUNS (5),
# SK_BENCH_BOOT_RUNS (5; 0 skips the boot benchmark), SK_BENCH_BOOT_WARMUP
# (1: one untimed boot of each kind first; 0: none), SK_BENCH_ACCEL (tcg,
# for both skiff and the hand-written qemu), SKIFF_TINY_GUEST (the tiny
# guest's directory, default tests/guest/out), SK_BENCH_TSV (also write
# key<TAB>value results there, for tests/bench/smoke-runner.sh).
#
# Timing: `date +%s%N` in this shell just before the command, against the
# stand-in's own `date +%s%N` (1.) or the first poll that finds the ready
# line in the console file (2., polled every 20 ms).  The stand-in's own
# start (sh + date) is inside the numbers of 1.; it is measured on its own
# and shown beside them.

set -u -o pipefail

SRCDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SKIFF=${SKIFF:-$SRCDIR/skiff}
SMALL_MIB=${SK_BENCH_SMALL_MIB:-100}
LARGE_MIB=${SK_BENCH_LARGE_MIB:-10240}
PREALLOC=${SK_BENCH_PREALLOC:-}
EXEC_RUNS=${SK_BENCH_EXEC_RUNS:-20}
TRACE=${SK_BENCH_TRACE:-auto}
TRACE_RUNS=${SK_BENCH_TRACE_RUNS:-5}
BOOT_RUNS=${SK_BENCH_BOOT_RUNS:-5}
BOOT_WARMUP=${SK_BENCH_BOOT_WARMUP:-1}
ACCEL=${SK_BENCH_ACCEL:-tcg}
GUEST=${SKIFF_TINY_GUEST:-$SRCDIR/tests/guest/out}
TSV=${SK_BENCH_TSV:-}
PARENT=${SK_BENCH_TMPDIR:-/var/tmp}
READY='skiff-guest: ready'
EXEC_TARGET_MS=30

die() {
	echo "runner.sh: could not run: $*" >&2
	exit 2
}
say() { echo "runner.sh: $*" >&2; }

# ---------------------------------------------------------------- cleanup

W=
ROOT=
QEMU_PID=
cleanup() {
	local id
	if [ -n "$QEMU_PID" ]; then
		kill -KILL "$QEMU_PID" 2>/dev/null
		wait "$QEMU_PID" 2>/dev/null
	fi
	if [ -n "$ROOT" ] && [ -d "$ROOT/vms" ]; then
		for id in $("$SKIFF" --root "$ROOT" ps -a -q --no-trunc 2>/dev/null); do
			"$SKIFF" --root "$ROOT" rm -f "$id" >/dev/null 2>&1 || say "could not remove VM '$id'"
		done
	fi
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

# Prints the Pth percentile (nearest rank) of the numbers on stdin.
percentile() {
	sort -g | awk -v p="$1" '{ a[NR] = $1 } END { if (NR == 0) exit 1;
		r = int(p / 100 * NR); if (r < p / 100 * NR) r++; if (r < 1) r = 1; print a[r] }'
}

calc() { awk "BEGIN { printf \"%.6g\", $1 }"; }
fmt() { awk -v v="$1" -v f="$2" 'BEGIN { printf f, v }'; }
verdict() { if awk "BEGIN { exit !($1) }"; then echo met; else echo "**missed**"; fi; }
mib() { awk -v b="$1" 'BEGIN { if (b >= 1073741824) printf "%.2f GiB", b / 1073741824;
	else printf "%.1f MiB", b / 1048576 }'; }

declare -A R
record() {
	R[$1]=$2
	[ -n "$TSV" ] && printf '%s\t%s\n' "$1" "$2" >>"$TSV"
	return 0
}

sk() { "$SKIFF" --root "$ROOT" "$@"; }

# ns_to_ms LIST: the numbers (ns) of LIST, one per line, in ms.
ns_to_ms() { tr ' ' '\n' | grep . | awk '{ printf "%.3f\n", $1 / 1e6 }'; }

# ---------------------------------------------------------------- setup

check_env() {
	local c
	for c in qemu-img qemu-io qemu-system-x86_64 ssh-keygen genisoimage awk python3; do
		command -v "$c" >/dev/null 2>&1 || die "'$c' is not installed (make deps)"
	done
	[ -x "$SKIFF" ] || die "no skiff binary at '$SKIFF' (run make)"
	[ -x "$(dirname "$SKIFF")/skiff-monitor" ] || die "no skiff-monitor beside '$SKIFF' (run make)"
	[ -d "$PARENT" ] || die "'$PARENT' does not exist"
	if [ "$BOOT_RUNS" -gt 0 ]; then
		local f
		for f in vmlinux initrd.img rootfs.qcow2 cmdline; do
			[ -s "$GUEST/$f" ] || die "no tiny guest in '$GUEST' (tests/guest/build-tiny.sh '$GUEST')"
		done
	fi
	case $TRACE in auto | always | never) ;; *) die "SK_BENCH_TRACE must be auto, always or never" ;; esac
}

# Chooses how to allocate the images: the image files and their copies in
# the store must fit, with 2 GiB to spare.
choose_prealloc() {
	local need_mib avail_mib
	need_mib=$(((SMALL_MIB + LARGE_MIB) * 2 + 2048))
	avail_mib=$(($(df -Pk "$PARENT" | awk 'NR == 2 { print $4 }') / 1024))
	if [ -n "$PREALLOC" ]; then
		ALLOC_NOTE="preallocation=$PREALLOC (SK_BENCH_PREALLOC)"
	elif [ "$avail_mib" -ge "$need_mib" ]; then
		PREALLOC=full
		ALLOC_NOTE="preallocation=full: every byte written, the files are as large as the disks"
	else
		PREALLOC=metadata
		ALLOC_NOTE="preallocation=metadata, NOT full: '$PARENT' has $avail_mib MiB free, full allocation needs $need_mib MiB; the files are sparse"
	fi
	say "images: $ALLOC_NOTE"
}

describe_host() {
	local fs cpu
	fs=$(df -PT "$W" | awk 'NR == 2 { print $2 " on " $1 }')
	cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
	echo "- host: $(nproc) CPUs ($cpu), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo) RAM," \
		"load average at start $(cut -d' ' -f1-3 /proc/loadavg); work dir $W ($fs)"
	echo "- $("$SKIFF" --version 2>/dev/null | head -1), $(qemu-system-x86_64 --version | head -1)," \
		"skiff links $(ldd "$SKIFF" | grep -c '=>') shared libraries"
}

# ---------------------------------------------------------------- 1. exec

STANDIN=
STANDIN_STAMP=

# The stand-in qemu: records the time it was exec'd, then either becomes
# the real qemu (the run succeeds) or, with SK_STANDIN_FAIL set (traced
# runs: strace must not follow a long-lived qemu), exits 1.
make_standin() {
	STANDIN=$W/qemu-standin
	STANDIN_STAMP=$W/standin.stamp
	cat >"$STANDIN" <<-EOF
		#!/bin/sh
		date +%s%N >"$STANDIN_STAMP"
		[ -z "\${SK_STANDIN_FAIL:-}" ] || exit 1
		exec "$(command -v qemu-system-x86_64)" "\$@"
	EOF
	chmod +x "$STANDIN"
}

# make_image PATH MIB: a qcow2 of MIB allocated as $PREALLOC, with 4 MiB of
# data at its start and 1 MiB at its end.
make_image() {
	qemu-img create -q -f qcow2 -o "preallocation=$PREALLOC" "$1" "$2M" || return 1
	qemu-io -f qcow2 -c "write -P 0x5a 0 4M" -c "write -P 0xa5 $(($2 - 1))M 1M" "$1" >/dev/null
}

# add_image TAG MIB: makes, imports and describes image TAG.
add_image() {
	local tag=$1 size=$2 disk=$W/$1.qcow2 s e
	say "making the ${size} MiB image ($PREALLOC)"
	make_image "$disk" "$size" || die "making the ${size} MiB image"
	record "image.$tag.virtual.bytes" "$(qemu-img info --output=json "$disk" |
		python3 -c 'import json, sys; print(json.load(sys.stdin)["virtual-size"])')"
	record "image.$tag.file.bytes" "$(stat -c %s "$disk")"
	record "image.$tag.disk.bytes" "$(du -B1 "$disk" | cut -f1)"
	say "importing the ${size} MiB image"
	s=$(date +%s%N)
	sk import -q "$disk" "bench-$tag" || die "importing the ${size} MiB image"
	e=$(date +%s%N)
	record "image.$tag.import.s" "$(calc "($e - $s) / 1e9")"
	rm -f "$disk"
	sync
}

# exec_run IMAGE: one `skiff run -d`; prints "ns-to-exec ns-to-return".
exec_run() {
	local s e stamp id
	rm -f "$STANDIN_STAMP"
	s=$(date +%s%N)
	id=$(SKIFF_QEMU=$STANDIN sk run -d --accel tcg "$1" 2>"$W/run.err") || {
		cat "$W/run.err" >&2
		return 1
	}
	e=$(date +%s%N)
	stamp=$(cat "$STANDIN_STAMP" 2>/dev/null) || return 1
	sk rm -f "$id" >/dev/null || return 1
	echo "$((stamp - s)) $((e - s))"
}

# The stand-in alone, started the way this shell starts skiff: its sh and
# date are part of every number above.
standin_overhead() {
	local i s all=
	for ((i = 0; i < 10; i++)); do
		s=$(date +%s%N)
		SK_STANDIN_FAIL=1 "$STANDIN" 2>/dev/null
		all+="$(($(cat "$STANDIN_STAMP") - s)) "
	done
	echo "$all" | ns_to_ms | median
}

bench_exec() {
	local i tag t msg
	local -A to_exec to_return
	add_image small "$SMALL_MIB"
	add_image large "$LARGE_MIB"
	make_standin
	say "warming up"
	exec_run bench-small >/dev/null || die "skiff run with the stand-in failed"
	exec_run bench-large >/dev/null || die "skiff run with the stand-in failed"
	for ((i = 1; i <= EXEC_RUNS; i++)); do
		msg=
		for tag in small large; do
			t=$(exec_run "bench-$tag") || die "run $i of bench-$tag failed"
			to_exec[$tag]+="${t% *} "
			to_return[$tag]+="${t#* } "
			msg+=" $tag $(calc "${t% *} / 1e6") ms"
		done
		say "exec run $i/$EXEC_RUNS:$msg"
	done
	for tag in small large; do
		record "exec.$tag.median.ms" "$(echo "${to_exec[$tag]}" | ns_to_ms | median)"
		record "exec.$tag.p90.ms" "$(echo "${to_exec[$tag]}" | ns_to_ms | percentile 90)"
		record "exec.$tag.min.ms" "$(echo "${to_exec[$tag]}" | ns_to_ms | sort -g | head -1)"
		record "exec.$tag.max.ms" "$(echo "${to_exec[$tag]}" | ns_to_ms | sort -g | tail -1)"
		record "exec.$tag.return.median.ms" "$(echo "${to_return[$tag]}" | ns_to_ms | median)"
	done
	record exec.ratio "$(calc "${R[exec.large.median.ms]} / ${R[exec.small.median.ms]}")"
	record exec.standin.ms "$(standin_overhead)"
}

# ---------------------------------------------------------------- 1b. where the time goes

# The phases of one traced `skiff run -d`, from landmarks in strace's
# output: the store lock, the overlay's creation, the first read of the
# VM's public key (its key pairs are written by then), the fork and exec of
# the monitor, its first read of record.json, the exec of the stand-in and
# the stand-in's own timestamp.  Prints "label<TAB>ms" lines (median over
# the traces given), then the fsync total.
PHASES_PY='
import re, statistics, sys

LINE = re.compile(r"^(\d+)\s+(\d+\.\d+)\s+(.*)$")
DUR = re.compile(r"<(\d+\.\d+)>\s*$")

def load(path):
    ev = []
    for line in open(path, errors="replace"):
        m = LINE.match(line.rstrip("\n"))
        if m:
            ev.append((int(m.group(1)), float(m.group(2)), m.group(3)))
    return ev

def execs(ev):
    out = []
    for pid, t, s in ev:
        m = re.match(r"execve\(\"([^\"]+)\"", s)
        if m and "= -1 " not in s:
            out.append((pid, t, m.group(1).rsplit("/", 1)[-1], s))
    return out

def exit_of(ev, pid):
    for p, t, s in ev:
        if p == pid and s.startswith("exit_group("):
            return t
    return None

def first(ev, pred, after=0.0):
    for pid, t, s in ev:
        if t >= after and pred(pid, s):
            return t
    return None

def phases(path, stamp_ns, standin):
    ev = load(path)
    main = ev[0][0]
    t0 = ev[0][1]
    ex = execs(ev)
    def child(name, n=0):
        hits = [e for e in ex if e[2] == name and e[0] != main]
        return hits[n] if len(hits) > n else None
    mon = next((e for e in ex if e[2] == "skiff-monitor"), None)
    mon_pid = mon[0] if mon else -1
    stand = next((e for e in ex if e[2] == standin), None)
    fork = None
    if mon:
        for pid, t, s in ev:
            if t > mon[1]:
                break
            if pid == main and re.match(r"(clone3?|fork|vfork)\(", s) and "CLONE_THREAD" not in s \
                    and "CLONE_VFORK" not in s and "CLONE_VM" not in s:
                fork = t
    marks = [
        (first(ev, lambda p, s: p == main and "store.lock" in s),
         "`skiff run` process start: exec, dynamic loading, constructors"),
        (first(ev, lambda p, s: p == main and "overlay.qcow2" in s),
         "open store, look up image, VM record and hold, layer checkout"),
        (first(ev, lambda p, s: p == main and "id_ed25519.pub\"" in s and "O_RDONLY" in s),
         "overlay qcow2 and both ed25519 key pairs (in-process)"),
        (fork, "user-data, seed ISO, known_hosts, record.json, qemu argv check"),
        (mon and mon[1], "fork of the monitor, until its exec"),
        (first(ev, lambda p, s: p == mon_pid and "record.json" in s, mon[1] if mon else 0),
         "`skiff-monitor` process start: exec, dynamic loading, constructors"),
        (stand and stand[1], "monitor: load record, monitor.pid, qemu argv, fork and exec"),
        (stamp_ns / 1e9, "stand-in qemu: sh start and `date` (not skiff)"),
    ]
    out, prev, pending = [], t0, ""
    for t, label in marks:
        if t is None or t < prev:
            pending += label + "; "
            continue
        out.append((pending + label, (t - prev) * 1000))
        prev, pending = t, ""
    out.append(("total, traced", (stamp_ns / 1e9 - t0) * 1000))
    fsync = 0.0
    for pid, t, s in ev:
        if ("fsync" in s or "fdatasync" in s) and "unfinished" not in s:
            m = DUR.search(s)
            if m and (pid == main or pid == mon_pid):
                fsync += float(m.group(1)) * 1000
    out.append(("of which fsync/fdatasync by skiff (run + monitor)", fsync))
    return out

standin = sys.argv[1]
runs = [phases(sys.argv[i], int(sys.argv[i + 1]), standin) for i in range(2, len(sys.argv), 2)]
labels = [label for label, _ in runs[0]]
for label in labels:
    vals = [dict(r).get(label) for r in runs]
    vals = [v for v in vals if v is not None]
    print("%s\t%.1f\t%d" % (label, statistics.median(vals), len(vals)))
'

# One `skiff run -d` under strace, with the failing stand-in.
trace_run() {
	local n=$1
	rm -f "$STANDIN_STAMP"
	SK_STANDIN_FAIL=1 SKIFF_QEMU=$STANDIN strace -f --seccomp-bpf -ttt -T -o "$W/trace.$n" \
		-e trace=execve,exit_group,openat,clone,clone3,fork,vfork,fsync,fdatasync -e signal=none \
		"$SKIFF" --root "$ROOT" run -d --accel tcg bench-small >/dev/null 2>"$W/trace.$n.err"
	[ -s "$STANDIN_STAMP" ] || {
		cat "$W/trace.$n.err" >&2
		return 1
	}
	cp "$STANDIN_STAMP" "$W/trace.$n.stamp"
}

# time_ms CMD...: median wall time of 10 untraced runs of CMD, in ms (1
# decimal); $I is the run's number.
I=0
time_ms() {
	local s e all=
	for ((I = 0; I < 10; I++)); do
		s=$(date +%s%N)
		"$@" >/dev/null 2>&1 || return 1
		e=$(date +%s%N)
		all+="$((e - s)) "
	done
	echo "$all" | ns_to_ms | median | awk '{ printf "%.1f", $1 }'
}

# skiff-monitor's process start: without arguments it prints its usage
# and exits 125 at once.
monitor_once() {
	"$W/skiff-monitor" >/dev/null 2>&1
	[ $? -eq 125 ]
}

bench_breakdown() {
	local n args=()
	if [ "$TRACE" = never ] || { [ "$TRACE" = auto ] &&
		awk "BEGIN { exit !(${R[exec.small.median.ms]} < $EXEC_TARGET_MS) }"; }; then
		BREAKDOWN=
		return 0
	fi
	command -v strace >/dev/null 2>&1 || {
		say "strace is not installed: no breakdown"
		BREAKDOWN=
		return 0
	}
	say "tracing $TRACE_RUNS runs"
	for ((n = 1; n <= TRACE_RUNS; n++)); do
		trace_run "$n" || die "traced run $n failed"
		args+=("$W/trace.$n" "$(cat "$W/trace.$n.stamp")")
	done
	BREAKDOWN=$(python3 -c "$PHASES_PY" "$(basename "$STANDIN")" "${args[@]}") || die "reading the traces"
	record trace.steps "$(printf '%s\n' "$BREAKDOWN" | grep -vc '^total\|^of which')"
	record trace.total.ms "$(printf '%s\n' "$BREAKDOWN" | awk -F'\t' '$1 == "total, traced" { print $2 }')"
	say "timing the steps untraced"
	record step.skiff-version.ms "$(time_ms "$SKIFF" --version)"
	record step.skiff-ps.ms "$(time_ms "$SKIFF" --root "$ROOT" ps)"
	record step.monitor.ms "$(time_ms monitor_once)"
	record step.true.ms "$(time_ms /bin/true)"
}

# ---------------------------------------------------------------- 2. boot

# wait_ready FILE PID: polls FILE every 20 ms for the ready line (up to
# 180 s, as long as PID lives when given); prints the time it was seen.
wait_ready() {
	local file=$1 pid=${2:-} i
	for ((i = 0; i < 9000; i++)); do
		if grep -q "$READY" "$file" 2>/dev/null; then
			date +%s%N
			return 0
		fi
		[ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null && return 1
		sleep 0.02
	done
	return 1
}

# boot_skiff N: one `skiff run -d` of the tiny guest; prints "ns-to-ready".
boot_skiff() {
	local s id t
	s=$(date +%s%N)
	id=$(sk run -d --accel "$ACCEL" --name "boot-$1" tiny 2>"$W/run.err") || {
		cat "$W/run.err" >&2
		return 1
	}
	t=$(wait_ready "$ROOT/vms/$id/console.log") || {
		sk logs "$id" | tail -20 >&2
		sk rm -f "$id" >/dev/null
		return 1
	}
	sk rm -f "$id" >/dev/null || return 1
	echo "$((t - s))"
}

# The tiny guest's seed, written the way skiff's runner/userdata.c does
# (hostname, an authorized key, a pinned ed25519 host key), with
# genisoimage.
manual_seed() {
	local d=$1 n=$2
	mkdir -p "$d/seed"
	ssh-keygen -q -t ed25519 -N '' -C "bench-$n" -f "$d/user_key" || return 1
	ssh-keygen -q -t ed25519 -N '' -C "bench-$n" -f "$d/host_key" || return 1
	printf 'instance-id: "bench-%s-%s"\nlocal-hostname: "manual-%s"\n' "$$" "$n" "$n" >"$d/seed/meta-data"
	{
		echo '#cloud-config'
		echo "hostname: \"manual-$n\""
		echo 'ssh_authorized_keys:'
		echo "  - \"$(cat "$d/user_key.pub")\""
		echo 'disable_root: false'
		echo 'ssh_pwauth: false'
		echo 'ssh_keys:'
		echo '  ed25519_private: |'
		sed 's/^/    /' "$d/host_key"
		echo "  ed25519_public: \"$(cat "$d/host_key.pub")\""
	} >"$d/seed/user-data"
	genisoimage -quiet -V cidata -J -r -o "$d/seed.iso" "$d/seed/meta-data" "$d/seed/user-data"
}

host_tsc_khz() {
	local khz
	khz=$(cat /sys/devices/system/cpu/cpu0/tsc_freq_khz 2>/dev/null)
	[ -n "$khz" ] || khz=$(awk -F: '/^cpu MHz/ { printf "%d\n", $2 * 1000; exit }' /proc/cpuinfo)
	echo "$khz"
}

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# boot_manual N: the hand-written qemu; prints "ns-prep ns-to-ready" where
# the first part (keys, overlay, seed) is done before qemu starts.
boot_manual() {
	local n=$1 d=$W/manual-$1 s q t port append
	mkdir -p "$d"
	port=$(free_port)
	append="$(cat "$GUEST/cmdline") panic=-1 tsc_early_khz=$(host_tsc_khz)"
	s=$(date +%s%N)
	qemu-img create -q -f qcow2 -F qcow2 -b "$GUEST/rootfs.qcow2" "$d/overlay.qcow2" || return 1
	manual_seed "$d" "$n" || return 1
	q=$(date +%s%N)
	qemu-system-x86_64 -accel "$ACCEL" -M microvm,acpi=on -nodefaults -no-user-config -display none \
		-no-reboot -m 256M -smp 1 \
		-kernel "$GUEST/vmlinux" -initrd "$GUEST/initrd.img" -append "$append" \
		-blockdev "node-name=disk0,driver=qcow2,file.driver=file,file.filename=$d/overlay.qcow2" \
		-device virtio-blk-device,drive=disk0 \
		-blockdev "node-name=seed0,driver=raw,read-only=on,file.driver=file,file.filename=$d/seed.iso" \
		-device virtio-blk-device,drive=seed0 \
		-device virtio-rng-device \
		-netdev "user,id=net0,hostfwd=tcp:127.0.0.1:$port-:22" -device virtio-net-device,netdev=net0 \
		-serial "file:$d/console.log" -qmp "unix:$d/qmp.sock,server=on,wait=off" \
		</dev/null >"$d/qemu.log" 2>&1 &
	QEMU_PID=$!
	t=$(wait_ready "$d/console.log" "$QEMU_PID") || {
		tail -20 "$d/console.log" "$d/qemu.log" >&2
		return 1
	}
	kill -KILL "$QEMU_PID" 2>/dev/null
	wait "$QEMU_PID" 2>/dev/null
	QEMU_PID=
	rm -rf "$d"
	echo "$((q - s)) $((t - q))"
}

bench_boot() {
	local i s t all_skiff='' all_qemu='' all_prep=''
	say "importing the tiny guest"
	sk import -q --kernel "$GUEST/vmlinux" --initrd "$GUEST/initrd.img" --cmdline "$(cat "$GUEST/cmdline")" \
		--memory 256 "$GUEST/rootfs.qcow2" tiny || die "importing the tiny guest"
	if [ "$BOOT_WARMUP" = 1 ]; then
		say "warming up (one untimed boot each)"
		boot_skiff 0 >/dev/null || die "the tiny guest did not boot under skiff"
		boot_manual 0 >/dev/null || die "the tiny guest did not boot under the hand-written qemu"
	fi
	for ((i = 1; i <= BOOT_RUNS; i++)); do
		s=$(boot_skiff "$i") || die "boot run $i under skiff failed"
		all_skiff+="$s "
		t=$(boot_manual "$i") || die "boot run $i under the hand-written qemu failed"
		all_prep+="${t% *} "
		all_qemu+="${t#* } "
		say "boot run $i/$BOOT_RUNS: skiff $(calc "$s / 1e9") s," \
			"qemu $(calc "${t#* } / 1e9") s (+ $(calc "${t% *} / 1e9") s to prepare)"
	done
	local total=
	for i in $(seq 1 "$BOOT_RUNS"); do
		total+="$(($(echo "$all_prep" | cut -d' ' -f"$i") + $(echo "$all_qemu" | cut -d' ' -f"$i"))) "
	done
	record boot.skiff.median.s "$(echo "$all_skiff" | ns_to_ms | median | awk '{ printf "%.3f", $1 / 1000 }')"
	record boot.manual.median.s "$(echo "$all_qemu" | ns_to_ms | median | awk '{ printf "%.3f", $1 / 1000 }')"
	record boot.manualprep.median.s "$(echo "$total" | ns_to_ms | median | awk '{ printf "%.3f", $1 / 1000 }')"
	record boot.skiff.runs.s "$(echo "$all_skiff" | ns_to_ms | awk '{ printf "%s%.2f", (NR > 1 ? " " : ""), $1 / 1000 }')"
	record boot.manual.runs.s "$(echo "$all_qemu" | ns_to_ms | awk '{ printf "%s%.2f", (NR > 1 ? " " : ""), $1 / 1000 }')"
	record boot.ratio "$(calc "${R[boot.skiff.median.s]} / ${R[boot.manual.median.s]}")"
	record boot.ratio.prep "$(calc "${R[boot.skiff.median.s]} / ${R[boot.manualprep.median.s]}")"
}

# ---------------------------------------------------------------- table

image_row() {
	local tag=$1
	echo "| \`skiff run -d --accel tcg\` → qemu exec, $(mib "${R[image.$tag.virtual.bytes]}") image" \
		"(file $(mib "${R[image.$tag.file.bytes]}"), $(mib "${R[image.$tag.disk.bytes]}") on disk;" \
		"import $(fmt "${R[image.$tag.import.s]}" "%.1f") s) |" \
		"$(fmt "${R[exec.$tag.median.ms]}" "%.1f") ms | $(fmt "${R[exec.$tag.p90.ms]}" "%.1f") ms |" \
		"$(fmt "${R[exec.$tag.min.ms]}" "%.1f")–$(fmt "${R[exec.$tag.max.ms]}" "%.1f") ms |" \
		"< $EXEC_TARGET_MS ms: $(verdict "${R[exec.$tag.median.ms]} < $EXEC_TARGET_MS") |"
}

print_exec_table() {
	echo "### 1. \`skiff run\` to qemu's exec ($EXEC_RUNS runs each, interleaved)"
	echo
	echo "| Measurement | Median | p90 | Range | Target |"
	echo "|---|---|---|---|---|"
	image_row small
	image_row large
	echo "| ratio of the medians, $(mib "${R[image.large.virtual.bytes]}") / $(mib "${R[image.small.virtual.bytes]}") |" \
		"$(fmt "${R[exec.ratio]}" "%.2f")x | | | <= 1.1x: $(verdict "${R[exec.ratio]} <= 1.1") |"
	echo "| the stand-in alone (sh + \`date\`), inside the numbers above | $(fmt "${R[exec.standin.ms]}" "%.1f") ms | | | |"
	echo "| \`skiff run -d\` until it returns (qemu's QMP answers), $(mib "${R[image.small.virtual.bytes]}") image |" \
		"$(fmt "${R[exec.small.return.median.ms]}" "%.1f") ms | | | |"
	echo
	echo "- images: qcow2, $ALLOC_NOTE; 4 MiB of data at the start, 1 MiB at the end (qemu-io)"
	[ -n "$BREAKDOWN" ] || return 0
	echo
	echo "#### Where the time goes: \`strace -f --seccomp-bpf -ttt -T\`, median of $TRACE_RUNS traced runs ($(mib "${R[image.small.virtual.bytes]}") image)"
	echo
	echo "Tracing slows every step; the share of each is what counts. The stand-in exits at once here, so strace ends."
	echo
	echo "| Step (between landmarks in the trace) | ms |"
	echo "|---|---|"
	printf '%s\n' "$BREAKDOWN" | awk -F'\t' '{ printf "| %s | %.1f |\n", $1, $2 }'
	echo
	echo "The same kinds of steps untraced (median of 10):"
	echo
	echo "| Command | ms |"
	echo "|---|---|"
	echo "| \`/bin/true\` (fork + exec from bash) | ${R[step.true.ms]} |"
	echo "| \`skiff --version\` (a skiff process start: $(ldd "$SKIFF" | grep -c '=>') shared libraries) | ${R[step.skiff-version.ms]} |"
	echo "| \`skiff ps\` (process start + store open, no VMs) | ${R[step.skiff-ps.ms]} |"
	echo "| \`skiff-monitor\` without arguments (its process start: $(ldd "$W/skiff-monitor" | grep -c '=>') shared libraries) | ${R[step.monitor.ms]} |"
}

print_boot_table() {
	[ "$BOOT_RUNS" -gt 0 ] || return 0
	echo
	local warm=", after one warm-up each"
	[ "$BOOT_WARMUP" = 1 ] || warm=", no warm-up"
	echo "### 2. Boot of the tiny guest to \"$READY\" ($BOOT_RUNS runs each, alternating$warm)"
	echo
	echo "| Measurement | Median | Runs | Target |"
	echo "|---|---|---|---|"
	echo "| \`skiff run -d --accel $ACCEL tiny\`, from invoking skiff to the line in vms/ID/console.log |" \
		"${R[boot.skiff.median.s]} s | ${R[boot.skiff.runs.s]} | |"
	echo "| hand-written \`qemu-system-x86_64\` (microvm, PVH vmlinux), from its start |" \
		"${R[boot.manual.median.s]} s | ${R[boot.manual.runs.s]} | |"
	echo "| hand-written, counting 2 × ssh-keygen + qemu-img create + genisoimage before it |" \
		"${R[boot.manualprep.median.s]} s | | |"
	echo "| ratio skiff / hand-written qemu | $(fmt "${R[boot.ratio]}" "%.3f")x | |" \
		"<= 1.05x: $(verdict "${R[boot.ratio]} <= 1.05") |"
	echo "| ratio skiff / hand-written with its preparation | $(fmt "${R[boot.ratio.prep]}" "%.3f")x | | |"
	echo
	echo "- hand-written: \`-accel $ACCEL -M microvm,acpi=on -nodefaults -no-user-config -display none -no-reboot" \
		"-m 256M -smp 1 -kernel vmlinux -initrd initrd.img -append '$(cat "$GUEST/cmdline") panic=-1" \
		"tsc_early_khz=$(host_tsc_khz)'\`, virtio-blk-device overlay (qcow2 on rootfs.qcow2) and seed ISO" \
		"(\`genisoimage -V cidata -J -r\`: instance-id, hostname, authorized key, pinned ed25519 host key)," \
		"virtio-rng-device, \`-netdev user\` with an SSH hostfwd on virtio-net-device, \`-serial file:\`, a QMP socket"
}

# ---------------------------------------------------------------- main

check_env
W=$(mktemp -d "$PARENT/skiff-bench-runner.XXXXXX") || die "cannot create a work dir under '$PARENT'"
# A private copy: a rebuild of the tree during the run must not change it.
cp "$SKIFF" "$W/skiff" || die "copying '$SKIFF'"
cp "$(dirname "$SKIFF")/skiff-monitor" "$W/skiff-monitor" || die "copying skiff-monitor from beside '$SKIFF'"
SKIFF=$W/skiff
ROOT=$W/root
[ -n "$TSV" ] && : >"$TSV"
choose_prealloc
HOST=$(describe_host)
BREAKDOWN=
bench_exec
bench_breakdown
[ "$BOOT_RUNS" -gt 0 ] && bench_boot
echo "## skiff runner benchmark"
echo
echo "$HOST"
echo
print_exec_table
print_boot_table
echo
echo "- load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
