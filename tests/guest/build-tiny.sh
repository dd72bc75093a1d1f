#!/bin/bash
# tests/guest/build-tiny.sh OUTDIR
#
# Builds skiff's tiny test guest from Debian packages only (apt, no other
# network): Debian's kernel, an initramfs made of busybox-static and the
# kernel modules the guest needs, and an ext4 root filesystem holding
# busybox, dropbear and the NoCloud init in tests/guest/tiny/.
#
# OUTDIR receives: vmlinux (uncompressed ELF, boots through PVH on microvm),
# vmlinuz (bzImage, for q35), initrd.img, rootfs.qcow2, cmdline and
# kernel-version.  Downloads are cached under ${SKIFF_GUEST_CACHE:-
# tests/guest/cache}; a rebuild from the cache takes seconds.
#
# Needs: apt-get, dpkg, depmod (kmod), cpio, mkfs.ext4 (e2fsprogs),
# qemu-img, xz, and zstd or gzip.  Runs as root, or re-runs itself under
# fakeroot so that files in the images are owned by root.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
tiny=$here/tiny
cache=${SKIFF_GUEST_CACHE:-$here/cache}
rootfs_size=${SKIFF_TINY_ROOTFS_SIZE:-256M}

# Modules the initramfs loads, in this order, each after the modules it
# depends on (from modules.dep).  crc32c_generic is ext4's soft dependency
# (crypto-crc32c).  button + evdev deliver the ACPI power button.
initramfs_modules=(virtio_mmio virtio_pci virtio_blk virtio-rng virtio_net
                   crc32c_generic ext4 isofs button evdev)
# Loaded by the root filesystem's init only when no virtio seed disk is
# found: a seed ISO on an emulated CD drive (q35's AHCI, pc's PIIX).
rootfs_modules=(ahci ata_piix sr_mod)
# dropbear-bin and the packages of the libraries it links.
dropbear_pkgs=(dropbear-bin libc6 libcrypt1 libtomcrypt1 libtommath1 libgmp10 zlib1g)

