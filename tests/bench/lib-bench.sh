# Sourced by the transport benchmarks (tests/bench/registry.sh, s3.sh)
# after tests/e2e/lib.sh, once $W (their work dir), $TSV (SK_BENCH_TSV, may
# be empty) and die() are set.  Timing: `date +%s%N` around the command
# alone, `sync` before it so no earlier run's writeback is charged to it.

# record KEY VALUE: one key<TAB>value line in $TSV, when there is one.
record() {
	[ -n "$TSV" ] && printf '%s\t%s\n' "$1" "$2" >>"$TSV"
	return 0
}

now_ns() { date +%s%N; }

# median of the numbers on stdin
median() { sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

# cpu_of PID...: the user and system CPU seconds the PIDs have used so far.
BENCH_HZ=$(getconf CLK_TCK)
cpu_of() {
	local pid
	for pid; do cat "/proc/$pid/stat"; done | awk -v hz="$BENCH_HZ" '{ t += $14 + $15 } END { printf "%.2f\n", t / hz }'
}

# The servers whose CPU time `timed` also records (PIDs, space-separated).
BENCH_SERVER_PIDS=

# Warm-up: the first SK_BENCH_WARMUP rounds (default 1) of a benchmark's
# loop run every command without recording it.  On the 2-core VMs here the
# first runs of a benchmark were the slowest for every tool (skiff's and
# skopeo's pulls got faster run after run, most likely as the guest's
# memory warmed up), and a median of few runs should not measure that.
# A loop runs `for ((run = BENCH_FIRST_RUN; run <= RUNS; run++))` and sets
# BENCH_RUN.
BENCH_WARMUP=${SK_BENCH_WARMUP:-1}
[[ $BENCH_WARMUP =~ ^[0-9]+$ ]] || die "SK_BENCH_WARMUP must be a number of rounds"
BENCH_FIRST_RUN=$((1 - BENCH_WARMUP))
BENCH_RUN=1

# round_name: "warm-up round" or "run N of RUNS", for progress lines.
round_name() {
	if [ "$BENCH_RUN" -lt 1 ]; then echo "warm-up round"; else echo "run $BENCH_RUN of $RUNS"; fi
}

# warmup_note: ", after N warm-up rounds" for a table's heading ("" for none).
warmup_note() {
	case $BENCH_WARMUP in
	0) ;;
	1) echo ", after 1 warm-up round" ;;
	*) echo ", after $BENCH_WARMUP warm-up rounds" ;;
	esac
}

# timed FILE CMD...: appends CMD's wall time in seconds to FILE, the CPU
# time (user + system) it used to FILE.cpu and, with $BENCH_SERVER_PIDS,
# the CPU time those servers used meanwhile to FILE.srv (client and
# servers share the 2 cores: the sum over 2 bounds the wall time).  In a
# warm-up round (BENCH_RUN < 1) it records nothing.  A failing CMD stops
# the benchmark with its error.
timed() {
	local file=$1 start end before= after TIMEFORMAT='%3U %3S'
	shift
	sync
	# shellcheck disable=SC2086 # a list of PIDs
	[ -n "$BENCH_SERVER_PIDS" ] && before=$(cpu_of $BENCH_SERVER_PIDS)
	start=$(now_ns)
	{ time "$@" >/dev/null 2>"$W/last.err"; } 2>"$W/last.time" || {
		cat "$W/last.err" >&2
		die "'$*' failed"
	}
	end=$(now_ns)
	[ "$BENCH_RUN" -ge 1 ] || return 0 # a warm-up round records nothing
	awk -v s="$start" -v e="$end" 'BEGIN { printf "%.3f\n", (e - s) / 1e9 }' >>"$file"
	awk '{ printf "%.2f\n", $1 + $2 }' "$W/last.time" >>"$file.cpu"
	if [ -n "$before" ]; then
		# shellcheck disable=SC2086
		after=$(cpu_of $BENCH_SERVER_PIDS)
		awk -v a="$after" -v b="$before" 'BEGIN { printf "%.2f\n", a - b }' >>"$file.srv"
	fi
	return 0
}

# runs_line LABEL FILE...: "LABEL: the FILEs' runs" (seconds, in the order
# they ran, one group per FILE), so a table's medians come with their spread.
runs_line() {
	local label=$1 f out=
	shift
	for f; do out="$out$(basename "$f"): $(tr '\n' ' ' <"$f"); "; done
	echo "- $label: ${out%; }"
}
