#!/usr/bin/env bash
# A real Debian 12 guest (systemd, real cloud-init) under skiff: builds it
# with tests/guest/build-debian.sh (cached), imports it with its default
# user, runs it with a hostname, -e and user-data, and proves that
# cloud-init applied skiff's NoCloud seed: the per-VM SSH key and the pinned
# ed25519 host key (skiff exec), the default user with passwordless sudo,
# the hostname, /etc/environment, the instance id, runcmd (file and
# console).  Then an ACPI power-off by `skiff stop` and `skiff rm`.
# Under TCG the guest needs ~35-55 s to SSH; every wait is bounded.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/e2e/guest.sh
. "$(dirname "$0")/guest.sh"

require_cmd qemu-system-x86_64 qemu-img ssh ssh-keygen debootstrap mkfs.ext4 zstd timeout
[ "$(id -u)" = 0 ] || skip_all "building the Debian guest needs root (chroot, file owners)"

top=$(cd "$(dirname "$0")/../.." && pwd)
DEB_DIR=${SKIFF_DEBIAN_GUEST:-$top/tests/guest/out/debian}
VM=deb
HOST=hostx-deb
t_start=$(date +%s)

# The VM goes with the script, however it ends: `skiff rm -f`, then qemu
# and the monitor killed by PID (when their start time still matches) in
# case skiff itself failed.
_deb_kill_leftovers() {
	local f pid start stat
	for f in "$TMP"/root/vms/*/qemu.pid "$TMP"/root/vms/*/monitor.pid; do
		[ -f "$f" ] || continue
		read -r pid start <"$f" || continue
		stat=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
		stat=${stat##*) }
		# Field 22 of /proc/PID/stat (the 20th after the command name).
		[ "$(echo "$stat" | cut -d' ' -f20)" = "$start" ] && kill -KILL "$pid" 2>/dev/null
	done
}
_deb_waiter=
_deb_on_exit() {
	local rc=$?
	[ -z "$_deb_waiter" ] || kill -TERM "$_deb_waiter" 2>/dev/null
	if [ -d "$TMP/root/vms" ]; then
		timeout 60 "$SKIFF" --root "$TMP/root" rm -f "$VM" >/dev/null 2>&1
		_deb_kill_leftovers
	fi
	(exit "$rc")
	_sk_on_exit
}
trap _deb_on_exit EXIT

# sx CMD...: CMD in the guest over SSH, as the image's default user, bounded.
sx() {
	timeout 120 "$SKIFF" --root "$TMP/root" exec "$VM" -- "$@"
}

# run_long SECONDS CMD...: `run` for the long waits, with CMD in the
# background: bash defers a signal's trap while a foreground command runs,
# but not while it is in `wait`, so INT/TERM end the script at once.
run_long() {
	local limit=$1
	shift
	timeout "$limit" "$@" >"$TMP/.run-out" 2>"$TMP/.run-err" &
	_deb_waiter=$!
	wait "$_deb_waiter"
	RC=$?
	_deb_waiter=
	OUT=$(cat "$TMP/.run-out")
	ERR=$(cat "$TMP/.run-err")
}

console_tail() {
	skiff logs "$VM" 2>/dev/null | tail -n 25
}

# ---- build and import -------------------------------------------------------

t0=$(date +%s)
(
	flock 9
	"$top/tests/guest/build-debian.sh" "$DEB_DIR" >"$TMP/debian-build.log" 2>&1
) 9>"$top/tests/guest/.build.lock"
build_rc=$?
t_build=$(($(date +%s) - t0))
if [ "$build_rc" -ne 0 ]; then
	diag "$(tail -n 25 "$TMP/debian-build.log")"
	[ "${CI:-}" = true ] && {
		echo "Bail out! the Debian guest did not build"
		exit 1
	}
	skip_all "the Debian guest did not build (no Debian mirror?)"
fi

ok "the Debian guest builds ($t_build s)"
user=$(cat "$DEB_DIR/user")
is "$user" debian "the image's default user is debian"

check "import it as a direct-kernel-boot image with --user $user" \
	skiff import -q --kernel "$DEB_DIR/vmlinuz" --initrd "$DEB_DIR/initrd.img" \
	--cmdline "$(cat "$DEB_DIR/cmdline")" --memory 1024 --user "$user" "$DEB_DIR/rootfs.qcow2" debian12

# ---- run ----------------------------------------------------------------------

token=$RANDOM$RANDOM
cat >"$TMP/user-data" <<YAML
#cloud-config
runcmd:
  - echo "RUNCMD-MARKER-$token \$(hostname)"
  - echo "marker $token \$(id -un)" > /var/tmp/skiff-runcmd-marker
YAML
t0=$(date +%s)
check "run -d --name $VM --hostname $HOST -e FOO=bar --user-data" \
	skiff run -d --name "$VM" --hostname "$HOST" -e FOO=bar -e 'SPACED=a b' \
	--user-data "$TMP/user-data" debian12 || abort "the VM did not start"
vm_id=$OUT

run_long 300 "$SKIFF" --root "$TMP/root" exec --wait 240 "$VM" -- id -un
t_ssh=$(($(date +%s) - t0))
if [ "$RC" -ne 0 ]; then
	not_ok "skiff exec reaches the guest over SSH within 240 s" "exit $RC: $ERR" "console:" "$(console_tail)"
	abort "no SSH"
fi
ok "skiff exec reaches the guest over SSH (pinned host key, per-VM key) after $t_ssh s"
is "$OUT" "$user" "exec logs in as the image's default user"

run_long 300 "$SKIFF" --root "$TMP/root" exec "$VM" -- cloud-init status --wait --long
t_ci=$(($(date +%s) - t0))
is "$RC" 0 "cloud-init status --wait succeeds (done after $t_ci s)" || diag "$OUT" "$ERR"
like "$OUT" 'status: done' "cloud-init finished"
like "$OUT" 'DataSourceNoCloud \[seed=/dev/vd' "cloud-init read skiff's NoCloud seed from a virtio disk"

run sx sudo -n grep -E '\[(WARNING|ERROR|CRITICAL)\]' /var/log/cloud-init.log
is "$OUT" "" "cloud-init logged no warning or error (skiff's seed is valid cloud-config)"
run sx sudo -n cloud-init query instance_id
is "$OUT" "$vm_id" "cloud-init's instance id is the VM id"
run sx hostname
is "$OUT" "$HOST" "hostname is the one given to --hostname"
run sx sudo -n id -u
is "$RC:$OUT" "0:0" "sudo -n works for the default user"
run sx id -nG
like "$OUT" "^$user( |$)" "the default user exists with its own group (created by cloud-init)"
run sx cat /var/tmp/skiff-runcmd-marker
is "$OUT" "marker $token root" "runcmd ran as root and wrote its marker file"
if wait_console "$VM" "RUNCMD-MARKER-$token $HOST" 60; then
	ok "runcmd's output shows in skiff logs"
else
	not_ok "runcmd's output shows in skiff logs" "$(console_tail)"
fi
run sx cat /etc/environment
like "$OUT" 'FOO="bar"' "-e FOO=bar reaches /etc/environment"
like "$OUT" 'SPACED="a b"' "-e with a space reaches /etc/environment"
# shellcheck disable=SC2016 # expanded by the guest's shell
run sx sh -c 'printf "%s|%s" "$FOO" "$SPACED"'
is "$OUT" "bar|a b" "the SSH session has the -e variables (pam_env)"
run sx sh -c 'ls /etc/ssh/ssh_host_*_key.pub'
is "$OUT" "/etc/ssh/ssh_host_ed25519_key.pub" "only the injected ed25519 host key exists (no RSA generation)"
run sx sudo -n cat /etc/ssh/ssh_host_ed25519_key.pub
guest_key=$(echo "$OUT" | cut -d' ' -f1,2)
pinned_key=$(cut -d' ' -f2,3 "$TMP/root/vms/$vm_id/known_hosts" 2>/dev/null)
is "$guest_key" "$pinned_key" "the guest's host key is the one skiff pinned"
run sx sh -c 'cat ~/.ssh/authorized_keys'
vm_key=$(cut -d' ' -f1,2 "$TMP/root/vms/$vm_id/id_ed25519.pub")
if [ -n "$vm_key" ] && [[ $OUT == *"$vm_key"* ]]; then
	ok "the per-VM public key is in the default user's authorized_keys"
else
	not_ok "the per-VM public key is in the default user's authorized_keys" "got: $OUT" "expected: $vm_key"
fi
run sx systemctl is-system-running --wait
like "$OUT" '^(running|degraded)$' "systemd reached the end of boot ($OUT)"
[ "$OUT" = running ] || diag "$(sx systemctl --failed --no-legend 2>&1)"

# ---- stop and rm ----------------------------------------------------------------

t0=$(date +%s)
run skiff stop -t 60 "$VM"
t_stop=$(($(date +%s) - t0))
is "$RC" 0 "skiff stop $VM" || diag "$ERR"
if [ "$t_stop" -lt 60 ]; then
	ok "the guest powered off on the ACPI button in $t_stop s (timeout 60 s)"
else
	not_ok "the guest powered off within the stop timeout" "took $t_stop s" "$(console_tail)"
fi
run skiff ps -a
like "$OUT" "Exited \(0\).* $VM" "ps shows $VM exited with status 0 (a clean power-off, not a kill)"
run skiff logs "$VM"
like "$OUT" 'reboot: Power down' "the console shows the kernel powering down"
check "rm $VM" skiff rm "$VM"
run skiff ps -a -q
is "$OUT" "" "no VM left"

note "timings: build $t_build s, boot to SSH $t_ssh s, to cloud-init done $t_ci s," \
	"stop $t_stop s, total $(($(date +%s) - t_start)) s"
done_testing