say() { printf 'build-tiny: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

usage() {
	echo "usage: $0 OUTDIR" >&2
	exit 2
}

# ---- packages -------------------------------------------------------------

apt_updated=0
apt_update_once() {
	[ "$apt_updated" = 1 ] && return 1
	apt_updated=1
	say "package lookup failed: running apt-get update"
	apt-get -q update >&2 || die "apt-get update failed"
}

# Fills the global array cand (package -> candidate version) for the
# packages $@ with one apt-cache call; unknown packages get no entry.
declare -A cand
candidate_versions() {
	local pkg ver
	while read -r pkg ver; do
		[ -n "$ver" ] && cand[$pkg]=$ver
	done < <(apt-cache policy "$@" 2>/dev/null | awk '
		/^[^ ]/ { pkg = $1; sub(/:$/, "", pkg) }
		$1 == "Candidate:" && $2 != "(none)" { print pkg, $2 }')
}

# Prints the path of the cached .deb of package $1 (candidate version from
# cand), downloading it first.  Offline and unknown to apt: the newest
# cached .deb of that name is used.
fetch_deb() {
	local pkg=$1 ver=${cand[$1]:-} file
	if [ -z "$ver" ]; then
		file=$(ls -t "$cache"/debs/"${pkg}"_*.deb 2>/dev/null | head -n 1)
		[ -n "$file" ] || die "package '$pkg' is unknown to apt and not cached"
		echo "$file"
		return
	fi
	file=$(ls "$cache/debs/${pkg}_${ver//:/%3a}"_*.deb 2>/dev/null | head -n 1 || true)
	if [ -z "$file" ]; then
		say "downloading $pkg $ver"
		local sandbox=()
		[ "$(id -u)" = 0 ] && sandbox=(-o APT::Sandbox::User=root)
		(cd "$cache/debs" && apt-get -q "${sandbox[@]}" download "$pkg=$ver" >&2) ||
			die "apt-get download '$pkg=$ver' failed"
		file=$(ls "$cache/debs/${pkg}_${ver//:/%3a}"_*.deb | head -n 1)
	fi
	echo "$file"
}

# Resolves the candidates of the packages $@, running apt-get update once
# when one is unknown and not cached.
resolve_packages() {
	local pkg
	candidate_versions "$@"
	for pkg in "$@"; do
		if [ -z "${cand[$pkg]:-}" ] && ! ls "$cache"/debs/"${pkg}"_*.deb >/dev/null 2>&1; then
			apt_update_once && candidate_versions "$@"
			return
		fi
	done
}

# The versioned kernel package linux-image-amd64 depends on.
kernel_package() {
	local pkg
	pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
		awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }')
	if [ -z "$pkg" ]; then
		apt_update_once || true
		pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
			awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }')
	fi
	if [ -z "$pkg" ]; then
		# Offline: the newest cached kernel.
		pkg=$(ls -t "$cache"/debs/linux-image-[0-9]*-amd64_*.deb 2>/dev/null | head -n 1)
		pkg=${pkg##*/}
		pkg=${pkg%%_*}
	fi
	[ -n "$pkg" ] || die "cannot resolve the kernel package behind linux-image-amd64"
	echo "$pkg"
}

# ---- kernel ---------------------------------------------------------------

# Module file (relative to the modules dir) of module $1 in modules.dep;
# '-' and '_' are the same in module names.
module_path() {
	local want=${1//-/_}
	awk -F: -v want="$want" '{
		n = $1; sub(/.*\//, "", n); sub(/\.ko(\.[a-z]+)?$/, "", n); gsub(/-/, "_", n)
		if (n == want) { print $1; exit }
	}' "$2/modules.dep"
}

module_builtin() {
	local want=${1//-/_}
	awk -v want="$want" '{
		n = $0; sub(/.*\//, "", n); sub(/\.ko$/, "", n); gsub(/-/, "_", n)
		if (n == want) { found = 1; exit }
	} END { exit !found }' "$2/modules.builtin"
}

# Appends module file $1 and its dependencies (dependencies first) to the
# global array mod_order, each once.
declare -A mod_seen
mod_order=()
module_visit() {
	local file=$1 moddir=$2 dep
	[ -n "${mod_seen[$file]:-}" ] && return
	mod_seen[$file]=1
	for dep in $(awk -F: -v f="$file" '$1 == f { print $2; exit }' "$moddir/modules.dep"); do
		module_visit "$dep" "$moddir"
	done
	mod_order+=("$file")
}

# Resolves module names $3... of the modules dir $1 into the global
# mod_order; builtins are skipped, unknown names are fatal.
resolve_modules() {
	local moddir=$1 name file
	shift
	mod_order=()
	mod_seen=()
	for name in "$@"; do
		file=$(module_path "$name" "$moddir")
		if [ -z "$file" ]; then
			module_builtin "$name" "$moddir" && continue
			die "kernel module '$name' is neither in modules.dep nor built in"
		fi
		module_visit "$file" "$moddir"
	done
}

# Unpacks the kernel package into $cache/kernel-$kver once: vmlinuz,
# config, modules.dep (from depmod) and the modules this script uses.
unpack_kernel() {
	local deb=$1 kver=$2 dest
	dest=$cache/kernel-$kver
	if [ -f "$dest/.complete" ]; then
		echo "$dest"
		return
	fi
	say "unpacking $(basename "$deb")"
	local tmp
	tmp=$(mktemp -d "$cache/unpack.XXXXXX")
	dpkg -x "$deb" "$tmp"
	depmod -b "$tmp" "$kver" || die "depmod failed for $kver"
	local moddir=$tmp/lib/modules/$kver file
	rm -rf "$dest"
	mkdir -p "$dest/modules"
	cp "$tmp/boot/vmlinuz-$kver" "$dest/vmlinuz"
	cp "$tmp/boot/config-$kver" "$dest/config"
	cp "$moddir"/modules.dep "$moddir"/modules.builtin "$moddir"/modules.softdep "$dest/modules/"
	resolve_modules "$moddir" "${initramfs_modules[@]}" "${rootfs_modules[@]}"
	for file in "${mod_order[@]}"; do
		mkdir -p "$dest/modules/$(dirname "$file")"
		cp "$moddir/$file" "$dest/modules/$file"
	done
	rm -rf "$tmp"
	touch "$dest/.complete"
	echo "$dest"
}

# Byte offsets of the compressed payload candidates in bzImage $1 (the
# magic numbers of the formats the kernel can be compressed with), each
# line "OFFSET FORMAT".
payload_offsets() {
	local fmt magic
	for fmt in xz:'\xfd\x37\x7a\x58\x5a\x00' gzip:'\x1f\x8b\x08' zstd:'\x28\xb5\x2f\xfd' \
		lzma:'\x5d\x00\x00\x00' bzip2:'BZh' lz4:'\x02\x21\x4c\x18'; do
		magic=${fmt#*:}
		LC_ALL=C grep -obUaP "$magic" "$1" 2>/dev/null | head -n 8 |
			while IFS=: read -r off _; do echo "$off ${fmt%%:*}"; done
	done
}

decompress() {
	case $1 in
	xz) xz -dc --single-stream 2>/dev/null ;;
	gzip) gzip -dc 2>/dev/null ;;
	zstd) zstd -dcq 2>/dev/null ;;
	lzma) xz -dc --format=lzma 2>/dev/null ;;
	bzip2) bzip2 -dc 2>/dev/null ;;
	lz4) lz4 -dc 2>/dev/null ;;
	esac
}

