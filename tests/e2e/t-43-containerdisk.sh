#!/usr/bin/env bash
# KubeVirt containerDisks: a container image built from scratch by buildah
# (disk under /disk/, uid/gid 107) pushed to the real registry imports and
# runs like any skiff image; a raw /disk/*.img is converted; images without
# a disk or skiff images are refused; export --format containerdisk pushes
# a flattened containerDisk of that shape, which buildah pulls and skiff
# imports back.  `skiff pull` and `skiff run` of a containerDisk reference
# import it without --containerdisk; a BIOS-bootable one boots.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/guest.sh"

require_cmd buildah docker-registry skopeo qemu-system-x86_64 qemu-img ssh ssh-keygen python3 sfdisk mkfs.fat mcopy syslinux
guest_build
check "registry starts" registry_start || abort "no registry"
R=$REGISTRY_ADDR/kv
echo '{"auths":{}}' >"$TMP/bh-auth.json"
bh() { env -u DOCKER_CONFIG REGISTRY_AUTH_FILE="$TMP/bh-auth.json" buildah --root "$TMP/bh/root" --runroot "$TMP/bh/run" --storage-driver vfs "$@"; }
# containerdisk NAME FILE DEST: a from-scratch image with FILE as /disk/DEST.
containerdisk() {
	mkdir -p "$TMP/ctx-$1" && cp "$2" "$TMP/ctx-$1/$3" &&
		printf 'FROM scratch\nADD --chown=107:107 %s /disk/\n' "$3" >"$TMP/ctx-$1/Containerfile" &&
		bh build -q -t "$1" "$TMP/ctx-$1" >/dev/null && bh push -q --tls-verify=false "$1" "docker://$R/$1:1"
}
boot_opts=(--kernel "$GUEST_DIR/vmlinux" --initrd "$GUEST_DIR/initrd.img" --cmdline "$(cat "$GUEST_DIR/cmdline")" --memory 256)

check "buildah builds and pushes a containerDisk of the tiny guest" containerdisk tiny "$GUEST_DIR/rootfs.qcow2" tiny.qcow2
check "import --containerdisk" skiff import --containerdisk --tls-verify=false "${boot_opts[@]}" "$R/tiny:1" cdtiny
run skiff inspect cdtiny
want=$(sha256sum "$GUEST_DIR/rootfs.qcow2" | cut -d' ' -f1)
like "$OUT" "\"sha256:$want\"" "the layer is the disk from the image, byte for byte"
check "run it" skiff run -d --name cd1 cdtiny
run skiff exec cd1 -- hostname
is "$OUT" cd1 "the containerDisk's guest runs and answers"
check "rm -f cd1" skiff rm -f cd1
check "import --containerdisk without a name takes the reference" skiff import -q --containerdisk --tls-verify=false "$R/tiny:1"
run skiff images
like "$OUT" "$R/tiny +1 " "the image is named by its reference"

qemu-img convert -O raw "$GUEST_DIR/rootfs.qcow2" "$TMP/disk.img"
check "a containerDisk with a raw /disk/disk.img" containerdisk raw "$TMP/disk.img" disk.img
check "import it" skiff import -q --containerdisk --tls-verify=false "$R/raw:1" cdraw
skiff export cdraw -o "$TMP/cdraw.qcow2"
check "the raw disk was converted without change" qemu-img compare "$TMP/cdraw.qcow2" "$GUEST_DIR/rootfs.qcow2"

# No --containerdisk needed: pull and run recognise a container image with
# a disk, and a BIOS-bootable one boots like any skiff image.
check "build the BIOS disk from the tiny guest" "$_sk_top/tests/guest/build-bios.sh" "$GUEST_DIR" "$TMP/bios.qcow2"
check "buildah builds and pushes a BIOS containerDisk" containerdisk bios "$TMP/bios.qcow2" bios.qcow2
run skiff pull --tls-verify=false "$R/bios:1"
is "$RC" 0 "skiff pull of a containerDisk succeeds" || diag "$ERR"
like "$ERR" "is a container image: looking for a KubeVirt containerDisk disk in it" "pull says what it found"
run skiff inspect "$R/bios:1"
like "$OUT" "\"sha256:$(sha256sum "$TMP/bios.qcow2" | cut -d' ' -f1)\"" "the pulled image's layer is the disk, byte for byte"
like "$OUT" '"boot": "bios"' "and it boots from its disk"
check "remove it" skiff rmi "$R/bios:1"
check "run -d of the containerDisk's reference pulls and starts it" skiff run -d --name cdbios -m 256 --tls-verify=false "$R/bios:1"
if wait_console cdbios 'skiff-guest: ready instance-id=' 120; then
	ok "the containerDisk pulled by run boots to its ready line"
