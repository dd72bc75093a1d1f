#!/usr/bin/env bash
# Install every Debian package that building, running and testing skiff need.
# Idempotent: prints nothing when everything is present.  Called by `make deps`
# (and so by `make check` and `make demo`).
set -euo pipefail

# One package per line; add new ones here.
PACKAGES=(
	# build
	build-essential
	pkg-config
	libglib2.0-dev
	libostree-dev
	libcurl4-openssl-dev
	libjansson-dev
	libarchive-dev
	libssl-dev
	libzstd-dev
	zlib1g-dev
	# runner and guests
	qemu-system-x86
	qemu-utils
	openssh-client
	busybox-static
	dropbear-bin
	genisoimage
	cpio
	zstd
	xz-utils
	kmod
	e2fsprogs
	fakeroot
	util-linux
	strace
	debootstrap
	lz4
	dpkg-dev
	# a BIOS-bootable disk of the tiny guest (tests/guest/build-bios.sh)
	syslinux
	syslinux-common
	mtools
	dosfstools
	fdisk
	# store
	ostree
	# registries and end-to-end tests
	docker-registry
	skopeo
	apache2-utils
	# KubeVirt containerDisks built from scratch in the tests
	buildah
	openssl
	nodejs
	curl
	ca-certificates
	perl
	python3
	# S3: a throwaway Ceph cluster with radosgw, Debian's aws CLI, faketime
	radosgw
	ceph-mon
	ceph-osd
	awscli
	faketime
)

# Commands that must exist afterwards, whatever provides them.
COMMANDS=(cc pkg-config prove node curl openssl htpasswd docker-registry skopeo)

die() {
	echo "deps: $*" >&2
	exit 1
}

# Prints the packages of PACKAGES that are not installed (one dpkg-query,
# which fails when it knows none of a package: that one is missing too).
missing_packages() {
	local installed pkg
	installed=" $(dpkg-query -W -f='${db:Status-Status} ${Package}\n' "${PACKAGES[@]}" 2>/dev/null |
		sed -n 's/^installed //p' | tr '\n' ' ' || true) "
	for pkg in "${PACKAGES[@]}"; do
		[[ $installed == *" $pkg "* ]] || echo "$pkg"
	done
}

as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo -- "$@"
	else
		die "not root and sudo is not installed: install as root: apt-get install ${missing[*]}"
	fi
}

command -v dpkg-query >/dev/null 2>&1 || die "dpkg-query not found: skiff builds on Debian 12"

mapfile -t missing < <(missing_packages)
if [ "${#missing[@]}" -gt 0 ]; then
	echo "deps: installing ${missing[*]}"
	as_root apt-get update -qq
	as_root env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

for cmd in "${COMMANDS[@]}"; do
	command -v "$cmd" >/dev/null 2>&1 || die "command '$cmd' still missing after installing packages"
done

# npm packages, if any are ever needed, go in tests/package.json and are
# installed with `npm ci` here.  None are needed now.