# Writes the uncompressed ELF kernel inside bzImage $1 to $2: tries each
# compressed-payload candidate until one decompresses to an ELF file.
extract_vmlinux() {
	local in=$1 out=$2 off fmt
	while read -r off fmt; do
		tail -c "+$((off + 1))" "$in" | decompress "$fmt" >"$out.tmp" || true
		if [ "$(head -c 4 "$out.tmp" | od -An -tx1 | tr -d ' ')" = 7f454c46 ]; then
			mv "$out.tmp" "$out"
			say "vmlinux: $fmt payload at offset $off"
			return 0
		fi
	done < <(payload_offsets "$in" | sort -n)
	rm -f "$out.tmp"
	die "no compressed ELF kernel found in '$in'"
}

# ---- images ---------------------------------------------------------------

# Symlinks every applet of the busybox binary at $1/bin/busybox, in the
# directory busybox installs it to, unless a file of that name exists.
busybox_links() {
	local root=$1 path
	for path in $("$root/bin/busybox" --list-full); do
		[ -e "$root/$path" ] || [ -L "$root/$path" ] && continue
		[ -d "$root/${path%/*}" ] || mkdir -p "$root/${path%/*}"
		if [ "${path%/*}" = bin ]; then
			ln -s busybox "$root/$path"
		else
			ln -s /bin/busybox "$root/$path"
		fi
	done
}

build_initramfs() {
	local kdir=$1 busybox=$2 out=$3 stage file name
	stage=$(mktemp -d "$work/initramfs.XXXXXX")
	mkdir -p "$stage"/{bin,dev,proc,sys,newroot,lib/modules}
	cp "$busybox" "$stage/bin/busybox"
	for name in $("$busybox" --list); do
		[ "$name" = busybox ] || ln -s busybox "$stage/bin/$name"
	done
	ln -s bin "$stage/sbin"
	install -m 0755 "$tiny/initramfs-init" "$stage/init"
	[ "$(id -u)" = 0 ] && mknod -m 600 "$stage/dev/console" c 5 1
	resolve_modules "$kdir/modules" "${initramfs_modules[@]}"
	: >"$stage/lib/modules/load.list"
	for file in "${mod_order[@]}"; do
		name=$(basename "$file")
		name=${name%%.ko*}
		case $file in
		*.ko.xz) xz -dc "$kdir/modules/$file" >"$stage/lib/modules/$name.ko" ;;
		*.ko.zst) zstd -dcq "$kdir/modules/$file" >"$stage/lib/modules/$name.ko" ;;
		*.ko.gz) gzip -dc "$kdir/modules/$file" >"$stage/lib/modules/$name.ko" ;;
		*) cp "$kdir/modules/$file" "$stage/lib/modules/$name.ko" ;;
		esac
		echo "$name" >>"$stage/lib/modules/load.list"
	done
	local compress=(gzip -9n)
	command -v zstd >/dev/null && compress=(zstd -q -12 -T0)
	(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort |
		cpio --quiet -o -H newc -R 0:0) | "${compress[@]}" >"$out"
	say "initrd.img: ${#mod_order[@]} modules, ${compress[0]}, $(du -k "$out" | cut -f1) KiB"
}