else
	not_ok "the containerDisk pulled by run boots to its ready line" "$(skiff logs cdbios 2>&1 | tail -20)"
fi
skiff rm -f cdbios >/dev/null 2>&1

before=$(skiff images -q --no-trunc | sort | tr '\n' ' ')
echo hello >"$TMP/hello.txt"
mkdir -p "$TMP/ctx-nodisk" && cp "$TMP/hello.txt" "$TMP/ctx-nodisk/" &&
	printf 'FROM scratch\nADD hello.txt /etc/\n' >"$TMP/ctx-nodisk/Containerfile" &&
	bh build -q -t nodisk "$TMP/ctx-nodisk" >/dev/null && bh push -q --tls-verify=false nodisk "docker://$R/nodisk:1"
fail_clearly "an image without /disk/ is refused" 1 "no layer holds a disk (/disk/*.qcow2 or /disk/*.img): not a containerDisk" \
	skiff import --containerdisk --tls-verify=false "$R/nodisk:1" nodisk
fail_clearly "pull of a container image without /disk/ is refused" 1 \
	"pulling '$R/nodisk:1': neither a skiff image nor a containerDisk: " skiff pull --tls-verify=false "$R/nodisk:1"
check "push a skiff image" skiff push -q --tls-verify=false cdtiny "$R/skiffimg:1"
fail_clearly "a skiff image is refused" 1 "is a skiff image, not a containerDisk: use 'skiff pull'" \
	skiff import --containerdisk --tls-verify=false "$R/skiffimg:1" nope
is "$(skiff images -q --no-trunc | sort | tr '\n' ' ')" "$before" "the refusals stored nothing"
is "$(ls -A "$TMP/root/tmp")" "" "and left no scratch files"

# export --format containerdisk
check "export --format containerdisk" skiff export --format containerdisk --tls-verify=false cdtiny "$R/out:1"
run skopeo inspect --raw --tls-verify=false "docker://$R/out:1"
shape=$(printf '%s' "$OUT" | python3 -c '
import json,sys; m=json.load(sys.stdin)
print(m["mediaType"], m["config"]["mediaType"], len(m["layers"]), m["layers"][0]["mediaType"])')
is "$shape" "application/vnd.oci.image.manifest.v1+json application/vnd.oci.image.config.v1+json 1 application/vnd.oci.image.layer.v1.tar" \
	"an OCI container image of one tar layer"
run skopeo inspect --tls-verify=false "docker://$R/out:1"
like "$OUT" '"Os": "linux"' "skopeo reads it as a regular container image"
check "skopeo copies it to an oci: layout" skopeo copy -q --src-tls-verify=false "docker://$R/out:1" "oci:$TMP/out:1"
layer=$(python3 -c 'import json,sys; d=sys.argv[1]; i=json.load(open(d+"/index.json")); m=json.load(open(d+"/blobs/sha256/"+i["manifests"][0]["digest"][7:])); print(d+"/blobs/sha256/"+m["layers"][0]["digest"][7:])' "$TMP/out")
run tar -tvf "$layer" --numeric-owner
like "$OUT" 'dr-xr-xr-x 107/107 +0 .* disk/' "the layer holds disk/ owned by 107:107"
like "$OUT" '-r--r--r-- 107/107 .* disk/disk.qcow2' "and disk/disk.qcow2 owned by 107:107"
is "$(printf '%s\n' "$OUT" | wc -l)" 2 "and nothing else"
check "buildah pulls the exported containerDisk" bh pull -q --tls-verify=false "docker://$R/out:1"
check "import --containerdisk of the export" skiff import -q --containerdisk --tls-verify=false "$R/out:1" back
skiff export back -o "$TMP/back.qcow2"
check "the round trip keeps the disk" qemu-img compare "$TMP/back.qcow2" "$GUEST_DIR/rootfs.qcow2"
run skiff fsck
is "$RC" 0 "fsck is clean"
done_testing
