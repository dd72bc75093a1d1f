#!/usr/bin/env bash
# The local store end to end: import (qcow2, raw, vmdk, kernel boot), images,
# tag, rmi, inspect, history, system df, fsck, prune; docker's name rules;
# hostile disks refused with nothing stored; corruption found by fsck.
. "$(dirname "$0")/lib.sh"

require_cmd qemu-img qemu-io python3

# A qcow2 with some data in it (qemu-io writes through the format).
make_disk() {
	local path=$1 size=${2:-64M} pattern=${3:-0x5a}
	qemu-img create -q -f qcow2 "$path" "$size"
	qemu-io -f qcow2 -c "write -P $pattern 0 1M" -c "write -P $pattern 8M 512k" "$path" >/dev/null
}

objects() { find "$TMP/root/repo/objects" -type f 2>/dev/null | wc -l; }
image_ids() { skiff images -q --no-trunc | sort | tr '\n' ' '; }
json_names() { skiff images --format json | python3 -c 'import json,sys; print(" ".join(sorted(n for i in json.load(sys.stdin) for n in i["Names"])))'; }

make_disk "$TMP/base.qcow2"
check "import a qcow2" skiff import "$TMP/base.qcow2" base
like "$OUT" '^sha256:[0-9a-f]{64}$' "import prints the manifest digest"
digest=$OUT
run skiff images
like "$OUT" 'base +latest +[0-9a-f]{12}' "images lists base:latest"
is "$(json_names)" "docker.io/library/base:latest" "json shows the full normalised name"

check "tag base ubuntu" skiff tag base ubuntu
run skiff images
like "$OUT" 'ubuntu +latest' "images shows ubuntu:latest (familiar form)"
is "$(json_names)" "docker.io/library/base:latest docker.io/library/ubuntu:latest" "json shows docker.io/library/ubuntu:latest"
check "tag with a registry and port" skiff tag base localhost:5000/team/base:v1
run skiff images
like "$OUT" 'localhost:5000/team/base +v1' "a registry name keeps its domain"
fail_clearly "an invalid name fails with exit status 2" 2 "invalid reference" skiff tag base 'Bad Name'
fail_clearly "uppercase repository refused" 2 "invalid reference" skiff import "$TMP/base.qcow2" UPPER
fail_clearly "tag of a missing image" 1 "not found" skiff tag nothere x

# The same disk under another name is the same layer, stored once.
before=$(objects)
check "import the same disk again" skiff import "$TMP/base.qcow2" again
after=$(objects)
run skiff system df
like "$OUT" 'Layers +1 ' "system df counts one layer for two images"
[ $((after - before)) -le 6 ] && ok "no second copy of the layer (+$((after - before)) small objects)" ||
	not_ok "no second copy of the layer" "objects before $before, after $after"