# Copies the executables $3... of the unpacked packages at $1 into the
# root filesystem at $2 with every shared library they load (as the
# packaged dynamic loader resolves them) and the loader itself.
install_dynamic() {
	local sys=$1 root=$2 bin lib interp
	shift 2
	interp=/lib64/ld-linux-x86-64.so.2
	[ -e "$sys$interp" ] || die "no dynamic loader in the unpacked libc6"
	local libpath=$sys/lib/x86_64-linux-gnu:$sys/usr/lib/x86_64-linux-gnu
	mkdir -p "$root/lib/x86_64-linux-gnu" "$root/lib64"
	for bin in "$@"; do
		mkdir -p "$root/$(dirname "$bin")"
		cp "$sys/$bin" "$root/$bin"
		"$sys$interp" --library-path "$libpath" --list "$sys/$bin" >"$work/ldd.out" ||
			die "the dynamic loader cannot list the libraries of '$bin'"
		if grep -q 'not found' "$work/ldd.out"; then
			die "'$bin' needs libraries no unpacked package has: $(grep 'not found' "$work/ldd.out" | tr -s ' \t\n' ' ')"
		fi
		for lib in $(awk '$2 == "=>" && $3 ~ /^\// { print $3 }' "$work/ldd.out"); do
			cp -L "$lib" "$root/lib/x86_64-linux-gnu/$(basename "$lib")"
		done
	done
	cp -L "$sys$interp" "$root/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"
	ln -sf ../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 "$root$interp"
}

