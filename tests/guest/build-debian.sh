#!/bin/bash
# tests/guest/build-debian.sh OUTDIR
#
# Builds a Debian 12 (bookworm) guest with systemd and real cloud-init, for
# skiff's slow end-to-end tier: debootstrap (minbase), then apt-get install
# inside the chroot (systemd-sysv, udev, dbus, openssh-server, cloud-init,
# sudo, linux-image-cloud-amd64 with an initramfs-tools initramfs), then a
# root filesystem made with `mkfs.ext4 -d` (no loop mounts) and converted to
# qcow2.  Network: systemd-networkd, DHCP on every en*/eth* link.
# cloud-init reads NoCloud only and skips its slow modules.
#
# OUTDIR receives: vmlinuz (bzImage), vmlinux (the uncompressed ELF inside
# it: boots through PVH on microvm, ~2x faster under TCG), initrd.img,
# rootfs.qcow2, cmdline, kernel-version, user (the default user, for
# `skiff import --user`).
#
# Cache (${SKIFF_GUEST_CACHE:-tests/guest/cache}/debian): the debootstrap
# result and the tree after apt-get install, as zstd tarballs named after a
# hash of their inputs (mirror, packages, the code of the stage), so a
# rebuild only rewrites the configuration files and the images.
#
# The apt mirror is the one this machine's apt uses for bookworm
# (`apt-get indextargets`); SKIFF_DEBIAN_MIRROR overrides it.
# SKIFF_DEBIAN_ROOTFS_SIZE (default 3G) is the root disk's virtual size.
# Needs root (chroot, mount of /proc in the chroot, file owners in
# mkfs.ext4 -d), debootstrap, mkfs.ext4, qemu-img, zstd.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${SKIFF_GUEST_CACHE:-$here/cache}/debian
suite=bookworm
rootfs_size=${SKIFF_DEBIAN_ROOTFS_SIZE:-3G}
default_user=debian
cmdline="root=/dev/vda rw console=ttyS0 cryptomgr.notests"
packages=(systemd-sysv udev dbus openssh-server cloud-init sudo
	ca-certificates iproute2 zstd linux-image-cloud-amd64)
# Modules in the initramfs (MODULES=list): the root disk on virtio-mmio
# (microvm) or virtio-pci (q35), ext4 and its checksum.
initramfs_modules=(virtio_mmio virtio_pci virtio_blk crc32c_generic ext4)

say() { printf 'build-debian: %s\n' "$*" >&2; }
die() {
	say "error: $*"
	exit 1
}

[ $# -eq 1 ] || {
	echo "usage: $0 OUTDIR" >&2
	exit 2
}
out=$1
[ "$(id -u)" = 0 ] || die "must run as root (chroot, and mkfs.ext4 -d copies file owners)"
for cmd in debootstrap chroot mkfs.ext4 qemu-img zstd systemctl; do
	command -v "$cmd" >/dev/null || die "'$cmd' is missing"
done

# ---- mirror ---------------------------------------------------------------

# The URI apt on this machine uses for Debian suite $1 (main), or nothing.
apt_mirror_for() {
	# shellcheck disable=SC2016 # apt's own $(FIELD) syntax
	apt-get indextargets --format '$(RELEASE) $(COMPONENT) $(ORIGIN) $(REPO_URI)' 2>/dev/null |
		awk -v s="$1" '$1 == s && $2 == "main" && $3 == "Debian" { print $4; exit }'
}

mirror=${SKIFF_DEBIAN_MIRROR:-$(apt_mirror_for "$suite")}
if [ -z "$mirror" ]; then
	say "no apt source for '$suite' known: running apt-get update"
	apt-get -q update >&2 || true
	mirror=$(apt_mirror_for "$suite")
fi
[ -n "$mirror" ] || die "no Debian '$suite' mirror in this machine's apt sources (set SKIFF_DEBIAN_MIRROR)"
mirror=${mirror%/}
security=$(apt_mirror_for "$suite-security")
security=${security%/}

# ---- work directory and chroot mounts ---------------------------------------

mkdir -p "$cache" "$out"
work=$(mktemp -d "${TMPDIR:-/tmp}/build-debian.XXXXXX")
root=$work/root
mounted=()

unmount_all() {
	local i
	for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
		umount "${mounted[$i]}" 2>/dev/null || umount -l "${mounted[$i]}" 2>/dev/null || true
	done
	mounted=()
}

