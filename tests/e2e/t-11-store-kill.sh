#!/usr/bin/env bash
# The store survives SIGKILL at any point of import, tag, rmi and prune
# (fsck passes, the command can simply be run again), and concurrent
# imports and a prune all succeed.
. "$(dirname "$0")/lib.sh"

require_cmd qemu-img

head -c 192M /dev/urandom >"$TMP/big.raw"
qemu-img convert -q -f raw -O qcow2 "$TMP/big.raw" "$TMP/big.qcow2"
rm -f "$TMP/big.raw"
small() { qemu-img create -q -f qcow2 "$1" 16M; }

# kill_at SECONDS CMD...: start CMD, SIGKILL it after SECONDS (if alive).
kill_at() {
	local delay=$1 pid
	shift
	"$@" >/dev/null 2>&1 &
	pid=$!
	sleep "$delay"
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

fsck_ok() {
	run skiff fsck
	if [ "$RC" -eq 0 ]; then ok "$1"; else not_ok "$1" "$OUT" "$ERR"; fi
}

# Which kills land before the import is done depends on the machine's
# load (a busy machine can oversleep 0.04 s); at least the earliest must.
interrupted=
for d in 0.01 0.02 0.04 0.06 0.1 0.15 0.2 0.3 0.5; do
	kill_at "$d" skiff import "$TMP/big.qcow2" big
	fsck_ok "fsck passes after import killed at ${d}s"
	run skiff images -q
	[ -z "$OUT" ] && interrupted="$interrupted ${d}s"
done
if [ -n "$interrupted" ]; then
	ok "kills really interrupted the import (no image after the kill at$interrupted)"
else
	not_ok "a kill really interrupted the import" "every import was done before its kill"
fi
check "the interrupted import simply runs again" skiff import "$TMP/big.qcow2" big
run skiff images
like "$OUT" 'big +latest' "the image is there"

for i in 1 2 3 4; do
	kill_at "0.0$i" skiff tag big "big:t$i"
	fsck_ok "fsck passes after tag killed (${i})"
	check "tag runs again ($i)" skiff tag big "big:t$i"
done
for i in 1 2 3; do
	kill_at "0.0$i" skiff rmi "big:t$i"
	fsck_ok "fsck passes after rmi killed ($i)"
	run skiff rmi "big:t$i"
	[ "$RC" -eq 0 ] || [[ $ERR == *"not found"* ]] && ok "rmi runs again or finds it done ($i)" ||
		not_ok "rmi runs again ($i)" "$ERR"
done
for i in 1 2 3; do
	small "$TMP/g$i.qcow2"
	skiff import "$TMP/g$i.qcow2" "garbage$i" >/dev/null
	skiff rmi "garbage$i" >/dev/null
	kill_at "0.0$i" skiff prune
	fsck_ok "fsck passes after prune killed ($i)"
	check "prune runs again ($i)" skiff prune
done
run skiff images
like "$OUT" 'big +latest' "big survived every interrupted prune"

# Two imports and a prune at the same time, three rounds.
for round in 1 2 3; do
	small "$TMP/a$round.qcow2"
	qemu-img convert -q -O qcow2 "$TMP/big.qcow2" "$TMP/b$round.qcow2"
	skiff import "$TMP/a$round.qcow2" "a$round" >"$TMP/a.out" 2>&1 &
	pa=$!
	skiff import "$TMP/b$round.qcow2" "b$round" >"$TMP/b.out" 2>&1 &
	pb=$!
	skiff prune >"$TMP/p.out" 2>&1 &
	pp=$!
	wait $pa; ra=$?
	wait $pb; rb=$?
	wait $pp; rp=$?
	is "$ra $rb $rp" "0 0 0" "round $round: both imports and the prune succeed"
	run skiff images
	like "$OUT" "a$round +latest" "round $round: first image stored"
	like "$OUT" "b$round +latest" "round $round: second image stored"
	fsck_ok "round $round: fsck passes"
done
done_testing