write_etc() {
	local root=$1
	mkdir -p "$root"/etc/{dropbear,acpi/PWRF,profile.d}
	cat >"$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/usr/libexec/skiff-guest/shell
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
EOF
	cat >"$root/etc/group" <<'EOF'
root:x:0:
nogroup:x:65534:
EOF
	cat >"$root/etc/shadow" <<'EOF'
root:*:19000:0:99999:7:::
nobody:*:19000:0:99999:7:::
EOF
	chmod 0640 "$root/etc/shadow"
	printf '%s\n' /bin/sh /bin/ash /usr/libexec/skiff-guest/shell >"$root/etc/shells"
	printf 'passwd: files\ngroup: files\nshadow: files\nhosts: files dns\n' >"$root/etc/nsswitch.conf"
	echo skiff >"$root/etc/hostname"
	printf '127.0.0.1\tlocalhost\n::1\tlocalhost\n127.0.1.1\tskiff\n' >"$root/etc/hosts"
	: >"$root/etc/resolv.conf"
	: >"$root/etc/environment"
	cat >"$root/etc/profile" <<'EOF'
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
for f in /etc/profile.d/*.sh; do [ -r "$f" ] && . "$f"; done
unset f
EOF
	install -m 0644 "$tiny/inittab" "$root/etc/inittab"
	printf '#!/bin/sh\nexec /usr/libexec/skiff-guest/init poweroff\n' >"$root/etc/acpi/PWRF/00000080"
	chmod 0755 "$root/etc/acpi/PWRF/00000080"
}

build_rootfs() {
	local kdir=$1 busybox=$2 kver=$3 out=$4 root deb file
	root=$(mktemp -d "$work/rootfs.XXXXXX")
	mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,run,tmp,mnt,home}
	mkdir -p "$root"/{var/log,var/lib/skiff-guest,usr/libexec/skiff-guest}
	install -d -m 0700 "$root/root" "$root/root/.ssh"
	chmod 1777 "$root/tmp"
	ln -s ../run "$root/var/run"
	cp "$busybox" "$root/bin/busybox"
	busybox_links "$root"
	# busybox init is PID 1 and reads /etc/inittab.
	[ -L "$root/sbin/init" ] || ln -s /bin/busybox "$root/sbin/init"

	local sys=$work/sysroot
	mkdir -p "$sys"
	for deb in "${dropbear_debs[@]}"; do dpkg -x "$deb" "$sys"; done
	install_dynamic "$sys" "$root" usr/sbin/dropbear usr/bin/dropbearkey usr/bin/dropbearconvert

	write_etc "$root"
	install -m 0755 "$tiny/init" "$tiny/shell" "$tiny/udhcpc.script" "$root/usr/libexec/skiff-guest/"
	install -m 0644 "$tiny/cloud-yaml.awk" "$tiny/mime.awk" "$root/usr/libexec/skiff-guest/"

	# The CD modules, loaded on demand (see rootfs_modules).
	resolve_modules "$kdir/modules" "${rootfs_modules[@]}"
	mkdir -p "$root/lib/modules/$kver"
	: >"$root/lib/modules/$kver/cdrom.list"
	for file in "${mod_order[@]}"; do
		local name
		name=$(basename "$file")
		name=${name%%.ko*}
		cp "$kdir/modules/$file" "$root/lib/modules/$kver/$name.ko"
		echo "$name" >>"$root/lib/modules/$kver/cdrom.list"
	done

	rm -f "$work/rootfs.raw"
	truncate -s "$rootfs_size" "$work/rootfs.raw"
	mkfs.ext4 -q -F -L skiff-root -m 0 -E root_owner=0:0 -d "$root" "$work/rootfs.raw" ||
		die "mkfs.ext4 failed"
	qemu-img convert -f raw -O qcow2 "$work/rootfs.raw" "$out.tmp"
	mv "$out.tmp" "$out"
	say "rootfs.qcow2: $rootfs_size ext4 (label skiff-root), $(du -k "$out" | cut -f1) KiB"
}

# ---- main -----------------------------------------------------------------

main() {
	[ $# = 1 ] || usage
	local out=$1
	if [ "$(id -u)" != 0 ] && [ -z "${FAKEROOTKEY:-}" ]; then
		command -v fakeroot >/dev/null || die "run as root or install fakeroot"
		exec fakeroot -- "$0" "$@"
	fi
	for tool in apt-get apt-cache dpkg depmod cpio mkfs.ext4 qemu-img xz; do
		command -v "$tool" >/dev/null || die "'$tool' is missing"
	done
	mkdir -p "$out" "$cache/debs"
	out=$(cd "$out" && pwd)
	work=$(mktemp -d "${TMPDIR:-/tmp}/build-tiny.XXXXXX")
	trap 'rm -rf "$work"' EXIT

	local kpkg kver kdeb kdir busybox_deb
	kpkg=$(kernel_package)
	kver=${kpkg#linux-image-}
	resolve_packages "$kpkg" busybox-static "${dropbear_pkgs[@]}"
	kdeb=$(fetch_deb "$kpkg")
	busybox_deb=$(fetch_deb busybox-static)
	dropbear_debs=()
	local pkg
	for pkg in "${dropbear_pkgs[@]}"; do dropbear_debs+=("$(fetch_deb "$pkg")"); done

	kdir=$(unpack_kernel "$kdeb" "$kver")
	mkdir -p "$work/busybox"
	dpkg -x "$busybox_deb" "$work/busybox"
	local busybox=$work/busybox/bin/busybox
	[ -x "$busybox" ] || die "busybox-static has no /bin/busybox"

	cp "$kdir/vmlinuz" "$out/vmlinuz"
	[ -f "$kdir/vmlinux" ] || extract_vmlinux "$kdir/vmlinuz" "$kdir/vmlinux"
	cp "$kdir/vmlinux" "$out/vmlinux"
	build_initramfs "$kdir" "$busybox" "$out/initrd.img"
	build_rootfs "$kdir" "$busybox" "$kver" "$out/rootfs.qcow2"
	echo "$kver" >"$out/kernel-version"
	echo "console=ttyS0 quiet cryptomgr.notests" >"$out/cmdline"
	say "done: $out (kernel $kver)"
}

main "$@"
