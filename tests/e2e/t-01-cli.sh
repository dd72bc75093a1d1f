#!/usr/bin/env bash
# The CLI skeleton: help, version, global options, usage errors, doctor.
. "$(dirname "$0")/lib.sh"

check "skiff --help" skiff --help
like "$OUT" 'Usage: skiff \[GLOBAL OPTIONS\] COMMAND' "--help shows the usage line"
verbs=$(printf '%s\n' "$OUT" | awk '/^Commands:/{on=1; next} on && /^  [a-z]/{print $1}')
[ "$(printf '%s\n' "$verbs" | wc -l)" -ge 25 ] && ok "--help lists the verbs" || not_ok "--help lists the verbs" "$verbs"
unlike "$OUT" '__autoremove' "internal verbs stay hidden"
for v in $verbs; do
	case $v in system) continue ;; esac
	run skiff "$v" --help
	if [ "$RC" -eq 0 ] && [[ $OUT == *"skiff"*"$v"* ]]; then ok "skiff $v --help"; else not_ok "skiff $v --help" "rc $RC" "$OUT" "$ERR"; fi
done
check "skiff system --help" skiff system --help
check "skiff help images" skiff help images
like "$OUT" 'List the images in the store' "help VERB shows the verb's help"
check "skiff version" skiff version
like "$OUT" '^skiff version [0-9]+\.[0-9]+\.[0-9]+' "version prints skiff's version"
like "$OUT" 'libostree 20' "version names the libraries"
check "skiff --version" skiff --version
fail_clearly "an unknown verb exits 2" 2 "'frobnicate' is not a skiff command" skiff frobnicate
fail_clearly "an unknown global option exits 2" 2 "unknown option '--bogus'" skiff --bogus images
fail_clearly "an unknown verb option exits 2" 2 "images:" skiff images --bogus
fail_clearly "a bad --format exits 2" 2 "invalid --format 'yaml'" skiff images --format yaml
fail_clearly "too many arguments exit 2" 2 "takes at most" skiff images extra
fail_clearly "a missing argument exits 2" 2 "needs 2 arguments" skiff tag onlyone
run "$SKIFF" 2>/dev/null
is "$RC" 2 "no verb at all exits 2 with the usage"

# --root and SKIFF_ROOT choose the store.
qemu-img create -q -f qcow2 "$TMP/d.qcow2" 16M
check "--root DIR" "$SKIFF" --root "$TMP/r1" import "$TMP/d.qcow2" one
[ -d "$TMP/r1/repo/objects" ] && ok "--root put the store there" || not_ok "--root"
check "SKIFF_ROOT" env SKIFF_ROOT="$TMP/r2" "$SKIFF" import "$TMP/d.qcow2" two
[ -d "$TMP/r2/repo/objects" ] && ok "SKIFF_ROOT put the store there" || not_ok "SKIFF_ROOT"
run env SKIFF_ROOT="$TMP/r2" "$SKIFF" images
like "$OUT" 'two +latest' "SKIFF_ROOT is read by every verb"
unlike "$OUT" 'one' "and only that store is used"
run "$SKIFF" --root "$TMP/r1" -v images
like "$ERR" '' "-v is accepted"

run skiff doctor
is "$RC" 0 "doctor passes on this machine (no FAIL)"
like "$OUT" '^OK +qemu: ' "doctor checks qemu-system"
like "$OUT" 'OK +qemu-img: ' "doctor checks qemu-img"
like "$OUT" '(OK +accelerator: KVM runs guests|WARN +accelerator: (KVM present but not usable, using TCG|no KVM))' \
	"doctor probes KVM with a bounded test"
like "$OUT" 'OK +ssh: ' "doctor checks ssh"
like "$OUT" 'OK +ssh-keygen: ' "doctor checks ssh-keygen"
like "$OUT" 'store: ' "doctor checks the store directory"
like "$OUT" 'free disk: ' "doctor checks free disk"
run env PATH=/nonexistent "$SKIFF" --root "$TMP/r3" doctor
is "$RC" 1 "doctor fails when qemu is missing"
like "$OUT" 'FAIL +qemu: ' "and says FAIL for it"
done_testing
