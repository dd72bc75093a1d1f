# shellcheck shell=bash
# Sourced by e2e scripts that boot the tiny guest: builds it once (cached
# under tests/guest/out, downloads under tests/guest/cache) and imports it.
_sk_top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
GUEST_DIR=${SKIFF_TINY_GUEST:-$_sk_top/tests/guest/out}

# guest_build: builds the tiny guest unless it is there; skips (or bails out
# in CI) when it cannot.
guest_build() {
	if [ ! -s "$GUEST_DIR/rootfs.qcow2" ] || [ ! -s "$GUEST_DIR/vmlinux" ]; then
		# One builder at a time: e2e scripts may run side by side.
		(
			flock 9
			[ -s "$GUEST_DIR/rootfs.qcow2" ] && [ -s "$GUEST_DIR/vmlinux" ] ||
				"$_sk_top/tests/guest/build-tiny.sh" "$GUEST_DIR" >"$TMP/guest-build.log" 2>&1
		) 9>"$_sk_top/tests/guest/.build.lock" || {
			diag "$(tail -20 "$TMP/guest-build.log")"
			if [ "${CI:-}" = true ]; then
				echo "Bail out! the tiny guest did not build"
				exit 1
			fi
			skip_all "the tiny guest did not build"
		}
	fi
}

# guest_import NAME: the tiny guest as image NAME in this script's store.
guest_import() {
	skiff import -q --kernel "$GUEST_DIR/vmlinux" --initrd "$GUEST_DIR/initrd.img" \
		--cmdline "$(cat "$GUEST_DIR/cmdline")" --memory 256 "$GUEST_DIR/rootfs.qcow2" "$1"
}

# wait_console VM REGEX [SECONDS]: waits until the VM's console matches.
wait_console() {
	local vm=$1 re=$2 t=${3:-60} i
	for ((i = 0; i < t * 5; i++)); do
		skiff logs "$vm" 2>/dev/null | grep -Eq "$re" && return 0
		sleep 0.2
	done
	return 1
}
