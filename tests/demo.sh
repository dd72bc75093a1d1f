#!/usr/bin/env bash
# make demo: skiff's main job on a fresh machine, in one command.
# Builds the tiny test guest from Debian packages, imports it, runs it with a
# user-data script that prints a greeting, shows the greeting and a command
# run over SSH; then publishes the image to a local registry (the real
# docker-registry on 127.0.0.1), removes it, pulls it back and runs it; and
# cleans up (the registry is stopped by its PID).  Uses a private store and
# private credentials so it never touches yours; nothing but apt is fetched.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
export SKIFF=${SKIFF:-$top/skiff}
skiff_bin=$SKIFF
# The e2e helpers: registry_start, a private $TMP, and at exit the servers
# they started stopped by PID and $TMP removed.
. "$top/tests/e2e/lib.sh"
work=$TMP
root=$work/root
vm=
demo_cleanup() {
	set +e # the rest of the cleanup must run whatever fails
	if [ -n "$vm" ]; then
		"$skiff_bin" --root "$root" rm -f "$vm" >/dev/null 2>&1 || true
	fi
}
_sk_cleanup_hooks+=(demo_cleanup)

say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
sk() { printf '$ skiff %s\n' "$*"; "$skiff_bin" --root "$root" "$@"; }

say "What this machine can do"
sk doctor || true

say "Building the tiny guest (Debian kernel, busybox, dropbear; cached after the first run)"
"$top/tests/guest/build-tiny.sh" "$top/tests/guest/out" >"$work/build.log" 2>&1 || {
	cat "$work/build.log"
	exit 1
}
guest=$top/tests/guest/out
echo "built: $(ls "$guest" | tr '\n' ' ')"

say "Importing it as an image"
sk import --kernel "$guest/vmlinux" --initrd "$guest/initrd.img" --cmdline "$(cat "$guest/cmdline")" \
	--memory 256 "$guest/rootfs.qcow2" demo/tiny:latest
sk images
sk history demo/tiny

say "Running it with a user-data script"
cat >"$work/greet.sh" <<'SH'
#!/bin/sh
echo "Hello from $(hostname), a skiff VM booted at $(cut -d' ' -f1 /proc/uptime)s"
SH
sk run -d --rm --name demo --user-data "$work/greet.sh" demo/tiny
vm=demo
sk ps
printf '$ skiff exec demo -- uname -a\n'
"$skiff_bin" --root "$root" exec demo -- uname -a
say "The greeting, from the VM's console (skiff logs demo)"
for _ in $(seq 1 60); do
	"$skiff_bin" --root "$root" logs demo | grep -q "Hello from" && break
	sleep 1
done
"$skiff_bin" --root "$root" logs demo | grep "Hello from"

say "Stopping it (ACPI power-off; --rm removes it)"
sk stop demo
for _ in $(seq 1 50); do
	"$skiff_bin" --root "$root" ps -a -q | grep -q . || break
	sleep 0.2
done
vm=
sk ps -a

say "Publishing it to a local registry, removing it, pulling it back"
registry_start || {
	echo "docker-registry did not start (make deps installs it)"
	exit 1
}
echo "docker-registry listens on $REGISTRY_ADDR (pid $REGISTRY_PID), plain http"
ref=$REGISTRY_ADDR/demo/tiny:latest
sk push --tls-verify=false demo/tiny "$ref"
sk rmi demo/tiny
sk prune
sk images
sk pull --tls-verify=false "$ref"
sk images

say "Running the pulled image"
sk run -d --rm --name pulled --wait 180 "$ref"
vm=pulled
printf '$ skiff exec pulled -- uname -r\n'
"$skiff_bin" --root "$root" exec pulled -- uname -r
sk stop pulled
for _ in $(seq 1 50); do
	"$skiff_bin" --root "$root" ps -a -q | grep -q . || break
	sleep 0.2
done
vm=
sk ps -a
say "Done"
