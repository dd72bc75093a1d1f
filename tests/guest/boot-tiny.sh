#!/bin/bash
# tests/guest/boot-tiny.sh OUTDIR [microvm|q35|cdrom|reboot|genkey|mime|all]...
#
# Proves a guest built by build-tiny.sh works: writes a NoCloud seed ISO
# (genisoimage -V cidata) with a #cloud-config (hostname, an SSH key made
# here, a pinned ed25519 host key, write_files into /etc/environment, a
# runcmd marker), boots an overlay of rootfs.qcow2 under TCG, waits for
# "skiff-guest: ready", logs in over SSH with StrictHostKeyChecking=yes
# against the injected host key only (no trust on first use), checks that
# a wrong pinned key is refused, then presses the ACPI power button over
# QMP (system_powerdown) and requires qemu to exit within 10 s.
#
#   microvm  -M microvm, vmlinux (PVH), virtio-mmio devices
#   q35      -M q35, vmlinuz, virtio-pci devices
#   reboot   microvm twice on one overlay: the power-off must leave ext4
#            clean and the second boot must not run runcmd again (same
#            instance-id)
#   cdrom    q35 with the seed ISO on an AHCI CD drive (/dev/sr0)
#   genkey   no injected host key: the guest generates an ed25519 key and
#            prints it; runcmd empties it and authorized_keys, qemu is
#            killed with SIGKILL, and the next boot must heal both
#   mime     skiff's multipart user-data: a nested user MIME message (a
#            base64 cloud-config and a shell script) and skiff's part
# Default: all.  Q35_KERNEL=vmlinux boots q35 through PVH too.  Prints TAP.  Every qemu started is killed by PID on
# exit.
set -euo pipefail

out=${1:?usage: $0 OUTDIR [microvm|q35|cdrom|reboot|genkey|mime|all]...}
shift
modes=("${@:-all}")
[ "${modes[*]}" = all ] && modes=(microvm q35 cdrom reboot genkey mime)
out=$(cd "$out" && pwd)
for f in vmlinux vmlinuz initrd.img rootfs.qcow2 cmdline; do
	[ -f "$out/$f" ] || { echo "Bail out! $out/$f is missing: run build-tiny.sh first"; exit 1; }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/boot-tiny.XXXXXX")
