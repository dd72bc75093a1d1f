#!/usr/bin/env bash
# A disk-boot image (imported without --kernel): the tiny guest on a
# BIOS-bootable disk (MBR, syslinux on FAT16, ext4 root on partition 2,
# tests/guest/build-bios.sh) runs under `skiff run -d` with q35 and the BIOS
# qemu ships, reaches its ready line under TCG, and answers `skiff exec`.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/guest.sh"

require_cmd qemu-system-x86_64 qemu-img ssh sfdisk mkfs.fat mcopy syslinux
guest_build

check "build the BIOS disk from the tiny guest" "$_sk_top/tests/guest/build-bios.sh" "$GUEST_DIR" "$TMP/bios.qcow2"
check "import it without --kernel" skiff import -q --memory 256 "$TMP/bios.qcow2" biosdisk
run skiff inspect biosdisk
like "$OUT" '"boot": "bios"' "the image boots from its disk (boot mode bios)"
unlike "$OUT" 'vnd\.skiff\.kernel' "the image carries no kernel blob"

start=$(date +%s)
check "run -d --accel tcg" skiff run -d --name b1 --accel tcg biosdisk
qpid=$(cut -d' ' -f1 "$TMP/root/vms/$(skiff ps -q --no-trunc | head -1)/qemu.pid")
args=$(tr '\0' ' ' <"/proc/$qpid/cmdline" 2>/dev/null)
like "$args" ' -M q35 ' "qemu runs the q35 machine"
unlike "$args" ' -kernel | -bios |pflash' "with the BIOS qemu ships: no -kernel, no firmware of skiff's"
if wait_console b1 'skiff-guest: ready instance-id=' 90; then
	ok "the guest reached its ready line (after $(($(date +%s) - start)) s)"
else
	not_ok "ready line" "$(skiff logs b1 | tail -20)"
fi
run skiff logs b1
like "$OUT" 'SYSLINUX' "syslinux on the disk booted it"
check "exec b1 -- cat /proc/cmdline" skiff exec b1 -- cat /proc/cmdline
like "$OUT" 'root=/dev/vda2' "the kernel runs with the command line of the disk's syslinux.cfg"
check "exec b1 -- mount" skiff exec b1 -- cat /proc/mounts
like "$OUT" '/dev/vda2 / ext4 ' "its root is the disk's second partition"
check "rm -f b1" skiff rm -f b1
is "$(skiff ps -a -q | wc -l)" 0 "no VM left"
done_testing
