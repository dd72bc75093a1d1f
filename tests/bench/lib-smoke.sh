# Sourced by the smoke tests of the benchmarks (tests/bench/smoke-*.sh),
# after tests/e2e/lib.sh, once $TSV names the key<TAB>value file the
# benchmark writes (SK_BENCH_TSV).

# value KEY: what the benchmark recorded for KEY.
value() { awk -F'\t' -v k="$1" '$1 == k { print $2 }' "$TSV"; }

# is_number KEY: a TAP check that the value recorded for KEY is a positive
# number.
is_number() {
	local v
	v=$(value "$1")
	if [[ $v =~ ^[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$ ]] && awk -v v="$v" 'BEGIN { exit !(v > 0) }'; then
		ok "$1 = $v"
	else
		not_ok "$1 is a positive number" "got: '$v'"
	fi
}

# is_cpu KEY: a TAP check that the value recorded for KEY is a CPU time: a
# number, 0 included (a server can stay under one clock tick for a small
# image).
is_cpu() {
	local v
	v=$(value "$1")
	if [[ $v =~ ^[0-9]+(\.[0-9]+)?$ ]]; then
		ok "$1 = $v"
	else
		not_ok "$1 is a CPU time in seconds" "got: '$v'"
	fi
}