qemu_pid=
cleanup() {
	if [ -n "$qemu_pid" ] && kill -0 "$qemu_pid" 2>/dev/null; then
		kill "$qemu_pid" 2>/dev/null || true
		sleep 0.2
		kill -9 "$qemu_pid" 2>/dev/null || true
	fi
	if [ -n "${KEEP:-}" ]; then echo "# kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
check() {
	local what=$1
	shift
	if "$@"; then ok "$what"; else not_ok "$what"; fi
}
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

# ---- the seeds --------------------------------------------------------------

ssh-keygen -q -t ed25519 -N '' -C boot-tiny-user -f "$tmp/user_key"
ssh-keygen -q -t ed25519 -N '' -C boot-tiny-host -f "$tmp/host_key"
ssh-keygen -q -t ed25519 -N '' -C boot-tiny-wrong -f "$tmp/wrong_key"
iid=iid-boot-tiny-$$-$RANDOM

# make_seed NAME: an ISO from $tmp/NAME/{meta-data,user-data}.
make_seed() {
	printf 'instance-id: %s\nlocal-hostname: from-meta-data\n' "$iid" >"$tmp/$1/meta-data"
	genisoimage -quiet -V cidata -J -r -o "$tmp/$1.iso" "$tmp/$1/meta-data" "$tmp/$1/user-data"
}

# The cloud-config skiff generates (runner/userdata.c), with host key
# pinning when $1 is "pin", plus the extra runcmd lines $2...
skiff_config() {
	local pin=$1
	shift
	echo '#cloud-config'
	echo 'hostname: "tiny-test"'
	echo 'ssh_authorized_keys:'
	echo "  - \"$(cat "$tmp/user_key.pub")\""
	echo 'disable_root: false'
	echo 'ssh_pwauth: false'
	if [ "$pin" = pin ]; then
		echo 'ssh_keys:'
		echo '  ed25519_private: |'
		sed 's/^/    /' "$tmp/host_key"
		echo "  ed25519_public: \"$(cat "$tmp/host_key.pub")\""
	fi
	echo 'write_files:'
	echo '  - path: "/etc/environment"'
	echo '    permissions: "0644"'
	echo '    append: true'
	echo '    content: "SKIFF_TEST=\"hello world\"\n"'
	echo 'runcmd:'
	echo '  - "echo boot-tiny-marker-$((6 * 7))"'
	echo '  - [sh, -c, "echo argv-form $0", ok]'
	for line in "$@"; do echo "  - \"$line\""; done
}

mkdir "$tmp/pinned" "$tmp/genkey" "$tmp/mime"
skiff_config pin >"$tmp/pinned/user-data"
make_seed pinned
# No injected host key; once the test has logged in (and touched
# /tmp/go), runcmd empties the generated key and the authorized keys the
# way a hard kill soon after writing can (delayed allocation), and the
# test kills qemu with SIGKILL.
skiff_config nopin 'while [ ! -e /tmp/go ]; do usleep 50000; done' \
	': >/etc/dropbear/dropbear_ed25519_host_key' \
	': >/root/.ssh/authorized_keys' 'sync' >"$tmp/genkey/user-data"
make_seed genkey
# What skiff sends with --user-data: the user's document (here a MIME
# message of its own: a cloud-config and a shell script) then skiff's
# cloud-config with its Merge-Type.
{
	b='==skiff-0123456789abcdef=='
	u=user-boundary
	printf 'Content-Type: multipart/mixed; boundary="%s"\nMIME-Version: 1.0\n\n' "$b"
	printf -- '--%s\nContent-Type: multipart/mixed; boundary=%s\nMIME-Version: 1.0\n\n' "$b" "$u"
	printf -- '--%s\nContent-Type: text/cloud-config\nContent-Transfer-Encoding: base64\n\n' "$u"
	printf '#cloud-config\nhostname: user-host\nruncmd:\n  - echo user-runcmd-ran\n' | base64
	printf -- '--%s\nContent-Type: text/x-shellscript; charset="utf-8"\n\n' "$u"
	printf '#!/bin/sh\necho user-script-ran-$((1 + 1))\n'
	printf -- '--%s--\n' "$u"
	printf -- '\n--%s\nContent-Type: text/cloud-config; charset="utf-8"\nMIME-Version: 1.0\n' "$b"
	printf 'Content-Transfer-Encoding: 7bit\nContent-Disposition: attachment; filename="skiff.cfg"\n'
	printf 'Merge-Type: dict(no_replace,recurse_list)+list(append)+str()\n\n'
	skiff_config pin
	printf -- '\n--%s--\n' "$b"
} >"$tmp/mime/user-data"
make_seed mime

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

tsc_khz() {
	awk -F: '/^cpu MHz/ { printf "%d\n", $2 * 1000; exit }' /proc/cpuinfo
}

# ---- qemu -------------------------------------------------------------------

# boot MACHINE OVERLAY TAG: starts qemu in the background, sets qemu_pid,
# port, console, qmp, t0.
boot() {
	local machine=$1 overlay=$2 tag=$3 kernel dev args
	port=$(free_port)
	console=$tmp/console-$tag.log
	qmp=$tmp/qmp-$tag.sock
	local append
	append="$(cat "$out/cmdline") panic=-1 tsc_early_khz=$(tsc_khz)"
	if [ "$machine" = microvm ]; then
		kernel=$out/vmlinux dev=device
		args=(-M "microvm,acpi=on")
	else
		kernel=$out/${Q35_KERNEL:-vmlinuz} dev=pci
		args=(-M q35)
	fi
	local nic="virtio-net-$dev,netdev=n0" seed_device=virtio-blk-$dev
	# q35's built-in AHCI controller has its ports as buses ide.0...
	[ "$tag" = cdrom ] && seed_device=ide-cd,bus=ide.0
	[ "$dev" = pci ] && nic="$nic,romfile="
	t0=$(now)
	qemu-system-x86_64 -accel tcg "${args[@]}" -nodefaults -no-user-config -display none \
		-no-reboot -m 256 -smp 1 \
		-kernel "$kernel" -initrd "$out/initrd.img" -append "$append" \
		-blockdev "node-name=disk0,driver=qcow2,file.driver=file,file.filename=$overlay" \
		-device "virtio-blk-$dev,drive=disk0" \
		-blockdev "node-name=seed0,driver=raw,read-only=on,file.driver=file,file.filename=$seed" \
		-device "$seed_device,drive=seed0" \
		-netdev "user,id=n0,hostfwd=tcp:127.0.0.1:$port-:22" -device "$nic" \
		-device "virtio-rng-$dev" \
		-serial "file:$console" -qmp "unix:$qmp,server=on,wait=off" \
		</dev/null >"$tmp/qemu-$tag.out" 2>&1 &
	qemu_pid=$!
}

wait_console() {
	local pattern=$1 limit=$2 i=0
	while ! grep -q "$pattern" "$console" 2>/dev/null; do
		kill -0 "$qemu_pid" 2>/dev/null || return 1
		i=$((i + 1))
		[ $i -ge $((limit * 20)) ] && return 1
		sleep 0.05
	done
}

known_hosts() {
	echo "[127.0.0.1]:$port $(cut -d' ' -f1-2 "$1")" >"$tmp/known_hosts"
}

ssh_guest() {
	ssh -F /dev/null -i "$tmp/user_key" -p "$port" -o BatchMode=yes -o ConnectTimeout=10 \
		-o StrictHostKeyChecking=yes -o UserKnownHostsFile="$tmp/known_hosts" \
		-o GlobalKnownHostsFile=/dev/null -o LogLevel=ERROR root@127.0.0.1 "$@"
}

qmp_powerdown() {
	python3 - "$qmp" <<'EOF'
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
f = s.makefile("rw")
json.loads(f.readline())
for cmd in ("qmp_capabilities", "system_powerdown"):
    f.write(json.dumps({"execute": cmd}) + "\n")
    f.flush()
    while True:
        msg = json.loads(f.readline())
        if "return" in msg or "error" in msg:
            break
    if "error" in msg:
        sys.exit("qmp %s: %s" % (cmd, msg["error"]))
EOF
}

# Sends system_powerdown and waits up to 10 s for qemu to exit.
power_off() {
	local t i=0
	t=$(now)
	qmp_powerdown || return 1
	while kill -0 "$qemu_pid" 2>/dev/null; do
		i=$((i + 1))
		[ $i -ge 200 ] && return 1
		sleep 0.05
	done
	wait "$qemu_pid" 2>/dev/null || true
	qemu_pid=
	echo "# $tag: qemu exited $(elapsed "$t") s after system_powerdown"
}

# Whether the ext4 filesystem in qcow2 $1 is clean: state "clean" and no
# needs_recovery feature (the guest remounted it read-only).
fs_clean() {
	local info
	qemu-img convert -f qcow2 -O raw "$1" "$tmp/fs-check.raw" || return 1
	info=$(dumpe2fs -h "$tmp/fs-check.raw" 2>/dev/null)
	rm -f "$tmp/fs-check.raw"
	[ -n "${KEEP:-}" ] && grep -E "^Filesystem (state|features)" <<<"$info" | sed "s/^/#   /"
	grep -q '^Filesystem state: *clean$' <<<"$info" &&
		! grep -q '^Filesystem features:.*needs_recovery' <<<"$info"
}

show_console() {
	sed 's/^/#   /' "$console" | tail -n 40
}

# ---- the runs ---------------------------------------------------------------

# The public host key the guest printed in its Nth (default: last)
# "BEGIN SSH HOST KEY KEYS" block.
printed_host_key() {
	awk '/-----BEGIN SSH HOST KEY KEYS-----/ { n++; next } /-----END SSH HOST KEY KEYS-----/ { next }
		n && /^ssh-ed25519 / { key = $1 " " $2 } END { if (key != "") print key }' "$console"
}

new_overlay() {
	overlay=$tmp/overlay-$1.qcow2
	qemu-img create -q -f qcow2 -b "$out/rootfs.qcow2" -F qcow2 "$overlay"
}

wait_ready() {
	if wait_console "skiff-guest: ready instance-id=$iid" 60; then
		ok "$tag: ready line after $(elapsed "$t0") s"
	else
		not_ok "$tag: ready line"
		show_console
		return 1
	fi
}

run_machine() {
	local machine=$1
	new_overlay "$tag"
	seed=$tmp/pinned.iso
	boot "$machine" "$overlay" "$tag"
	wait_ready || return 0
	known_hosts "$tmp/host_key.pub"
	local ssh_out
	if ssh_out=$(ssh_guest 'uname -a; hostname; echo "env=$SKIFF_TEST"'); then
		ok "$tag: ssh with the pinned host key after $(elapsed "$t0") s"
		echo "$ssh_out" | sed 's/^/#   /'
	else
		not_ok "$tag: ssh with the pinned host key"
		show_console
	fi
	check "$tag: uname reports the Debian kernel" grep -q "$(cat "$out/kernel-version")" <<<"$ssh_out"
	check "$tag: hostname from user-data wins over meta-data" grep -qx tiny-test <<<"$ssh_out"
	check "$tag: /etc/environment from write_files reaches the ssh session" \
		grep -qx 'env=hello world' <<<"$ssh_out"
	known_hosts "$tmp/wrong_key.pub"
	if ssh_guest true 2>/dev/null; then
		not_ok "$tag: a different pinned host key is refused"
	else
		ok "$tag: a different pinned host key is refused"
	fi
	check "$tag: no host key generated when one is injected" bash -c "! grep -q 'BEGIN SSH HOST KEY' '$console'"
	wait_console 'skiff-guest: runcmd done' 10 || true
	check "$tag: runcmd string on the console" grep -q 'boot-tiny-marker-42' "$console"
	check "$tag: runcmd argv list on the console" grep -q 'argv-form ok' "$console"
	check "$tag: runcmd status reported" grep -q 'skiff-guest: runcmd done status=0' "$console"
	check "$tag: system_powerdown stops qemu within 10 s" power_off
}

run_reboot() {
	seed=$tmp/pinned.iso
	new_overlay reboot
	tag=reboot-1
	boot microvm "$overlay" "$tag"
	wait_console 'skiff-guest: runcmd done' 60 || true
	check "$tag: first boot ran runcmd" grep -q 'boot-tiny-marker-42' "$console"
	check "$tag: powered off" power_off
	check "$tag: the root filesystem was left clean (no journal to replay)" fs_clean "$overlay"
	tag=reboot-2
	boot microvm "$overlay" "$tag"
	wait_ready
	known_hosts "$tmp/host_key.pub"
	check "$tag: ssh with the pinned host key" ssh_guest true
	sleep 1
	check "$tag: runcmd does not run again for the same instance-id" \
		bash -c "! grep -q 'boot-tiny-marker-42' '$console'"
	check "$tag: powered off" power_off
}

run_genkey() {
	seed=$tmp/genkey.iso
	new_overlay genkey
	tag=genkey-1
	boot microvm "$overlay" "$tag"
	wait_ready || return 0
	local key1 key2
	key1=$(printed_host_key)
	check "$tag: the guest printed the ed25519 host key it generated" test -n "$key1"
	echo "$key1" >"$tmp/genkey1.pub"
	known_hosts "$tmp/genkey1.pub"
	check "$tag: ssh with the printed host key" ssh_guest touch /tmp/go
	wait_console 'skiff-guest: runcmd done' 10 || true
	kill -9 "$qemu_pid"
	wait "$qemu_pid" 2>/dev/null || true
	qemu_pid=
	tag=genkey-2
	boot microvm "$overlay" "$tag"
	wait_ready || return 0
	key2=$(printed_host_key)
	check "$tag: an empty host key file is replaced by a new key" \
		bash -c "[ -n '$key2' ] && [ '$key2' != '$key1' ]"
	echo "$key2" >"$tmp/genkey2.pub"
	known_hosts "$tmp/genkey2.pub"
	check "$tag: ssh after the hard kill (authorized_keys rewritten)" ssh_guest true
	check "$tag: powered off" power_off
}

run_mime() {
	seed=$tmp/mime.iso
	new_overlay mime
	tag=mime
	boot microvm "$overlay" "$tag"
	wait_ready || return 0
	known_hosts "$tmp/host_key.pub"
	local ssh_out
	ssh_out=$(ssh_guest 'hostname; echo "env=$SKIFF_TEST"') || true
	check "$tag: ssh with the host key from skiff's part" test -n "$ssh_out"
	check "$tag: the user's hostname wins over skiff's" grep -qx user-host <<<"$ssh_out"
	check "$tag: write_files from skiff's part" grep -qx 'env=hello world' <<<"$ssh_out"
	wait_console 'skiff-guest: runcmd done' 10 || true
	check "$tag: the user's nested shell script ran" grep -q 'user-script-ran-2' "$console"
	check "$tag: runcmd lists of both parts ran" \
		bash -c "grep -q user-runcmd-ran '$console' && grep -q boot-tiny-marker-42 '$console'"
	check "$tag: powered off" power_off
}

for mode in "${modes[@]}"; do
	case $mode in
	microvm | q35) tag=$mode run_machine "$mode" ;;
	cdrom) tag=cdrom run_machine q35 ;;
	reboot) run_reboot ;;
	genkey) run_genkey ;;
	mime) run_mime ;;
	*) echo "Bail out! unknown mode '$mode'"; exit 1 ;;
	esac
done
echo "1..$n"
[ $failed = 0 ]