layer_link=$(ls "$TMP"/root/layers/*.qcow2 | head -1)
is "$(stat -c %a "$layer_link")" 444 "the layer link is read-only"
[ "$(stat -c %h "$layer_link")" -ge 2 ] && ok "the layer link is a hardlink of the stored object" ||
	not_ok "the layer link is a hardlink" "links: $(stat -c %h "$layer_link")"

run skiff inspect base
like "$OUT" '"artifactType": "application/vnd.skiff.vm.v1"' "inspect shows the manifest"
like "$OUT" '"io.skiff.disk.diff-id"' "inspect shows layer annotations"
like "$OUT" "\"Digest\": \"$digest\"" "inspect shows the digest import printed"
run skiff history base
like "$OUT" 'skiff import base.qcow2' "history shows how the layer was made"
run skiff history --format json base
like "$OUT" '"comment": "imported"' "history --format json"

# Other formats become qcow2.
qemu-img create -q -f raw "$TMP/disk.raw" 32M
check "import a raw disk" skiff import "$TMP/disk.raw" rawdisk
qemu-img convert -f qcow2 -O vmdk "$TMP/base.qcow2" "$TMP/disk.vmdk"
check "import a vmdk (converted by qemu-img)" skiff import "$TMP/disk.vmdk" vmdkdisk
qemu-img convert -f qcow2 -O vdi "$TMP/base.qcow2" "$TMP/disk.vdi"
check "import a vdi" skiff import "$TMP/disk.vdi" vdidisk
for name in rawdisk vmdkdisk vdidisk; do
	run skiff inspect "$name"
	layer=$(printf '%s' "$OUT" | python3 -c 'import json,sys; print([b["Path"] for b in json.load(sys.stdin)[0]["Blobs"] if b["Path"].startswith("layers/")][0])')
	is "$(qemu-img info --output=json --force-share "$TMP/root/$layer" | python3 -c 'import json,sys; print(json.load(sys.stdin)["format"])')" qcow2 "$name is stored as qcow2"
done
head -c 100000 /dev/urandom >"$TMP/vmlinuz"
head -c 50000 /dev/urandom >"$TMP/initrd"
check "import with --kernel/--initrd/--cmdline" skiff import --kernel "$TMP/vmlinuz" --initrd "$TMP/initrd" \
	--cmdline "root=/dev/vda rw" --memory 256 --cpus 2 --user debian "$TMP/base.qcow2" kboot
run skiff inspect kboot
like "$OUT" '"boot": "kernel"' "the config records kernel boot"
like "$OUT" '"cmdline": "root=/dev/vda rw"' "and the command line"
like "$OUT" 'application/vnd.skiff.kernel.v1' "the kernel is a blob of the artifact"
like "$OUT" '"memory": 256' "--memory is recorded"
fail_clearly "--initrd without --kernel is refused" '*' "--initrd needs --kernel" skiff import --initrd "$TMP/initrd" "$TMP/base.qcow2" x

# Hostile disks: each refused with a clear error, the store untouched.
hostile() {
	local desc=$1 want=$2 file=$3
	local ids_before objs_before
	ids_before=$(image_ids)
	objs_before=$(objects)
	fail_clearly "refused: $desc" 1 "$want" skiff import "$file" hostile
	is "$(image_ids) $(objects)" "$ids_before $objs_before" "nothing stored for: $desc"
}
hex=$(printf '%064d' 0)
qemu-img create -q -f qcow2 -b /etc/passwd -F raw "$TMP/abs.qcow2" 64M
hostile "absolute backing file" "backing file '/etc/passwd' is absolute" "$TMP/abs.qcow2"
qemu-img create -q -f qcow2 -u -b ../x.qcow2 -F qcow2 "$TMP/dotdot.qcow2" 64M
hostile "backing file with .." "backing file" "$TMP/dotdot.qcow2"
qemu-img create -q -f qcow2 -u -b 'json:{"file":{"driver":"file","filename":"/etc/shadow"}}' -F raw "$TMP/json.qcow2" 64M
hostile "json: backing file" "backing file" "$TMP/json.qcow2"
qemu-img create -q -f qcow2 -u -b 'nbd://127.0.0.1:1/x' -F raw "$TMP/nbd.qcow2" 64M
hostile "protocol backing file" "backing file" "$TMP/nbd.qcow2"
qemu-img create -q -f qcow2 -u -b "$hex.qcow2" -F qcow2 "$TMP/child.qcow2" 64M
hostile "a backing file where a base layer is expected" "backing file" "$TMP/child.qcow2"
qemu_img_create_encrypted -q -f qcow2 --object secret,id=s0,data=pw -o encrypt.format=luks,encrypt.key-secret=s0 "$TMP/enc.qcow2" 64M
hostile "encrypted qcow2" "encrypt" "$TMP/enc.qcow2"
qemu-img create -q -f qcow2 -o data_file="$TMP/data.raw" "$TMP/ext.qcow2" 64M
hostile "external data file" "data file" "$TMP/ext.qcow2"
cp "$TMP/base.qcow2" "$TMP/incompat.qcow2"
printf '\x00\x00\x00\x00\x00\x00\x00\x80' | dd of="$TMP/incompat.qcow2" bs=1 seek=72 conv=notrunc status=none
hostile "unknown incompatible feature bit" "incompatible feature" "$TMP/incompat.qcow2"
printf 'QFI\xfb\x00\x00\x00\x03' >"$TMP/trunc.qcow2"
hostile "truncated header" "invalid disk" "$TMP/trunc.qcow2"
printf '# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\ncreateType="monolithicFlat"\nRW 8 FLAT "/etc/passwd" 0\n' >"$TMP/evil.vmdk"
hostile "vmdk descriptor pointing at /etc/passwd" "/etc/passwd" "$TMP/evil.vmdk"
qemu_img_create_encrypted -q -f luks --object secret,id=s0,data=pw -o key-secret=s0 "$TMP/disk.luks" 16M
hostile "luks disk" "invalid disk" "$TMP/disk.luks"
fail_clearly "a missing file" 1 "hostile-missing" skiff import "$TMP/hostile-missing" x
[ ! -e /etc/passwd.qcow2 ] && ok "nothing written outside the store" || not_ok "nothing written outside"
is "$(ls "$TMP/root/tmp" | wc -l)" 0 "no scratch files left behind"

# rmi: tags, last tag, in use by a VM.
check "rmi of one tag keeps the image" skiff rmi ubuntu
like "$OUT" 'Untagged: ubuntu:latest' "rmi reports the untag"
run skiff images
like "$OUT" 'base +latest' "base is still there"
check "create a VM of vdidisk (holds the image)" skiff create --name holder vdidisk
fail_clearly "rmi of an image a VM uses is refused" 1 "in use by VM 'holder'" skiff rmi vdidisk
check "rmi --force removes only the name" skiff rmi --force vdidisk
run skiff images --format json
like "$OUT" '"InUse": true' "the image stays while the VM uses it"
check "rm the VM" skiff rm holder
check "rmi by id" skiff rmi "$(skiff images -q | head -1)"
fail_clearly "rmi of a missing image" 1 "not found" skiff rmi nothere

check "fsck passes" skiff fsck
like "$OUT" 'store OK' "fsck says the store is OK"
check "prune" skiff prune
like "$OUT" 'Total reclaimed space: [1-9]' "prune frees the untagged image's space"
check "fsck passes after prune" skiff fsck
run skiff images
like "$OUT" 'base +latest' "prune keeps tagged images"

# Corruption is found, and named.
link=$(ls "$TMP"/root/layers/*.qcow2 | head -1)
printf 'X' | dd of="$link" bs=1 seek=300000 conv=notrunc status=none
fail_clearly "fsck finds a corrupted layer" 1 "problem" skiff fsck
like "$OUT" 'is corrupt' "fsck names the corrupt object"
done_testing