cleanup() {
	unmount_all
	# Never recurse into something still mounted (e.g. the host's /proc).
	if grep -q " $work/" /proc/mounts; then
		say "warning: mounts left under '$work', not removing it"
	else
		rm -rf --one-file-system "$work"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mount_chroot() {
	mount -t proc proc "$root/proc" && mounted+=("$root/proc")
	mount -t sysfs sysfs "$root/sys" && mounted+=("$root/sys")
}

in_chroot() {
	chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
		DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 HOME=/root "$@"
}

unpack() {
	rm -rf --one-file-system "$root"
	mkdir -p "$root"
	zstd -dcq "$1" | tar -C "$root" --numeric-owner -xpf -
}

pack() {
	tar -C "$root" --numeric-owner -cf - . | zstd -T0 -3 -q >"$1.tmp"
	mv "$1.tmp" "$1"
}

# ---- stage 1: debootstrap ---------------------------------------------------

stage_debootstrap() {
	local tarball=$1
	say "debootstrap --variant=minbase $suite from $mirror"
	mkdir -p "$root"
	debootstrap --variant=minbase --components=main "$suite" "$root" "$mirror" >&2 ||
		die "debootstrap failed (log: $root/debootstrap/debootstrap.log)"
	# The .debs and package lists are of no use to the next stage.
	rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
	pack "$tarball"
}

# ---- stage 2: packages (inside the chroot) ----------------------------------

write_sources() {
	{
		echo "deb $mirror $suite main"
		echo "deb $mirror $suite-updates main"
		[ -z "$security" ] || echo "deb $security $suite-security main"
	} >"$root/etc/apt/sources.list"
}

stage_install() {
	local tarball=$1 mod
	write_sources
	cp -L /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
	# No service starts inside the chroot.
	printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
	chmod 0755 "$root/usr/sbin/policy-rc.d"
	# A small initramfs: only what finds and mounts the virtio root disk.
	mkdir -p "$root/etc/initramfs-tools/conf.d"
	echo MODULES=list >"$root/etc/initramfs-tools/conf.d/skiff.conf"
	for mod in "${initramfs_modules[@]}"; do echo "$mod"; done >>"$root/etc/initramfs-tools/modules"
	mount_chroot
	in_chroot apt-get -q update >&2 || die "apt-get update in the chroot failed"
	in_chroot apt-get -q -y --no-install-recommends -o Dpkg::Use-Pty=0 install "${packages[@]}" >&2 ||
		die "apt-get install in the chroot failed"
	in_chroot apt-get -q clean >&2
	unmount_all
	rm -f "$root/usr/sbin/policy-rc.d"
	rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin
	pack "$tarball"
}

# ---- stage 3: configuration (plain files, every build) ----------------------

write_file() {
	local path=$root$1
	mkdir -p "$(dirname "$path")"
	cat >"$path"
}

configure_system() {
	write_sources
	rm -f "$root/etc/resolv.conf"
	echo "$default_user" >"$root/etc/hostname"
	printf '127.0.0.1\tlocalhost\n127.0.1.1\t%s\n::1\tlocalhost ip6-localhost ip6-loopback\n' \
		"$default_user" >"$root/etc/hosts"
	echo "/dev/vda / ext4 rw,errors=remount-ro 0 1" >"$root/etc/fstab"
	# systemd makes a fresh machine id at first boot; cloud-init and sshd
	# must not find keys left by the package installation.
	: >"$root/etc/machine-id"
	rm -f "$root/var/lib/dbus/machine-id" "$root"/etc/ssh/ssh_host_*
	rm -rf "$root/var/lib/cloud" "$root"/var/log/cloud-init*
	# Documentation and translations: ~70 MiB less to import and store.
	rm -rf "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* \
		"$root"/usr/share/locale/*
	write_file /etc/dpkg/dpkg.cfg.d/skiff-nodoc <<-'EOF'
		path-exclude /usr/share/doc/*
		path-exclude /usr/share/man/*
		path-exclude /usr/share/info/*
		path-exclude /usr/share/locale/*
	EOF
	find "$root/var/log" -type f -exec truncate -s 0 {} +
}

configure_network() {
	write_file /etc/systemd/network/50-skiff-dhcp.network <<-'EOF'
		[Match]
		Name=en* eth*

		[Network]
		DHCP=ipv4
		LinkLocalAddressing=no
		IPv6AcceptRA=no
	EOF
	# Anything waiting for network-online waits for one link, 20 s at most.
	write_file /etc/systemd/system/systemd-networkd-wait-online.service.d/skiff.conf <<-'EOF'
		[Service]
		ExecStart=
		ExecStart=/lib/systemd/systemd-networkd-wait-online --any --timeout=20
	EOF
	systemctl --root="$root" -q enable systemd-networkd.service systemd-networkd-wait-online.service
}

configure_services() {
	local unit
	# Timers and units that cost boot time or run work nobody asked for.
	for unit in apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service \
		fstrim.timer getty@tty1.service; do
		systemctl --root="$root" -q disable "$unit" 2>/dev/null || true
	done
	# Mounts and modules a VM of this kind has no use for: each costs
	# 1-3 s of the single emulated CPU before cloud-init can start.
	systemctl --root="$root" -q mask getty@tty1.service \
		modprobe@dm_mod.service modprobe@drm.service modprobe@efi_pstore.service \
		modprobe@fuse.service modprobe@loop.service modprobe@configfs.service \
		sys-kernel-config.mount sys-kernel-debug.mount sys-kernel-tracing.mount \
		sys-fs-fuse-connections.mount dev-hugepages.mount \
		systemd-binfmt.service proc-sys-fs-binfmt_misc.automount \
		proc-sys-fs-binfmt_misc.mount systemd-pstore.service
	# The ACPI power button (qemu's system_powerdown) powers off at once.
	write_file /etc/systemd/logind.conf.d/skiff.conf <<-'EOF'
		[Login]
		HandlePowerKey=poweroff
		PowerKeyIgnoreInhibited=yes
	EOF
	write_file /etc/systemd/system.conf.d/skiff.conf <<-'EOF'
		[Manager]
		DefaultTimeoutStopSec=10s
	EOF
	# Where cloud-init's set-passwords module writes skiff's `ssh_pwauth:
	# false`: finding it already said, it does not restart sshd (a restart
	# cuts SSH handshakes in progress).
	write_file /etc/ssh/sshd_config.d/50-cloud-init.conf <<-'EOF'
		PasswordAuthentication no
	EOF
	chmod 0600 "$root/etc/ssh/sshd_config.d/50-cloud-init.conf"
}

configure_cloud_init() {
	write_file /etc/cloud/cloud.cfg.d/90-skiff.cfg <<-EOF
		# skiff's test guest: NoCloud seeds only, no slow or network modules.
		datasource_list: [ NoCloud, None ]
		network: {config: disabled}
		system_info:
		  default_user:
		    name: $default_user
		    lock_passwd: true
		    gecos: Debian
		    groups: [adm, sudo]
		    sudo: ["ALL=(ALL) NOPASSWD:ALL"]
		    shell: /bin/bash
		# skiff injects an ed25519 host key; without one cloud-init makes
		# an ed25519 key only (RSA takes ~13 s under TCG).
		ssh_genkeytypes: [ed25519]
		ssh_deletekeys: true
		disable_root: true
		preserve_hostname: false
		manage_etc_hosts: true
		cloud_init_modules:
		  - seed_random
		  - bootcmd
		  - write-files
		  - growpart
		  - resizefs
		  - set_hostname
		  - update_hostname
		  - update_etc_hosts
		  - users-groups
		  - ssh
		cloud_config_modules:
		  - set-passwords
		  - timezone
		  - runcmd
		cloud_final_modules:
		  - package-update-upgrade-install
		  - write-files-deferred
		  - scripts-vendor
		  - scripts-per-once
		  - scripts-per-boot
		  - scripts-per-instance
		  - scripts-user
		  - ssh-authkey-fingerprints
		  - keys-to-console
		  - final-message
		  - power-state-change
	EOF
}

# ---- images -----------------------------------------------------------------

# Prints the value of the little-endian u8/u32 field of bzImage $1 at
# byte offset $2, $3 bytes wide.
setup_field() {
	od -An -tu"$3" -j "$2" -N "$3" "$1" | tr -d ' '
}

# Writes the uncompressed ELF kernel inside bzImage $1 to $2, from the
# payload the setup header points at (payload_offset, payload_length).
extract_vmlinux() {
	local in=$1 dest=$2 sects off len magic
	sects=$(setup_field "$in" $((0x1f1)) 1)
	off=$(((sects + 1) * 512 + $(setup_field "$in" $((0x248)) 4)))
	len=$(setup_field "$in" $((0x24c)) 4)
	[ -n "$sects" ] && [ "$len" -gt 0 ] || return 1
	magic=$(tail -c "+$((off + 1))" "$in" | head -c 4 | od -An -tx1 | tr -d ' ')
	local unpack_cmd
	case $magic in
	02214c18) unpack_cmd=(lz4 -dc) ;;
	28b52ffd) unpack_cmd=(zstd -dcq -M2048MB) ;;
	fd377a58) unpack_cmd=(xz -dc) ;;
	1f8b08*) unpack_cmd=(gzip -dc) ;;
	*)
		say "warning: unknown kernel payload (magic $magic): no vmlinux"
		return 1
		;;
	esac
	command -v "${unpack_cmd[0]}" >/dev/null || {
		say "warning: '${unpack_cmd[0]}' is missing: no vmlinux"
		return 1
	}
	tail -c "+$((off + 1))" "$in" | head -c "$len" | "${unpack_cmd[@]}" >"$dest.tmp" 2>/dev/null || true
	if [ "$(head -c 4 "$dest.tmp" | od -An -tx1 | tr -d ' ')" = 7f454c46 ]; then
		mv "$dest.tmp" "$dest"
		return 0
	fi
	rm -f "$dest.tmp"
	say "warning: the kernel payload of '$in' is not an ELF file: no vmlinux"
	return 1
}

write_outputs() {
	local kver
	kver=$(find "$root/boot" -maxdepth 1 -name 'vmlinuz-*' -printf '%f\n' | sed 's/^vmlinuz-//' | sort -V | tail -n 1)
	[ -n "$kver" ] || die "no kernel in the chroot's /boot"
	[ -s "$root/boot/initrd.img-$kver" ] || die "no initramfs for '$kver'"
	cp "$root/boot/vmlinuz-$kver" "$out/vmlinuz.tmp" && mv "$out/vmlinuz.tmp" "$out/vmlinuz"
	cp "$root/boot/initrd.img-$kver" "$out/initrd.img.tmp" && mv "$out/initrd.img.tmp" "$out/initrd.img"
	rm -f "$out/vmlinux"
	extract_vmlinux "$out/vmlinuz" "$out/vmlinux" || true
	echo "$kver" >"$out/kernel-version"
	echo "$cmdline" >"$out/cmdline"
	echo "$default_user" >"$out/user"
	say "mkfs.ext4 -d ($rootfs_size)"
	rm -f "$work/rootfs.img"
	mkfs.ext4 -q -F -L skiff-root -d "$root" "$work/rootfs.img" "$rootfs_size" >&2 ||
		die "mkfs.ext4 -d failed"
	qemu-img convert -f raw -O qcow2 "$work/rootfs.img" "$out/rootfs.qcow2.tmp" >&2 ||
		die "qemu-img convert failed"
	mv "$out/rootfs.qcow2.tmp" "$out/rootfs.qcow2"
}

# ---- main -------------------------------------------------------------------

start=$(date +%s)
# Each tarball's name holds a hash of what made it: a change to the mirror,
# the packages or the code of a stage rebuilds that stage.
base_key=$( {
	echo "$mirror $suite"
	declare -f stage_debootstrap pack
} | sha256sum | cut -c1-16)
base_tar=$cache/$suite-minbase-$base_key.tar.zst
key=$( {
	echo "$base_key $mirror $security ${packages[*]} ${initramfs_modules[*]}"
	declare -f stage_install write_sources mount_chroot in_chroot pack
} | sha256sum | cut -c1-16)
installed_tar=$cache/$suite-installed-$key.tar.zst

if [ -s "$installed_tar" ]; then
	say "using cached $(basename "$installed_tar")"
	unpack "$installed_tar"
else
	if [ -s "$base_tar" ]; then
		say "using cached $(basename "$base_tar")"
		unpack "$base_tar"
	else
		stage_debootstrap "$base_tar"
	fi
	stage_install "$installed_tar"
	# Older installed trees are of no further use.
	find "$cache" -maxdepth 1 -name "$suite-*.tar.zst" ! -name "$(basename "$installed_tar")" \
		! -name "$(basename "$base_tar")" -delete
fi
configure_system
configure_network
configure_services
configure_cloud_init
write_outputs
say "done in $(($(date +%s) - start)) s: $out ($(cat "$out/kernel-version"))"
