#!/bin/bash
# tests/guest/build-bios.sh TINYDIR OUT.qcow2
#
# A BIOS-bootable disk of the tiny guest (tests/guest/build-tiny.sh
# TINYDIR), made from files alone, nothing mounted:
#   - an MBR with syslinux's boot code (syslinux-common's mbr.bin);
#   - partition 1 (active): FAT16 holding syslinux (`syslinux --install`
#     works on the image file, through mtools), syslinux.cfg and the tiny
#     guest's bzImage and initramfs;
#   - partition 2: the tiny guest's ext4 root filesystem, root=/dev/vda2.
# The BIOS qemu ships (SeaBIOS) loads the MBR, which chains to syslinux's
# boot sector in partition 1, which boots the kernel with its initramfs.
#
# Needs: sfdisk (fdisk), mkfs.fat (dosfstools), mcopy (mtools), syslinux,
# syslinux-common, qemu-img, dd.
set -euo pipefail

say() { printf 'build-bios: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

[ $# -eq 2 ] || { echo "usage: $0 TINYDIR OUT.qcow2" >&2; exit 2; }
tiny=$1 out=$2
for f in vmlinuz initrd.img rootfs.qcow2 cmdline; do
	[ -s "$tiny/$f" ] || die "no '$f' in '$tiny' (tests/guest/build-tiny.sh '$tiny')"
done
for c in sfdisk mkfs.fat mcopy syslinux qemu-img dd; do
	command -v "$c" >/dev/null 2>&1 || die "'$c' is not installed (make deps)"
done
mbr=/usr/lib/syslinux/mbr/mbr.bin
[ -s "$mbr" ] || die "no '$mbr' (package syslinux-common)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/skiff-bios.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# Layout in 512-byte sectors: partition 1 at 1 MiB, 32 MiB of FAT16 (the
# kernel and initramfs take ~10 MiB), partition 2 right after it.
boot_start=2048
boot_sectors=$((32 * 2048))
root_start=$((boot_start + boot_sectors))

say "root filesystem"
qemu-img convert -O raw "$tiny/rootfs.qcow2" "$tmp/root.raw"
root_bytes=$(stat -c %s "$tmp/root.raw")
[ $((root_bytes % 512)) -eq 0 ] || die "root filesystem of $root_bytes bytes is not whole sectors"
root_sectors=$((root_bytes / 512))

say "partition table"
truncate -s $(((root_start + root_sectors) * 512)) "$tmp/disk.raw"
sfdisk -q --no-reread --no-tell-kernel "$tmp/disk.raw" >/dev/null <<TABLE
label: dos
start=$boot_start, size=$boot_sectors, type=6, bootable
start=$root_start, size=$root_sectors, type=83
TABLE

say "boot partition: FAT16, syslinux, kernel, initramfs"
# -h: the sectors before the partition, which syslinux's boot sector adds
# to every sector it reads.
mkfs.fat -F 16 -h "$boot_start" -n SKIFFBOOT -C "$tmp/boot.fat" $((boot_sectors / 2)) >/dev/null
syslinux --install "$tmp/boot.fat"
# SERIAL: syslinux talks on the serial console too (ttyS0, the VM's log).
cat >"$tmp/syslinux.cfg" <<CFG
SERIAL 0 115200
DEFAULT tiny
PROMPT 0
TIMEOUT 0
LABEL tiny
  LINUX /vmlinuz
  INITRD /initrd.img
  APPEND root=/dev/vda2 $(cat "$tiny/cmdline") panic=-1
CFG
mcopy -i "$tmp/boot.fat" "$tiny/vmlinuz" "$tiny/initrd.img" "$tmp/syslinux.cfg" ::/

say "assembling"
dd if="$tmp/boot.fat" of="$tmp/disk.raw" bs=512 seek="$boot_start" conv=notrunc status=none
dd if="$tmp/root.raw" of="$tmp/disk.raw" bs=512 seek="$root_start" conv=notrunc,sparse status=none
dd if="$mbr" of="$tmp/disk.raw" bs=440 count=1 conv=notrunc status=none
qemu-img convert -O qcow2 "$tmp/disk.raw" "$out.tmp"
mv "$out.tmp" "$out"
say "wrote '$out'"
